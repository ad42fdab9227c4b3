"""End-to-end fixtures: every test runs the real `kiln` binary on a fixture project in a
temporary folder. A failed test's folder is printed so it can be inspected."""
import json
import os
import pathlib
import subprocess
import textwrap
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

# The whole suite runs once per executor (scripts/test.sh): KILN_E2E_EXECUTOR=sandbox or docker
# adds `--executor X -i IMAGE` to every `kiln run` that does not choose its own executor.
# Tests marked host_only depend on the host's tools or paths and run under the process executor
# only.
EXECUTOR = os.environ.get("KILN_E2E_EXECUTOR", "process")
IMAGE = os.environ.get("KILN_E2E_IMAGE", "kiln/minimal")


def pytest_configure(config):
    config.addinivalue_line("markers", "host_only: needs the host's tools (process executor only)")


def pytest_collection_modifyitems(config, items):
    if EXECUTOR == "process":
        return
    skip = pytest.mark.skip(reason=f"host_only: not run under the {EXECUTOR} executor")
    for item in items:
        if "host_only" in item.keywords:
            item.add_marker(skip)


def kiln_binary():
    path = os.path.abspath(os.environ.get("KILN_BIN") or str(ROOT / "build" / "release" / "kiln"))
    if not os.access(path, os.X_OK):
        pytest.exit(f"kiln binary not found at {path}; run scripts/build.sh or set KILN_BIN", 2)
    return path


class Result:
    def __init__(self, proc, project, record_path, artifacts):
        self.proc = proc
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr
        self.project = project
        self.artifacts = artifacts
        self.record = json.loads(record_path.read_text()) if record_path.exists() else None

    @property
    def status(self):
        return self.record["buildStatus"]

    def phases(self):
        """['PHASE:STATUS', ...] as in the unit tests; COMPLETED has no status."""
        out = []
        for p in self.record["phases"]:
            s = p["phaseType"]
            if "phaseStatus" in p:
                s += ":" + p["phaseStatus"]
            out.append(s)
        return out

    def phase(self, name):
        for p in self.record["phases"]:
            if p["phaseType"] == name:
                return p
        return None

    def context(self, name):
        c = self.phase(name)["contexts"][0]
        return c["statusCode"], c["message"]

    def zip_names(self, name="artifacts.zip"):
        with zipfile.ZipFile(self.artifacts / name) as z:
            return sorted(z.namelist())

    def zip_read(self, member, name="artifacts.zip"):
        with zipfile.ZipFile(self.artifacts / name) as z:
            return z.read(member).decode()


class Kiln:
    def __init__(self, tmp_path):
        self.bin = kiln_binary()
        self.tmp = tmp_path
        self.count = 0

    def project(self, buildspec=None, files=None, name="proj"):
        """Creates a project folder with a buildspec.yml (dedented) and extra files."""
        d = self.tmp / name
        d.mkdir(parents=True, exist_ok=True)
        if buildspec is not None:
            (d / "buildspec.yml").write_text(textwrap.dedent(buildspec))
        for rel, content in (files or {}).items():
            p = d / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(content)
        return d

    def run(self, project, *args, timeout=120, env=None, json_record=True):
        self.count += 1
        artifacts = self.tmp / f"artifacts{self.count}"
        record = self.tmp / f"record{self.count}.json"
        cmd = [self.bin, "run", "-s", str(project), "-a", str(artifacts), "--no-color"]
        if json_record:
            cmd += ["--json", str(record)]
        if EXECUTOR != "process" and "--executor" not in args:
            cmd += ["--executor", EXECUTOR, "-i", IMAGE]
        cmd += list(args)
        run_env = dict(os.environ)
        run_env.update(env or {})
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=run_env,
                              stdin=subprocess.DEVNULL)
        return Result(proc, project, record, artifacts)

    def build(self, buildspec, *args, files=None, **kw):
        return self.run(self.project(buildspec, files), *args, **kw)

    def cmd(self, *args, timeout=60, cwd=None):
        return subprocess.run([self.bin, *args], capture_output=True, text=True, timeout=timeout,
                              cwd=cwd, stdin=subprocess.DEVNULL)


@pytest.fixture
def kiln(tmp_path):
    return Kiln(tmp_path)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and "tmp_path" in item.funcargs:
        report.sections.append(("kiln", f"test folder kept at {item.funcargs['tmp_path']}"))
