#!/usr/bin/env python3
"""Log throughput with secrets (docs/secrets.md): the build of bench/log_throughput.py (it prints 1 GiB)
through `kiln run`, once with 50 parameter-store secrets registered with the masker and once
with none, in the same run. Budget: masked at least 0.8x the unmasked throughput.

The secrets are 50 random 16-40 character values given with --parameter, so every one is
resolved, registered and searched for; the printed text contains none of them, which is the
common case (and the masker's worst: nothing is ever skipped by a match)."""
import os
import pathlib
import random
import string
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
KILN = os.path.abspath(os.environ.get("KILN_BIN", str(ROOT / "build" / "release" / "kiln")))
SIZE = int(os.environ.get("BYTES", str(1 << 30)))
RUNS = int(os.environ.get("RUNS", "3"))
PRINT = f"yes {'x' * 99} | head -c {SIZE}"


def timed(cmd, cwd):
    t = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def main():
    rng = random.Random(6)
    alphabet = string.ascii_letters + string.digits + "-_/+="
    values = ["".join(rng.choice(alphabet) for _ in range(rng.randint(16, 40))) for _ in range(50)]
    with tempfile.TemporaryDirectory() as tmp:
        plain = pathlib.Path(tmp) / "plain"
        masked = pathlib.Path(tmp) / "masked"
        for d in (plain, masked):
            d.mkdir()
        (plain / "buildspec.yml").write_text(
            f"version: 0.2\nphases:\n  build:\n    commands:\n      - {PRINT}\n")
        params = "".join(f"    S{i}: /bench/s{i}\n" for i in range(len(values)))
        (masked / "buildspec.yml").write_text(
            f"version: 0.2\nenv:\n  parameter-store:\n{params}phases:\n  build:\n"
            f"    commands:\n      - {PRINT}\n")
        flags = [a for i, v in enumerate(values) for a in ("--parameter", f"/bench/s{i}={v}")]
        base = [KILN, "run", "-a", f"{tmp}/a", "--no-color"]
        t_plain, t_masked = [], []
        for _ in range(RUNS):  # interleaved, so drift in the machine's load hits both alike
            t_plain.append(timed(base + ["-s", str(plain)], tmp))
            t_masked.append(timed(base + ["-s", str(masked)] + flags, tmp))
    mb = SIZE / 1e6
    p, m = min(t_plain), min(t_masked)
    print(f"log_masking: {SIZE} bytes, best of {RUNS}")
    print(f"  no secrets   {p:7.3f} s  {mb / p:8.1f} MB/s")
    print(f"  50 secrets   {m:7.3f} s  {mb / m:8.1f} MB/s")
    print(f"  ratio        {p / m:.2f}x the unmasked throughput (budget >= 0.80)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
