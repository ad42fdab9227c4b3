"""Build events (docs/events.md) with a real kiln server: the journal in DATA/events/*.jsonl in
the documented order, GET /events as Server-Sent Events (SigV4-signed, filtered by project,
resumed with Last-Event-ID), HTTP targets that get each event signed with HMAC-SHA256, a target
that always fails (dead letter), and a target that was down while builds ran and gets the events
after the server restarts."""
import hashlib
import hmac
import http.client
import http.server
import json
import socket
import subprocess
import threading
import time
import unittest

import botocore.auth
import botocore.awsrequest
import botocore.credentials

from kiln_server import KILN, REGION, KilnServer, inline_project, wait_for_build

SPEC = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hello\n"
SECRET = "s3cr3t-for-tests"
STATE = "CodeBuild Build State Change"
PHASE = "CodeBuild Build Phase Change"


class Receiver:
    """An HTTP target on 127.0.0.1 that answers every POST with `status` and keeps them."""

    def __init__(self, status=200, port=0):
        self.status = status
        self.posts = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self):
        return "http://127.0.0.1:%d/hook" % self.port

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def events(self):
        return [json.loads(body) for _, body in self.posts]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=60, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def read_journal(data):
    lines = []
    for path in sorted((data / "events").glob("*.jsonl")):
        lines += [json.loads(line) for line in path.read_text().splitlines() if line]
    return lines


def milestone(event):
    d = event["detail"]
    if event["detail-type"] == PHASE:
        return "phase:" + d["completed-phase"]
    return "state:" + d["build-status"]


class SseReader:
    """GET /events?<query>, signed with the server's admin key, read on a thread."""

    def __init__(self, server, query="", last_event_id=None, credentials=None):
        key, secret = credentials or server.credentials()
        headers = {}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        req = botocore.awsrequest.AWSRequest(method="GET",
                                             url=server.endpoint + "/events" + query,
                                             headers=headers)
        botocore.auth.SigV4Auth(botocore.credentials.Credentials(key, secret), "codebuild",
                                REGION).add_auth(req)
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        self.conn.request("GET", "/events" + query, headers=dict(req.headers))
        self.resp = self.conn.getresponse()
        self.messages = []  # (id, event, data)
        if self.resp.status == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        fields = {}
        try:
            for raw in self.resp:
                line = raw.decode().rstrip("\n")
                if not line:
                    if "data" in fields:
                        self.messages.append((int(fields["id"]), fields["event"],
                                              json.loads(fields["data"])))
                    fields = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(": ")
                    fields[name] = value
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            # closed by close() or by the server: the messages so far are kept
            pass

    def close(self):
        self.conn.close()


class EventsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.good = Receiver(200)
        cls.failing = Receiver(500)
        cls.down_port = free_port()  # nothing listens here until the restart
        cls.server = KilnServer()
        cls.server.data.mkdir(parents=True, exist_ok=True)
        cls.rules = cls.server.data.parent / (cls.server.data.name + "-targets.json")
        cls.rules.write_text(json.dumps([
            {"name": "good", "url": cls.good.url, "projects": ["evt-a"], "secret": SECRET},
            {"name": "failing", "url": cls.failing.url, "projects": ["*"],
             "detailTypes": [STATE], "secret": SECRET, "maxAttempts": 2},
            {"name": "later", "url": "http://127.0.0.1:%d/hook" % cls.down_port,
             "projects": ["*"], "secret": SECRET, "maxAttempts": 100},
        ]))
        cls.server.extra_args = ["--event-targets", str(cls.rules)]
        cls.server.start()
        cls.cb = cls.server.boto3()
        inline_project(cls.cb, "evt-a", SPEC, environment={
            "type": "LINUX_CONTAINER", "image": "kiln/host", "computeType": "BUILD_GENERAL1_SMALL",
            "environmentVariables": [{"name": "PLAIN", "value": "shown", "type": "PLAINTEXT"}]})
        inline_project(cls.cb, "evt-b", SPEC)
        cls.live = SseReader(cls.server, "?project=evt-a")
        cls.builds = {}
        for project in ("evt-a", "evt-b"):
            build_id = cls.cb.start_build(projectName=project)["build"]["id"]
            done = wait_for_build(cls.cb, build_id, timeout=120)
            assert done["buildStatus"] == "SUCCEEDED", done
            cls.builds[project] = done

    @classmethod
    def tearDownClass(cls):
        cls.live.close()
        cls.server.cleanup()
        cls.good.stop()
        cls.failing.stop()
        cls.rules.unlink(missing_ok=True)

    def build_events(self, project, events):
        arn = self.builds[project]["arn"]
        return [e for e in events if e["resources"] == [arn]]

    def journal_events(self, project):
        wait_until(lambda: any(milestone(e["event"]) == "state:SUCCEEDED"
                               for e in read_journal(self.server.data)
                               if e["event"]["resources"] == [self.builds[project]["arn"]]),
                   what="the final event in the journal")
        return self.build_events(project, [e["event"] for e in read_journal(self.server.data)])

    def expected_milestones(self, project):
        phases = [p["phaseType"] for p in self.builds[project]["phases"] if "endTime" in p]
        waiting = [p for p in phases if p in ("SUBMITTED", "QUEUED")]
        running = [p for p in phases if p not in ("SUBMITTED", "QUEUED")]
        return (["phase:" + p for p in waiting] + ["state:IN_PROGRESS"] +
                ["phase:" + p for p in running] + ["state:SUCCEEDED"])

    def test_journal_holds_each_event_once_in_order(self):
        events = self.journal_events("evt-a")
        self.assertEqual([milestone(e) for e in events], self.expected_milestones("evt-a"))
        seqs = [e["seq"] for e in read_journal(self.server.data)]
        self.assertEqual(seqs, list(range(1, len(seqs) + 1)))
        final = events[-1]
        self.assertEqual(final["source"], "aws.codebuild")
        self.assertEqual(final["version"], "0")
        self.assertEqual(final["region"], REGION)
        self.assertEqual(final["account"], "000000000000")
        self.assertRegex(final["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        d = final["detail"]
        self.assertEqual(d["project-name"], "evt-a")
        self.assertEqual(d["build-id"], self.builds["evt-a"]["arn"])
        self.assertEqual(d["current-phase"], "COMPLETED")
        self.assertEqual(d["version"], "1")
        info = d["additional-information"]
        self.assertTrue(info["build-complete"])
        self.assertEqual(info["build-number"], self.builds["evt-a"]["buildNumber"])
        self.assertEqual(info["environment"]["environment-variables"],
                         [{"name": "PLAIN", "type": "PLAINTEXT", "value": "shown"}])
        self.assertEqual(info["logs"]["group-name"], "/aws/codebuild/evt-a")
        phase = next(e for e in events if milestone(e) == "phase:BUILD")["detail"]
        self.assertEqual(phase["completed-phase-status"], "SUCCEEDED")
        self.assertRegex(phase["completed-phase-end"],
                         r"^[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d\d:\d\d [AP]M$")

    def test_sse_streams_one_project_and_resumes(self):
        self.journal_events("evt-a")
        expected = self.expected_milestones("evt-a")
        wait_until(lambda: len(self.live.messages) >= len(expected), timeout=10,
                   what="the streamed events")
        self.assertEqual(self.live.resp.getheader("Content-Type"), "text/event-stream")
        self.assertEqual([milestone(m[2]) for m in self.live.messages], expected)
        self.assertEqual({m[2]["detail"]["project-name"] for m in self.live.messages}, {"evt-a"})
        self.assertEqual([m[1] for m in self.live.messages],
                         [m[2]["detail-type"] for m in self.live.messages])
        first = self.live.messages[0][0]
        resumed = SseReader(self.server, "?project=evt-a", last_event_id=first)
        try:
            wait_until(lambda: len(resumed.messages) >= len(expected) - 1, timeout=10,
                       what="the replayed events")
            self.assertEqual([m[0] for m in resumed.messages],
                             [m[0] for m in self.live.messages[1:]])
        finally:
            resumed.close()

    def test_sse_needs_a_signature(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        conn.request("GET", "/events")
        self.assertEqual(conn.getresponse().status, 400)
        conn.close()

    def test_a_key_streams_only_the_projects_it_may_read(self):
        policy = self.server.data.parent / (self.server.data.name + "-dev.json")
        policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": ["codebuild:BatchGetBuilds"],
            "Resource": ["arn:aws:codebuild:*:*:project/evt-b"]}]}))
        out = subprocess.run([KILN, "key", "--data", str(self.server.data), "create", "--user",
                              "dev", "--policy", str(policy)], check=True, capture_output=True,
                             text=True).stdout
        fields = dict(line.split(" = ", 1) for line in out.splitlines() if " = " in line)
        creds = (fields["aws_access_key_id"], fields["aws_secret_access_key"])
        self.journal_events("evt-b")
        deadline = time.time() + 10
        while True:  # the server picks up a new key within a few seconds
            denied = SseReader(self.server, "?project=evt-a", last_event_id=0, credentials=creds)
            self.assertEqual(denied.resp.status, 400)
            body = json.loads(denied.resp.read())
            if body["__type"] != "UnrecognizedClientException" or time.time() > deadline:
                break
            denied.close()
            time.sleep(0.2)
        self.assertEqual(body["__type"], "AccessDeniedException")
        self.assertIn("codebuild:BatchGetBuilds on resource: "
                      "arn:aws:codebuild:us-east-1:000000000000:project/evt-a", body["message"])
        denied.close()
        mine = SseReader(self.server, "", last_event_id=0, credentials=creds)
        try:
            want = self.expected_milestones("evt-b")
            wait_until(lambda: len(mine.messages) >= len(want), timeout=10, what="evt-b's events")
            time.sleep(0.5)  # evt-a's, were they let through, would be in the same pages
            self.assertEqual({m[2]["detail"]["project-name"] for m in mine.messages}, {"evt-b"})
            self.assertEqual([milestone(m[2]) for m in mine.messages], want)
        finally:
            mine.close()

    def test_target_gets_signed_events_of_its_projects(self):
        expected = self.expected_milestones("evt-a")
        wait_until(lambda: len(self.good.posts) >= len(expected), what="the target's events")
        self.assertEqual([milestone(e) for e in self.good.events()], expected)
        for headers, body in self.good.posts:
            want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            self.assertEqual(headers["X-Kiln-Signature-256"], want)
            self.assertEqual(headers["X-Kiln-Event-Id"], json.loads(body)["id"])
            self.assertEqual(headers["Content-Type"], "application/json")

    def test_failing_target_dead_letters(self):
        path = self.server.data / "events" / "dead-letter" / "failing.jsonl"

        def dead():
            return [json.loads(l) for l in path.read_text().splitlines()] if path.exists() else []

        # Four State Changes (two builds), two tries each, a second apart.
        wait_until(lambda: len(dead()) >= 4, timeout=60, what="the dead letters")
        letters = dead()
        self.assertEqual([l["attempts"] for l in letters], [2, 2, 2, 2])
        self.assertEqual({l["error"] for l in letters}, {"HTTP 500"})
        self.assertEqual([l["event"]["detail-type"] for l in letters], [STATE] * 4)
        self.assertEqual(len(self.failing.posts), 8)

    def test_z_target_down_gets_missed_events_after_restart(self):
        self.journal_events("evt-b")
        self.server.stop()
        later = Receiver(200, port=self.down_port)
        try:
            self.server.start()
            want = len(self.expected_milestones("evt-a")) + len(self.expected_milestones("evt-b"))
            wait_until(lambda: len(later.posts) >= want, what="the missed events")
            got = later.events()
            self.assertEqual([milestone(e) for e in self.build_events("evt-a", got)],
                             self.expected_milestones("evt-a"))
            self.assertEqual([milestone(e) for e in self.build_events("evt-b", got)],
                             self.expected_milestones("evt-b"))
            cursor = json.loads((self.server.data / "events" / "cursors" / "later.json")
                                .read_text())
            wait_until(lambda: json.loads((self.server.data / "events" / "cursors" / "later.json")
                                          .read_text())["seq"] >= want, timeout=10,
                       what="the cursor")
            self.assertGreaterEqual(cursor["seq"], 1)
        finally:
            later.stop()


if __name__ == "__main__":
    unittest.main()
