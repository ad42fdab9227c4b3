#!/usr/bin/env python3
"""A project's second build with a warm LOCAL_CUSTOM_CACHE against its first (docs/sources.md).

The project is 150 small C files; its build compiles each into `objs/` unless the object is
already there, the way ccache-like or dependency caches are used. `objs/**/*` is the cache path.
The first build (cold, empty cache folder) compiles everything; the second finds the objects
through the cache link and compiles nothing. Both run through `kiln run --cache LOCAL`.

    RUNS=3 python3 bench/warm_cache.py"""
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
KILN = os.path.abspath(os.environ.get("KILN_BIN", str(ROOT / "build" / "release" / "kiln")))
RUNS = int(os.environ.get("RUNS", "3"))
FILES = int(os.environ.get("FILES", "150"))

SPEC = """version: 0.2
phases:
  build:
    commands:
      - mkdir -p objs
      - for f in src/*.c; do o=objs/$(basename $f .c).o; [ -f $o ] || cc -O2 -c $f -o $o; done
      - ls objs | wc -l
cache:
  paths:
    - 'objs/**/*'
"""


def timed(cmd):
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("warm_cache: build failed:\n" + r.stdout + r.stderr)
    return time.perf_counter() - t


def main():
    cold, warm = [], []
    with tempfile.TemporaryDirectory() as tmp:
        proj = pathlib.Path(tmp) / "proj"
        (proj / "src").mkdir(parents=True)
        (proj / "buildspec.yml").write_text(SPEC)
        for i in range(FILES):
            (proj / "src" / f"f{i}.c").write_text(
                f"#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
                f"int f{i}(int x) {{ char b[64]; snprintf(b, sizeof b, \"%d\", x * {i});"
                f" return (int)strlen(b) + atoi(b); }}\n")
        for r in range(RUNS):
            cache = pathlib.Path(tmp) / f"cache{r}"
            cmd = [KILN, "run", "-s", str(proj), "-a", f"{tmp}/a", "--no-color", "--cache",
                   "LOCAL", "--cache-dir", str(cache)]
            cold.append(timed(cmd))
            warm.append(timed(cmd))
    c, w = min(cold), min(warm)
    print(f"warm_cache: {FILES} C files compiled into the cached objs/, best of {RUNS}")
    print(f"  first build (cold cache)  {c:7.3f} s")
    print(f"  second build (warm)       {w:7.3f} s")
    print(f"  ratio                     {c / w:.1f}x faster with the warm cache")
    return 0


if __name__ == "__main__":
    sys.exit(main())
