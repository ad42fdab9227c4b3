"""Starts a real `kiln server` on a free port in a temporary data folder, for the compat tests.

The clients are the real ones (boto3, AWS CLI v1 and v2); they find the server through
--endpoint-url / endpoint_url and sign with the credentials the server wrote on first start."""
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
KILN = os.path.abspath(os.environ.get("KILN_BIN", str(ROOT / "build" / "release" / "kiln")))
REGION = "us-east-1"
# git with a fixed identity and no user or system configuration, for the tests' own repositories.
GIT_ENV = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com",
               GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")


def git(*args):
    """Runs git with GIT_ENV; returns its stripped stdout, raises when it fails."""
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True,
                          env=GIT_ENV).stdout.strip()


def bare_repository(tmp, buildspec, branch, bare_path):
    """One commit holding buildspec.yml, made in tmp/work and cloned bare to tmp/srv/<bare_path>
    (what git_http_server serves). Returns the commit."""
    work = pathlib.Path(tmp) / "work"
    work.mkdir()
    git("-C", str(work), "init", "-q", "-b", branch)
    (work / "buildspec.yml").write_text(buildspec)
    git("-C", str(work), "add", ".")
    git("-C", str(work), "commit", "-q", "-m", "one")
    git("clone", "-q", "--bare", str(work), str(pathlib.Path(tmp) / "srv" / bare_path))
    return git("-C", str(work), "rev-parse", "HEAD")


def git_http_server(root, user, token):
    """tests/unit/source/git_http_server.py serving the repositories under root, answering only
    Basic user:token. Returns (process, port)."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests/unit/source/git_http_server.py"), str(root), user,
         token], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return proc, int(proc.stdout.readline())


class KilnServer:
    def __init__(self, data=None, extra_args=(), env=None, executor="process"):
        self.env = env  # the server's (and so its builds') environment; None = inherit
        # The tests' projects use the host image (kiln/host), so they ask for the process
        # executor explicitly; the server's own default is sandbox (docs/server.md). None = the
        # server's default.
        self.executor = executor
        self.own_data = data is None
        self.data = pathlib.Path(data or tempfile.mkdtemp(prefix="kiln-compat-"))
        self.extra_args = list(extra_args)
        self.proc = None
        self.port = None

    def start(self):
        self.data.mkdir(parents=True, exist_ok=True)
        executor = []
        if self.executor and "--executor" not in self.extra_args:
            executor = ["--executor", self.executor]
        with open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(
                [KILN, "server", "--data", str(self.data), "--listen", "127.0.0.1:0",
                 *executor, *self.extra_args], stdout=subprocess.PIPE, stderr=err, text=True,
                env=self.env)
        line = self.proc.stdout.readline()
        if "listening on http://" not in line:
            raise RuntimeError("kiln server did not start: %r (see %s.stderr)" % (line, self.data))
        self.port = int(line.split("http://127.0.0.1:")[1].split()[0])
        return self

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def stderr_path(self):
        return self.data.parent / (self.data.name + ".stderr")

    def client_env(self):
        env = dict(os.environ)
        env.update({
            "AWS_SHARED_CREDENTIALS_FILE": str(self.data / "credentials"),
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_PAGER": "",
        })
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                  "AWS_ENDPOINT_URL"):
            env.pop(k, None)
        return env

    def credentials(self):
        key = secret = None
        for line in (self.data / "credentials").read_text().splitlines():
            if line.startswith("aws_access_key_id"):
                key = line.split("=", 1)[1].strip()
            if line.startswith("aws_secret_access_key"):
                secret = line.split("=", 1)[1].strip()
        return key, secret

    def boto3(self, service="codebuild"):
        import boto3
        import botocore.config
        key, secret = self.credentials()
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=key, aws_secret_access_key=secret,
                            config=botocore.config.Config(retries={"max_attempts": 1}))

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        if self.proc:
            self.proc.stdout.close()
        self.proc = None

    def kill(self):
        self.stop(signal.SIGKILL)

    def cleanup(self):
        self.stop()
        if self.own_data:
            shutil.rmtree(self.data, ignore_errors=True)


def wait_for_build(client, build_id, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        build = client.batch_get_builds(ids=[build_id])["builds"][0]
        if build["buildComplete"]:
            return build
        time.sleep(0.1)
    raise AssertionError("build %s did not finish in %ss" % (build_id, timeout))


def inline_project(client, name, buildspec, **extra):
    args = dict(name=name,
                source={"type": "NO_SOURCE", "buildspec": buildspec},
                artifacts={"type": "NO_ARTIFACTS"},
                environment={"type": "LINUX_CONTAINER", "image": "kiln/host",
                             "computeType": "BUILD_GENERAL1_SMALL"},
                serviceRole="arn:aws:iam::000000000000:role/kiln")
    args.update(extra)
    return client.create_project(**args)["project"]


class _S3Endpoint:
    """A real S3-compatible server on a free loopback port, in its own process group."""
    name = key = secret = ""
    proc = None

    def _wait_for_port(self):
        deadline = time.time() + 30
        while time.time() < deadline and self.proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("%s did not start" % self.name)

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    def describe(self):
        checked = "SigV4 checked" if self.name == "s3rver" else "signatures not checked"
        return "%s at %s (%s)" % (self.name, self.endpoint, checked)

    def env(self):
        """The environment a kiln process needs to use this endpoint."""
        env = dict(os.environ)
        env.update({"AWS_ENDPOINT_URL_S3": self.endpoint, "AWS_ACCESS_KEY_ID": self.key,
                    "AWS_SECRET_ACCESS_KEY": self.secret, "AWS_REGION": REGION})
        env.pop("AWS_ENDPOINT_URL", None)
        return env

    def client(self):
        import boto3
        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=self.key, aws_secret_access_key=self.secret)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        if getattr(self, "tmp", None):
            shutil.rmtree(self.tmp, ignore_errors=True)


class S3rver(_S3Endpoint):
    """s3rver (npm, installed in tests/node by scripts/install-deps.sh) run by
    tests/node/s3-server.js, which adds the SigV4 check s3rver lacks: a request signed wrongly
    fails with SignatureDoesNotMatch. Its one account is S3RVER / S3RVER. No versioned buckets:
    see MotoS3."""
    name = "s3rver"
    key = secret = "S3RVER"

    def __init__(self):
        node = ROOT / "tests" / "node"
        if not (node / "node_modules" / "s3rver").is_dir():
            raise RuntimeError("%s has no s3rver: run scripts/install-deps.sh" % node)
        self.tmp = tempfile.mkdtemp(prefix="kiln-s3rver-")
        with open(os.path.join(self.tmp, "stderr.log"), "wb") as err:
            self.proc = subprocess.Popen(["node", str(node / "s3-server.js"),
                                          os.path.join(self.tmp, "data")],
                                         stdout=subprocess.PIPE, stderr=err,
                                         stdin=subprocess.DEVNULL, text=True,
                                         start_new_session=True)
        line = self.proc.stdout.readline()
        self.proc.stdout.close()
        if "http://127.0.0.1:" not in line:
            self.proc.wait(timeout=10)
            raise RuntimeError("node tests/node/s3-server.js did not start: %r, %s" % (
                line, pathlib.Path(self.tmp, "stderr.log").read_text()[:500]))
        self.port = int(line.rsplit(":", 1)[1])


class MotoS3(_S3Endpoint):
    """moto's server (a pip package, on no machine by default), started by this Python. Used in
    addition to s3rver for what s3rver lacks: versioned buckets. It checks no signature."""
    name = "moto"
    key = secret = "testing"

    @staticmethod
    def available():
        try:
            import moto.server  # noqa: F401
            return True
        except ImportError:
            return False

    def __init__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                      "-p", str(self.port)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        self._wait_for_port()


def announce(suite, line):
    """The one line a suite prints to say which S3 servers it ran against."""
    print("\n[S3 servers] %s: %s" % (suite, line), file=sys.stderr, flush=True)
