"""The AWS SDK for JavaScript v3 (npm @aws-sdk/client-codebuild and @aws-sdk/client-cloudwatch-logs,
pinned in tests/node/package-lock.json, installed by scripts/install-deps.sh) against a real kiln
server: tests/node/codebuild-workflow.mjs creates a project, starts a build, polls it to SUCCEEDED,
reads its log with GetLogEvents and handles the SDK's modelled exceptions.

Skips with a reason where node or the SDK is missing, unless KILN_REQUIRE_NODE_SDK is set
(scripts/test.sh sets it, so CI fails instead). Every run of node has a time limit: the SDK
retries, and a hang must fail the test rather than the suite."""
import os
import shutil
import socket
import subprocess
import time
import unittest

from kiln_server import REGION, ROOT, KilnServer

NODE_DIR = ROOT / "tests" / "node"
SCRIPT = NODE_DIR / "codebuild-workflow.mjs"
SDK_PACKAGES = ("client-codebuild", "client-cloudwatch-logs")
# Longer than the script's own --deadline-seconds (90), so its message is the one seen.
TIME_LIMIT = 120


def missing():
    """Why the SDK cannot run here, or None."""
    if not shutil.which("node"):
        return "no node on PATH (Debian's nodejs, from scripts/install-deps.sh)"
    for pkg in SDK_PACKAGES:
        if not (NODE_DIR / "node_modules" / "@aws-sdk" / pkg / "package.json").is_file():
            return "tests/node/node_modules has no @aws-sdk/%s: run scripts/install-deps.sh" % pkg
    return None


class JsSdkTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        why = missing()
        if why:
            if os.environ.get("KILN_REQUIRE_NODE_SDK"):
                raise AssertionError("%s (KILN_REQUIRE_NODE_SDK is set)" % why)
            raise unittest.SkipTest(why)
        cls.server = KilnServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def workflow(self, endpoint, *args, secret=None, time_limit=TIME_LIMIT):
        """Runs the script; returns (exit code, stdout, stderr, seconds taken)."""
        key, real_secret = self.server.credentials()
        env = self.server.client_env()
        env.update({"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret or real_secret})
        env.pop("NODE_OPTIONS", None)
        started = time.monotonic()
        try:
            r = subprocess.run(["node", str(SCRIPT), "--endpoint", endpoint, "--region", REGION,
                                *args], env=env, cwd=NODE_DIR, capture_output=True, text=True,
                               stdin=subprocess.DEVNULL, timeout=time_limit)
        except subprocess.TimeoutExpired as e:
            self.fail("node %s hung for %d s; output so far:\n%s\n%s" % (
                SCRIPT.name, time_limit, e.stdout or "", e.stderr or ""))
        return r.returncode, r.stdout, r.stderr, time.monotonic() - started

    def explain(self, code, out, err):
        return "exit %d\n--- stdout\n%s--- stderr\n%s--- server log: %s" % (
            code, out, err, self.server.stderr_path)

    def test_basic_workflow(self):
        code, out, err, _ = self.workflow(self.server.endpoint)
        self.assertEqual(code, 0, self.explain(code, out, err))
        for step in ("CreateProject:", "CreateProject of an existing name: "
                     "ResourceAlreadyExistsException (400)", "StartBuild:",
                     "BatchGetBuilds: SUCCEEDED", "GetLogEvents:",
                     "StartBuild of a missing project: ResourceNotFoundException (400): "
                     "Project cannot be found: arn:aws:codebuild:us-east-1:000000000000:project/",
                     "DeleteProject: done", "OK: the JS SDK v3 workflow passed"):
            self.assertIn(step, out, self.explain(code, out, err))

    def test_wrong_secret_is_refused(self):
        # What the JS SDK signs is checked, not merely accepted: a wrong secret fails the first
        # call with the modelled signature error, at once (the SDK does not retry a 4xx).
        code, out, err, took = self.workflow(self.server.endpoint, secret="not-the-secret")
        self.assertEqual(code, 1, self.explain(code, out, err))
        self.assertIn("FAIL: unexpected InvalidSignatureException", err)
        self.assertIn('"httpStatusCode":400', err)
        self.assertIn('"attempts":1', err)
        self.assertLess(took, 30)

    def test_server_that_never_answers_fails_in_time(self):
        # A port that accepts connections and never answers: the SDK's requests time out, its
        # retries end, and the script fails with the SDK's TimeoutError instead of hanging.
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(16)
            endpoint = "http://127.0.0.1:%d" % silent.getsockname()[1]
            code, out, err, took = self.workflow(endpoint, "--request-timeout-ms", "1000",
                                                 time_limit=60)
        self.assertEqual(code, 1, self.explain(code, out, err))
        self.assertIn("FAIL: unexpected TimeoutError", err)
        self.assertIn('"attempts":3', err)
        self.assertLess(took, 30)

    def test_stopped_server_fails_in_time(self):
        # Nothing listens: connections are refused, the SDK retries (3 attempts) and gives up.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            endpoint = "http://127.0.0.1:%d" % s.getsockname()[1]
        code, out, err, took = self.workflow(endpoint, time_limit=60)
        self.assertEqual(code, 1, self.explain(code, out, err))
        self.assertIn("ECONNREFUSED", err)
        self.assertIn('"attempts":3', err)
        self.assertLess(took, 30)


if __name__ == "__main__":
    unittest.main()
