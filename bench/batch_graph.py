#!/usr/bin/env python3
"""What `kiln run --batch` adds to each member build (issue #17): a 200-task build-graph of `true`
commands, 20 levels of 10 where every task depends on every task of the level before, run with
`--parallel 2`.

Two slots and a fan of 10 keep both slots busy, so the run's wall time is set by the chain of
builds each of which waited for the one before it (its dependency, or a free slot). That chain
is read back from the same run's --json: starting from the build that ended last, each build's
predecessor is the build that ended latest before it started. Everything in the batch's wall
time that is not a build of that chain running is the driver's: thread start, build folder,
executor and log file set-up, the state machine, the record's handling, DOWNLOAD_SOURCE's own
set-up. Divided by the chain's length, that is the overhead per member build.

Budget: under 5 ms per member build beyond the member's own run.

    KILN_BIN=build/release/kiln RUNS=5 python3 bench/batch_graph.py
"""
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
KILN = os.path.abspath(os.environ.get("KILN_BIN", str(ROOT / "build" / "release" / "kiln")))
RUNS = int(os.environ.get("RUNS", "5"))
WARMUP = int(os.environ.get("WARMUP", "1"))
LEVELS = int(os.environ.get("LEVELS", "20"))
WIDTH = int(os.environ.get("WIDTH", "10"))
PARALLEL = int(os.environ.get("PARALLEL", "2"))
BUDGET_MS = 5.0


def buildspec():
    lines = ["version: 0.2", "batch:", "  build-graph:"]
    for level in range(LEVELS):
        for i in range(WIDTH):
            lines.append(f"    - identifier: l{level}_{i}")
            if level:
                deps = ", ".join(f"l{level - 1}_{j}" for j in range(WIDTH))
                lines.append(f"      depend-on: [{deps}]")
    lines += ["phases:", "  build:", "    commands:", "      - 'true'", ""]
    return "\n".join(lines)


def chain(builds):
    """The builds that set the wall time: from the last to end, back through each build's
    predecessor (the one that ended latest before it started)."""
    ordered = sorted(builds, key=lambda b: b["endTime"])
    out = [ordered[-1]]
    while True:
        start = out[-1]["startTime"]
        before = [b for b in ordered if b["endTime"] <= start and b is not out[-1]]
        if not before:
            return list(reversed(out))
        out.append(before[-1])


def run(src, shm):
    out = shm / "out"
    if out.exists():
        shutil.rmtree(out)
    record = shm / "batch.json"
    cmd = [KILN, "run", "-s", str(src), "-a", str(out), "--no-color", "--batch",
           "--parallel", str(PARALLEL), "--json", str(record), "--max-batch-builds", "1000"]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"kiln run --batch failed ({p.returncode}):\n{p.stderr[-3000:]}")
    j = json.loads(record.read_text())
    builds = j["builds"]
    assert len(builds) == LEVELS * WIDTH + 1, len(builds)
    c = chain(builds)
    batch_wall = j["endTime"] - j["startTime"]
    in_builds = sum(b["endTime"] - b["startTime"] for b in c)
    members = [b for b in builds if b["id"] != c[0]["id"] or len(c) == 1]
    own = statistics.median(b["endTime"] - b["startTime"] for b in builds)
    return {
        "wall": wall * 1000,
        "batch": batch_wall * 1000,
        "chain": in_builds * 1000,
        "length": len(c),
        "overhead": (batch_wall - in_builds) / len(c) * 1000,
        "member": own * 1000,
        "members": len(members),
    }


def main():
    if not os.access(KILN, os.X_OK):
        sys.exit(f"no kiln binary at {KILN}; set KILN_BIN")
    shm = pathlib.Path(tempfile.mkdtemp(prefix="kiln-batch-bench-", dir="/dev/shm"))
    src = shm / "src"
    src.mkdir()
    (src / "buildspec.yml").write_text(buildspec())
    try:
        results = []
        for i in range(WARMUP + RUNS):
            r = run(src, shm)
            if i >= WARMUP:
                results.append(r)
        med = {k: statistics.median(r[k] for r in results) for k in results[0]}
        p10 = {k: sorted(r[k] for r in results)[len(results) // 10] for k in results[0]}
        print(f"\nbuild-graph of {LEVELS} levels x {WIDTH} `true` builds, --parallel {PARALLEL} "
              f"({RUNS} runs)")
        print(f"  process wall       median {med['wall']:9.2f} ms   p10 {p10['wall']:9.2f} ms")
        print(f"  batch start to end median {med['batch']:9.2f} ms   p10 {p10['batch']:9.2f} ms")
        print(f"  critical chain     median {med['chain']:9.2f} ms   p10 {p10['chain']:9.2f} ms"
              f"   ({med['length']:.0f} builds back to back)")
        print(f"  one member build   median {med['member']:9.2f} ms (its own record)")
        ratio = med["batch"] / med["chain"]
        print(f"  batch / chain: {ratio:.3f}x")
        print(f"  overhead per member build: {med['overhead']:.2f} ms "
              f"(p10 {p10['overhead']:.2f} ms; budget {BUDGET_MS:.0f} ms: "
              f"{'met' if med['overhead'] <= BUDGET_MS else 'NOT met'})")
    finally:
        shutil.rmtree(shm, ignore_errors=True)


if __name__ == "__main__":
    main()
