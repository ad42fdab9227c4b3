"""boto3 against a real kiln server: projects, builds, logs, stop, retry, pagination, errors."""
import os
import json
import time
import unittest
import urllib.request

import botocore.exceptions

from kiln_server import KilnServer, inline_project, wait_for_build

HELLO = """version: 0.2
phases:
  build:
    commands:
      - echo "hello from $CODEBUILD_BUILD_ID"
      - export GREETING=hi
  post_build:
    commands:
      - echo "greeting is $GREETING"
"""


class Boto3Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # An S3 endpoint where nothing listens: S3 artifacts fail fast, never reach AWS.
        env = dict(os.environ, AWS_ENDPOINT_URL_S3="http://127.0.0.1:9",
                   AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
        cls.server = KilnServer(env=env).start()
        cls.cb = cls.server.boto3()
        cls.logs = cls.server.boto3("logs")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def error_code(self, fn, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(**kwargs)
        return cm.exception.response["Error"]["Code"], cm.exception.response["Error"]["Message"]

    def test_project_lifecycle(self):
        p = inline_project(self.cb, "life", HELLO, description="first")
        self.assertEqual(p["arn"], "arn:aws:codebuild:us-east-1:000000000000:project/life")
        self.assertEqual(p["timeoutInMinutes"], 60)
        code, _ = self.error_code(inline_project, client=self.cb, name="life", buildspec=HELLO)
        self.assertEqual(code, "ResourceAlreadyExistsException")
        p = self.cb.update_project(name="life", description="second", timeoutInMinutes=30)["project"]
        self.assertEqual((p["description"], p["timeoutInMinutes"]), ("second", 30))
        got = self.cb.batch_get_projects(names=["life", "nope"])
        self.assertEqual([x["name"] for x in got["projects"]], ["life"])
        self.assertEqual(got["projectsNotFound"], ["nope"])
        self.assertIn("life", self.cb.list_projects(sortBy="NAME", sortOrder="ASCENDING")["projects"])
        self.cb.delete_project(name="life")
        self.assertEqual(self.cb.batch_get_projects(names=["life"])["projectsNotFound"], ["life"])

    def test_build_runs_and_logs(self):
        inline_project(self.cb, "hello", HELLO)
        build = self.cb.start_build(projectName="hello")["build"]
        self.assertEqual(build["buildStatus"], "IN_PROGRESS")
        self.assertTrue(build["id"].startswith("hello:"))
        self.assertEqual(build["initiator"], "admin")
        done = wait_for_build(self.cb, build["id"])
        self.assertEqual(done["buildStatus"], "SUCCEEDED", json.dumps(done, default=str))
        phases = [p["phaseType"] for p in done["phases"]]
        self.assertEqual(phases, ["SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE",
                                  "INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD",
                                  "UPLOAD_ARTIFACTS", "FINALIZING", "COMPLETED"])
        logs = done["logs"]
        events = self.logs.get_log_events(logGroupName=logs["groupName"],
                                          logStreamName=logs["streamName"],
                                          startFromHead=True)["events"]
        text = "\n".join(e["message"] for e in events)
        self.assertIn("hello from " + build["id"], text)
        self.assertIn("greeting is hi", text)
        found = self.logs.filter_log_events(logGroupName=logs["groupName"],
                                            filterPattern='"greeting is hi"')["events"]
        self.assertEqual([e["message"] for e in found], ["greeting is hi"])
        second = self.cb.start_build(projectName="hello")["build"]
        self.assertEqual(second["buildNumber"], build["buildNumber"] + 1)
        wait_for_build(self.cb, second["id"])

    def test_failure_stop_and_retry(self):
        inline_project(self.cb, "fails", "version: 0.2\nphases:\n  build:\n    commands:\n      - exit 3\n")
        failed = wait_for_build(self.cb, self.cb.start_build(projectName="fails")["build"]["id"])
        self.assertEqual(failed["buildStatus"], "FAILED")
        build_phase = [p for p in failed["phases"] if p["phaseType"] == "BUILD"][0]
        self.assertEqual(build_phase["contexts"][0]["statusCode"], "COMMAND_EXECUTION_ERROR")
        retried = self.cb.retry_build(id=failed["id"])["build"]
        self.assertNotEqual(retried["id"], failed["id"])
        self.assertEqual(wait_for_build(self.cb, retried["id"])["buildStatus"], "FAILED")

        inline_project(self.cb, "sleeper", "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 60\n")
        b = self.cb.start_build(projectName="sleeper")["build"]
        deadline = time.time() + 20
        while time.time() < deadline:
            cur = self.cb.batch_get_builds(ids=[b["id"]])["builds"][0]
            if cur["currentPhase"] == "BUILD":
                break
            time.sleep(0.1)
        stopped = self.cb.stop_build(id=b["id"])["build"]
        final = wait_for_build(self.cb, b["id"], timeout=30)
        self.assertEqual(final["buildStatus"], "STOPPED", json.dumps(stopped, default=str))

    def test_overrides_and_idempotency(self):
        inline_project(self.cb, "overrides", HELLO,
                       environment={"type": "LINUX_CONTAINER", "image": "kiln/host",
                                    "computeType": "BUILD_GENERAL1_SMALL",
                                    "environmentVariables": [{"name": "WHO", "value": "project"}]})
        spec = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"who=$WHO\"\n"
        b = self.cb.start_build(projectName="overrides", buildspecOverride=spec,
                                environmentVariablesOverride=[{"name": "WHO", "value": "override"}],
                                idempotencyToken="tok-1")["build"]
        again = self.cb.start_build(projectName="overrides", buildspecOverride=spec,
                                    environmentVariablesOverride=[{"name": "WHO",
                                                                   "value": "override"}],
                                    idempotencyToken="tok-1")["build"]
        self.assertEqual(again["id"], b["id"])
        done = wait_for_build(self.cb, b["id"])
        events = self.logs.get_log_events(logGroupName=done["logs"]["groupName"],
                                          logStreamName=done["logs"]["streamName"])["events"]
        self.assertIn("who=override", [e["message"] for e in events])

    def test_artifacts_follow_the_project(self):
        spec = ("version: 0.2\nphases:\n  build:\n    commands:\n      - echo data > out.txt\n"
                "artifacts:\n  files:\n    - out.txt\n")
        inline_project(self.cb, "arts", spec)  # NO_ARTIFACTS: nothing is kept
        done = wait_for_build(self.cb, self.cb.start_build(projectName="arts")["build"]["id"])
        self.assertEqual(done["buildStatus"], "SUCCEEDED")
        # A root server with --executor process makes artifacts/ (empty, 0700) at start.
        arts = self.server.data / "artifacts"
        self.assertEqual(list(arts.iterdir()) if arts.exists() else [], [])
        # S3 artifacts go to the S3 endpoint the server is configured with (test_s3_builds.py);
        # this server has none, so the upload fails the build instead of losing the files.
        b = self.cb.start_build(projectName="arts", artifactsOverride={
            "type": "S3", "location": "bucket", "packaging": "ZIP", "name": "a.zip"})["build"]
        done = wait_for_build(self.cb, b["id"])
        self.assertEqual(done["buildStatus"], "FAILED")
        phase = [p for p in done["phases"] if p["phaseType"] == "UPLOAD_ARTIFACTS"][0]
        self.assertEqual(phase["contexts"][0]["statusCode"], "CLIENT_ERROR")
        self.assertTrue(phase["contexts"][0]["message"].startswith("Failed to upload artifacts: "),
                        phase["contexts"][0]["message"])

    def test_pagination_over_150_builds(self):
        inline_project(self.cb, "many", "version: 0.2\nphases:\n  build:\n    commands:\n      - true\n")
        ids = [self.cb.start_build(projectName="many")["build"]["id"] for _ in range(150)]
        pages = list(self.cb.get_paginator("list_builds_for_project").paginate(projectName="many"))
        listed = [i for page in pages for i in page["ids"]]
        self.assertEqual(len(pages), 2)
        self.assertEqual(sorted(listed), sorted(ids))
        self.assertEqual(listed[0], ids[-1])  # newest first by default
        all_ids = [i for page in self.cb.get_paginator("list_builds").paginate() for i in page["ids"]]
        self.assertTrue(set(ids) <= set(all_ids))
        for i in ids[-20:]:
            wait_for_build(self.cb, i, timeout=120)

    def test_list_curated_environment_images(self):
        platforms = self.cb.list_curated_environment_images()["platforms"]
        self.assertEqual([p["platform"] for p in platforms], ["DEBIAN"])
        by_language = {l["language"]: [i["name"] for i in l["images"]]
                       for l in platforms[0]["languages"]}
        self.assertEqual(by_language["BASE"], ["kiln/minimal"])
        self.assertEqual(by_language["PYTHON"], ["kiln/standard", "kiln/docker"])
        self.assertEqual(by_language["DOCKER"], ["kiln/docker"])
        image = platforms[0]["languages"][0]["images"][0]
        self.assertEqual(image["versions"], ["kiln/minimal:latest"])
        self.assertTrue(image["description"])

    def test_input_errors(self):
        code, msg = self.error_code(inline_project, client=self.cb, name="bad name!", buildspec=HELLO)
        self.assertEqual(code, "InvalidInputException")
        self.assertIn("name", msg)
        code, msg = self.error_code(self.cb.create_project, name="t3000",
                                    source={"type": "NO_SOURCE", "buildspec": HELLO},
                                    artifacts={"type": "NO_ARTIFACTS"},
                                    environment={"type": "LINUX_CONTAINER", "image": "x",
                                                 "computeType": "BUILD_GENERAL1_SMALL"},
                                    serviceRole="r", timeoutInMinutes=3000)
        self.assertEqual(code, "InvalidInputException")
        self.assertIn("timeoutInMinutes", msg)
        code, _ = self.error_code(self.cb.start_build, projectName="does-not-exist")
        self.assertEqual(code, "ResourceNotFoundException")
        got = self.cb.batch_get_builds(ids=["nope:123"])
        self.assertEqual((got["builds"], got["buildsNotFound"]), ([], ["nope:123"]))
        code, _ = self.error_code(self.cb.list_builds, nextToken="garbage")
        self.assertEqual(code, "InvalidInputException")

    def raw(self, body, target="CodeBuild_20161006.ListProjects", sign=True, secret=None):
        import botocore.auth
        import botocore.awsrequest
        import botocore.credentials
        key, real_secret = self.server.credentials()
        req = botocore.awsrequest.AWSRequest(
            method="POST", url=self.server.endpoint + "/", data=body,
            headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target})
        if sign:
            creds = botocore.credentials.Credentials(key, secret or real_secret)
            botocore.auth.SigV4Auth(creds, "codebuild", "us-east-1").add_auth(req)
        prepared = req.prepare()
        r = urllib.request.Request(prepared.url, data=body.encode() if isinstance(body, str) else body,
                                   headers=dict(prepared.headers), method="POST")
        try:
            with urllib.request.urlopen(r) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def get_log(self, path, headers=None):
        import botocore.auth
        import botocore.awsrequest
        import botocore.credentials
        key, secret = self.server.credentials()
        req = botocore.awsrequest.AWSRequest(method="GET", url=self.server.endpoint + path,
                                             headers=headers or {})
        botocore.auth.SigV4Auth(botocore.credentials.Credentials(key, secret), "codebuild",
                                "us-east-1").add_auth(req)
        prepared = req.prepare()
        r = urllib.request.Request(prepared.url, headers=dict(prepared.headers), method="GET")
        try:
            with urllib.request.urlopen(r) as resp:
                return resp.status, resp.read().decode(), dict(resp.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), dict(e.headers)

    def test_log_over_http_follow_and_ranges(self):
        spec = ("version: 0.2\nphases:\n  build:\n    commands:\n      - echo first-line\n"
                "      - sleep 1\n      - echo last-line\n")
        inline_project(self.cb, "followed", spec)
        b = self.cb.start_build(projectName="followed")["build"]
        path = "/logs/followed/" + b["id"].split(":", 1)[1]
        status, body, _ = self.get_log(path + "?follow=1")  # returns when the build ends
        self.assertEqual(status, 200)
        self.assertLess(body.index("first-line"), body.index("last-line"))
        self.assertIn("Phase complete: UPLOAD_ARTIFACTS", body)
        status, whole, headers = self.get_log(path)
        self.assertEqual((status, headers.get("Accept-Ranges")), (200, "bytes"))
        status, part, headers = self.get_log(path, {"Range": "bytes=0-10"})
        self.assertEqual((status, part), (206, whole[:11]))
        self.assertEqual(headers["Content-Range"], "bytes 0-10/%d" % len(whole.encode()))
        status, _, _ = self.get_log(path, {"Range": "bytes=999999999-"})
        self.assertEqual(status, 416)
        status, _, _ = self.get_log("/logs/followed/not-a-uuid")
        self.assertEqual(status, 404)
        status, _, _ = self.get_log("/logs/../../etc/passwd")
        self.assertEqual(status, 404)

    def test_protocol_errors_never_5xx(self):
        status, body = self.raw("{}")
        self.assertEqual(status, 200)
        self.assertIn("projects", body)
        for payload, expect in [("{not json", "SerializationException"),
                                ("[1,2]", "SerializationException")]:
            status, body = self.raw(payload)
            self.assertEqual((status, body["__type"]), (400, expect), payload)
        status, body = self.raw("{}", target="CodeBuild_20161006.NoSuchOperation")
        self.assertEqual((status, body["__type"]), (400, "InvalidInputException"))
        status, body = self.raw("{}", sign=False)
        self.assertEqual((status, body["__type"]), (400, "MissingAuthenticationTokenException"))
        status, body = self.raw("{}", secret="wrong-secret")
        self.assertEqual((status, body["__type"]), (400, "InvalidSignatureException"))
        status, body = self.raw('{"name": 5}', target="CodeBuild_20161006.DeleteProject")
        self.assertEqual((status, body["__type"]), (400, "InvalidInputException"))


class PrivilegedRecordTest(unittest.TestCase):
    """environment.privilegedMode in BatchGetBuilds, while queued (the API writes the record) and
    once run (the worker's engine does): it used to be false whatever the build asked."""

    @classmethod
    def setUpClass(cls):
        # --max-builds 1: a sleeping build holds the only slot, so the next builds stay queued
        # until it ends. The process executor runs a privileged build like any other.
        cls.server = KilnServer(extra_args=["--allow-privileged", "--max-builds", "1"]).start()
        cls.cb = cls.server.boto3()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_privileged_mode_from_the_project_or_the_override(self):
        env = {"type": "LINUX_CONTAINER", "image": "kiln/host",
               "computeType": "BUILD_GENERAL1_SMALL", "privilegedMode": True}
        inline_project(self.cb, "priv", HELLO, environment=env)
        inline_project(self.cb, "plain", HELLO)
        inline_project(self.cb, "holder",
                       "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 5\n")
        holder = self.cb.start_build(projectName="holder")["build"]
        deadline = time.time() + 20
        while self.cb.batch_get_builds(ids=[holder["id"]])["builds"][0]["currentPhase"] == "QUEUED":
            self.assertLess(time.time(), deadline, "the holder build never started")
            time.sleep(0.1)
        expected = {}
        for project, extra, privileged in [("priv", {}, True),
                                           ("plain", {"privilegedModeOverride": True}, True),
                                           ("plain", {}, False)]:
            started = self.cb.start_build(projectName=project, **extra)["build"]
            self.assertEqual(started["environment"]["privilegedMode"], privileged, extra)
            expected[started["id"]] = privileged
        queued = self.cb.batch_get_builds(ids=list(expected))["builds"]
        self.assertEqual([b["currentPhase"] for b in queued], ["QUEUED"] * 3)
        self.assertEqual({b["id"]: b["environment"]["privilegedMode"] for b in queued}, expected)

        for build_id, privileged in expected.items():
            done = wait_for_build(self.cb, build_id)
            self.assertEqual(done["buildStatus"], "SUCCEEDED", json.dumps(done, default=str))
            self.assertEqual(done["environment"]["privilegedMode"], privileged, build_id)


if __name__ == "__main__":
    unittest.main()
