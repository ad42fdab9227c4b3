"""Webhook deliveries to a real `kiln server` (docs/webhooks.md): a project with a GITHUB source
gets a webhook through boto3's CreateWebhook, and the deliveries of tests/corpus/webhooks/ are
POSTed to its payloadUrl, signed as GitHub signs them (HMAC-SHA256 over the exact bytes).

The build a push starts clones a local repository (git smart-HTTP on loopback), so the push's
`after` must be a commit that repository has: the test swaps the corpus file's 40-hex `after`
for the local HEAD, byte for byte of the same length, and signs the result. Every other delivery
is sent exactly as stored."""
import hashlib
import hmac
import http.client
import json
import pathlib
import socket
import tempfile
import time
import unittest
import uuid

from kiln_server import KilnServer, bare_repository, git_http_server, wait_for_build

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests/corpus/webhooks"
ENV = {"type": "LINUX_CONTAINER", "image": "kiln/host", "computeType": "BUILD_GENERAL1_SMALL"}
BUILDSPEC = """version: 0.2
phases:
  build:
    commands:
      - env | grep -E '^CODEBUILD_(WEBHOOK_|INITIATOR|SOURCE_VERSION)' | sort
"""



def sign(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookDeliveries(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kiln-webhook-")
        cls.commit = bare_repository(cls.tmp, BUILDSPEC, "master", "app.git")
        cls.http, port = git_http_server(pathlib.Path(cls.tmp) / "srv", "x-access-token",
                                         "unused-token")
        cls.url = "http://127.0.0.1:%d/app.git" % port
        cls.server = KilnServer(extra_args=["--source-root", cls.tmp]).start()
        cls.cb = cls.server.boto3()
        cls.logs = cls.server.boto3("logs")
        cls.cb.import_source_credentials(token="unused-token", serverType="GITHUB",
                                         authType="PERSONAL_ACCESS_TOKEN")
        cls.cb.create_project(name="hooked", source={"type": "GITHUB", "location": cls.url},
                              artifacts={"type": "NO_ARTIFACTS"}, environment=ENV,
                              serviceRole="arn:aws:iam::000000000000:role/kiln")
        hook = cls.cb.create_webhook(projectName="hooked", filterGroups=[[
            {"type": "EVENT", "pattern": "PUSH"},
            {"type": "HEAD_REF", "pattern": "^refs/heads/master$"}]])["webhook"]
        cls.secret = hook["secret"]
        cls.path = "/webhooks/hooked"
        assert hook["payloadUrl"].endswith(cls.path), hook

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        cls.http.terminate()
        cls.http.wait(timeout=10)

    def post(self, body, event, signature=None, delivery=None, path=None):
        headers = {"Content-Type": "application/json", "X-GitHub-Event": event,
                   "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
                   "User-Agent": "GitHub-Hookshot/1c6af21"}
        if signature is not False:
            headers["X-Hub-Signature-256"] = signature or sign(self.secret, body)
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:
            conn.request("POST", path or self.path, body=body, headers=headers)
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def builds(self):
        return self.cb.list_builds_for_project(projectName="hooked")["ids"]

    def log_of(self, build):
        events = self.logs.get_log_events(logGroupName=build["logs"]["groupName"],
                                          logStreamName=build["logs"]["streamName"])["events"]
        return "\n".join(e["message"].rstrip("\n") for e in events) + "\n"

    def push_body(self):
        body = (CORPUS / "github/push-branch.json").read_bytes()
        after = json.loads(body)["after"].encode()
        self.assertEqual(len(after), 40)
        return body.replace(after, self.commit.encode())

    def test_a_signed_push_starts_one_build_with_the_webhook_variables(self):
        before = set(self.builds())
        body = self.push_body()
        delivery = str(uuid.uuid4())
        status, answer = self.post(body, "push", delivery=delivery)
        self.assertEqual(status, 202, answer)
        started = json.loads(answer)["build"]
        self.assertEqual(set(self.builds()) - before, {started})
        done = wait_for_build(self.cb, started, timeout=120)
        log = self.log_of(done)
        self.assertEqual(done["buildStatus"], "SUCCEEDED", log)
        self.assertEqual(done["sourceVersion"], self.commit)
        self.assertEqual(done["initiator"], "GitHub-Hookshot/1c6af21")
        payload = json.loads(body)
        self.assertIn("CODEBUILD_WEBHOOK_EVENT=PUSH\n", log)
        self.assertIn("CODEBUILD_WEBHOOK_HEAD_REF=refs/heads/master\n", log)
        self.assertIn("CODEBUILD_WEBHOOK_BASE_REF=\n", log)
        self.assertIn("CODEBUILD_WEBHOOK_TRIGGER=branch/master\n", log)
        self.assertIn("CODEBUILD_WEBHOOK_PREV_COMMIT=%s\n" % payload["before"], log)
        self.assertIn("CODEBUILD_WEBHOOK_ACTOR_ACCOUNT_ID=%s\n" % payload["sender"]["id"], log)
        self.assertIn("CODEBUILD_SOURCE_VERSION=%s\n" % self.commit, log)

        # The same delivery again (GitHub's "Redeliver"): answered, and no second build.
        status, answer = self.post(body, "push", delivery=delivery)
        self.assertEqual(status, 200, answer)
        self.assertFalse(json.loads(answer)["started"])
        self.assertEqual(set(self.builds()) - before, {started})

    def test_a_batch_webhook_starts_a_batch_whose_members_see_the_delivery(self):
        spec = ("version: 0.2\nbatch:\n  build-list:\n    - identifier: one\n" +
                BUILDSPEC.split("\n", 1)[1])
        self.cb.create_project(name="batched", source={"type": "GITHUB", "location": self.url,
                                                       "buildspec": spec},
                               artifacts={"type": "NO_ARTIFACTS"}, environment=ENV,
                               serviceRole="arn:aws:iam::000000000000:role/kiln",
                               buildBatchConfig={"serviceRole": "arn:aws:iam::0:role/kiln"})
        hook = self.cb.create_webhook(projectName="batched", buildType="BUILD_BATCH",
                                      filterGroups=[[{"type": "EVENT", "pattern": "PUSH"}]])
        secret = hook["webhook"]["secret"]
        body = self.push_body()
        status, answer = self.post(body, "push", signature=sign(secret, body),
                                   path="/webhooks/batched")
        self.assertEqual(status, 202, answer)
        batch_id = json.loads(answer)["buildBatch"]
        deadline = time.time() + 120
        while time.time() < deadline:
            batch = self.cb.batch_get_build_batches(ids=[batch_id])["buildBatches"][0]
            if batch["complete"]:
                break
            time.sleep(0.2)
        self.assertEqual(batch["buildBatchStatus"], "SUCCEEDED", batch)
        self.assertEqual(batch["initiator"], "GitHub-Hookshot/1c6af21")
        member = next(g for g in batch["buildGroups"] if g["identifier"] == "one")
        build = self.cb.batch_get_builds(
            ids=[member["currentBuildSummary"]["arn"].split("build/")[1]])["builds"][0]
        log = self.log_of(build)
        self.assertIn("CODEBUILD_WEBHOOK_EVENT=PUSH\n", log)
        self.assertIn("CODEBUILD_WEBHOOK_TRIGGER=branch/master\n", log)
        self.assertIn("CODEBUILD_SOURCE_VERSION=%s\n" % self.commit, log)

    def test_a_delivery_the_filters_refuse_starts_nothing(self):
        before = set(self.builds())
        body = (CORPUS / "github/pull_request-opened.json").read_bytes()
        status, answer = self.post(body, "pull_request")
        self.assertEqual(status, 200, answer)
        self.assertFalse(json.loads(answer)["started"])
        body = (CORPUS / "github/ping.json").read_bytes()
        status, answer = self.post(body, "ping")
        self.assertEqual(status, 200, answer)
        self.assertFalse(json.loads(answer)["started"])
        self.assertEqual(set(self.builds()), before)

    def test_bad_signatures_are_refused_before_the_body_is_parsed(self):
        before = set(self.builds())
        body = self.push_body()
        flipped = bytearray(body)
        flipped[len(flipped) // 2] ^= 1
        cases = {
            "unsigned": (body, False),
            "flipped byte": (bytes(flipped), sign(self.secret, body)),
            "another secret": (body, sign("not-the-secret", body)),
            "sha1 prefix": (body, "sha1=" + hashlib.sha1(body).hexdigest()),
            "re-serialised body": (json.dumps(json.loads(body)).encode(), sign(self.secret, body)),
        }
        for name, (sent, signature) in cases.items():
            with self.subTest(name):
                status, answer = self.post(sent, "push", signature=signature)
                self.assertEqual(status, 401, answer)
                self.assertNotIn(self.secret.encode(), answer)
        self.assertEqual(set(self.builds()), before)

    def test_malformed_huge_and_misaddressed_deliveries_are_refused_cleanly(self):
        before = set(self.builds())
        for body in (b"{not json", b"[]", b'{"ref": 7}', b"[" * 100000):
            with self.subTest(body=body[:20]):
                status, answer = self.post(body, "push")
                self.assertEqual(status, 400, answer)
        # 30 MB (GitHub sends at most 25 MB): refused on its head, before any of it is read.
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=30) as s:
            s.sendall(b"POST /webhooks/hooked HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\n"
                      b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                      % (30 * 1024 * 1024))
            s.sendall(b"{" * 65536)
            head = s.recv(65536)
        self.assertTrue(head.startswith(b"HTTP/1.1 413 "), head)
        # A missing project and a project without a webhook answer alike.
        self.cb.create_project(name="plain", source={"type": "GITHUB", "location": self.url},
                               artifacts={"type": "NO_ARTIFACTS"}, environment=ENV,
                               serviceRole="arn:aws:iam::000000000000:role/kiln")
        answers = []
        for path in ("/webhooks/nope", "/webhooks/plain"):
            status, answer = self.post(self.push_body(), "push", path=path)
            self.assertEqual(status, 404, answer)
            answers.append(json.loads(answer)["message"].replace(path, "<path>"))
        self.assertEqual(answers[0], answers[1])
        self.assertEqual(set(self.builds()), before)
        # The server is still up and answering the API.
        self.assertIn("hooked", self.cb.list_projects()["projects"])


if __name__ == "__main__":
    unittest.main()
