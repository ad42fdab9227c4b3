"""kill -9 of `kiln server` in the middle of a build batch, then a restart on the same data folder
(docs/batch.md "Crash safety"): the batch ends FAILED with the reason, and every member build the
batch had started, running or still queued, has ended with a status. Driven by boto3 (Debian's
python3-boto3) through the compat tests' server fixture."""
import os
import sys
import time

import pytest

from conftest import kiln_binary

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compat"))

boto3 = pytest.importorskip("boto3")

ROLE = "arn:aws:iam::000000000000:role/kiln"
SLEEP = "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 300\n"
BATCH = """version: 0.2
batch:
  build-list:
    - identifier: first
    - identifier: second
    - identifier: third
phases:
  build:
    commands:
      - sleep 300
"""


def project(cb, name, buildspec, batch=False):
    extra = {"buildBatchConfig": {"serviceRole": ROLE}} if batch else {}
    cb.create_project(name=name, source={"type": "NO_SOURCE", "buildspec": buildspec},
                      artifacts={"type": "NO_ARTIFACTS"},
                      environment={"type": "LINUX_CONTAINER", "image": "kiln/host",
                                   "computeType": "BUILD_GENERAL1_SMALL"},
                      serviceRole=ROLE, **extra)


def until(what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = what()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def test_a_batch_killed_with_its_server_fails_and_no_member_is_lost():
    os.environ["KILN_BIN"] = kiln_binary()
    import kiln_server  # noqa: E402  (reads KILN_BIN)

    # Its own data folder under /tmp, which a root server's build user can traverse; restart()
    # reuses it.
    server = kiln_server.KilnServer(extra_args=["--max-builds", "2"]).start()
    try:
        cb = server.boto3()
        project(cb, "plain", SLEEP)
        project(cb, "batched", BATCH, batch=True)
        # A plain build holds one of the two slots, so of the batch's two released members one
        # runs and one waits in the queue when the server dies.
        plain = cb.start_build(projectName="plain")["build"]["id"]
        until(lambda: cb.batch_get_builds(ids=[plain])["builds"][0]["currentPhase"] == "BUILD")
        batch_id = cb.start_build_batch(projectName="batched")["buildBatch"]["id"]

        def members():
            b = cb.batch_get_build_batches(ids=[batch_id])["buildBatches"][0]
            return [g["currentBuildSummary"]["arn"].split(":build/", 1)[1]
                    for g in b["buildGroups"][1:]
                    if g.get("currentBuildSummary", {}).get("arn")]

        started = until(lambda: len(members()) == 2 and members())
        builds = cb.batch_get_builds(ids=started)["builds"]
        until(lambda: any(b["currentPhase"] == "BUILD"
                          for b in cb.batch_get_builds(ids=started)["builds"]))
        builds = cb.batch_get_builds(ids=started)["builds"]
        assert sorted(b["currentPhase"] for b in builds) == ["BUILD", "QUEUED"], builds

        server.kill()
        server.start()
        cb = server.boto3()

        b = cb.batch_get_build_batches(ids=[batch_id])["buildBatches"][0]
        assert b["complete"] is True
        assert b["buildBatchStatus"] == "FAILED"
        messages = [c["message"] for p in b["phases"] for c in p.get("contexts", [])]
        assert "The Kiln server stopped while this batch was running" in messages, b["phases"]
        by_id = {x["id"]: x for x in cb.batch_get_builds(ids=started)["builds"]}
        assert len(by_id) == 2
        assert all(x["buildComplete"] for x in by_id.values()), by_id
        statuses = sorted(x["buildStatus"] for x in by_id.values())
        assert statuses == ["FAILED", "STOPPED"], statuses
        # The groups show the status their builds ended with; `third` never started.
        groups = {g["identifier"]: g for g in b["buildGroups"]}
        assert sorted(groups[i]["currentBuildSummary"]["buildStatus"]
                      for i in ("first", "second")) == ["FAILED", "STOPPED"]
        assert not groups["third"].get("currentBuildSummary", {}).get("arn"), groups["third"]
        # Nothing of the batch runs after the restart.
        time.sleep(1)
        assert len(members()) == 2
    finally:
        server.cleanup()
