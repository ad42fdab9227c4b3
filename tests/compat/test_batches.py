"""Build batches against a real `kiln server` (docs/batch.md, docs/reference/codebuild-semantics.md
§8), driven by boto3 and the AWS CLI v2: a 2x3 build-matrix, a 3-level build-graph and a
build-list; BatchGetBuildBatches' shape (DOWNLOAD_SOURCE first, buildGroups, phases); the
members' buildBatchArn and CODEBUILD_BATCH_BUILD_IDENTIFIER (as an exported variable);
ListBuildBatches and ListBuildBatchesForProject with filter.status; StopBuildBatch;
RetryBuildBatch RETRY_FAILED_BUILDS with priorBuildSummaryList; DeleteBuildBatch; and a batch
over maximumBuildsAllowed failing in DOWNLOAD_BATCHSPEC."""
import io
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import zipfile

from kiln_server import KilnServer, S3rver, announce

AWS_V2 = "/usr/bin/aws"
ROLE = "arn:aws:iam::000000000000:role/kiln"

PHASES = """phases:
  build:
    commands:
      - export BID=$CODEBUILD_BATCH_BUILD_IDENTIFIER
      - echo "member $BID A=$A B=$B"
env:
  exported-variables:
    - BID
"""

MATRIX = """version: 0.2
batch:
  build-matrix:
    dynamic:
      env:
        variables:
          A: [a1, a2]
          B: [b1, b2, b3]
""" + PHASES

GRAPH = """version: 0.2
batch:
  build-graph:
    - identifier: first
    - identifier: second
      depend-on: [first]
    - identifier: third
      depend-on: [second]
""" + PHASES

LIST = """version: 0.2
batch:
  build-list:
    - identifier: left
    - identifier: right
""" + PHASES

# `slow` sleeps until stopped; `quick` ends at once.
SLEEPING = """version: 0.2
batch:
  build-list:
    - identifier: quick
    - identifier: slow
      env:
        variables:
          NAP: "60"
phases:
  build:
    commands:
      - sleep ${NAP:-0}
"""


def flaky(flag):
    """`shaky` fails until `flag` exists (the process executor runs on this host)."""
    return """version: 0.2
batch:
  build-list:
    - identifier: steady
    - identifier: shaky
      env:
        variables:
          SHAKY: "yes"
phases:
  build:
    commands:
      - test -z "$SHAKY" || test -f %s
""" % flag


class BatchTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = KilnServer(extra_args=["--max-builds", "2"]).start()
        cls.cb = cls.server.boto3()
        cls.tmp = tempfile.mkdtemp(prefix="kiln-batches-")
        os.chmod(cls.tmp, 0o755)  # a root server's builds run as its build user

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def project(self, name, buildspec, **batch_config):
        config = {"serviceRole": ROLE}
        config.update(batch_config)
        return self.cb.create_project(
            name=name, source={"type": "NO_SOURCE", "buildspec": buildspec},
            artifacts={"type": "NO_ARTIFACTS"},
            environment={"type": "LINUX_CONTAINER", "image": "kiln/host",
                         "computeType": "BUILD_GENERAL1_SMALL"},
            serviceRole=ROLE, buildBatchConfig=config)["project"]

    def aws(self, *args):
        if not os.path.exists(AWS_V2):
            self.skipTest("AWS CLI v2 (/usr/bin/aws, Debian's awscli) not installed")
        r = subprocess.run([AWS_V2, "--endpoint-url", self.server.endpoint, "codebuild", *args,
                            "--output", "json"], env=self.server.client_env(),
                           capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, "aws %s: %s" % (" ".join(args), r.stderr))
        return json.loads(r.stdout) if r.stdout.strip() else {}

    def batch(self, batch_id):
        return self.cb.batch_get_build_batches(ids=[batch_id])["buildBatches"][0]

    def wait(self, batch_id, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            b = self.batch(batch_id)
            if b["complete"]:
                return b
            time.sleep(0.2)
        self.fail("batch %s did not finish: %s" % (batch_id, json.dumps(self.batch(batch_id))))

    def members(self, batch):
        arns = [g["currentBuildSummary"]["arn"] for g in batch["buildGroups"][1:]
                if g.get("currentBuildSummary", {}).get("arn")]
        ids = [a.split(":build/", 1)[1] for a in arns]
        return self.cb.batch_get_builds(ids=ids)["builds"] if ids else []

    def exported(self, build):
        return {v["name"]: v["value"] for v in build.get("exportedEnvironmentVariables", [])}

    def test_matrix_2x3_with_boto3(self):
        self.project("matrix", MATRIX)
        started = self.cb.start_build_batch(projectName="matrix")["buildBatch"]
        self.assertEqual(started["buildBatchStatus"], "IN_PROGRESS")
        self.assertEqual(started["buildBatchNumber"], 1)
        b = self.wait(started["id"])
        self.assertEqual(b["buildBatchStatus"], "SUCCEEDED", json.dumps(b, default=str))
        groups = b["buildGroups"]
        self.assertEqual(groups[0]["identifier"], "DOWNLOAD_SOURCE")
        self.assertEqual([g["identifier"] for g in groups[1:]],
                         ["build%d" % i for i in range(1, 7)])
        phases = [p["phaseType"] for p in b["phases"]]
        self.assertEqual(phases[:3], ["SUBMITTED", "DOWNLOAD_BATCHSPEC", "IN_PROGRESS"])
        self.assertEqual(phases[-1], "SUCCEEDED")
        self.assertNotIn("kiln", b)
        builds = self.members(b)
        self.assertEqual(len(builds), 6)
        seen = set()
        for build in builds:
            self.assertEqual(build["buildBatchArn"], b["arn"])
            self.assertEqual(build["buildStatus"], "SUCCEEDED")
            env = {v["name"]: v["value"] for v in build["environment"]["environmentVariables"]}
            seen.add((env.get("A"), env.get("B")))
            self.assertEqual(self.exported(build)["BID"],
                             next(g["identifier"] for g in groups
                                  if g.get("currentBuildSummary", {}).get("arn") == build["arn"]))
        self.assertEqual(seen, {(a, bb) for a in ("a1", "a2") for bb in ("b1", "b2", "b3")})

    def test_graph_of_three_levels_with_the_cli(self):
        self.project("graph", GRAPH)
        started = self.aws("start-build-batch", "--project-name", "graph")["buildBatch"]
        self.wait(started["id"])
        b = self.aws("batch-get-build-batches", "--ids", started["id"])["buildBatches"][0]
        self.assertEqual(b["buildBatchStatus"], "SUCCEEDED")
        groups = {g["identifier"]: g for g in b["buildGroups"]}
        self.assertEqual(groups["third"]["dependsOn"], ["second"])
        builds = {self.exported(x)["BID"]: x for x in self.members(b)}
        self.assertEqual(set(builds), {"first", "second", "third"})
        # Each level starts after the one it depends on has ended.
        self.assertGreaterEqual(builds["second"]["startTime"], builds["first"]["endTime"])
        self.assertGreaterEqual(builds["third"]["startTime"], builds["second"]["endTime"])

    def test_list_and_the_listings_filtered_by_status(self):
        self.project("listed", LIST)
        first = self.cb.start_build_batch(projectName="listed")["buildBatch"]["id"]
        self.assertEqual(self.wait(first)["buildBatchStatus"], "SUCCEEDED")
        ids = self.cb.list_build_batches_for_project(
            projectName="listed", filter={"status": "SUCCEEDED"})["ids"]
        self.assertEqual(ids, [first])
        self.assertEqual(self.cb.list_build_batches_for_project(
            projectName="listed", filter={"status": "FAILED"})["ids"], [])
        self.assertIn(first, self.cb.list_build_batches()["ids"])
        cli = self.aws("list-build-batches-for-project", "--project-name", "listed",
                       "--filter", "status=SUCCEEDED")
        self.assertEqual(cli["ids"], [first])
        self.assertIn(first, self.aws("list-build-batches")["ids"])

    def test_stop_a_batch(self):
        self.project("stopped", SLEEPING)
        batch_id = self.aws("start-build-batch", "--project-name", "stopped")["buildBatch"]["id"]
        deadline = time.time() + 60
        while time.time() < deadline:  # until `slow` runs
            slow = [x for x in self.members(self.batch(batch_id))
                    if x["currentPhase"] == "BUILD" and
                    any(v["name"] == "NAP" for v in x["environment"]["environmentVariables"])]
            if slow:
                break
            time.sleep(0.2)
        self.aws("stop-build-batch", "--id", batch_id)
        b = self.wait(batch_id, timeout=60)
        self.assertEqual(b["buildBatchStatus"], "STOPPED")
        statuses = {x["buildStatus"] for x in self.members(b)}
        self.assertIn("STOPPED", statuses)
        self.assertNotIn("IN_PROGRESS", statuses)
        # boto3 too: a batch that has ended is answered as it is stored.
        again = self.cb.stop_build_batch(id=batch_id)["buildBatch"]
        self.assertEqual(again["buildBatchStatus"], "STOPPED")
        self.assertTrue(again["complete"])

    def test_retry_failed_builds_keeps_the_prior_summary(self):
        flag = os.path.join(self.tmp, "shaky-ok")
        self.project("retried", flaky(flag))
        batch_id = self.cb.start_build_batch(projectName="retried")["buildBatch"]["id"]
        b = self.wait(batch_id)
        self.assertEqual(b["buildBatchStatus"], "FAILED")
        steady = next(g for g in b["buildGroups"] if g["identifier"] == "steady")
        steady_arn = steady["currentBuildSummary"]["arn"]
        open(flag, "w").close()
        self.cb.retry_build_batch(id=batch_id, retryType="RETRY_FAILED_BUILDS")
        b = self.wait(batch_id)
        self.assertEqual(b["buildBatchStatus"], "SUCCEEDED", json.dumps(b, default=str))
        groups = {g["identifier"]: g for g in b["buildGroups"]}
        self.assertEqual([p["buildStatus"] for p in groups["shaky"]["priorBuildSummaryList"]],
                         ["FAILED"])
        self.assertEqual(groups["shaky"]["currentBuildSummary"]["buildStatus"], "SUCCEEDED")
        self.assertEqual(groups["steady"]["currentBuildSummary"]["arn"], steady_arn,
                         "a succeeded build ran again")
        # The AWS CLI too: a batch that succeeded cannot be retried.
        r = subprocess.run([AWS_V2, "--endpoint-url", self.server.endpoint, "codebuild",
                            "retry-build-batch", "--id", batch_id, "--retry-type",
                            "RETRY_ALL_BUILDS"], env=self.server.client_env(),
                           capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("InvalidInputException", r.stderr)
        self.assertIn("Only batch builds that have failed can be retried", r.stderr)

    def test_delete_a_batch(self):
        self.project("deleted", LIST)
        batch_id = self.cb.start_build_batch(projectName="deleted")["buildBatch"]["id"]
        self.wait(batch_id)
        self.aws("delete-build-batch", "--id", batch_id)
        got = self.cb.batch_get_build_batches(ids=[batch_id])
        self.assertEqual(got["buildBatches"], [])
        self.assertEqual(got["buildBatchesNotFound"], [batch_id])
        # boto3 too, with the builds the batch ran.
        other = self.cb.start_build_batch(projectName="deleted")["buildBatch"]["id"]
        members = [x["arn"] for x in self.members(self.wait(other))]
        deleted = self.cb.delete_build_batch(id=other)
        self.assertEqual(deleted["statusCode"], "BATCH_DELETED")
        self.assertTrue(set(members) <= set(deleted["buildsDeleted"]), deleted)
        self.assertEqual(self.cb.batch_get_build_batches(ids=[other])["buildBatches"], [])

    def test_more_builds_than_allowed_fail_in_download_batchspec(self):
        self.project("limited", MATRIX, restrictions={"maximumBuildsAllowed": 4})
        batch_id = self.cb.start_build_batch(projectName="limited")["buildBatch"]["id"]
        b = self.wait(batch_id)
        self.assertEqual(b["buildBatchStatus"], "FAILED")
        phase = next(p for p in b["phases"] if p["phaseType"] == "DOWNLOAD_BATCHSPEC")
        self.assertEqual(phase["phaseStatus"], "FAILED")
        self.assertTrue(phase["contexts"] and "6" in phase["contexts"][0]["message"],
                        json.dumps(phase, default=str))
        self.assertEqual(len(b["buildGroups"]), 1, "a member was planned")


COMBINED = """version: 0.2
batch:
  build-list:
    - identifier: left
    - identifier: right
phases:
  build:
    commands:
      - echo "made by $CODEBUILD_BATCH_BUILD_IDENTIFIER" > out.txt
artifacts:
  files:
    - out.txt
"""


class CombinedArtifactsTest(unittest.TestCase):
    """combineArtifacts: the members' primary artifacts in one ZIP at the project's S3 artifacts
    location, in folders named by build identifier (§5.4)."""

    @classmethod
    def setUpClass(cls):
        cls.s3server = S3rver()
        announce(cls.__name__, cls.s3server.describe())
        cls.s3 = cls.s3server.client()
        cls.s3.create_bucket(Bucket="out")
        cls.server = KilnServer(env=cls.s3server.env()).start()
        cls.cb = cls.server.boto3()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        cls.s3server.stop()

    def test_combined_zip_has_a_folder_per_member(self):
        self.cb.create_project(
            name="combined", source={"type": "NO_SOURCE", "buildspec": COMBINED},
            artifacts={"type": "S3", "location": "out", "path": "batch", "name": "all.zip",
                       "packaging": "ZIP"},
            environment={"type": "LINUX_CONTAINER", "image": "kiln/host",
                         "computeType": "BUILD_GENERAL1_SMALL"},
            serviceRole=ROLE, buildBatchConfig={"serviceRole": ROLE, "combineArtifacts": True})
        batch_id = self.cb.start_build_batch(projectName="combined")["buildBatch"]["id"]
        deadline = time.time() + 120
        while time.time() < deadline:
            b = self.cb.batch_get_build_batches(ids=[batch_id])["buildBatches"][0]
            if b["complete"]:
                break
            time.sleep(0.2)
        self.assertEqual(b["buildBatchStatus"], "SUCCEEDED", json.dumps(b, default=str))
        self.assertIn("COMBINE_ARTIFACTS", [p["phaseType"] for p in b["phases"]])
        body = self.s3.get_object(Bucket="out", Key="batch/all.zip")["Body"].read()
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            names = sorted(n for n in z.namelist() if not n.endswith("/"))
            self.assertEqual(names, ["left/out.txt", "right/out.txt"])
            self.assertEqual(z.read("right/out.txt").decode(), "made by right\n")


if __name__ == "__main__":
    unittest.main()
