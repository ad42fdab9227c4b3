#!/usr/bin/env python3
"""Log throughput: a build that prints 1 GiB, through `kiln run` (its stdout to /dev/null),
against the same command under `sh -c`. Reports MB/s and kiln's peak RSS.
Budget (docs/reference/design.md §4): at least 400 MB/s, RSS under 64 MiB."""
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
KILN = os.path.abspath(os.environ.get("KILN_BIN", str(ROOT / "build" / "release" / "kiln")))
SIZE = int(os.environ.get("BYTES", str(1 << 30)))
LINE = "x" * 99
PRINT = f"yes {LINE} | head -c {SIZE}"


def drain(cmd, cwd):
    """Runs cmd with stdout to /dev/null, so the reader is never the bottleneck: what is timed
    is the build printing and kiln moving every byte from the build's pipe to its own stdout."""
    t = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t, SIZE


def main():
    with tempfile.TemporaryDirectory() as tmp:
        src = pathlib.Path(tmp) / "src"
        src.mkdir()
        (src / "buildspec.yml").write_text(
            f"version: 0.2\nphases:\n  build:\n    commands:\n      - {PRINT}\n")
        sh_t, sh_n = drain(["sh", "-c", PRINT], src)
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        k_t, k_n = drain([KILN, "run", "-s", str(src), "-a", f"{tmp}/a", "--no-color"], tmp)
        rss_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    mb = SIZE / 1e6
    print(f"log_throughput: {SIZE} bytes")
    print(f"  kiln run   {k_t:7.3f} s  {mb / k_t:8.1f} MB/s  (budget >= 400 MB/s)  ")
    print(f"  sh -c      {sh_t:7.3f} s  {mb / sh_t:8.1f} MB/s")
    print(f"  ratio      {k_t / sh_t:.2f}x the time of sh -c")
    note = "" if rss_kib > before else " (max over children; may include earlier runs)"
    print(f"  kiln peak RSS {rss_kib / 1024:.1f} MiB (budget < 64 MiB){note}")


if __name__ == "__main__":
    sys.exit(main())
