#!/usr/bin/env python3
"""Build batches through the server (issue #17): a real `kiln server --max-builds 2` runs one
StartBuildBatch of a build-list of 100 members whose build is `true`, and, in the same run and
through the same server, a baseline of 100 plain StartBuild builds of the same phases. Reported:
members per minute from the batch's submission to its end (DOWNLOAD_SOURCE included), builds per
minute for the baseline, and their ratio: what the batch coordinator costs over the queue alone.

Budget: at least 100 members per minute on the 2-core build machine.

    KILN_BIN=build/release/kiln MEMBERS=100 ROUNDS=2 python3 bench/batch_server.py
"""
import os
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "compat"))
os.environ.setdefault("KILN_BIN", str(ROOT / "build" / "release" / "kiln"))

from kiln_server import KilnServer  # noqa: E402

MEMBERS = int(os.environ.get("MEMBERS", "100"))
ROUNDS = int(os.environ.get("ROUNDS", "2"))
BUDGET = 100.0  # members per minute
ROLE = "arn:aws:iam::000000000000:role/kiln"
PHASES = "phases:\n  build:\n    commands:\n      - \"true\"\n"


def batchspec(n):
    tasks = "".join("    - identifier: m%d\n" % i for i in range(1, n + 1))
    return "version: 0.2\nbatch:\n  build-list:\n" + tasks + PHASES


def project(cb, name, buildspec, batch):
    extra = {}
    if batch:
        extra["buildBatchConfig"] = {"serviceRole": ROLE,
                                     "restrictions": {"maximumBuildsAllowed": MEMBERS}}
    cb.create_project(name=name, source={"type": "NO_SOURCE", "buildspec": buildspec},
                      artifacts={"type": "NO_ARTIFACTS"},
                      environment={"type": "LINUX_CONTAINER", "image": "kiln/host",
                                   "computeType": "BUILD_GENERAL1_SMALL"},
                      serviceRole=ROLE, **extra)


def run_batch(cb):
    t0 = time.perf_counter()
    batch_id = cb.start_build_batch(projectName="batch")["buildBatch"]["id"]
    while True:
        b = cb.batch_get_build_batches(ids=[batch_id])["buildBatches"][0]
        if b["complete"]:
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - t0
    if b["buildBatchStatus"] != "SUCCEEDED":
        sys.exit("the batch ended %s: %s" % (b["buildBatchStatus"], b["phases"]))
    members = len(b["buildGroups"]) - 1
    if members != MEMBERS:
        sys.exit("the batch ran %d members, not %d" % (members, MEMBERS))
    return elapsed


def run_plain(cb):
    t0 = time.perf_counter()
    ids = [cb.start_build(projectName="plain")["build"]["id"] for _ in range(MEMBERS)]
    pending = set(ids)
    while pending:
        some = list(pending)[:100]
        for b in cb.batch_get_builds(ids=some)["builds"]:
            if b["buildComplete"]:
                if b["buildStatus"] != "SUCCEEDED":
                    sys.exit("a plain build ended %s" % b["buildStatus"])
                pending.discard(b["id"])
        time.sleep(0.05)
    return time.perf_counter() - t0


def main():
    kiln = os.environ["KILN_BIN"]
    if not os.access(kiln, os.X_OK):
        sys.exit(f"no kiln binary at {kiln}; set KILN_BIN")
    server = KilnServer(extra_args=["--max-builds", "2"]).start()
    try:
        cb = server.boto3()
        project(cb, "batch", batchspec(MEMBERS), batch=True)
        project(cb, "plain", "version: 0.2\n" + PHASES, batch=False)
        batch_times, plain_times = [], []
        for i in range(ROUNDS):  # alternate which goes first
            for kind in (("batch", "plain") if i % 2 == 0 else ("plain", "batch")):
                if kind == "batch":
                    batch_times.append(run_batch(cb))
                else:
                    plain_times.append(run_plain(cb))
        batch_rate = MEMBERS / statistics.median(batch_times) * 60
        plain_rate = MEMBERS / statistics.median(plain_times) * 60
        print(f"\n{MEMBERS} `true` builds through kiln server --max-builds 2 ({ROUNDS} rounds)")
        print(f"  batch (build-list)  median {statistics.median(batch_times):7.2f} s   "
              f"{batch_rate:7.1f} members/min")
        print(f"  plain StartBuild    median {statistics.median(plain_times):7.2f} s   "
              f"{plain_rate:7.1f} builds/min")
        print(f"  batch / plain rate: {batch_rate / plain_rate:.2f} "
              f"(budget {BUDGET:.0f} members/min: "
              f"{'met' if batch_rate >= BUDGET else 'NOT met'})")
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
