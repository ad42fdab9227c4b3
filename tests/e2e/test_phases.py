"""Phase transitions, finally and on-failure (docs/reference/codebuild-semantics.md §3), end to end."""

ALL = ["SUBMITTED:SUCCEEDED", "QUEUED:SUCCEEDED", "PROVISIONING:SUCCEEDED",
       "DOWNLOAD_SOURCE:SUCCEEDED"]


def spec(install="echo i", pre="echo p", build="echo b", post="echo o", extra=""):
    return f"""\
version: 0.2
phases:
  install:
    commands: ["{install}"]
  pre_build:
    commands: ["{pre}"]
  build:
    commands: ["{build}"]
{extra}  post_build:
    commands: ["{post}"]
artifacts:
  files: [buildspec.yml]
"""


def test_success_visits_every_phase(kiln):
    r = kiln.build(spec())
    assert r.code == 0, r.out
    assert r.status == "SUCCEEDED"
    assert r.phases() == ALL + ["INSTALL:SUCCEEDED", "PRE_BUILD:SUCCEEDED", "BUILD:SUCCEEDED",
                                "POST_BUILD:SUCCEEDED", "UPLOAD_ARTIFACTS:SUCCEEDED",
                                "FINALIZING:SUCCEEDED", "COMPLETED"]
    assert r.record["buildComplete"] is True
    assert r.record["currentPhase"] == "COMPLETED"


def test_install_failure_goes_to_finalizing(kiln):
    r = kiln.build(spec(install="exit 3"))
    assert r.code == 1
    assert r.phases() == ALL + ["INSTALL:FAILED", "FINALIZING:SUCCEEDED", "COMPLETED"]
    assert r.context("INSTALL") == ("COMMAND_EXECUTION_ERROR",
                                    "Error while executing command: exit 3. Reason: exit status 3")
    assert not (r.artifacts / "artifacts.zip").exists()


def test_pre_build_failure_goes_to_finalizing(kiln):
    r = kiln.build(spec(pre="false"))
    assert r.phases() == ALL + ["INSTALL:SUCCEEDED", "PRE_BUILD:FAILED", "FINALIZING:SUCCEEDED",
                                "COMPLETED"]


def test_build_failure_runs_post_build_and_upload(kiln):
    r = kiln.build(spec(build="false"))
    assert r.code == 1
    assert r.status == "FAILED"
    assert r.phases() == ALL + ["INSTALL:SUCCEEDED", "PRE_BUILD:SUCCEEDED", "BUILD:FAILED",
                                "POST_BUILD:SUCCEEDED", "UPLOAD_ARTIFACTS:SUCCEEDED",
                                "FINALIZING:SUCCEEDED", "COMPLETED"]
    assert (r.artifacts / "artifacts.zip").exists()


def test_post_build_failure_still_uploads(kiln):
    r = kiln.build(spec(post="false"))
    assert "POST_BUILD:FAILED" in r.phases()
    assert "UPLOAD_ARTIFACTS:SUCCEEDED" in r.phases()
    assert r.status == "FAILED"


def test_missing_buildspec_fails_download_source(kiln):
    r = kiln.run(kiln.project(files={"a.txt": "x"}))
    assert r.code == 1
    assert r.phases() == ALL[:3] + ["DOWNLOAD_SOURCE:FAILED", "FINALIZING:SUCCEEDED", "COMPLETED"]
    assert r.context("DOWNLOAD_SOURCE") == ("YAML_FILE_ERROR", "YAML file does not exist")


def test_missing_override_buildspec_names_the_path(kiln):
    p = kiln.project(files={"a.txt": "x"})
    r = kiln.run(p, "-b", "ci/build.yml")
    code, msg = r.context("DOWNLOAD_SOURCE")
    assert code == "YAML_FILE_ERROR"
    assert msg.startswith("stat ") and msg.endswith("ci/build.yml: no such file or directory")


def test_invalid_version_is_codebuilds_message(kiln):
    r = kiln.build("version: 1.0\nphases:\n  build:\n    commands: [echo]\n")
    assert r.code == 1
    assert r.context("DOWNLOAD_SOURCE") == (
        "YAML_FILE_ERROR", "invalid buildspec `version` specified: 1.0, see documentation")


def test_invalid_phase_name(kiln):
    r = kiln.build("version: 0.2\nphases:\n  postbuild:\n    commands: [echo]\n")
    assert r.context("DOWNLOAD_SOURCE") == (
        "YAML_FILE_ERROR",
        "Invalid buildspec phase name: postbuild. Expecting: build,install,post_build,pre_build")


def test_finally_runs_after_failure_and_remaining_commands_are_skipped(kiln):
    r = kiln.build("""\
        version: 0.2
        phases:
          build:
            commands:
              - echo one
              - exit 7
              - echo SKIPPED
            finally:
              - echo final-1
              - echo final-2
        """)
    assert "SKIPPED" not in r.out.replace("Running command echo SKIPPED", "")
    assert "final-1\n" in r.out and "final-2\n" in r.out
    assert r.context("BUILD")[1] == "Error while executing command: exit 7. Reason: exit status 7"


def test_failing_finally_fails_the_phase(kiln):
    r = kiln.build("""\
        version: 0.2
        phases:
          build:
            commands: [echo ok]
            finally: [exit 4, echo never]
        """)
    assert r.phase("BUILD")["phaseStatus"] == "FAILED"
    assert "never\n" not in r.out


def test_abort_skips_post_build(kiln):
    r = kiln.build(spec(build="false", extra="    on-failure: ABORT\n"))
    assert r.phases()[-3:] == ["BUILD:FAILED", "FINALIZING:SUCCEEDED", "COMPLETED"]
    assert r.phase("POST_BUILD") is None
    assert r.phase("UPLOAD_ARTIFACTS") is None
    assert r.status == "FAILED"


def test_continue_on_install_runs_build_and_flags_failure(kiln):
    r = kiln.build("""\
        version: 0.2
        phases:
          install:
            on-failure: CONTINUE
            commands: [false]
          build:
            commands:
              - echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING"
        """)
    assert "succeeding=0\n" in r.out
    assert r.phase("BUILD")["phaseStatus"] == "SUCCEEDED"
    assert r.status == "FAILED"


def test_succeeding_flag_is_one_on_success(kiln):
    r = kiln.build(spec(post='echo flag=$CODEBUILD_BUILD_SUCCEEDING'))
    assert "flag=1\n" in r.out


def test_post_build_sees_failure_flag(kiln):
    r = kiln.build(spec(build="false", post='echo flag=$CODEBUILD_BUILD_SUCCEEDING'))
    assert "flag=0\n" in r.out


COUNTER = """\
version: 0.2
phases:
  build:
    on-failure: {policy}
    commands:
      - n=$(cat count 2>/dev/null || echo 0); echo $((n+1)) > count; echo "attempt $((n+1))"
      - "[ $(cat count) -ge {succeed_at} ] || {{ echo '{message}'; exit 1; }}"
"""


def test_retry_reruns_the_phase(kiln):
    r = kiln.build(COUNTER.format(policy="RETRY", succeed_at=3, message="flaky"))
    assert r.status == "SUCCEEDED", r.out
    assert "attempt 3\n" in r.out
    assert "Retrying phase BUILD (retry 2 of 3)" in r.out


def test_retry_count_is_a_limit(kiln):
    r = kiln.build(COUNTER.format(policy="RETRY-1", succeed_at=5, message="flaky"))
    assert r.status == "FAILED"
    assert "attempt 2\n" in r.out and "attempt 3\n" not in r.out


def test_retry_regex_must_match_output(kiln):
    r = kiln.build(COUNTER.format(policy="RETRY-.*timed out.*", succeed_at=2, message="disk full"))
    assert r.status == "FAILED"
    assert "attempt 2\n" not in r.out
    r = kiln.build(COUNTER.format(policy="RETRY-.*timed out.*", succeed_at=2,
                                  message="connection timed out"))
    assert r.status == "SUCCEEDED"


def test_retry_count_and_regex(kiln):
    r = kiln.build(COUNTER.format(policy="Retry-4-invalid+", succeed_at=4, message="invaliddd"))
    assert r.status == "SUCCEEDED"
    assert "attempt 4\n" in r.out


def test_log_has_codebuild_lines(kiln):
    r = kiln.build(spec(build="exit 2"))
    import re
    ts = r"\[Container\] \d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} "
    for line in ["Entering phase BUILD", "Running command exit 2",
                 "Command did not exit successfully exit 2 exit status 2",
                 "Phase complete: BUILD State: FAILED",
                 "Phase context status code: COMMAND_EXECUTION_ERROR Message: Error while "
                 "executing command: exit 2. Reason: exit status 2",
                 "Phase complete: INSTALL State: SUCCEEDED",
                 "Phase context status code:  Message: "]:
        assert re.search("^" + ts + re.escape(line) + "$", r.out, re.M), line
    assert re.search(r"^BUILD +FAILED +\d+\.\d{3}s$", r.out, re.M)
