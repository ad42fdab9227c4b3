"""Starts a real `kiln server` on a free port in a temporary data folder, for the compat tests.

The clients are the real ones (boto3, AWS CLI v1 and v2); they find the server through
--endpoint-url / endpoint_url and sign with the credentials the server wrote on first start."""
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
KILN = os.path.abspath(os.environ.get("KILN_BIN", str(ROOT / "build" / "release" / "kiln")))
REGION = "us-east-1"


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


class MotoS3:
    """A real S3-compatible endpoint: moto's server on a free loopback port."""

    def __init__(self):
        import socket
        import sys
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                      "-p", str(self.port)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto.server did not start")

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    def env(self):
        """The environment a kiln process needs to use this endpoint."""
        env = dict(os.environ)
        env.update({"AWS_ENDPOINT_URL_S3": self.endpoint, "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION})
        env.pop("AWS_ENDPOINT_URL", None)
        return env

    def client(self):
        import boto3
        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
