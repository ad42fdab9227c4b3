"""Variables (docs/reference/codebuild-semantics.md §1.6, §4), end to end."""
import re
import subprocess

BUILD_PRINTS = """\
version: 0.2
env:
  variables:
    A: buildspec
    B: buildspec
    LITERAL: "$HOME:/x"
  exported-variables: [OUT, NEVER_SET, AWS_SECRET]
phases:
  build:
    commands:
      - echo "A=$A B=$B LITERAL=$LITERAL"
      - export OUT=first
  post_build:
    commands:
      - export OUT=final AWS_SECRET=hidden
"""


def test_precedence_env_flag_over_env_file_over_buildspec(kiln):
    p = kiln.project(BUILD_PRINTS)
    env_file = kiln.tmp / "vars.env"
    env_file.write_text("# comment\n\nA=file\nB=file\n")
    r = kiln.run(p, "--env-file", str(env_file), "-e", "B=flag")
    assert "A=file B=flag LITERAL=$HOME:/x\n" in r.out, r.out


def test_buildspec_values_are_literal(kiln):
    r = kiln.build(BUILD_PRINTS)
    assert "LITERAL=$HOME:/x\n" in r.out


def test_exported_variables_are_captured_at_end_of_post_build(kiln):
    r = kiln.build(BUILD_PRINTS)
    assert r.record["exportedEnvironmentVariables"] == [
        {"name": "OUT", "value": "final"}, {"name": "NEVER_SET", "value": ""}]


def test_codebuild_variables(kiln):
    r = kiln.build("""\
        version: 0.2
        phases:
          build:
            commands:
              - env | grep -E '^(CODEBUILD_|AWS_)' | sort
        """, "--project", "my-proj")
    env = dict(l.split("=", 1) for l in r.out.splitlines()
               if re.match(r"^(CODEBUILD_|AWS_)[A-Z_]*=", l))
    uuid = r.record["id"].split(":", 1)[1]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", uuid)
    assert env["CODEBUILD_BUILD_ID"] == f"my-proj:{uuid}" == r.record["id"]
    assert env["CODEBUILD_BUILD_ARN"] == f"arn:aws:codebuild:us-east-1:000000000000:build/my-proj:{uuid}"
    assert env["CODEBUILD_BUILD_ARN"] == r.record["arn"]
    assert env["CODEBUILD_PROJECT_ARN"] == "arn:aws:codebuild:us-east-1:000000000000:project/my-proj"
    assert env["CODEBUILD_LOG_PATH"] == uuid == r.record["logs"]["streamName"]
    assert r.record["logs"]["groupName"] == "/aws/codebuild/my-proj"
    assert env["CODEBUILD_BUILD_NUMBER"] == "1"
    assert env["CODEBUILD_BUILD_SUCCEEDING"] == "1"
    assert re.fullmatch(r"\d{13}", env["CODEBUILD_START_TIME"])
    assert abs(int(env["CODEBUILD_START_TIME"]) / 1000 - r.record["startTime"]) < 1
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["CODEBUILD_SRC_DIR"].endswith("/src")
    assert env["CODEBUILD_WEBHOOK_EVENT"] == ""
    assert "CODEBUILD_RESOLVED_SOURCE_VERSION" not in env  # not a git checkout


def test_git_checkout_resolves_source_version(kiln):
    p = kiln.project("version: 0.2\nphases:\n  build:\n    commands:\n"
                     "      - echo \"rsv=$CODEBUILD_RESOLVED_SOURCE_VERSION\"\n")
    git = ["git", "-C", str(p), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git[:3] + ["init", "-q", "-b", "main"], check=True)
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-qm", "x"], check=True)
    sha = subprocess.run(git[:3] + ["rev-parse", "HEAD"], capture_output=True, text=True,
                         check=True).stdout.strip()
    r = kiln.run(p)
    assert f"rsv={sha}\n" in r.out
    assert r.record["resolvedSourceVersion"] == sha
    subprocess.run(git[:3] + ["pack-refs", "--all"], check=True)  # packed refs resolve too
    r = kiln.run(p, "--source-version", "main")
    assert f"rsv={sha}\n" in r.out
    assert r.record["sourceVersion"] == "main"


def test_bad_env_file_names_file_and_line(kiln):
    p = kiln.project(BUILD_PRINTS)
    env_file = kiln.tmp / "bad.env"
    env_file.write_text("OK=1\nnot a variable\n")
    r = kiln.run(p, "--env-file", str(env_file))
    assert r.code == 2
    assert f"{env_file}:2:1: expected NAME=VALUE" in r.err


def test_record_shape(kiln):
    r = kiln.build(BUILD_PRINTS)
    rec = r.record
    for key in ["id", "arn", "buildNumber", "startTime", "endTime", "currentPhase", "buildStatus",
                "buildComplete", "projectName", "initiator", "phases", "source", "environment",
                "logs", "timeoutInMinutes", "artifacts", "secondaryArtifacts",
                "exportedEnvironmentVariables", "reportArns"]:
        assert key in rec, key
    assert isinstance(rec["startTime"], (int, float)) and rec["endTime"] >= rec["startTime"]
    assert rec["projectName"] == "proj"
    sub = rec["phases"][0]
    assert sub["phaseType"] == "SUBMITTED" and "contexts" not in sub
    assert rec["phases"][-1] == {"phaseType": "COMPLETED", "startTime": rec["phases"][-1]["startTime"]}
    build = r.phase("BUILD")
    assert build["contexts"] == [{"statusCode": "", "message": ""}]
    assert isinstance(build["durationInSeconds"], int)
