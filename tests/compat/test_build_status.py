"""Build status reporting (docs/webhooks.md "Build status") from a real `kiln server`: projects
whose GITHUB or GITLAB source is a local git smart-HTTP server, with reportBuildStatus on, post
their states to a local HTTP server that plays the git host's API (--status-api-url) and records
each call with its credential header."""
import hashlib
import hmac
import http.client
import json
import pathlib
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from kiln_server import KilnServer, bare_repository, git_http_server, wait_for_build

ROOT = pathlib.Path(__file__).resolve().parents[2]
ENV = {"type": "LINUX_CONTAINER", "image": "kiln/host", "computeType": "BUILD_GENERAL1_SMALL"}
ROLE = "arn:aws:iam::000000000000:role/kiln"
OK_SPEC = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo fine\n"
BAD_SPEC = "version: 0.2\nphases:\n  build:\n    commands:\n      - exit 3\n"


class FakeProvider:
    """Answers 201 to every POST, except `failures[name]` times 500 first for a status whose
    context/name is `name`; records (path, credential header, body) of every call."""

    def __init__(self):
        self.calls = []
        self.failures = {}
        self.lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                name = body.get("context") or body.get("name")
                with provider.lock:
                    auth = self.headers.get("Authorization") or "PRIVATE-TOKEN " + str(
                        self.headers.get("PRIVATE-TOKEN"))
                    provider.calls.append((self.path, auth, body))
                    fail = provider.failures.get(name, 0) > 0
                    if fail:
                        provider.failures[name] -= 1
                self.send_response(500 if fail else 201)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def for_context(self, name):
        with self.lock:
            return [c for c in self.calls if (c[2].get("context") or c[2].get("name")) == name]

    def wait(self, name, count, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            calls = self.for_context(name)
            if len(calls) >= count:
                return calls
            time.sleep(0.1)
        raise AssertionError("%d status calls for %r, not %d: %r" %
                             (len(self.for_context(name)), name, count, self.calls))


class BuildStatus(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kiln-status-")
        cls.commit = bare_repository(cls.tmp, OK_SPEC, "main", "octo/app.git")
        srv = pathlib.Path(cls.tmp) / "srv"
        cls.gh_git, gh_port = git_http_server(srv, "x-access-token", "gh-token-1234")
        cls.gl_git, gl_port = git_http_server(srv, "oauth2", "gl-token-5678")
        cls.gh_url = "http://127.0.0.1:%d/octo/app.git" % gh_port
        cls.gl_url = "http://127.0.0.1:%d/octo/app.git" % gl_port
        cls.provider = FakeProvider()
        api = "http://127.0.0.1:%d" % cls.provider.port
        cls.server = KilnServer(extra_args=[
            "--status-api-url", "GITHUB=%s/gh" % api,
            "--status-api-url", "gitlab=%s/gl/" % api]).start()
        cls.cb = cls.server.boto3()
        cls.cb.import_source_credentials(token="gh-token-1234", serverType="GITHUB",
                                         authType="PERSONAL_ACCESS_TOKEN")
        cls.cb.import_source_credentials(token="gl-token-5678", serverType="GITLAB",
                                         authType="PERSONAL_ACCESS_TOKEN")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        for proc in (cls.gh_git, cls.gl_git):
            proc.terminate()
            proc.wait(timeout=10)
            proc.stdout.close()
        cls.provider.server.shutdown()
        cls.provider.server.server_close()

    def project(self, name, source):
        self.cb.create_project(name=name, source=source, artifacts={"type": "NO_ARTIFACTS"},
                               environment=ENV, serviceRole=ROLE)

    def test_github_gets_pending_then_success_on_the_commit_with_the_stored_token(self):
        self.project("gh-ok", {"type": "GITHUB", "location": self.gh_url,
                               "reportBuildStatus": True,
                               "buildStatusConfig": {
                                   "context": "kiln/$CODEBUILD_BUILD_NUMBER",
                                   "targetUrl": "https://ci.example/${CODEBUILD_BUILD_ID}"}})
        build_id = self.cb.start_build(projectName="gh-ok")["build"]["id"]
        done = wait_for_build(self.cb, build_id, timeout=120)
        self.assertEqual(done["buildStatus"], "SUCCEEDED")
        calls = self.provider.wait("kiln/1", 2)
        self.assertEqual([c[2]["state"] for c in calls], ["pending", "success"])
        for path, auth, body in calls:
            self.assertEqual(path, "/gh/repos/octo/app/statuses/" + self.commit)
            self.assertEqual(auth, "Bearer gh-token-1234")
            self.assertEqual(body["target_url"], "https://ci.example/" + build_id)
        time.sleep(1)
        self.assertEqual(len(self.provider.for_context("kiln/1")), 2)  # each state once

    def test_a_failing_build_reports_failure_through_the_start_build_overrides(self):
        self.project("gh-bad", {"type": "GITHUB", "location": self.gh_url, "buildspec": BAD_SPEC})
        build_id = self.cb.start_build(
            projectName="gh-bad", reportBuildStatusOverride=True, sourceVersion=self.commit,
            buildStatusConfigOverride={"context": "bad/$CODEBUILD_SOURCE_VERSION"})["build"]["id"]
        done = wait_for_build(self.cb, build_id, timeout=120)
        self.assertEqual(done["buildStatus"], "FAILED")
        calls = self.provider.wait("bad/" + self.commit, 2)
        self.assertEqual([c[2]["state"] for c in calls], ["pending", "failure"])

    def test_a_project_without_report_build_status_posts_nothing(self):
        self.project("gh-quiet", {"type": "GITHUB", "location": self.gh_url})
        build_id = self.cb.start_build(projectName="gh-quiet")["build"]["id"]
        self.assertEqual(wait_for_build(self.cb, build_id, timeout=120)["buildStatus"],
                         "SUCCEEDED")
        time.sleep(1)
        self.assertEqual(self.provider.for_context("AWS CodeBuild us-east-1 (gh-quiet)"), [])

    def test_gitlab_gets_running_then_success_with_private_token(self):
        self.project("gl-ok", {"type": "GITLAB", "location": self.gl_url,
                               "reportBuildStatus": True})
        build_id = self.cb.start_build(projectName="gl-ok")["build"]["id"]
        self.assertEqual(wait_for_build(self.cb, build_id, timeout=120)["buildStatus"],
                         "SUCCEEDED")
        calls = self.provider.wait("AWS CodeBuild us-east-1 (gl-ok)", 2)
        self.assertEqual([c[2]["state"] for c in calls], ["running", "success"])
        for path, auth, _ in calls:
            self.assertEqual(path, "/gl/projects/octo%2Fapp/statuses/" + self.commit)
            self.assertEqual(auth, "PRIVATE-TOKEN gl-token-5678")

    def test_a_provider_that_fails_twice_gets_the_status_on_the_third_attempt(self):
        self.provider.failures["flaky"] = 2
        self.project("gh-flaky", {"type": "GITHUB", "location": self.gh_url,
                                  "reportBuildStatus": True,
                                  "buildStatusConfig": {"context": "flaky"}})
        build_id = self.cb.start_build(projectName="gh-flaky")["build"]["id"]
        done = wait_for_build(self.cb, build_id, timeout=120)
        self.assertEqual(done["buildStatus"], "SUCCEEDED")  # the failures change nothing
        calls = self.provider.wait("flaky", 4)
        self.assertEqual([c[2]["state"] for c in calls],
                         ["pending", "pending", "pending", "success"])
        stderr = pathlib.Path(self.server.stderr_path).read_text()
        self.assertNotIn("gh-token-1234", stderr)

    def test_a_webhook_build_always_reports(self):
        self.project("gh-hook", {"type": "GITHUB", "location": self.gh_url})
        secret = self.cb.create_webhook(projectName="gh-hook", filterGroups=[[
            {"type": "EVENT", "pattern": "PUSH"}]])["webhook"]["secret"]
        body = (ROOT / "tests/corpus/webhooks/github/push-branch.json").read_bytes()
        body = body.replace(json.loads(body)["after"].encode(), self.commit.encode())
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        conn.request("POST", "/webhooks/gh-hook", body=body, headers={
            "Content-Type": "application/json", "X-GitHub-Event": "push",
            "X-GitHub-Delivery": "status-1", "User-Agent": "GitHub-Hookshot/1",
            "X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body,
                                                        hashlib.sha256).hexdigest()})
        answer = conn.getresponse()
        text = answer.read()
        self.assertEqual(answer.status, 202, text)
        build_id = json.loads(text)["build"]
        conn.close()
        self.assertEqual(wait_for_build(self.cb, build_id, timeout=120)["buildStatus"],
                         "SUCCEEDED")
        calls = self.provider.wait("AWS CodeBuild us-east-1 (gh-hook)", 2)
        self.assertEqual([c[2]["state"] for c in calls], ["pending", "success"])

    def batch_project(self, name):
        spec = ("version: 0.2\nbatch:\n  build-list:\n    - identifier: one\n"
                "    - identifier: two\n" + OK_SPEC.split("\n", 1)[1])
        self.cb.create_project(name=name, source={"type": "GITHUB", "location": self.gh_url,
                                                  "buildspec": spec, "reportBuildStatus": True},
                               artifacts={"type": "NO_ARTIFACTS"}, environment=ENV,
                               serviceRole=ROLE, buildBatchConfig={"serviceRole": ROLE})

    def run_batch(self, name, **extra):
        batch_id = self.cb.start_build_batch(projectName=name, **extra)["buildBatch"]["id"]
        deadline = time.time() + 120
        while time.time() < deadline:
            batch = self.cb.batch_get_build_batches(ids=[batch_id])["buildBatches"][0]
            if batch["complete"]:
                return batch
            time.sleep(0.2)
        raise AssertionError("batch %s did not finish" % batch_id)

    def test_an_aggregated_batch_posts_one_status_for_all_its_builds(self):
        self.batch_project("gh-agg")
        self.assertEqual(self.run_batch("gh-agg")["buildBatchStatus"], "SUCCEEDED")
        calls = self.provider.wait("AWS CodeBuild us-east-1 (gh-agg)", 2)
        self.assertEqual([c[2]["state"] for c in calls], ["pending", "success"])
        self.assertEqual(calls[1][2]["description"], "Batch succeeded")
        time.sleep(1)
        with self.provider.lock:
            names = {c[2]["context"] for c in self.provider.calls}
        self.assertFalse([n for n in names if n.startswith("AWS CodeBuild us-east-1 (gh-agg) /")])

    def test_individual_builds_of_a_batch_post_one_status_each(self):
        self.batch_project("gh-ind")
        batch = self.run_batch("gh-ind", buildBatchConfigOverride={
            "serviceRole": ROLE, "batchReportMode": "REPORT_INDIVIDUAL_BUILDS"})
        self.assertEqual(batch["buildBatchStatus"], "SUCCEEDED")
        for member in ("one", "two"):
            calls = self.provider.wait("AWS CodeBuild us-east-1 (gh-ind) / " + member, 2)
            self.assertEqual([c[2]["state"] for c in calls], ["pending", "success"])
        self.assertEqual(self.provider.for_context("AWS CodeBuild us-east-1 (gh-ind)"), [])

    def test_create_project_refuses_report_build_status_for_other_sources(self):
        with self.assertRaises(self.cb.exceptions.InvalidInputException) as e:
            self.cb.create_project(name="s3-report", source={
                "type": "S3", "location": "bucket/key.zip", "reportBuildStatus": True},
                artifacts={"type": "NO_ARTIFACTS"}, environment=ENV, serviceRole=ROLE)
        self.assertIn("reportBuildStatus is not supported for source type S3", str(e.exception))


if __name__ == "__main__":
    unittest.main()
