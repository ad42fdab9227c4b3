"""Secrets in builds against a real kiln server (docs/secrets.md): parameters and secrets put with
boto3 reach the build (it prints their SHA-256), and their values appear in no output: not in
the log file, GetLogEvents, BatchGetBuilds, the server's stderr, or any file of the data folder.
Also `kiln run --secrets-from` against the same server with the shared credentials file."""
import hashlib
import json
import os
import pathlib
import subprocess
import tempfile
import unittest

from kiln_server import KILN, KilnServer, inline_project, wait_for_build
from test_cli import find_clis

TOKEN = "tok-compat-0123456789"
PASSWORD = "pw-compat-abcdefgh"

BUILDSPEC = """version: 0.2
env:
  secrets-manager:
    PW: app/db:password
  exported-variables: [PW]
phases:
  build:
    commands:
      - echo "token=$TOKEN pw=$PW"
      - printf %s "$TOKEN" | sha256sum
      - printf %s "$PW" | sha256sum
"""


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


class SecretBuildsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = KilnServer().start()
        cls.cb = cls.server.boto3()
        cls.logs = cls.server.boto3("logs")
        ssm = cls.server.boto3("ssm")
        sm = cls.server.boto3("secretsmanager")
        ssm.put_parameter(Name="/ci/token", Value=TOKEN, Type="SecureString")
        sm.create_secret(Name="app/db", SecretString=json.dumps({"password": PASSWORD}))

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def assert_hidden(self, text, where):
        self.assertNotIn(TOKEN, text, where)
        self.assertNotIn(PASSWORD, text, where)

    def test_project_and_buildspec_secrets(self):
        inline_project(self.cb, "secret-build", BUILDSPEC, environment={
            "type": "LINUX_CONTAINER", "image": "kiln/host", "computeType": "BUILD_GENERAL1_SMALL",
            "environmentVariables": [{"name": "TOKEN", "value": "/ci/token",
                                      "type": "PARAMETER_STORE"}]})
        build = self.cb.start_build(projectName="secret-build")["build"]
        done = wait_for_build(self.cb, build["id"])
        self.assertEqual(done["buildStatus"], "SUCCEEDED", json.dumps(done, default=str))
        events = self.logs.get_log_events(logGroupName=done["logs"]["groupName"],
                                          logStreamName=done["logs"]["streamName"],
                                          startFromHead=True)["events"]
        text = "\n".join(e["message"] for e in events)
        self.assertIn(sha(TOKEN), text)  # the real value reached the build
        self.assertIn(sha(PASSWORD), text)
        self.assertIn("token=*** pw=***", text)
        self.assert_hidden(text, "GetLogEvents")
        self.assert_hidden(json.dumps(done, default=str), "BatchGetBuilds")
        self.assertEqual(done.get("exportedEnvironmentVariables", []), [])
        variables = done["environment"]["environmentVariables"]
        self.assertEqual(variables, [{"name": "TOKEN", "value": "/ci/token",
                                      "type": "PARAMETER_STORE"}])
        # Nothing in the data folder or the server's stderr holds a value in plain text.
        for f in pathlib.Path(self.server.data).rglob("*"):
            if f.is_file():
                data = f.read_bytes()
                self.assertNotIn(TOKEN.encode(), data, str(f))
                self.assertNotIn(PASSWORD.encode(), data, str(f))
        stderr = pathlib.Path(str(self.server.data) + ".stderr")
        if stderr.exists():
            self.assert_hidden(stderr.read_text(errors="replace"), "server stderr")

    def test_aws_cli_puts_the_values_and_reads_the_masked_log(self):
        clis = find_clis()
        if "v2" not in clis:
            self.skipTest("AWS CLI v2 (/usr/bin/aws, Debian's awscli) not installed")

        def aws(*args):
            r = subprocess.run([clis["v2"], "--endpoint-url", self.server.endpoint, *args,
                                "--output", "json"], env=self.server.client_env(),
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            return json.loads(r.stdout) if r.stdout.strip() else {}

        value = "cli-param-value-42424242"
        aws("ssm", "put-parameter", "--name", "/cli/value", "--type", "SecureString",
            "--value", value)
        spec = ("version: 0.2\nenv:\n  parameter-store:\n    V: /cli/value\nphases:\n"
                "  build:\n    commands:\n      - echo \"v=$V\"\n"
                "      - printf %s \"$V\" | sha256sum\n")
        aws("codebuild", "create-project", "--name", "cli-secret",
            "--source", json.dumps({"type": "NO_SOURCE", "buildspec": spec}),
            "--artifacts", "type=NO_ARTIFACTS",
            "--environment", "type=LINUX_CONTAINER,image=kiln/host,computeType=BUILD_GENERAL1_SMALL",
            "--service-role", "arn:aws:iam::000000000000:role/kiln")
        build = aws("codebuild", "start-build", "--project-name", "cli-secret")["build"]
        done = wait_for_build(self.cb, build["id"])
        self.assertEqual(done["buildStatus"], "SUCCEEDED")
        got = aws("codebuild", "batch-get-builds", "--ids", build["id"])
        self.assertNotIn(value, json.dumps(got))
        events = aws("logs", "get-log-events", "--log-group-name", done["logs"]["groupName"],
                     "--log-stream-name", done["logs"]["streamName"], "--start-from-head")
        messages = [e["message"] for e in events["events"]]
        self.assertIn("v=***", messages)
        self.assertTrue(any(sha(value) in m for m in messages), messages)
        self.assertNotIn(value, json.dumps(events))

    def test_missing_parameter_fails_download_source(self):
        inline_project(self.cb, "secret-missing", "version: 0.2\nphases:\n  build:\n"
                       "    commands: [echo never]\n", environment={
                           "type": "LINUX_CONTAINER", "image": "kiln/host",
                           "computeType": "BUILD_GENERAL1_SMALL",
                           "environmentVariables": [{"name": "T", "value": "/ci/absent",
                                                     "type": "PARAMETER_STORE"}]})
        build = self.cb.start_build(projectName="secret-missing")["build"]
        done = wait_for_build(self.cb, build["id"])
        self.assertEqual(done["buildStatus"], "FAILED")
        phase = [p for p in done["phases"] if p["phaseType"] == "DOWNLOAD_SOURCE"][0]
        self.assertEqual(phase["phaseStatus"], "FAILED")
        self.assertEqual(phase["contexts"], [{"statusCode": "Decrypted Variables Error",
                                              "message": "parameter does not exist: /ci/absent"}])

    def test_kiln_run_secrets_from_the_server(self):
        with tempfile.TemporaryDirectory() as tmp:
            src = pathlib.Path(tmp) / "src"
            src.mkdir()
            (src / "buildspec.yml").write_text(BUILDSPEC.replace(
                "env:\n", "env:\n  parameter-store:\n    TOKEN: /ci/token\n"))
            env = self.server.client_env()
            proc = subprocess.run(
                [KILN, "run", "-s", str(src), "-a", tmp + "/a", "--no-color", "--json",
                 tmp + "/r.json", "--secrets-from", self.server.endpoint],
                capture_output=True, text=True, env=env, timeout=120)
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
            self.assertIn(sha(TOKEN), proc.stdout)
            self.assertIn(sha(PASSWORD), proc.stdout)
            self.assertIn("token=*** pw=***", proc.stdout)
            self.assert_hidden(proc.stdout + proc.stderr, "kiln run output")
            self.assert_hidden(pathlib.Path(tmp, "r.json").read_text(), "kiln run record")

            # A missing secret at the endpoint: the service's exception, in CodeBuild's context.
            (src / "buildspec.yml").write_text(
                "version: 0.2\nenv:\n  secrets-manager:\n    X: absent/secret\nphases:\n"
                "  build:\n    commands: [echo never]\n")
            proc = subprocess.run(
                [KILN, "run", "-s", str(src), "-a", tmp + "/a", "--no-color", "--json",
                 tmp + "/r2.json", "--secrets-from", self.server.endpoint],
                capture_output=True, text=True, env=env, timeout=120)
            record = json.loads(pathlib.Path(tmp, "r2.json").read_text())
            phase = [p for p in record["phases"] if p["phaseType"] == "DOWNLOAD_SOURCE"][0]
            self.assertEqual(phase["contexts"][0]["statusCode"], "Secrets Manager Error")
            self.assertTrue(phase["contexts"][0]["message"].startswith(
                "ResourceNotFoundException: "), phase)

    def test_secrets_from_with_wrong_credentials_fails_cleanly(self):
        with tempfile.TemporaryDirectory() as tmp:
            src = pathlib.Path(tmp)
            (src / "buildspec.yml").write_text(
                "version: 0.2\nenv:\n  parameter-store:\n    T: /ci/token\nphases:\n"
                "  build:\n    commands: [echo never]\n")
            env = self.server.client_env()
            env.update({"AWS_ACCESS_KEY_ID": "AKIAWRONGWRONGWRONG1",
                        "AWS_SECRET_ACCESS_KEY": "wrong"})
            proc = subprocess.run(
                [KILN, "run", "-s", str(src), "-a", tmp + "/a", "--no-color", "--json",
                 tmp + "/r.json", "--secrets-from", self.server.endpoint],
                capture_output=True, text=True, env=env, timeout=120)
            self.assertEqual(proc.returncode, 1)
            record = json.loads(pathlib.Path(tmp, "r.json").read_text())
            phase = [p for p in record["phases"] if p["phaseType"] == "DOWNLOAD_SOURCE"][0]
            self.assertEqual(phase["contexts"][0]["statusCode"], "Decrypted Variables Error")
            self.assertIn("UnrecognizedClientException", phase["contexts"][0]["message"])


if __name__ == "__main__":
    unittest.main()
