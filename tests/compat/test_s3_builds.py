"""Sources, artifacts and caches in S3 (docs/sources.md), end to end: a real `kiln server` whose builds
use a real S3-compatible endpoint on loopback, driven by boto3. The endpoint is s3rver
(kiln_server.S3rver), which also checks Kiln's SigV4 signatures; the older version of an S3
source needs a versioned bucket, which s3rver lacks, so that test runs on moto's server where
this Python has moto, and skips with a one-line reason where it does not.

Covers: an S3 zip source (and an older version of it), S3 artifacts (ZIP with BUILD_ID and the
build-ARN metadata, a NONE secondary artifact), the S3 cache across builds with key and
fallback-key, InvalidateProjectCache, and a hostile source zip."""
import hashlib
import io
import json
import pathlib
import subprocess
import tempfile
import unittest
import zipfile

from kiln_server import KILN, KilnServer, MotoS3, S3rver, announce, wait_for_build

ENV = {"type": "LINUX_CONTAINER", "image": "kiln/host", "computeType": "BUILD_GENERAL1_SMALL"}
ROLE = "arn:aws:iam::000000000000:role/kiln"


def zip_of(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


def with_buckets(server, versioned=False):
    """The server with the buckets every test here uses (`src` versioned if asked)."""
    s3 = server.client()
    for bucket in ("src", "out", "cache"):
        s3.create_bucket(Bucket=bucket)
    if versioned:
        s3.put_bucket_versioning(Bucket="src", VersioningConfiguration={"Status": "Enabled"})
    return server, s3


MOTO_MISSING = ("moto: not run (this Python cannot import moto.server; a pip package); "
                "the S3 source version test needs a versioned bucket, which s3rver lacks")


def create_s3app(cb):
    """The project both source tests build: an S3 zip source, a zip and a folder artifact."""
    cb.create_project(
        name="s3app", source={"type": "S3", "location": "src/app/src.zip"},
        artifacts={"type": "S3", "location": "out", "path": "builds", "name": "app.zip",
                   "namespaceType": "BUILD_ID", "packaging": "ZIP"},
        secondaryArtifacts=[{"type": "S3", "location": "out", "path": "docs",
                             "name": "site", "artifactIdentifier": "site",
                             "packaging": "NONE"}],
        environment=ENV, serviceRole=ROLE)


class S3Builds(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s3server, cls.s3 = with_buckets(S3rver())
        announce(cls.__name__, cls.s3server.describe())
        cls.server = KilnServer(env=cls.s3server.env()).start()
        cls.cb = cls.server.boto3()
        cls.logs = cls.server.boto3("logs")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        cls.s3server.stop()

    def log_of(self, build):
        events = self.logs.get_log_events(logGroupName=build["logs"]["groupName"],
                                          logStreamName=build["logs"]["streamName"])["events"]
        return "".join(e["message"] for e in events)

    def run_build(self, project, **overrides):
        b = self.cb.start_build(projectName=project, **overrides)["build"]
        return wait_for_build(self.cb, b["id"])

    def test_s3_source_and_zip_artifacts(self):
        self.s3.put_object(Bucket="src", Key="app/src.zip",
                           Body=zip_of({"buildspec.yml": BUILDSPEC, "msg.txt": "one\n"}))
        self.s3.put_object(Bucket="src", Key="app/src.zip",
                           Body=zip_of({"buildspec.yml": BUILDSPEC, "msg.txt": "two\n"}))
        create_s3app(self.cb)
        done = self.run_build("s3app")
        self.assertEqual(done["buildStatus"], "SUCCEEDED", self.log_of(done))
        uuid = done["id"].split(":", 1)[1]
        key = "builds/%s/app.zip" % uuid
        self.assertEqual(done["artifacts"]["location"], "arn:aws:s3:::out/" + key)
        obj = self.s3.get_object(Bucket="out", Key=key)
        body = obj["Body"].read()
        self.assertEqual(obj["Metadata"]["codebuild-buildarn"], done["arn"])
        self.assertEqual(done["artifacts"]["sha256sum"], hashlib.sha256(body).hexdigest())
        self.assertEqual(done["artifacts"]["md5sum"], hashlib.md5(body).hexdigest())
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            self.assertEqual(z.read("out.txt").decode(), "two\n")
        site = self.s3.get_object(Bucket="out", Key="docs/site/index.html")["Body"].read()
        self.assertEqual(site.decode(), "two\n")
        self.assertEqual(done["secondaryArtifacts"][0]["location"], "arn:aws:s3:::out/docs/site")

    def test_missing_source_object_fails_download_source(self):
        self.cb.create_project(name="s3missing",
                               source={"type": "S3", "location": "src/none/src.zip"},
                               artifacts={"type": "NO_ARTIFACTS"}, environment=ENV,
                               serviceRole=ROLE)
        done = self.run_build("s3missing")
        self.assertEqual(done["buildStatus"], "FAILED")
        phase = [p for p in done["phases"] if p["phaseType"] == "DOWNLOAD_SOURCE"][0]
        self.assertEqual(phase["phaseStatus"], "FAILED")
        self.assertEqual(phase["contexts"][0]["statusCode"], "CLIENT_ERROR")
        self.assertTrue(phase["contexts"][0]["message"].startswith("NoSuchKey: "),
                        phase["contexts"][0]["message"])
        self.assertTrue(phase["contexts"][0]["message"].endswith(
            " for primary source and source version (default)"))

    def test_hostile_source_zip_is_refused(self):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("buildspec.yml", BUILDSPEC)
            z.writestr("../../escape.txt", "pwned")
        self.s3.put_object(Bucket="src", Key="evil/src.zip", Body=buf.getvalue())
        self.cb.create_project(name="s3evil", source={"type": "S3", "location": "src/evil/src.zip"},
                               artifacts={"type": "NO_ARTIFACTS"}, environment=ENV,
                               serviceRole=ROLE)
        done = self.run_build("s3evil")
        phase = [p for p in done["phases"] if p["phaseType"] == "DOWNLOAD_SOURCE"][0]
        self.assertEqual(phase["phaseStatus"], "FAILED")
        self.assertIn('entry "../../escape.txt"', phase["contexts"][0]["message"])
        self.assertIn("leaves the destination folder", phase["contexts"][0]["message"])
        self.assertFalse(list(self.server.data.rglob("escape.txt")))

    def test_s3_cache_key_fallback_and_invalidate(self):
        spec = ("version: 0.2\nphases:\n  build:\n    commands:\n"
                "      - if [ -f deps/stamp ]; then echo \"FOUND $(cat deps/stamp)\"; "
                "else echo MISSING; fi\n"
                "      - mkdir -p deps && echo \"$KEY\" > deps/stamp\n"
                "cache:\n  key: deps-$KEY\n  fallback-keys:\n    - deps-\n"
                "  paths:\n    - 'deps/**/*'\n")
        self.cb.create_project(name="cached", source={"type": "NO_SOURCE", "buildspec": spec},
                               artifacts={"type": "NO_ARTIFACTS"}, environment=ENV,
                               serviceRole=ROLE, cache={"type": "S3", "location": "cache/kiln"})

        def build(key):
            done = self.run_build("cached", environmentVariablesOverride=[
                {"name": "KEY", "value": key, "type": "PLAINTEXT"}])
            self.assertEqual(done["buildStatus"], "SUCCEEDED", self.log_of(done))
            return self.log_of(done)

        first = build("a")
        self.assertIn("MISSING", first)
        self.assertIn("Cache miss", first)
        self.assertIn("FOUND a", build("a"))        # exact key
        fallback = build("b")                      # deps-b misses, prefix deps- finds deps-a
        self.assertIn("FOUND a", fallback)
        self.assertIn("fallback", fallback)
        keys = [o["Key"] for o in self.s3.list_objects_v2(Bucket="cache")["Contents"]]
        self.assertTrue(any(k.startswith("kiln/cached/") for k in keys), keys)

        self.cb.invalidate_project_cache(projectName="cached")
        self.assertNotIn("Contents", self.s3.list_objects_v2(Bucket="cache", Prefix="kiln/cached/"))
        self.assertIn("MISSING", build("a"))

    def test_corrupt_cache_object_is_a_logged_miss(self):
        spec = ("version: 0.2\nphases:\n  build:\n    commands:\n"
                "      - if [ -f deps/stamp ]; then echo FOUND; else echo MISSING; fi\n"
                "      - mkdir -p deps && date > deps/stamp\n"
                "cache:\n  paths:\n    - 'deps/**/*'\n")
        self.cb.create_project(name="corrupt", source={"type": "NO_SOURCE", "buildspec": spec},
                               artifacts={"type": "NO_ARTIFACTS"}, environment=ENV,
                               serviceRole=ROLE, cache={"type": "S3", "location": "cache/bad"})
        self.assertEqual(self.run_build("corrupt")["buildStatus"], "SUCCEEDED")
        keys = [o["Key"] for o in self.s3.list_objects_v2(Bucket="cache", Prefix="bad/")["Contents"]]
        self.assertEqual(len(keys), 1, keys)
        self.s3.put_object(Bucket="cache", Key=keys[0], Body=b"\x28\xb5\x2f\xfd garbage")
        done = self.run_build("corrupt")
        log = self.log_of(done)
        self.assertEqual(done["buildStatus"], "SUCCEEDED", log)
        self.assertIn("Cache restore failed", log)
        self.assertIn("MISSING", log)

    def test_local_custom_cache_and_invalidate(self):
        spec = ("version: 0.2\nphases:\n  build:\n    commands:\n"
                "      - if [ -f deps/stamp ]; then echo FOUND; else echo MISSING; fi\n"
                "      - mkdir -p deps && date > deps/stamp\n"
                "cache:\n  paths:\n    - 'deps/**/*'\n")
        self.cb.create_project(name="localcache", source={"type": "NO_SOURCE", "buildspec": spec},
                               artifacts={"type": "NO_ARTIFACTS"}, environment=ENV,
                               serviceRole=ROLE,
                               cache={"type": "LOCAL", "modes": ["LOCAL_CUSTOM_CACHE"]})
        logs = [self.log_of(self.run_build("localcache")) for _ in range(2)]
        self.assertIn("MISSING", logs[0])
        self.assertIn("FOUND", logs[1])
        self.assertTrue((self.server.data / "cache" / "custom").is_dir())
        self.cb.invalidate_project_cache(projectName="localcache")
        self.assertIn("MISSING", self.log_of(self.run_build("localcache")))

    def test_builds_do_not_get_the_servers_credentials(self):
        spec = ("version: 0.2\nphases:\n  build:\n    commands:\n"
                "      - echo \"key=[$AWS_ACCESS_KEY_ID] secret=[$AWS_SECRET_ACCESS_KEY]\"\n"
                "      - echo \"endpoint=$AWS_ENDPOINT_URL_S3\"\n")
        self.cb.create_project(name="nocreds", source={"type": "NO_SOURCE", "buildspec": spec},
                               artifacts={"type": "NO_ARTIFACTS"}, environment=ENV,
                               serviceRole=ROLE)
        log = self.log_of(self.run_build("nocreds"))
        self.assertIn("key=[] secret=[]", log)
        self.assertIn("endpoint=" + self.s3server.endpoint, log)

    def test_invalidate_unknown_project(self):
        with self.assertRaises(self.cb.exceptions.ResourceNotFoundException):
            self.cb.invalidate_project_cache(projectName="nope")


class S3VersionedSource(unittest.TestCase):
    """An older version of an S3 source, by its version id: on moto, for the versioned bucket."""

    @classmethod
    def setUpClass(cls):
        if not MotoS3.available():
            announce(cls.__name__, MOTO_MISSING)
            raise unittest.SkipTest(MOTO_MISSING)
        cls.s3server, cls.s3 = with_buckets(MotoS3(), versioned=True)
        announce(cls.__name__, cls.s3server.describe())
        cls.server = KilnServer(env=cls.s3server.env()).start()
        cls.cb = cls.server.boto3()
        cls.logs = cls.server.boto3("logs")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        cls.s3server.stop()

    def test_older_version_by_its_version_id(self):
        v1 = self.s3.put_object(Bucket="src", Key="app/src.zip",
                                Body=zip_of({"buildspec.yml": BUILDSPEC, "msg.txt": "one\n"}))
        self.s3.put_object(Bucket="src", Key="app/src.zip",
                           Body=zip_of({"buildspec.yml": BUILDSPEC, "msg.txt": "two\n"}))
        create_s3app(self.cb)
        old = self.cb.start_build(projectName="s3app", sourceVersion=v1["VersionId"])["build"]
        old = wait_for_build(self.cb, old["id"])
        events = self.logs.get_log_events(logGroupName=old["logs"]["groupName"],
                                          logStreamName=old["logs"]["streamName"])["events"]
        log = "".join(e["message"] for e in events)
        self.assertEqual(old["buildStatus"], "SUCCEEDED", log)
        self.assertIn("CODEBUILD_SOURCE_VERSION=%s" % v1["VersionId"], log)
        key = "builds/%s/app.zip" % old["id"].split(":", 1)[1]
        body = self.s3.get_object(Bucket="out", Key=key)["Body"].read()
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            self.assertEqual(z.read("out.txt").decode(), "one\n")


class KilnRunS3(unittest.TestCase):
    """`kiln run` with the same S3 paths: -s s3://..., -a s3://..., --cache S3."""

    @classmethod
    def setUpClass(cls):
        cls.s3server, cls.s3 = with_buckets(S3rver())
        announce(cls.__name__, cls.s3server.describe())
        cls.tmp = pathlib.Path(tempfile.mkdtemp(prefix="kiln-run-s3-"))

    @classmethod
    def tearDownClass(cls):
        cls.s3server.stop()

    def kiln_run(self, *args):
        record = self.tmp / "record.json"
        p = subprocess.run([KILN, "run", "--no-color", "--json", str(record), *args],
                           capture_output=True, text=True, env=self.s3server.env(), timeout=120,
                           cwd=self.tmp, stdin=subprocess.DEVNULL)
        return p, json.loads(record.read_text())

    def test_s3_source_and_artifacts(self):
        self.s3.put_object(Bucket="src", Key="run/src.zip",
                           Body=zip_of({"buildspec.yml": BUILDSPEC, "msg.txt": "three\n"}))
        p, record = self.kiln_run("-s", "s3://src/run/src.zip", "-a", "s3://out/local")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(record["artifacts"]["location"], "arn:aws:s3:::out/local/artifacts.zip")
        body = self.s3.get_object(Bucket="out", Key="local/artifacts.zip")["Body"].read()
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            self.assertEqual(z.read("out.txt").decode(), "three\n")
        site = self.s3.get_object(Bucket="out", Key="local/site.zip")["Body"].read()
        with zipfile.ZipFile(io.BytesIO(site)) as z:
            self.assertEqual(z.read("index.html").decode(), "three\n")

    def test_s3_cache_between_runs(self):
        proj = self.tmp / "cached"
        proj.mkdir()
        (proj / "buildspec.yml").write_text(
            "version: 0.2\nphases:\n  build:\n    commands:\n"
            "      - if [ -f deps/stamp ]; then echo FOUND; else echo MISSING; fi\n"
            "      - mkdir -p deps && date > deps/stamp\n"
            "cache:\n  paths: ['deps/**/*']\n")
        args = ("-s", str(proj), "-a", str(self.tmp / "arts"), "--cache", "S3",
                "--cache-location", "cache/run")
        p, _ = self.kiln_run(*args)
        self.assertIn("MISSING", p.stdout)
        p, _ = self.kiln_run(*args)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertIn("FOUND", p.stdout)
        self.assertIn("Cache hit", p.stdout)


BUILDSPEC = """version: 0.2
phases:
  build:
    commands:
      - echo "CODEBUILD_SOURCE_VERSION=$CODEBUILD_SOURCE_VERSION"
      - cp msg.txt out.txt && mkdir -p site && cp msg.txt site/index.html
artifacts:
  files: [out.txt]
  secondary-artifacts:
    site:
      base-directory: site
      files: ['**/*']
"""

if __name__ == "__main__":
    unittest.main()
