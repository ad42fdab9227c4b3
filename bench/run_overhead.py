#!/usr/bin/env python3
"""kiln run overhead: a three-command buildspec under `kiln run` (process executor) against
`sh -c` running the same three commands, measured alternately in the same run.
Budget (docs/reference/design.md §4): under 15 ms of median overhead.

With BASELINE_KILN_BIN set (another build of kiln, e.g. the commit before a change), that binary
runs the same buildspec in the same loop, and the ratio of the two medians is printed too."""
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
KILN = os.path.abspath(os.environ.get("KILN_BIN", str(ROOT / "build" / "release" / "kiln")))
BASELINE = os.environ.get("BASELINE_KILN_BIN")
RUNS = int(os.environ.get("RUNS", "40"))
COMMANDS = ["echo one", "echo two > two.txt", "cat two.txt"]


def timed(cmd, cwd):
    t = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def main():
    with tempfile.TemporaryDirectory() as tmp:
        src = pathlib.Path(tmp) / "src"
        src.mkdir()
        (src / "buildspec.yml").write_text(
            "version: 0.2\nphases:\n  build:\n    commands:\n"
            + "".join(f"      - {c}\n" for c in COMMANDS))
        (src / "README").write_text("a small source tree\n")
        kiln_cmd = [KILN, "run", "-s", str(src), "-a", f"{tmp}/a", "--no-color"]
        sh_cmd = ["sh", "-c", "; ".join(COMMANDS)]
        base_cmd = [os.path.abspath(BASELINE)] + kiln_cmd[1:] if BASELINE else None
        for _ in range(3):  # warm up caches
            timed(kiln_cmd, tmp), timed(sh_cmd, src)
            if base_cmd:
                timed(base_cmd, tmp)
        kiln_t, sh_t, base_t = [], [], []
        for i in range(RUNS):
            # The two binaries take turns going first: whichever follows the other ran slower
            # (by 5-7% on the 2-core VM, session 8), an order effect, not the binary's.
            if base_cmd and i % 2:
                base_t.append(timed(base_cmd, tmp))
            kiln_t.append(timed(kiln_cmd, tmp))
            sh_t.append(timed(sh_cmd, src))
            if base_cmd and not i % 2:
                base_t.append(timed(base_cmd, tmp))
    k, s = statistics.median(kiln_t), statistics.median(sh_t)
    print(f"run_overhead: runs={RUNS}")
    print(f"  kiln run median   {k * 1000:8.2f} ms  (p90 {sorted(kiln_t)[int(RUNS * .9)] * 1000:.2f} ms)")
    print(f"  sh -c median      {s * 1000:8.2f} ms")
    print(f"  overhead          {(k - s) * 1000:8.2f} ms  (budget 15 ms)  ratio {k / s:.1f}x")
    if base_t:
        b = statistics.median(base_t)
        print(f"  baseline kiln     {b * 1000:8.2f} ms  ({BASELINE})  kiln/baseline {k / b:.3f}x")


if __name__ == "__main__":
    sys.exit(main())
