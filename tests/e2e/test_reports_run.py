"""Reports in `kiln run` (docs/reports.md): a build that writes JUnit and Cobertura
files, the end-of-run test summary, --reports-dir, the record's reportArns, --junit-out, masking
of secrets in stored reports, no reports after a jump to FINALIZING, auto-discover on and off,
and a real `python3 -m pytest --junitxml` run."""
import json
import subprocess
import xml.etree.ElementTree as ET

import pytest

# Debian's python3-pytest (scripts/install-deps.sh), whatever python3 is first on PATH.
DEBIAN_PYTHON = "/usr/bin/python3"

NO_AUTO = "env:\n  variables:\n    CODEBUILD_CONFIG_AUTO_DISCOVER: 'false'\n"

# Written by the build itself, with a heredoc and printf.
WRITE_REPORTS = """\
      - mkdir -p out/junit out/cov
      - |
        cat > out/junit/unit.xml <<'EOF'
        <?xml version="1.0" encoding="UTF-8"?>
        <testsuites>
          <testsuite name="calc" tests="4" failures="1" errors="1" skipped="1">
            <testcase classname="calc.Add" name="adds" time="0.5"/>
            <testcase classname="calc.Div" name="divides" time="0.25">
              <failure message="expected 2 got 3">AssertionError</failure>
            </testcase>
            <testcase classname="calc.Io" name="reads"><error message="disk gone"/></testcase>
            <testcase classname="calc.Skip" name="later"><skipped/></testcase>
          </testsuite>
        </testsuites>
        EOF
      - printf '<?xml version="1.0" ?>\\n<coverage line-rate="0.75" branch-rate="0.5" lines-covered="3" lines-valid="4" branches-covered="1" branches-valid="2" version="7"><packages><package name="p"><classes><class name="m" filename="src/m.py" line-rate="0.75"><lines><line number="1" hits="1" branch="true" condition-coverage="50%% (1/2)"/><line number="2" hits="1"/><line number="3" hits="1"/><line number="4" hits="0"/></lines></class></classes></package></packages></coverage>\\n' > out/cov/coverage.xml
"""

GROUPS = """\
reports:
  unit:
    files: ['**/*.xml']
    base-directory: out/junit
  cov:
    files: [coverage.xml]
    base-directory: out/cov
    file-format: coberturaxml
"""


def spec(commands, extra="", env=NO_AUTO):
    return f"version: 0.2\n{env}phases:\n  build:\n    commands:\n{commands}{extra}"


def reports_in(folder):
    return [json.loads((folder / f"report-{n}.json").read_text())
            for n in range(1, 100) if (folder / f"report-{n}.json").exists()]


def test_summary_reports_dir_record_and_junit_out(kiln, tmp_path):
    rdir, junit = tmp_path / "reports", tmp_path / "merged.xml"
    r = kiln.build(spec(WRITE_REPORTS, GROUPS), "--reports-dir", str(rdir),
                   "--junit-out", str(junit))
    # A failed test does not fail the build (reports never change its status).
    assert r.code == 0 and r.status == "SUCCEEDED", r.out + r.err

    # The log: after POST_BUILD, in UPLOAD_ARTIFACTS.
    assert "Preparing to copy TEST report proj-unit" in r.out
    assert "Preparing to copy CODE_COVERAGE report proj-cov" in r.out
    assert r.out.index("Phase complete: POST_BUILD") < r.out.index("Preparing to copy TEST")
    assert r.out.index("Preparing to copy TEST") < r.out.index("Phase complete: UPLOAD_ARTIFACTS")

    # The summary.
    summary = r.out[r.out.index("\nREPORT "):]
    assert summary.split("\n")[1].split() == ["REPORT", "STATUS", "TOTAL", "PASSED", "FAILED",
                                              "ERROR", "SKIPPED", "UNKNOWN"]
    assert "proj-unit" in summary and "\nproj-unit " in summary
    unit_line = next(l for l in summary.split("\n") if l.startswith("proj-unit"))
    assert unit_line.split() == ["proj-unit", "FAILED", "4", "1", "1", "1", "1", "0"]
    assert "  FAILED calc.Div.divides: expected 2 got 3" in summary
    assert "  ERROR calc.Io.reads: disk gone" in summary
    cov_line = next(l for l in summary.split("\n") if l.startswith("proj-cov"))
    assert "SUCCEEDED" in cov_line and "line 75.00% (3/4)" in cov_line
    assert "branch 50.00% (1/2)" in cov_line

    # --reports-dir: CodeBuild's Report JSON with its cases and coverages.
    files = reports_in(rdir)
    assert [f["name"] for f in files] == ["proj-unit", "proj-cov"]
    unit, cov = files
    assert unit["type"] == "TEST" and unit["status"] == "FAILED"
    assert unit["testSummary"]["total"] == 4
    assert unit["testSummary"]["statusCounts"] == {"SUCCEEDED": 1, "FAILED": 1, "ERROR": 1,
                                                   "SKIPPED": 1, "UNKNOWN": 0}
    assert [c["status"] for c in unit["testCases"]][:2] == ["FAILED", "ERROR"]
    assert unit["reportGroupArn"].endswith(":report-group/proj-unit")
    assert unit["executionId"] == r.record["arn"]
    assert cov["type"] == "CODE_COVERAGE" and cov["status"] == "SUCCEEDED"
    assert cov["codeCoverageSummary"]["lineCoveragePercentage"] == 75.0
    assert [c["filePath"] for c in cov["codeCoverages"]] == ["src/m.py"]
    assert (rdir / "report-1.raw" / "unit.xml").read_text().startswith("<?xml")
    assert (rdir / "report-2.raw" / "coverage.xml").exists()

    # --json: reportArns, the same ARNs.
    assert r.record["reportArns"] == [unit["arn"], cov["arn"]]
    assert all(a.startswith("arn:aws:codebuild:") and ":report/proj-" in a
               for a in r.record["reportArns"])

    # --junit-out: one well-formed file with the test report's cases.
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == \
        ("4", "1", "1", "1")
    cases = {c.get("name"): c for c in root.iter("testcase")}
    # The parser keeps the failure's text after its message attribute (docs/reports.md).
    assert cases["divides"].find("failure").get("message").startswith("expected 2 got 3")
    assert cases["reads"].find("error") is not None
    assert cases["later"].find("skipped") is not None


def test_secret_is_masked_out_of_stored_reports(kiln, tmp_path):
    rdir = tmp_path / "reports"
    secret = "s3cr3t-value-8841"
    commands = """\
      - mkdir -p out
      - printf '<testsuite name="s"><testcase classname="c" name="leaks"><failure message="token %s"/></testcase></testsuite>\\n' "$TOKEN" > out/t.xml
"""
    env = "env:\n  parameter-store:\n    TOKEN: /ci/token\n  variables:\n" \
          "    CODEBUILD_CONFIG_AUTO_DISCOVER: 'false'\n"
    r = kiln.build(spec(commands, "reports:\n  unit:\n    files: [out/t.xml]\n", env=env),
                   "--secrets-store", str(tmp_path / "store"),
                   "--parameter", f"/ci/token={secret}", "--reports-dir", str(rdir))
    assert r.status == "SUCCEEDED", r.out + r.err
    stored = (rdir / "report-1.json").read_text()
    assert secret not in stored
    assert json.loads(stored)["testCases"][0]["message"] == "token ***"
    assert secret not in r.out


@pytest.mark.parametrize("phase", ["install", "pre_build"])
def test_jump_to_finalizing_makes_no_reports(kiln, tmp_path, phase):
    rdir = tmp_path / "reports"
    files = {"out/t.xml": '<testsuite><testcase classname="c" name="n"/></testsuite>\n'}
    r = kiln.build(f"version: 0.2\nphases:\n  {phase}:\n    commands: [exit 3]\n"
                   "  build:\n    commands: [echo never]\n"
                   "reports:\n  unit:\n    files: [out/t.xml]\n",
                   "--reports-dir", str(rdir), files=files)
    assert r.status == "FAILED"
    assert r.phase("UPLOAD_ARTIFACTS") is None
    assert r.record["reportArns"] == []
    assert "Preparing to copy" not in r.out and "auto-discover" not in r.out
    assert "\nREPORT " not in r.out
    assert not rdir.exists() or not any(rdir.iterdir())


def test_auto_discover_on_by_default_and_off_by_variable(kiln, tmp_path):
    junit = '<testsuite name="d"><testcase classname="c" name="found"/></testsuite>\n'
    files = {"build/test-results/TEST-d.xml": junit, "docs/readme.xml": "<notes/>\n"}
    commands = "      - echo built\n"
    on = kiln.build(spec(commands, env=""), files=files)
    assert "Set report auto-discover timeout to 5 seconds" in on.out
    assert "Expanding base directory path:  ." in on.out
    assert "Found 1 file(s)" in on.out
    assert "Report auto-discover file discovery took " in on.out
    assert len(on.record["reportArns"]) == 1
    assert ":report/proj-JUNITXML-AutoDiscovered:" in on.record["reportArns"][0]
    assert "proj-JUNITXML-AutoDiscovered" in on.out[on.out.index("\nREPORT "):]

    off = kiln.build(spec(commands), files=files)
    assert "auto-discover" not in off.out
    assert off.record["reportArns"] == []

    elsewhere = kiln.build(spec(commands, env="env:\n  variables:\n"
                                "    CODEBUILD_CONFIG_AUTO_DISCOVER_DIR: docs\n"), files=files)
    assert "No matching auto-discover report paths found" in elsewhere.out
    assert elsewhere.record["reportArns"] == []


def test_explicit_group_files_are_not_rediscovered(kiln):
    junit = '<testsuite name="d"><testcase classname="c" name="once"/></testsuite>\n'
    r = kiln.build(spec("      - echo built\n", "reports:\n  unit:\n    files: [t.xml]\n", env=""),
                   files={"t.xml": junit})
    assert "No matching auto-discover report paths found" in r.out
    assert len(r.record["reportArns"]) == 1


@pytest.mark.host_only
@pytest.mark.skipif(subprocess.run([DEBIAN_PYTHON, "-c", "import pytest"],
                                    capture_output=True).returncode != 0,
                    reason="Debian's python3-pytest is not installed")
def test_real_pytest_junitxml(kiln, tmp_path):
    rdir = tmp_path / "reports"
    tests = ("def test_passes():\n    assert 1 + 1 == 2\n\n\n"
             "def test_fails():\n    assert 2 * 2 == 5, 'arithmetic is broken'\n\n\n"
             "import pytest\n\n\n@pytest.mark.skip(reason='not today')\ndef test_skipped():\n"
             "    pass\n")
    commands = (f"      - {DEBIAN_PYTHON} -m pytest -p no:cacheprovider -q "
                "--junitxml=out/pytest.xml tests || true\n")
    r = kiln.build(spec(commands, "reports:\n  pytest:\n    files: [out/pytest.xml]\n"),
                   "--reports-dir", str(rdir), files={"tests/test_calc.py": tests})
    assert r.status == "SUCCEEDED", r.out + r.err
    report = reports_in(rdir)[0]
    assert report["name"] == "proj-pytest" and report["status"] == "FAILED"
    counts = report["testSummary"]["statusCounts"]
    assert (counts["SUCCEEDED"], counts["FAILED"], counts["SKIPPED"]) == (1, 1, 1)
    failed = report["testCases"][0]
    assert failed["name"] == "test_fails" and failed["status"] == "FAILED"
    assert "arithmetic is broken" in failed["message"]
    assert "  FAILED " in r.out and "test_fails" in r.out[r.out.index("\nREPORT "):]


def test_group_name_and_base_directory_from_variables(kiln):
    junit = '<testsuite name="v"><testcase classname="c" name="named"/></testsuite>\n'
    env = ("env:\n  variables:\n    REPORT_GROUP_NAME: integration\n    OUT: results\n"
           "    CODEBUILD_CONFIG_AUTO_DISCOVER: 'false'\n")
    r = kiln.build(spec("      - echo built\n",
                        "reports:\n  $REPORT_GROUP_NAME:\n    files: ['*.xml']\n"
                        "    base-directory: $OUT\n", env=env),
                   files={"results/t.xml": junit})
    assert "Preparing to copy TEST report proj-integration" in r.out, r.out
    assert "Expanding base directory path: results" in r.out
    assert ":report/proj-integration:" in r.record["reportArns"][0]
