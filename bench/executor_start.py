#!/usr/bin/env python3
"""Start to first command, per executor: `kiln run --executor process|sandbox|docker -i
kiln/minimal` on a buildspec whose first (and only) command is `date +%s%N`, against the same
`date` started by the tools a user would use by hand, measured round-robin in the same run:

  docker run --rm IMAGE date +%s%N    IMAGE: the kiln/minimal image as Kiln imported it
  docker run --rm IMAGE true          (wall time only)
  bwrap --ro-bind ROOTFS / --proc /proc --dev /dev --unshare-pid --die-with-parent date +%s%N
  unshare -m -p -f --root=ROOTFS --mount-proc date +%s%N

"start -> 1st cmd" is the nanosecond clock that `date` prints minus the clock read just before
the process was spawned (the same CLOCK_REALTIME everywhere: no time namespaces). For Kiln the
log's own timestamps split it: spawn -> first log line (the binary's start, the leftover sweep),
first log line -> `Running command` (PROVISIONING and the phases before BUILD), `Running
command` -> date's clock (the agent starting the shell). PROVISIONING and FINALIZING come from
the build record (`--json`, written to /dev/shm so its fsync costs nothing), endTime - startTime.

Budgets (issue: container executors): sandbox under 50 ms from start to first command, on its
default network (a private namespace with slirp4netns) and under its seccomp filter (issue 13);
`kiln sandbox none` (--network none) shows what the network costs. Docker at most 1.2x `docker
run --rm IMAGE`.

    KILN_BIN=build-bench/kiln KILN_IMAGE_DIR=/tmp/kimg RUNS=20 python3 bench/executor_start.py

Needs root (bwrap as root, cgroups), dockerd, and a kiln/minimal image in the store (built with
`kiln image build kiln/minimal` when missing)."""
import json
import math
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

ROOT = pathlib.Path(__file__).resolve().parents[1]
KILN = os.path.abspath(os.environ.get("KILN_BIN", str(ROOT / "build" / "release" / "kiln")))
RUNS = int(os.environ.get("RUNS", "20"))
WARMUP = int(os.environ.get("WARMUP", "2"))
IMAGE = "kiln/minimal"
IMAGE_DIR = pathlib.Path(os.environ.get("KILN_IMAGE_DIR") or
                         pathlib.Path.home() / ".local/share/kiln/images")
BUDGET_SANDBOX_MS = 50.0
BUDGET_DOCKER_RATIO = 1.2

LOG_TS = re.compile(r"^\[Container\] (\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6}) (.*)$")
CLOCK = re.compile(r"^\d{18,20}$")


def log_ns(stamp):
    """A log timestamp (UTC, src/engine/container_log.cpp) in ns since the epoch."""
    d = datetime.strptime(stamp, "%Y/%m/%d %H:%M:%S.%f").replace(tzinfo=timezone.utc)
    return int(d.timestamp()) * 1_000_000_000 + d.microsecond * 1000


def run_once(cmd, env=None):
    """(start ns, date's clock ns or None, end ns, stdout)."""
    t0 = time.time_ns()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    t1 = time.time_ns()
    if p.returncode != 0:
        sys.exit(f"executor_start: {' '.join(cmd)} failed ({p.returncode}):\n{p.stdout[-3000:]}")
    first = next((int(l) for l in p.stdout.splitlines() if CLOCK.match(l.strip())), None)
    return t0, first, t1, p.stdout


def p90(xs):
    return sorted(xs)[math.ceil(0.9 * len(xs)) - 1]


def ensure_image(env):
    rootfs = IMAGE_DIR / IMAGE.replace("/", "_") / "rootfs"
    if not rootfs.is_dir():
        print(f"executor_start: building {IMAGE} into {IMAGE_DIR}", flush=True)
        subprocess.run([KILN, "image", "build", IMAGE, "--image-dir", str(IMAGE_DIR)], check=True,
                       env=env, stdout=subprocess.DEVNULL)
    return rootfs


def main():
    if os.geteuid() != 0:
        sys.exit("executor_start: run as root (bwrap, unshare and Kiln's cgroups)")
    env = dict(os.environ, KILN_IMAGE_DIR=str(IMAGE_DIR))
    rootfs = ensure_image(env)
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory(dir=shm) as rec:
        src = pathlib.Path(tmp) / "src"
        src.mkdir()
        (src / "buildspec.yml").write_text(
            "version: 0.2\nphases:\n  build:\n    commands:\n      - date +%s%N\n")

        def kiln(ex, *more):
            tag = "-".join([ex, *more]).replace("--", "")
            return [KILN, "run", "--executor", ex, "-i", IMAGE, "-s", str(src), "-a",
                    f"{tmp}/a", "--no-color", *more, "--json", f"{rec}/{tag}.json"]

        # The docker executor imports the image on first use; its log names the tag it runs.
        out = run_once(kiln("docker"), env)[3]
        m = re.search(r"Running in Docker container \S+ \(image (\S+?),", out)
        if not m:
            sys.exit("executor_start: no image in the docker executor's log:\n" + out)
        tag = m.group(1)
        variants = {
            "kiln process": kiln("process"),
            "kiln sandbox": kiln("sandbox"),
            "kiln sandbox none": kiln("sandbox", "--network", "none"),
            "kiln docker": kiln("docker"),
            "bwrap": ["bwrap", "--ro-bind", str(rootfs), "/", "--proc", "/proc", "--dev", "/dev",
                      "--unshare-pid", "--die-with-parent", "date", "+%s%N"],
            "unshare+chroot": ["unshare", "-m", "-p", "-f", f"--root={rootfs}", "--mount-proc",
                               "date", "+%s%N"],
            "docker run": ["docker", "run", "--rm", tag, "date", "+%s%N"],
            "docker run true": ["docker", "run", "--rm", tag, "true"],
        }
        first, wall = {k: [] for k in variants}, {k: [] for k in variants}
        split = {k: {"boot": [], "pre": [], "cmd": [], "prov": [], "fin": []}
                 for k in variants if k.startswith("kiln")}
        for i in range(WARMUP + RUNS):
            for name, cmd in variants.items():
                t0, clock, t1, out = run_once(cmd, env)
                if i < WARMUP:
                    continue
                wall[name].append((t1 - t0) / 1e6)
                if name == "docker run true":
                    continue
                if clock is None:
                    sys.exit(f"executor_start: {name} printed no clock:\n{out[-3000:]}")
                first[name].append((clock - t0) / 1e6)
                if name in split:
                    stamps = [(log_ns(m.group(1)), m.group(2)) for m in
                              (LOG_TS.match(l) for l in out.splitlines()) if m]
                    start = stamps[0][0]
                    running = next(t for t, text in stamps if text.startswith("Running command"))
                    s = split[name]
                    s["boot"].append((start - t0) / 1e6)
                    s["pre"].append((running - start) / 1e6)
                    s["cmd"].append((clock - running) / 1e6)
                    phases = {p["phaseType"]: p for p in
                              json.loads(pathlib.Path(cmd[-1]).read_text())["phases"]}
                    for key, ph in (("prov", "PROVISIONING"), ("fin", "FINALIZING")):
                        s[key].append((phases[ph]["endTime"] - phases[ph]["startTime"]) * 1e3)

    med = {k: statistics.median(v) for k, v in first.items() if v}
    wmed = {k: statistics.median(v) for k, v in wall.items()}
    print(f"executor_start: runs={RUNS} (round-robin, {WARMUP} warm-up rounds), image {tag}, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"  {'variant':<17} {'start->1st cmd':>15} {'p90':>9} {'wall':>10} {'p90':>9}")
    for k in variants:
        f = f"{med[k]:12.2f} ms {p90(first[k]):6.2f} ms" if first[k] else f"{'-':>15} {'':>9}"
        print(f"  {k:<17} {f} {wmed[k]:7.2f} ms {p90(wall[k]):6.2f} ms")
    print("  where Kiln's start->1st cmd goes (medians, ms): spawn->1st log line | ->Running "
          "command | ->date   PROVISIONING  FINALIZING")
    for k, s in split.items():
        m = {x: statistics.median(v) for x, v in s.items()}
        print(f"  {k:<17} {m['boot']:8.2f} | {m['pre']:8.2f} | {m['cmd']:6.2f}"
              f"   {m['prov']:10.2f}  {m['fin']:10.2f}")
    sb, dk = med["kiln sandbox"], med["kiln docker"]
    print(f"  sandbox: {sb:.2f} ms start->1st cmd, budget {BUDGET_SANDBOX_MS:.0f} ms: "
          f"{'met' if sb < BUDGET_SANDBOX_MS else 'NOT met'} ({sb / BUDGET_SANDBOX_MS:.2f}x the "
          f"budget); {sb / med['bwrap']:.1f}x bare bwrap ({sb - med['bwrap']:+.2f} ms), "
          f"{sb / med['unshare+chroot']:.1f}x unshare+chroot")
    r1, rw = dk / med["docker run"], wmed["kiln docker"] / wmed["docker run true"]
    print(f"  docker: {dk:.2f} ms start->1st cmd = {r1:.2f}x `docker run --rm` "
          f"({med['docker run']:.2f} ms), budget {BUDGET_DOCKER_RATIO}x: "
          f"{'met' if r1 <= BUDGET_DOCKER_RATIO else 'NOT met'}; "
          f"wall {rw:.2f}x `docker run --rm IMAGE true` ({wmed['docker run true']:.2f} ms)")
    print(f"  sandbox's bridge network (private netns + slirp4netns) costs "
          f"{sb - med['kiln sandbox none']:+.2f} ms over --network none")
    print(f"  process: {med['kiln process']:.2f} ms start->1st cmd, wall {wmed['kiln process']:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
