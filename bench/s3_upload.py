#!/usr/bin/env python3
"""Artifact upload throughput (docs/sources.md): kiln's S3 client (bench/s3_upload_bench.cpp, the code
S3 artifacts use: multipart in 16 MiB parts above 64 MiB) against `aws s3 cp` of the same file
to the same local S3-compatible endpoint (moto's server), in the same run.

    BYTES=268435456 RUNS=3 python3 bench/s3_upload.py

Run it with a python3 that has moto and boto3 (the machine's Python 3.11). Both sides pay
moto's own cost, which dominates on loopback: the ratio compares the clients, not the store."""
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" / "compat"))
from kiln_server import MotoS3  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
BENCH = os.environ.get("S3_UPLOAD_BENCH", str(ROOT / "build" / "release" / "s3_upload_bench"))
SIZE = int(os.environ.get("BYTES", str(256 << 20)))
RUNS = int(os.environ.get("RUNS", "3"))


def aws_cli():
    for c in ("/usr/bin/aws", shutil.which("aws")):
        if c and os.access(c, os.X_OK):
            return c
    sys.exit("s3_upload: no aws CLI found")


def main():
    moto = MotoS3()
    try:
        env = moto.env()
        env.update({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
        moto.client().create_bucket(Bucket="bench")
        with tempfile.TemporaryDirectory() as tmp:
            f = pathlib.Path(tmp) / "artifact.bin"
            with open(f, "wb") as out:
                left = SIZE
                while left:
                    chunk = os.urandom(min(left, 1 << 20))
                    out.write(chunk)
                    left -= len(chunk)
            kiln_t, cli_t = [], []
            for i in range(RUNS):  # interleaved, so drift in the machine's load hits both alike
                r = subprocess.run([BENCH, moto.endpoint, "bench", f"kiln/{i}", str(f)], env=env,
                                   capture_output=True, text=True, check=True)
                kiln_t.append(float(r.stdout.split()[0]))
                parts = int(r.stdout.split()[2])
                t = time.perf_counter()
                subprocess.run([aws_cli(), "--endpoint-url", moto.endpoint, "s3", "cp", str(f),
                                f"s3://bench/cli/{i}", "--only-show-errors"], env=env, check=True)
                cli_t.append(time.perf_counter() - t)
            head = moto.client().head_object(Bucket="bench", Key="kiln/0")
            assert head["ContentLength"] == SIZE, head
    finally:
        moto.stop()
    mb = SIZE / 1e6
    k, c = min(kiln_t), min(cli_t)
    print(f"s3_upload: {SIZE} bytes of random data to moto.server on loopback, best of {RUNS}")
    print(f"  kiln S3Client  {k:7.3f} s  {mb / k:8.1f} MB/s  ({parts} parts)")
    print(f"  aws s3 cp      {c:7.3f} s  {mb / c:8.1f} MB/s")
    print(f"  ratio          {c / k:.2f}x the throughput of aws s3 cp")
    return 0


if __name__ == "__main__":
    sys.exit(main())
