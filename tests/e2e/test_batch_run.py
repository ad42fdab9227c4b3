"""`kiln run --batch` end to end (docs/batch.md "kiln run --batch"): the real binary, the process
executor, batches of tiny builds. Order is checked from the times the builds themselves write,
never from how long the run took."""
import json
import pathlib
import os
import subprocess
import time
import zipfile

import pytest

pytestmark = pytest.mark.host_only  # the builds write host paths (stamps, markers)


def batch(kiln, buildspec, *args, files=None, **kw):
    r = kiln.build(buildspec, *args, files=files, **kw)
    if r.record is not None:
        r.builds = {b["id"]: b for b in r.record["builds"]}
        r.by_identifier = {}
        for g in r.record["buildGroups"]:
            s = g.get("currentBuildSummary")
            if s and s.get("arn"):
                build = next(b for b in r.record["builds"] if b["arn"] == s["arn"])
                r.by_identifier[g["identifier"]] = build
    return r


def group(r, identifier):
    return next(g for g in r.record["buildGroups"] if g["identifier"] == identifier)


def stamps(d):
    """{identifier: (start, end)} from the files STAMP writes."""
    out = {}
    for f in d.iterdir():
        if f.suffix == ".start":
            end = d / (f.stem + ".end")
            out[f.stem] = (float(f.read_text()), float(end.read_text()) if end.exists() else None)
    return out


def stamp_cmd(d, sleep="0"):
    # Start and end times the build itself records, in its own identifier's name.
    return (f"date +%s.%N > {d}/$CODEBUILD_BATCH_BUILD_IDENTIFIER.start; sleep {sleep}; "
            f"date +%s.%N > {d}/$CODEBUILD_BATCH_BUILD_IDENTIFIER.end")


def test_build_list_runs_every_task_with_its_log_and_json(kiln, tmp_path):
    r = batch(kiln, """\
        version: 0.2
        batch:
          build-list:
            - identifier: one
            - identifier: two
              env:
                variables:
                  WHO: second
        phases:
          build:
            commands:
              - echo "hello from $CODEBUILD_BATCH_BUILD_IDENTIFIER who=$WHO"
        """, "--batch")
    assert r.code == 0, r.out + r.err
    j = r.record
    assert j["buildBatchStatus"] == "SUCCEEDED"
    assert "kiln" not in j  # Kiln's own state is stripped from the shape
    assert [g["identifier"] for g in j["buildGroups"]] == ["DOWNLOAD_SOURCE", "one", "two"]
    assert group(r, "DOWNLOAD_SOURCE")["currentBuildSummary"]["primaryArtifact"] == {
        "type": "no_artifacts", "identifier": "DOWNLOAD_SOURCE"}
    assert [p["phaseType"] for p in j["phases"]] == [
        "SUBMITTED", "DOWNLOAD_BATCHSPEC", "IN_PROGRESS", "SUCCEEDED"]
    assert len(j["builds"]) == 3
    for b in j["builds"]:
        assert b["buildBatchArn"] == j["arn"]
        assert b["buildStatus"] == "SUCCEEDED"
    assert j["arn"].endswith(":build-batch/" + j["id"])
    # Plain prefixed lines when stdout is not a terminal.
    assert "[one] hello from one who=\n" in r.out
    assert "[two] hello from two who=second\n" in r.out
    logs = r.artifacts / "logs"
    assert sorted(p.name for p in logs.iterdir()) == ["DOWNLOAD_SOURCE.log", "one.log", "two.log"]
    assert "hello from two who=second" in (logs / "two.log").read_text()
    assert "hello from one" not in (logs / "two.log").read_text()
    assert "YAML location is" in (logs / "DOWNLOAD_SOURCE.log").read_text()
    # The final table.
    assert "Batch " + j["id"] + " SUCCEEDED" in r.out


def test_three_level_graph_runs_in_dependency_order(kiln, tmp_path):
    d = tmp_path / "stamps"
    d.mkdir()
    r = batch(kiln, f"""\
        version: 0.2
        batch:
          build-graph:
            - identifier: top
            - identifier: mid1
              depend-on: [top]
            - identifier: mid2
              depend-on: [top]
            - identifier: leaf
              depend-on: [mid1, mid2]
        phases:
          build:
            commands:
              - {stamp_cmd(d, "0.2")}
        """, "--batch", "--parallel", "4")
    assert r.code == 0, r.out + r.err
    s = stamps(d)
    assert sorted(s) == ["leaf", "mid1", "mid2", "top"]
    for dep, member in (("top", "mid1"), ("top", "mid2"), ("mid1", "leaf"), ("mid2", "leaf")):
        assert s[dep][1] <= s[member][0], (dep, member, s)
    assert group(r, "leaf")["dependsOn"] == ["mid1", "mid2"]


def test_matrix_two_by_three(kiln, tmp_path):
    d = tmp_path / "out"
    d.mkdir()
    r = batch(kiln, f"""\
        version: 0.2
        batch:
          build-matrix:
            dynamic:
              env:
                variables:
                  OS: [linux, mac]
                  PY: ["3.10", "3.11", "3.12"]
        phases:
          build:
            commands:
              - echo "$CODEBUILD_BATCH_BUILD_IDENTIFIER $OS $PY" > {d}/$CODEBUILD_BATCH_BUILD_IDENTIFIER
        """, "--batch")
    assert r.code == 0, r.out + r.err
    ids = [g["identifier"] for g in r.record["buildGroups"]][1:]
    assert ids == [f"build{i}" for i in range(1, 7)]
    got = sorted((d / i).read_text().split() for i in ids)
    # Product order: the last variable varies fastest.
    assert got == sorted([["build1", "linux", "3.10"], ["build2", "linux", "3.11"],
                          ["build3", "linux", "3.12"], ["build4", "mac", "3.10"],
                          ["build5", "mac", "3.11"], ["build6", "mac", "3.12"]])
    assert r.record["buildBatchStatus"] == "SUCCEEDED"


def fail_and_sleep(marker, fast_fail, d):
    return f"""\
        version: 0.2
        batch:
          fast-fail: {fast_fail}
          build-list:
            - identifier: bad
              env:
                variables:
                  ROLE: bad
            - identifier: sleeper
              env:
                variables:
                  ROLE: sleeper
        phases:
          build:
            commands:
              - if [ "$ROLE" = bad ]; then sleep 1; exit 3; fi
              - sh -c 'sleep 6; echo {marker}' && touch {d}/sleeper.done
        """


def running_with(marker):
    p = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
    return [int(x) for x in p.stdout.split()]


def test_fast_fail_stops_the_running_sleeper(kiln, tmp_path):
    marker = f"kiln-batch-ff-{os.getpid()}-{time.time_ns()}"
    r = batch(kiln, fail_and_sleep(marker, "true", tmp_path), "--batch", "--parallel", "2")
    assert r.code == 1
    assert r.record["buildBatchStatus"] == "FAILED"
    assert r.by_identifier["bad"]["buildStatus"] == "FAILED"
    assert r.by_identifier["sleeper"]["buildStatus"] == "STOPPED"
    assert not (tmp_path / "sleeper.done").exists()
    assert running_with(marker) == []


def test_without_fast_fail_the_sleeper_finishes(kiln, tmp_path):
    marker = f"kiln-batch-noff-{os.getpid()}-{time.time_ns()}"
    r = batch(kiln, fail_and_sleep(marker, "false", tmp_path), "--batch", "--parallel", "2")
    assert r.code == 1
    assert r.record["buildBatchStatus"] == "FAILED"
    assert r.by_identifier["sleeper"]["buildStatus"] == "SUCCEEDED"
    assert (tmp_path / "sleeper.done").exists()
    assert running_with(marker) == []


GRAPH_WITH_FAILURE = """\
    version: 0.2
    batch:
      build-graph:
        - identifier: first
          ignore-failure: {ignore}
          env:
            variables:
              FAIL: "yes"
        - identifier: second
          depend-on: [first]
    phases:
      build:
        commands:
          - touch {d}/$CODEBUILD_BATCH_BUILD_IDENTIFIER.ran
          - test "$FAIL" != yes
    """


def test_failed_dependency_means_the_dependant_never_starts(kiln, tmp_path):
    r = batch(kiln, GRAPH_WITH_FAILURE.format(ignore="false", d=tmp_path), "--batch")
    assert r.code == 1
    assert (tmp_path / "first.ran").exists()
    assert not (tmp_path / "second.ran").exists()
    assert r.record["buildBatchStatus"] == "FAILED"
    # Never started: no build (the summary, if any, names none).
    assert not group(r, "second").get("currentBuildSummary", {}).get("arn")
    assert len(r.record["builds"]) == 2  # DOWNLOAD_SOURCE and first
    assert not (r.artifacts / "logs" / "second.log").exists()
    # The table names it, with why.
    line = next(l for l in r.out.splitlines() if l.startswith("second "))
    assert "NOT_STARTED" in line and "its dependency first FAILED" in line
    contexts = [c["message"] for p in r.record["phases"] for c in p.get("contexts", [])]
    assert any("second" in m for m in contexts), contexts


def test_ignore_failure_keeps_the_batch_succeeding(kiln, tmp_path):
    r = batch(kiln, GRAPH_WITH_FAILURE.format(ignore="true", d=tmp_path), "--batch")
    assert r.code == 0, r.out
    assert r.record["buildBatchStatus"] == "SUCCEEDED"
    assert r.by_identifier["first"]["buildStatus"] == "FAILED"
    assert (tmp_path / "second.ran").exists()


def test_only_runs_the_named_builds_and_their_dependencies(kiln, tmp_path):
    r = batch(kiln, f"""\
        version: 0.2
        batch:
          build-graph:
            - identifier: base
            - identifier: app
              depend-on: [base]
            - identifier: docs
            - identifier: deploy
              depend-on: [app]
        phases:
          build:
            commands:
              - touch {tmp_path}/$CODEBUILD_BATCH_BUILD_IDENTIFIER.ran
        """, "--batch", "--only", "app")
    assert r.code == 0, r.out
    assert sorted(p.stem for p in tmp_path.glob("*.ran")) == ["app", "base"]
    assert [g["identifier"] for g in r.record["buildGroups"]] == ["DOWNLOAD_SOURCE", "base", "app"]


def test_only_naming_no_task_is_a_usage_error(kiln, tmp_path):
    r = batch(kiln, """\
        version: 0.2
        batch:
          build-list:
            - identifier: a
        phases:
          build:
            commands: [echo hi]
        """, "--batch", "--only", "nope")
    assert r.code == 2
    assert "nope" in r.out


def test_parallel_one_serialises(kiln, tmp_path):
    d = tmp_path / "stamps"
    d.mkdir()
    r = batch(kiln, f"""\
        version: 0.2
        batch:
          build-list:
            - identifier: a
            - identifier: b
            - identifier: c
            - identifier: d
        phases:
          build:
            commands:
              - {stamp_cmd(d, "0.1")}
        """, "--batch", "--parallel", "1")
    assert r.code == 0, r.out
    spans = sorted(stamps(d).values())
    assert len(spans) == 4
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert end <= start, spans


def test_parallel_zero_is_a_usage_error(kiln):
    r = kiln.build("version: 0.2\nphases:\n  build:\n    commands: [echo hi]\n",
                   "--parallel", "0")
    assert r.code == 2


BOTH = """\
    version: 0.2
    batch:
      build-list:
        - identifier: member
    phases:
      build:
        commands:
          - echo "id=[$CODEBUILD_BATCH_BUILD_IDENTIFIER]"
    """


def test_batch_and_phases_runs_single_and_says_so(kiln):
    r = kiln.build(BOTH)
    assert r.code == 0, r.out + r.err
    assert r.record["buildStatus"] == "SUCCEEDED"  # a Build, not a BuildBatch
    assert "buildBatchArn" not in r.record
    assert "id=[]" in r.out
    lines = [l for l in r.err.splitlines() if "--batch" in l]
    assert len(lines) == 1 and "single build" in lines[0], r.err


def test_batch_and_phases_with_batch_flag_runs_the_batch(kiln):
    r = batch(kiln, BOTH, "--batch")
    assert r.code == 0
    assert "[member] id=[member]" in r.out
    assert "single build" not in r.err


def test_batch_only_buildspec_runs_as_batch_automatically(kiln, tmp_path):
    r = batch(kiln, """\
        version: 0.2
        batch:
          build-list:
            - identifier: x
              buildspec: specs/x.yml
            - identifier: y
              buildspec: specs/y.yml
        """, files={
        "specs/x.yml": "version: 0.2\nphases:\n  build:\n    commands: [echo I am x]\n",
        "specs/y.yml": "version: 0.2\nphases:\n  build:\n    commands: [echo I am y]\n"})
    assert r.code == 0, r.out + r.err
    assert "[x] I am x" in r.out and "[y] I am y" in r.out
    assert r.by_identifier["x"]["source"]["buildspec"] == "specs/x.yml"


def test_member_failure_gives_exit_1_and_the_failing_phase(kiln):
    r = batch(kiln, """\
        version: 0.2
        batch:
          build-list:
            - identifier: ok
            - identifier: broken
              env:
                variables:
                  BREAK: "1"
        phases:
          build:
            commands:
              - test -z "$BREAK"
        """, "--batch")
    assert r.code == 1
    line = next(l for l in r.out.splitlines() if l.startswith("broken "))
    assert "FAILED" in line and "BUILD (COMMAND_EXECUTION_ERROR" in line


def test_combine_artifacts_makes_one_zip_with_a_folder_per_build(kiln):
    r = batch(kiln, """\
        version: 0.2
        batch:
          build-list:
            - identifier: left
            - identifier: right
        phases:
          build:
            commands:
              - mkdir -p out && echo "$CODEBUILD_BATCH_BUILD_IDENTIFIER" > out/who.txt
        artifacts:
          files: ['out/**/*']
        """, "--batch", "--combine-artifacts", "--project", "combo")
    assert r.code == 0, r.out + r.err
    with zipfile.ZipFile(r.artifacts / "combo.zip") as z:
        names = sorted(z.namelist())
        assert names == ["left/out/who.txt", "right/out/who.txt"]
        assert z.read("right/out/who.txt").decode() == "right\n"
    assert sorted(p.name for p in r.artifacts.iterdir()) == ["combo.zip", "logs"]
    phases = [p["phaseType"] for p in r.record["phases"]]
    assert phases == ["SUBMITTED", "DOWNLOAD_BATCHSPEC", "IN_PROGRESS", "COMBINE_ARTIFACTS",
                      "SUCCEEDED"]
    assert r.record["artifacts"]["location"].endswith("combo.zip")


def test_separate_artifacts_are_named_by_identifier(kiln):
    r = batch(kiln, """\
        version: 0.2
        batch:
          build-list:
            - identifier: alpha
        phases:
          build:
            commands:
              - echo a > a.txt && echo b > b.txt
        artifacts:
          files: [a.txt]
          secondary-artifacts:
            extra:
              files: [b.txt]
        """, "--batch")
    assert r.code == 0, r.out + r.err
    assert sorted(p.name for p in r.artifacts.iterdir()) == ["alpha.zip", "alpha_extra.zip",
                                                             "logs"]
    s = group(r, "alpha")["currentBuildSummary"]
    assert s["primaryArtifact"]["location"].endswith("alpha.zip")
    # The file is named <buildIdentifier>_<artifactIdentifier> (§5.4); the identifier stays the
    # buildspec's.
    assert s["secondaryArtifacts"][0]["identifier"] == "extra"
    assert s["secondaryArtifacts"][0]["location"].endswith("alpha_extra.zip")


def test_batch_timeout_stops_the_batch(kiln, tmp_path):
    marker = f"kiln-batch-timeout-{os.getpid()}-{time.time_ns()}"
    start = time.time()
    r = batch(kiln, f"""\
        version: 0.2
        batch:
          build-list:
            - identifier: slow
        phases:
          build:
            commands:
              - sh -c 'sleep 60; echo {marker}'
        """, "--batch", "--batch-timeout", "0.15")  # 9 s: DOWNLOAD_SOURCE is over long before,
    # also under ASan on a loaded machine (at 1.8 s it could time out before `slow` started)
    assert time.time() - start < 30
    assert r.code == 1
    assert r.record["buildBatchStatus"] == "TIMED_OUT"
    assert r.by_identifier["slow"]["buildStatus"] == "STOPPED"
    assert running_with(marker) == []


def test_ctrl_c_stops_every_member(kiln, tmp_path):
    marker = f"kiln-batch-int-{os.getpid()}-{time.time_ns()}"
    p = kiln.project(f"""\
        version: 0.2
        batch:
          build-list:
            - identifier: one
            - identifier: two
        phases:
          build:
            commands:
              - touch {tmp_path}/$CODEBUILD_BATCH_BUILD_IDENTIFIER.up
              - sh -c 'sleep 60; echo {marker}'
        """)
    record = tmp_path / "batch.json"
    proc = subprocess.Popen([kiln.bin, "run", "-s", str(p), "-a", str(tmp_path / "a"), "--batch",
                             "--parallel", "2", "--json", str(record)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline and len(list(tmp_path.glob("*.up"))) < 2:
        time.sleep(0.05)
    proc.send_signal(2)
    assert proc.wait(timeout=30) == 1
    j = json.loads(record.read_text())
    assert j["buildBatchStatus"] == "STOPPED"
    assert sorted(b["buildStatus"] for b in j["builds"]) == ["STOPPED", "STOPPED", "SUCCEEDED"]
    assert running_with(marker) == []


def test_terminal_gets_a_live_status_block_instead_of_prefixed_lines(kiln, tmp_path):
    import pty
    p = kiln.project("""\
        version: 0.2
        batch:
          build-list:
            - identifier: first_build
            - identifier: second_build
        phases:
          build:
            commands:
              - echo "output line of $CODEBUILD_BATCH_BUILD_IDENTIFIER"
              - sleep 0.6
        """)
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(kiln.bin, [kiln.bin, "run", "-s", str(p), "-a", str(tmp_path / "a"), "--batch",
                            "--no-color"])
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    text = out.decode()
    assert "\x1b[2K" in text and "\x1b[" in text  # lines redrawn in place
    assert "IN_PROGRESS" in text and "BUILD" in text
    # Build output goes to the log files only.
    assert "output line of" not in text
    assert "output line of first_build" in (tmp_path / "a" / "logs" / "first_build.log").read_text()
    assert "Batch " in text and "SUCCEEDED" in text


def test_corpus_s2n_tls_build_list_plans_and_runs_one_member(kiln, tmp_path):
    # A real batch-only buildspec (31 tasks, each with its own buildspec, image and variables).
    # The tools it needs are not here: a stub stands in for its task buildspec, and --only runs
    # one member, which shows the task's variables and identifier.
    corpus = pathlib.Path(__file__).resolve().parents[1] / "corpus" / "buildspecs"
    text = (corpus / "004-aws-s2n-tls-generalbatch.yml").read_text()
    stub = ("version: 0.2\nphases:\n  build:\n    commands:\n"
            "      - echo \"run $CODEBUILD_BATCH_BUILD_IDENTIFIER TESTS=$TESTS BUILD_S2N=$BUILD_S2N\"\n")
    p = kiln.project(text, files={"codebuild/spec/buildspec_ubuntu.yml": stub})
    r = kiln.run(p, "--only", "s2nExecLeak")
    assert r.code == 0, r.out + r.err
    assert "[s2nExecLeak] run s2nExecLeak TESTS=exec_leak BUILD_S2N=true" in r.out
    j = r.record
    assert [g["identifier"] for g in j["buildGroups"]] == ["DOWNLOAD_SOURCE", "s2nExecLeak"]
    member = j["builds"][1]
    assert member["environment"]["computeType"] == "BUILD_GENERAL1_LARGE"
    assert member["environment"]["privilegedMode"] is True
