#!/usr/bin/env python3
"""Time and size to build each curated image: `kiln image build NAME --image-dir TMP` (its own
final line `image NAME: S s, rootfs N bytes, tar M bytes, ...` and its `Built ... (mmdebstrap
A s, tar B s)` line), with `du -sb` of the rootfs as a cross-check, against what a user would
run by hand, `mmdebstrap --variant=minbase bookworm DIR`, in the same run (alternating which
goes first each round, since both download from deb.debian.org).

    KILN_BIN=build-bench/kiln python3 bench/image_build.py
    IMAGES="kiln/minimal kiln/standard kiln/docker" RUNS=1 python3 bench/image_build.py

RUNS (default 1) rounds; the figures are medians over rounds. Needs root (mmdebstrap's root
mode, which Kiln also uses as root) and network access to the Debian mirror."""
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
KILN = os.path.abspath(os.environ.get("KILN_BIN", str(ROOT / "build" / "release" / "kiln")))
IMAGES = os.environ.get("IMAGES", "kiln/minimal").split()
RUNS = int(os.environ.get("RUNS", "1"))
SUITE = "bookworm"

FINAL = re.compile(r"^image (\S+): ([\d.]+) s, rootfs (\d+) bytes, tar (\d+) bytes, in (.+)$", re.M)
BUILT = re.compile(r"\(mmdebstrap ([\d.]+) s, tar ([\d.]+) s\)")


def du(path):
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0])


def timed(cmd):
    t = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    dt = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"image_build: {' '.join(cmd)} failed ({p.returncode}):\n{p.stdout[-3000:]}")
    return dt, p.stdout


def kiln_build(name, tmp):
    store = pathlib.Path(tmp) / "store"
    wall, out = timed([KILN, "image", "build", name, "--image-dir", str(store)])
    m, b = FINAL.search(out), BUILT.search(out)
    if not m or not b:
        sys.exit("image_build: no final line from kiln image build:\n" + out[-3000:])
    rootfs = pathlib.Path(m.group(5)) / "rootfs"
    r = {"wall": wall, "kiln_s": float(m.group(2)), "mmdebstrap_s": float(b.group(1)),
         "tar_s": float(b.group(2)), "rootfs": int(m.group(3)), "tar": int(m.group(4)),
         "du": du(rootfs)}
    shutil.rmtree(store)
    return r


def baseline(tmp):
    target = pathlib.Path(tmp) / "plain"
    wall, _ = timed(["mmdebstrap", "--variant=minbase", SUITE, str(target)])
    r = {"wall": wall, "du": du(target)}
    shutil.rmtree(target)
    return r


def main():
    if os.geteuid() != 0:
        sys.exit("image_build: run as root")
    kiln = {n: [] for n in IMAGES}
    base = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(RUNS):
            for n in IMAGES:
                if i % 2 == 0:
                    base.append(baseline(tmp))
                    kiln[n].append(kiln_build(n, tmp))
                else:
                    kiln[n].append(kiln_build(n, tmp))
                    base.append(baseline(tmp))

    def med(rows, key):
        return statistics.median(r[key] for r in rows)

    bw, bdu = med(base, "wall"), med(base, "du")
    print(f"image_build: suite {SUITE}, runs={RUNS} (medians), baseline measured {len(base)} times")
    print(f"  {'image':<32} {'wall':>8} {'kiln says':>10} {'mmdebstrap':>11} {'tar':>6}"
          f" {'rootfs':>12} {'du -sb':>12} {'tar bytes':>12} {'time ratio':>10} {'size ratio':>10}")
    for n, rows in kiln.items():
        w = med(rows, "wall")
        print(f"  {'kiln image build ' + n:<32} {w:7.1f}s {med(rows, 'kiln_s'):9.1f}s"
              f" {med(rows, 'mmdebstrap_s'):10.1f}s {med(rows, 'tar_s'):5.1f}s"
              f" {med(rows, 'rootfs'):12,.0f} {med(rows, 'du'):12,.0f} {med(rows, 'tar'):12,.0f}"
              f" {w / bw:9.2f}x {med(rows, 'du') / bdu:9.2f}x")
    print(f"  {'mmdebstrap --variant=minbase':<32} {bw:7.1f}s {'':>10} {'':>11} {'':>6}"
          f" {'':>12} {bdu:12,.0f}")
    for n, rows in kiln.items():
        print(f"  rounds, kiln image build {n}: " + ", ".join(f"{r['wall']:.1f}s" for r in rows))
    print("  rounds, mmdebstrap: " + ", ".join(f"{r['wall']:.1f}s" for r in base))
    return 0


if __name__ == "__main__":
    sys.exit(main())
