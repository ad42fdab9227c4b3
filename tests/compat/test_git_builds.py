"""Private git sources in a real `kiln server` (docs/sources.md): the token imported with boto3's
ImportSourceCredentials is what authenticates the clone against a git smart-HTTP server that
demands it (tests/unit/source/git_http_server.py, git-http-backend behind Basic auth), and it
never shows in the log, the record or the data folder."""
import pathlib
import subprocess
import sys
import tempfile
import unittest

from kiln_server import KilnServer, git, wait_for_build

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOKEN = "ghp_kilnCompatToken0123456789"
ENV = {"type": "LINUX_CONTAINER", "image": "kiln/host", "computeType": "BUILD_GENERAL1_SMALL"}



class PrivateGitBuilds(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kiln-git-")
        work = pathlib.Path(cls.tmp) / "work"
        work.mkdir()
        git("-C", str(work), "init", "-q", "-b", "main")
        (work / "buildspec.yml").write_text(
            "version: 0.2\nphases:\n  build:\n    commands:\n      - cat hello.txt\n"
            "      - git remote get-url origin\n")
        (work / "hello.txt").write_text("hello from a private repo\n")
        git("-C", str(work), "add", ".")
        git("-C", str(work), "commit", "-q", "-m", "one")
        cls.commit = git("-C", str(work), "rev-parse", "HEAD")
        git("clone", "-q", "--bare", str(work), str(pathlib.Path(cls.tmp) / "srv" / "app.git"))
        cls.http = subprocess.Popen(
            [sys.executable, str(ROOT / "tests/unit/source/git_http_server.py"),
             str(pathlib.Path(cls.tmp) / "srv"), "x-access-token", TOKEN],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        cls.url = "http://127.0.0.1:%d/app.git" % int(cls.http.stdout.readline())
        cls.work = work
        cls.server = KilnServer(extra_args=["--source-root", cls.tmp]).start()
        cls.cb = cls.server.boto3()
        cls.logs = cls.server.boto3("logs")
        cls.cb.create_project(name="private", source={"type": "GITHUB", "location": cls.url},
                              artifacts={"type": "NO_ARTIFACTS"}, environment=ENV,
                              serviceRole="arn:aws:iam::000000000000:role/kiln")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        cls.http.terminate()
        cls.http.wait(timeout=10)

    def log_of(self, build):
        events = self.logs.get_log_events(logGroupName=build["logs"]["groupName"],
                                          logStreamName=build["logs"]["streamName"])["events"]
        return "".join(e["message"] for e in events)

    def test_clone_with_the_imported_token_and_without_it(self):
        self.cb.import_source_credentials(token=TOKEN, serverType="GITHUB",
                                          authType="PERSONAL_ACCESS_TOKEN")
        b = self.cb.start_build(projectName="private")["build"]
        done = wait_for_build(self.cb, b["id"])
        log = self.log_of(done)
        self.assertEqual(done["buildStatus"], "SUCCEEDED", log)
        self.assertIn("hello from a private repo", log)
        self.assertIn(self.url, log)  # origin is the real URL, without credentials
        self.assertEqual(done["resolvedSourceVersion"], self.commit)
        self.assertNotIn(TOKEN, log)
        self.assertNotIn(TOKEN, str(done))
        for path in self.server.data.rglob("*"):
            if path.is_file() and path.name not in ("secrets.db", "secrets.db-wal"):
                self.assertNotIn(TOKEN.encode(), path.read_bytes(), path)

        arn = self.cb.list_source_credentials()["sourceCredentialsInfos"][0]["arn"]
        self.cb.delete_source_credentials(arn=arn)
        done = wait_for_build(self.cb, self.cb.start_build(projectName="private")["build"]["id"])
        self.assertEqual(done["buildStatus"], "FAILED")
        phase = [p for p in done["phases"] if p["phaseType"] == "DOWNLOAD_SOURCE"][0]
        self.assertEqual(phase["contexts"][0], {
            "statusCode": "CLIENT_ERROR",
            "message": "authentication required for primary source and source version (default)"})

    def test_local_folder_sources_only_under_a_source_root(self):
        self.cb.create_project(name="localsrc", source={"type": "LOCAL",
                                                        "location": str(self.work)},
                               artifacts={"type": "NO_ARTIFACTS"}, environment=ENV,
                               serviceRole="arn:aws:iam::000000000000:role/kiln")
        spec = "version: 0.2\nphases:\n  build:\n    commands:\n      - cat hello.txt\n"
        b = self.cb.start_build(projectName="localsrc", buildspecOverride=spec)["build"]
        done = wait_for_build(self.cb, b["id"])
        self.assertEqual(done["buildStatus"], "SUCCEEDED", self.log_of(done))
        self.assertIn("hello from a private repo", self.log_of(done))
        self.assertEqual(done["resolvedSourceVersion"], self.commit)
        for outside in ("/etc", self.tmp + "/../.."):
            with self.assertRaises(self.cb.exceptions.InvalidInputException) as e:
                self.cb.start_build(projectName="localsrc", sourceLocationOverride=outside)
            self.assertIn("--source-root", str(e.exception))


if __name__ == "__main__":
    unittest.main()
