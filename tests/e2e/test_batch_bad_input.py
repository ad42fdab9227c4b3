"""`kiln run --batch` on bad batch sections (issue 17 "Bad input"): each fails the batch in
DOWNLOAD_BATCHSPEC with CodeBuild's error (a YAML_FILE_ERROR with its line, or a CLIENT_ERROR for
a restriction), runs no member build, and leaves no process behind."""
import os
import subprocess
import time

import pytest

pytestmark = pytest.mark.host_only  # markers in host process lists


def running_with(marker):
    p = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
    return [int(x) for x in p.stdout.split()]


def refused(kiln, tmp_path, batch_yaml, files=None):
    """Runs a batch whose section is `batch_yaml`; every member's command would leave a file and
    a process carrying a marker. Returns (result, DOWNLOAD_BATCHSPEC's context)."""
    marker = f"kiln-bad-batch-{os.getpid()}-{time.time_ns()}"
    buildspec = ("version: 0.2\n" + batch_yaml +
                 "phases:\n  build:\n    commands:\n"
                 f"      - touch {tmp_path}/ran.$CODEBUILD_BATCH_BUILD_IDENTIFIER\n"
                 f"      - sh -c 'sleep 30; echo {marker}' &\n")
    r = kiln.build(buildspec, "--batch", files=files)
    assert r.code == 1, r.out + r.err
    j = r.record
    assert j["buildBatchStatus"] == "FAILED"
    phase = next(p for p in j["phases"] if p["phaseType"] == "DOWNLOAD_BATCHSPEC")
    assert phase["phaseStatus"] == "FAILED"
    assert [g["identifier"] for g in j["buildGroups"]] == ["DOWNLOAD_SOURCE"]
    assert len(j["builds"]) == 1  # the batchspec's build only
    assert list(tmp_path.glob("ran.*")) == []
    assert running_with(marker) == []
    assert not any(p["phaseType"] == "IN_PROGRESS" for p in j["phases"])
    c = phase["contexts"][0]
    return r, c["statusCode"], c["message"]


def test_graph_cycle(kiln, tmp_path):
    _, code, message = refused(kiln, tmp_path, """\
batch:
  build-graph:
    - identifier: a
      depend-on: [c]
    - identifier: b
      depend-on: [a]
    - identifier: c
      depend-on: [b]
""")
    assert code == "YAML_FILE_ERROR"
    assert message == ('"batch/build-graph": dependency cycle (each task depends on the next): '
                       'a -> c -> b -> a at line 4')


def test_self_dependency(kiln, tmp_path):
    _, code, message = refused(kiln, tmp_path, """\
batch:
  build-graph:
    - identifier: a
      depend-on: [a]
""")
    assert code == "YAML_FILE_ERROR"
    assert message.endswith("dependency cycle (each task depends on the next): a -> a at line 4"), \
        message


def test_duplicate_identifiers(kiln, tmp_path):
    _, code, message = refused(kiln, tmp_path, """\
batch:
  build-list:
    - identifier: twin
    - identifier: twin
""")
    assert code == "YAML_FILE_ERROR"
    assert message == ('"batch/build-list[1]": the identifier "twin" is already used by '
                       '"batch/build-list[0]" at line 5')


def test_matrix_over_maximum_builds_allowed(kiln, tmp_path):
    values = "[" + ", ".join(str(i) for i in range(10)) + "]"
    r, code, message = refused(kiln, tmp_path, f"""\
batch:
  build-matrix:
    dynamic:
      env:
        variables:
          A: {values}
          B: {values}
          C: {values}
""")
    assert code == "CLIENT_ERROR"
    assert message.startswith("Batch build exceeded maximum builds allowed"), message
    assert "1000" in message and "100" in message


def test_max_batch_builds_flag_lowers_the_limit(kiln, tmp_path):
    r = kiln.build("""\
version: 0.2
batch:
  build-list:
    - identifier: a
    - identifier: b
phases:
  build:
    commands: [echo hi]
""", "--batch", "--max-batch-builds", "1")
    assert r.code == 1
    assert r.record["buildBatchStatus"] == "FAILED"
    assert "exceeded maximum builds allowed" in r.out


def test_task_buildspec_escaping_the_source(kiln, tmp_path):
    _, code, message = refused(kiln, tmp_path, """\
batch:
  build-list:
    - identifier: sneaky
      buildspec: ../../etc/passwd
""")
    assert code == "YAML_FILE_ERROR"
    assert "../../etc/passwd" in message, message


def test_invalid_identifier(kiln, tmp_path):
    _, code, message = refused(kiln, tmp_path, """\
batch:
  build-list:
    - identifier: "not valid!"
""")
    assert code == "YAML_FILE_ERROR"
    assert "not valid!" in message, message


def test_empty_batch(kiln, tmp_path):
    _, code, message = refused(kiln, tmp_path, """\
batch:
  build-list: []
""")
    assert code == "YAML_FILE_ERROR"


def test_batch_only_buildspec_from_git_without_batch_flag_names_the_flag(kiln, tmp_path):
    # A source kiln cannot read beforehand runs as a single build: the engine refuses a
    # batch-only buildspec and says how to run it.
    p = kiln.project("version: 0.2\nbatch:\n  build-list:\n    - identifier: a\n")
    subprocess.run(["git", "init", "-q", str(p)], check=True)
    subprocess.run(["git", "-C", str(p), "add", "."], check=True)
    subprocess.run(["git", "-C", str(p), "-c", "user.email=t@t", "-c", "user.name=t", "commit",
                    "-qm", "x"], check=True)
    r = kiln.run(f"file://{p}")
    assert r.code == 1
    assert r.record["buildStatus"] == "FAILED"
    code, message = r.context("DOWNLOAD_SOURCE")
    assert code == "YAML_FILE_ERROR" and "kiln run --batch" in message
