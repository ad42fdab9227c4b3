"""A real `kiln server` against a hostile StartBuild caller (docs/security.md): a buildspecOverride or a
buildspec.yml symlink that names a host file (/etc/shadow, /dev/zero) fails the build without
reading it, and a git source on this machine (file://, a path, a .git folder) is held to
--source-root like a LOCAL source, while remote-helper addresses (ext::) are refused."""
import os
import pathlib
import tempfile
import time
import unittest

from kiln_server import KilnServer, git, wait_for_build

ENV = {"type": "LINUX_CONTAINER", "image": "kiln/host", "computeType": "BUILD_GENERAL1_SMALL"}
ROLE = "arn:aws:iam::000000000000:role/kiln"
SPEC = "version: 0.2\nphases:\n  build:\n    commands:\n      - cat hello.txt\n"


def make_repo(path):
    path.mkdir(parents=True)
    run = lambda *a: git("-C", str(path), *a)
    run("init", "-q", "-b", "main")
    (path / "buildspec.yml").write_text(SPEC)
    (path / "hello.txt").write_text("hello from git\n")
    run("add", ".")
    run("commit", "-q", "-m", "one")


class HostileSources(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = pathlib.Path(tempfile.mkdtemp(prefix="kiln-hostile-"))
        cls.root = cls.tmp / "root"
        make_repo(cls.root / "inside")
        make_repo(cls.tmp / "outside")
        (cls.root / "linked").mkdir(parents=True)
        (cls.root / "linked" / "hello.txt").write_text("x\n")
        os.symlink("/etc/shadow", cls.root / "linked" / "buildspec.yml")
        cls.server = KilnServer(extra_args=["--source-root", str(cls.root)]).start()
        cls.cb = cls.server.boto3()
        cls.logs = cls.server.boto3("logs")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def log_of(self, build):
        events = self.logs.get_log_events(logGroupName=build["logs"]["groupName"],
                                          logStreamName=build["logs"]["streamName"])["events"]
        return "".join(e["message"] for e in events)

    def project(self, name, source):
        self.cb.create_project(name=name, source=source, artifacts={"type": "NO_ARTIFACTS"},
                               environment=ENV, serviceRole=ROLE)

    def context(self, build):
        phase = [p for p in build["phases"] if p["phaseType"] == "DOWNLOAD_SOURCE"][0]
        return phase["contexts"][0]

    def test_buildspec_paths_never_read_host_files(self):
        self.project("spec", {"type": "LOCAL", "location": str(self.root / "inside")})
        for override in ("/etc/shadow", "../../../../../etc/shadow", "/dev/zero"):
            start = time.monotonic()
            b = self.cb.start_build(projectName="spec", buildspecOverride=override)["build"]
            done = wait_for_build(self.cb, b["id"])
            self.assertLess(time.monotonic() - start, 30)
            self.assertEqual(done["buildStatus"], "FAILED", override)
            self.assertEqual(self.context(done), {
                "statusCode": "YAML_FILE_ERROR",
                "message": "buildspec path %s leaves the source directory" % override})
            self.assertNotIn("root:", self.log_of(done))
        self.project("linked", {"type": "LOCAL", "location": str(self.root / "linked")})
        done = wait_for_build(self.cb, self.cb.start_build(projectName="linked")["build"]["id"])
        self.assertEqual(self.context(done)["message"],
                         "buildspec path buildspec.yml leaves the source directory")
        self.assertNotIn("root:", self.log_of(done))
        self.assertNotIn("unknown top-level key", self.log_of(done))

    def test_local_git_urls_obey_the_source_root(self):
        inside = self.root / "inside"
        outside = self.tmp / "outside"
        self.project("git", {"type": "GIT", "location": "file://%s" % inside})
        done = wait_for_build(self.cb, self.cb.start_build(projectName="git")["build"]["id"])
        self.assertEqual(done["buildStatus"], "SUCCEEDED", self.log_of(done))
        self.assertIn("hello from git", self.log_of(done))
        for location in ("file://%s" % outside, str(outside), str(outside / ".git"),
                         "%s/../outside" % self.root, str(self.root), "relative/repo"):
            with self.assertRaises(self.cb.exceptions.InvalidInputException, msg=location) as e:
                self.cb.start_build(projectName="git", sourceLocationOverride=location)
            self.assertIn("--source-root", str(e.exception))
        for location in ("ext::sh -c touch% /tmp/kiln-pwned", "--upload-pack=touch /tmp/x"):
            with self.assertRaises(self.cb.exceptions.InvalidInputException, msg=location):
                self.cb.start_build(projectName="git", sourceLocationOverride=location)
        with self.assertRaises(self.cb.exceptions.InvalidInputException):
            self.cb.start_build(projectName="git", secondarySourcesOverride=[{
                "type": "GIT", "location": "file://%s" % outside, "sourceIdentifier": "lib"}])


if __name__ == "__main__":
    unittest.main()
