"""The AWS CLI v1 and v2 against a real kiln server, with nothing but --endpoint-url and the
credentials file the server wrote. v2 is Debian's awscli (/usr/bin/aws, from install-deps.sh);
v1 is tested only where `aws` on PATH is one (a pip install: Debian 12 ships none)."""
import json
import shutil
import subprocess
import time
import unittest

from kiln_server import KilnServer

SPEC = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo cli-build-ran\n"


V1_MISSING = "no AWS CLI v1: `aws --version` on PATH does not say aws-cli/1. (Debian has only v2)"
V2_MISSING = "AWS CLI v2 (/usr/bin/aws, Debian's awscli) not installed"


def cli_major(path):
    """'1' or '2' from `aws --version` ("aws-cli/1.45.11 Python/..."); None if it does not run."""
    try:
        r = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
    except OSError:
        return None
    text = (r.stdout + r.stderr).strip()
    return text[len("aws-cli/"):].split(".", 1)[0] if text.startswith("aws-cli/") else None


def find_clis():
    """{"v1": path, "v2": path} for the AWS CLIs present, told apart by what they say they are."""
    clis = {}
    for path in dict.fromkeys(p for p in (shutil.which("aws"), "/usr/bin/aws") if p):
        major = cli_major(path)
        if major in ("1", "2"):
            clis.setdefault("v" + major, path)
    return clis


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = KilnServer().start()
        cls.clis = find_clis()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def aws(self, cli, *args, check=True):
        r = subprocess.run([self.clis[cli], "--endpoint-url", self.server.endpoint, *args,
                            "--output", "json"], env=self.server.client_env(),
                           capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            self.fail("aws %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr))
        return r

    def scenario(self, cli):
        name = "cli-" + cli
        project = json.loads(self.aws(
            cli, "codebuild", "create-project", "--name", name,
            "--source", json.dumps({"type": "NO_SOURCE", "buildspec": SPEC}),
            "--artifacts", "type=NO_ARTIFACTS",
            "--environment", "type=LINUX_CONTAINER,image=kiln/host,computeType=BUILD_GENERAL1_SMALL",
            "--service-role", "arn:aws:iam::000000000000:role/kiln").stdout)["project"]
        self.assertEqual(project["name"], name)
        listed = json.loads(self.aws(cli, "codebuild", "list-projects").stdout)["projects"]
        self.assertIn(name, listed)
        build = json.loads(self.aws(cli, "codebuild", "start-build", "--project-name",
                                    name).stdout)["build"]
        deadline = time.time() + 60
        while True:
            got = json.loads(self.aws(cli, "codebuild", "batch-get-builds", "--ids",
                                      build["id"]).stdout)["builds"][0]
            if got["buildComplete"] or time.time() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(got["buildStatus"], "SUCCEEDED")
        ids = json.loads(self.aws(cli, "codebuild", "list-builds-for-project", "--project-name",
                                  name).stdout)["ids"]
        self.assertEqual(ids, [build["id"]])
        events = json.loads(self.aws(cli, "logs", "get-log-events", "--log-group-name",
                                     got["logs"]["groupName"], "--log-stream-name",
                                     got["logs"]["streamName"], "--start-from-head").stdout)
        self.assertIn("cli-build-ran", [e["message"] for e in events["events"]])
        # A service error is printed with its code, and the exit status says so (v1 255, v2 254).
        bad = self.aws(cli, "codebuild", "start-build", "--project-name", "missing-project",
                       check=False)
        self.assertIn(bad.returncode, (254, 255))
        self.assertIn("ResourceNotFoundException", bad.stderr)
        bad = self.aws(cli, "codebuild", "create-project", "--name", name + "-t",
                       "--source", json.dumps({"type": "NO_SOURCE", "buildspec": SPEC}),
                       "--artifacts", "type=NO_ARTIFACTS",
                       "--environment",
                       "type=LINUX_CONTAINER,image=x,computeType=BUILD_GENERAL1_SMALL",
                       "--service-role", "r", "--timeout-in-minutes", "3000", check=False)
        self.assertIn("InvalidInputException", bad.stderr)

    def test_cli_v1(self):
        if "v1" not in self.clis:
            self.skipTest(V1_MISSING)
        self.scenario("v1")

    def test_cli_v2(self):
        if "v2" not in self.clis:
            self.skipTest(V2_MISSING)
        self.scenario("v2")


if __name__ == "__main__":
    unittest.main()
