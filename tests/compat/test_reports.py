"""Test reports and code coverage against a real `kiln server` (docs/reports.md, §7), driven by
boto3 and the AWS CLI v2: a project whose build runs real tests (Debian's pytest with
--junitxml, under coverage.py for a Cobertura file), then every report operation of the API:
the build's reportArns, BatchGetReports, DescribeTestCases (CLI v2, filtered), DescribeCodeCoverages,
the three listings with boto3's paginators, report-group create / update / delete,
DeleteReport, GetReportGroupTrend, the error shapes, a secret kept out of stored test cases,
group naming (by name, by ARN, auto-discovered), the 1,000-group account limit, export of the
raw files to S3 (s3rver) and --report-expiry-days.

The expected counts come from the same tools run here, outside Kiln, on the same files."""
import base64
import io
import json
import os
import subprocess
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET
import zipfile

import botocore.config
import botocore.exceptions

from kiln_server import REGION, KilnServer, S3rver, announce, inline_project, wait_for_build

AWS_V2 = "/usr/bin/aws"
PY = "/usr/bin/python3"
SECRET = "rep-secret-5f0c2a9e7d41"
DAY = 86400

HELPER_PY = """def half(x):
    if x:
        return 1
    return 2


def never():
    return 3
"""

TEST_PY = """import os

import pytest

import helper


def test_pass_one():
    assert helper.half(True) == 1


def test_pass_two():
    assert 1 + 1 == 2


def test_fails_with_secret():
    value = os.environ.get("REPORT_SECRET", "")
    assert value == "", "secret is " + value


def test_fails_plain():
    assert 2 == 3, "two is not three"


@pytest.mark.skip(reason="not today")
def test_skipped():
    pass


def test_errors(missing_fixture):
    pass
"""

# The commands that write the sources and run the tests, the same in the build and here.
RUN_TESTS = [
    "%s -m coverage run --branch --source=. -m pytest -p no:cacheprovider -q "
    "--junitxml=reports/junit.xml test_sample.py || true" % PY,
    "%s -m coverage xml -o coverage/coverage.xml" % PY,
]


def b64(text):
    return base64.b64encode(text.encode()).decode()


def pytest_buildspec(auto_discover=False):
    """Runs the tests for real; `unit` (junitxml, given lower-case) and `cov` groups."""
    variables = "" if auto_discover else "  variables:\n    CODEBUILD_CONFIG_AUTO_DISCOVER: 'false'\n"
    commands = ["echo %s | base64 -d > helper.py" % b64(HELPER_PY),
                "echo %s | base64 -d > test_sample.py" % b64(TEST_PY)] + RUN_TESTS
    return ("version: 0.2\nenv:\n%s  parameter-store:\n    REPORT_SECRET: /rep/secret\n"
            "phases:\n  build:\n    commands:\n%s"
            "reports:\n  unit:\n    files: ['reports/junit.xml']\n    file-format: junitxml\n"
            "  cov:\n    files: ['coverage.xml']\n    base-directory: coverage\n"
            "    file-format: COBERTURAXML\n"
            % (variables, "".join("      - %s\n" % json.dumps(c) for c in commands)))


def junit_buildspec(groups, extra_env=""):
    """Writes one small JUnit file (1 pass, 1 failure); `groups` is the reports section."""
    xml = ('<?xml version="1.0"?><testsuite name="s" tests="2" failures="1">'
           '<testcase classname="c" name="ok" time="0.5"/>'
           '<testcase classname="c" name="bad" time="0.25"><failure message="boom"/></testcase>'
           '</testsuite>')
    return ("version: 0.2\n%sphases:\n  build:\n    commands:\n"
            "      - mkdir -p out && echo %s | base64 -d > out/TEST-small.xml\n%s"
            % (extra_env, b64(xml), groups))


def expected_from_tools():
    """Runs the same tests outside Kiln: (statusCounts, {file: coverage counts}, totals)."""
    with tempfile.TemporaryDirectory(prefix="kiln-rep-") as d:
        for name, text in (("helper.py", HELPER_PY), ("test_sample.py", TEST_PY)):
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        env = dict(os.environ, REPORT_SECRET=SECRET)
        for c in RUN_TESTS:
            subprocess.run(c, shell=True, cwd=d, env=env, capture_output=True, check=True,
                           timeout=120)
        junit = ET.parse(os.path.join(d, "reports/junit.xml")).getroot()
        cov = ET.parse(os.path.join(d, "coverage/coverage.xml")).getroot()
    counts = {"SUCCEEDED": 0, "FAILED": 0, "ERROR": 0, "SKIPPED": 0, "UNKNOWN": 0}
    for case in junit.iter("testcase"):
        kinds = {child.tag for child in case}
        status = ("FAILED" if "failure" in kinds else "ERROR" if "error" in kinds
                  else "SKIPPED" if "skipped" in kinds else "SUCCEEDED")
        counts[status] += 1
    files = {}
    for cls in cov.iter("class"):
        lc = lm = bc = bm = 0
        for line in cls.iter("line"):
            if int(line.get("hits")) > 0:
                lc += 1
            else:
                lm += 1
            cc = line.get("condition-coverage")  # "50% (1/2)"
            if cc:
                got, of = cc.split("(")[1].rstrip(")").split("/")
                bc += int(got)
                bm += int(of) - int(got)
        files[cls.get("filename")] = dict(linesCovered=lc, linesMissed=lm, branchesCovered=bc,
                                          branchesMissed=bm)
    totals = {k: sum(f[k] for f in files.values()) for k in
              ("linesCovered", "linesMissed", "branchesCovered", "branchesMissed")}
    return counts, files, totals


def pct(covered, missed):
    return 100.0 * covered / (covered + missed) if covered + missed else 0.0


class ReportsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.expected_counts, cls.expected_files, cls.expected_totals = expected_from_tools()
        cls.server = KilnServer().start()
        cls.cb = cls.server.boto3()
        # For requests botocore would refuse before sending them.
        key, secret = cls.server.credentials()
        import boto3
        cls.raw = boto3.client("codebuild", endpoint_url=cls.server.endpoint, region_name=REGION,
                               aws_access_key_id=key, aws_secret_access_key=secret,
                               config=botocore.config.Config(retries={"max_attempts": 1},
                                                             parameter_validation=False))
        cls.server.boto3("ssm").put_parameter(Name="/rep/secret", Value=SECRET,
                                              Type="SecureString")
        project = inline_project(cls.cb, "pyrep", pytest_buildspec())
        cls.account = project["arn"].split(":")[4]
        cls.shared_arn = cls.cb.create_report_group(
            name="shared-rg", type="TEST",
            exportConfig={"exportConfigType": "NO_EXPORT"})["reportGroup"]["arn"]
        inline_project(cls.cb, "byarn", junit_buildspec(
            "reports:\n  %s:\n    files: ['out/*.xml']\n" % json.dumps(cls.shared_arn),
            "env:\n  variables:\n    CODEBUILD_CONFIG_AUTO_DISCOVER: 'false'\n"))
        inline_project(cls.cb, "autodisc", junit_buildspec(""))
        for name in ("doomed", "delrep"):
            inline_project(cls.cb, name, junit_buildspec(
                "reports:\n  unit:\n    files: ['out/*.xml']\n",
                "env:\n  variables:\n    CODEBUILD_CONFIG_AUTO_DISCOVER: 'false'\n"))
        started = [(p, cls.cb.start_build(projectName=p)["build"]["id"])
                   for p in ("pyrep", "pyrep", "byarn", "autodisc", "doomed", "delrep")]
        cls.builds = {}
        for project, build_id in started:
            done = wait_for_build(cls.cb, build_id, timeout=180)
            assert done["buildStatus"] == "SUCCEEDED", json.dumps(done, default=str)
            cls.builds.setdefault(project, []).append(done)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    # --- helpers ---

    def group_arn(self, name):
        return "arn:aws:codebuild:%s:%s:report-group/%s" % (REGION, self.account, name)

    def report_of(self, project, group, index=0):
        """The ARN of the report of `group` in the project's index-th build."""
        prefix = "arn:aws:codebuild:%s:%s:report/%s:" % (REGION, self.account, group)
        arns = [a for a in self.builds[project][index].get("reportArns", [])
                if a.startswith(prefix)]
        self.assertEqual(len(arns), 1, self.builds[project][index].get("reportArns"))
        return arns[0]

    def get_report(self, arn):
        got = self.cb.batch_get_reports(reportArns=[arn])
        self.assertEqual(len(got["reports"]), 1, got)
        return got["reports"][0]

    def error_of(self, fn, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(**kwargs)
        r = cm.exception.response
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 400, r)
        self.assertTrue(r["Error"]["Message"], r)
        return r["Error"]["Code"]

    def aws(self, *args):
        if not os.path.exists(AWS_V2):
            self.skipTest("AWS CLI v2 (/usr/bin/aws, Debian's awscli) not installed")
        r = subprocess.run([AWS_V2, "--endpoint-url", self.server.endpoint, *args,
                            "--output", "json"], env=self.server.client_env(),
                           capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, "aws %s: %s" % (" ".join(args), r.stderr))
        return json.loads(r.stdout)

    def paginate(self, operation, key, page_size, **kwargs):
        pages = list(self.cb.get_paginator(operation).paginate(
            PaginationConfig={"PageSize": page_size}, **kwargs))
        for page in pages:
            self.assertLessEqual(len(page.get(key, [])), page_size)
        return pages, [item for page in pages for item in page.get(key, [])]

    # --- the build ---

    def test_build_lists_one_report_per_group_named_after_the_project(self):
        for build in self.builds["pyrep"]:
            arns = build["reportArns"]
            self.assertEqual(len(arns), 2, arns)  # auto-discover is off in this project
            groups = sorted(a.split(":report/")[1].split(":")[0] for a in arns)
            self.assertEqual(groups, ["pyrep-cov", "pyrep-unit"])
            for a in arns:
                self.assertRegex(a, r"^arn:aws:codebuild:%s:%s:report/pyrep-(unit|cov):[0-9a-f-]{36}$"
                                 % (REGION, self.account))

    def test_batch_get_reports_test_report(self):
        build = self.builds["pyrep"][0]
        r = self.get_report(self.report_of("pyrep", "pyrep-unit"))
        self.assertEqual(r["type"], "TEST")
        self.assertEqual(r["status"], "FAILED")  # failures, though the build SUCCEEDED
        self.assertEqual(r["name"], "pyrep-unit")
        self.assertEqual(r["reportGroupArn"], self.group_arn("pyrep-unit"))
        self.assertEqual(r["executionId"], build["arn"])
        self.assertFalse(r["truncated"])
        s = r["testSummary"]
        self.assertEqual(s["total"], 6)
        self.assertEqual(s["statusCounts"], self.expected_counts)
        self.assertEqual(self.expected_counts, {"SUCCEEDED": 2, "FAILED": 2, "ERROR": 1,
                                                "SKIPPED": 1, "UNKNOWN": 0})
        self.assertGreaterEqual(s["durationInNanoSeconds"], 0)
        self.assertNotIn("codeCoverageSummary", r)
        expiry = r["expired"].timestamp() - r["created"].timestamp()
        self.assertAlmostEqual(expiry, 30 * DAY, delta=2)
        self.assertEqual(r["exportConfig"]["exportConfigType"], "NO_EXPORT")

    def test_batch_get_reports_coverage_report(self):
        r = self.get_report(self.report_of("pyrep", "pyrep-cov"))
        self.assertEqual(r["type"], "CODE_COVERAGE")
        self.assertEqual(r["status"], "SUCCEEDED")
        self.assertNotIn("testSummary", r)
        c, t = r["codeCoverageSummary"], self.expected_totals
        for k, v in t.items():
            self.assertEqual(c[k], v, (k, c))
        self.assertAlmostEqual(c["lineCoveragePercentage"],
                               pct(t["linesCovered"], t["linesMissed"]), places=1)
        self.assertAlmostEqual(c["branchCoveragePercentage"],
                               pct(t["branchesCovered"], t["branchesMissed"]), places=1)

    def test_batch_get_reports_names_missing_ones(self):
        missing = "arn:aws:codebuild:%s:%s:report/pyrep-unit:%s" % (
            REGION, self.account, "00000000-0000-0000-0000-000000000000")
        real = self.report_of("pyrep", "pyrep-unit")
        got = self.cb.batch_get_reports(reportArns=[real, missing])
        self.assertEqual([r["arn"] for r in got["reports"]], [real])
        self.assertEqual(got["reportsNotFound"], [missing])

    # --- test cases ---

    def test_cli_v2_describe_test_cases_filtered_by_status(self):
        arn = self.report_of("pyrep", "pyrep-unit")
        got = self.aws("codebuild", "describe-test-cases", "--report-arn", arn,
                       "--filter", "status=FAILED")
        cases = got["testCases"]
        self.assertEqual(sorted(c["name"] for c in cases),
                         ["test_fails_plain", "test_fails_with_secret"])
        for c in cases:
            self.assertEqual(c["status"], "FAILED")
            self.assertEqual(c["reportArn"], arn)
            self.assertTrue(c["testRawDataPath"].endswith("reports/junit.xml"), c)
            self.assertIn("test_sample", c["prefix"] + c["name"])
            self.assertGreaterEqual(c["durationInNanoSeconds"], 0)
            self.assertIn("expired", c)
        plain = next(c for c in cases if c["name"] == "test_fails_plain")
        self.assertIn("two is not three", plain["message"])
        every = self.aws("codebuild", "describe-test-cases", "--report-arn", arn)["testCases"]
        self.assertEqual(len(every), 6)
        by_name = {c["name"]: c["status"] for c in every}
        self.assertEqual(by_name["test_skipped"], "SKIPPED")
        self.assertEqual(by_name["test_errors"], "ERROR")
        self.assertEqual(by_name["test_pass_one"], "SUCCEEDED")

    def test_test_suite_name_is_sent(self):
        # Debian's botocore (1.29) and CLI v2 (2.9) models predate TestCase.testSuiteName and
        # drop it when parsing: read the response body itself.
        bodies = []

        def keep(http_response, **_):
            bodies.append(json.loads(http_response.content))

        self.cb.meta.events.register("after-call.codebuild.DescribeTestCases", keep)
        try:
            self.cb.describe_test_cases(reportArn=self.report_of("pyrep", "pyrep-unit"))
        finally:
            self.cb.meta.events.unregister("after-call.codebuild.DescribeTestCases", keep)
        cases = bodies[0]["testCases"]
        self.assertEqual(len(cases), 6)
        self.assertEqual({c["testSuiteName"] for c in cases}, {"pytest"})

    def test_describe_test_cases_keyword_and_pagination(self):
        arn = self.report_of("pyrep", "pyrep-unit")
        got = self.cb.describe_test_cases(reportArn=arn, filter={"keyword": "fails_plain"})
        self.assertEqual([c["name"] for c in got["testCases"]], ["test_fails_plain"])
        pages, cases = self.paginate("describe_test_cases", "testCases", 2, reportArn=arn)
        self.assertGreaterEqual(len(pages), 3)
        self.assertEqual(len(cases), 6)
        self.assertEqual(len({c["name"] for c in cases}), 6)

    def test_a_secret_in_a_failure_message_is_masked_in_stored_cases(self):
        arn = self.report_of("pyrep", "pyrep-unit")
        cases = self.cb.describe_test_cases(reportArn=arn)["testCases"]
        case = next(c for c in cases if c["name"] == "test_fails_with_secret")
        self.assertIn("secret is ***", case["message"])  # masked, not dropped
        for build in self.builds["pyrep"]:
            for a in build["reportArns"]:
                text = json.dumps(self.cb.batch_get_reports(reportArns=[a]), default=str)
                if ":report/pyrep-unit:" in a:
                    text += json.dumps(self.cb.describe_test_cases(reportArn=a), default=str)
                    text += json.dumps(self.aws("codebuild", "describe-test-cases",
                                                "--report-arn", a))
                self.assertNotIn(SECRET, text)
        for f in self.server.data.rglob("*"):
            if f.is_file():
                self.assertNotIn(SECRET.encode(), f.read_bytes(), str(f))

    # --- coverage ---

    def test_describe_code_coverages_per_file_min_max_and_sort(self):
        arn = self.report_of("pyrep", "pyrep-cov")
        got = self.cb.describe_code_coverages(reportArn=arn)["codeCoverages"]
        self.assertEqual(len(got), len(self.expected_files))
        for c in got:
            self.assertEqual(c["reportARN"], arn)
            self.assertTrue(c["id"])
            self.assertIn("expired", c)
            name = next(f for f in self.expected_files if c["filePath"].endswith(f))
            want = self.expected_files[name]
            for k, v in want.items():
                self.assertEqual(c[k], v, (name, k, c))
            self.assertAlmostEqual(c["lineCoveragePercentage"],
                                   pct(want["linesCovered"], want["linesMissed"]), places=1)
        by_pct = {c["filePath"].rsplit("/", 1)[-1]: c["lineCoveragePercentage"] for c in got}
        self.assertLess(by_pct["helper.py"], 70)
        self.assertGreater(by_pct["test_sample.py"], 80)

        def files(**kw):
            out = self.cb.describe_code_coverages(reportArn=arn, **kw)["codeCoverages"]
            return [c["filePath"].rsplit("/", 1)[-1] for c in out]

        self.assertEqual(files(minLineCoveragePercentage=80), ["test_sample.py"])
        self.assertEqual(files(maxLineCoveragePercentage=70), ["helper.py"])
        self.assertEqual(files(minLineCoveragePercentage=90, maxLineCoveragePercentage=100), [])
        self.assertEqual(files(sortBy="LINE_COVERAGE_PERCENTAGE", sortOrder="ASCENDING"),
                         ["helper.py", "test_sample.py"])
        self.assertEqual(files(sortBy="LINE_COVERAGE_PERCENTAGE", sortOrder="DESCENDING"),
                         ["test_sample.py", "helper.py"])
        self.assertEqual(files(sortBy="FILE_PATH", sortOrder="DESCENDING"),
                         ["test_sample.py", "helper.py"])
        self.assertEqual(files(sortBy="FILE_PATH", sortOrder="ASCENDING"),
                         ["helper.py", "test_sample.py"])
        pages, items = self.paginate("describe_code_coverages", "codeCoverages", 1,
                                     reportArn=arn)
        self.assertEqual(len(pages), 2)
        self.assertEqual(sorted(c["id"] for c in items), sorted(c["id"] for c in got))

    # --- listings ---

    def test_list_reports_paginates_and_filters(self):
        everything = self.cb.list_reports(maxResults=100)["reports"]
        pages, paged = self.paginate("list_reports", "reports", 1)
        self.assertEqual(sorted(paged), sorted(everything))
        self.assertEqual(len(set(paged)), len(paged))
        self.assertGreaterEqual(len(pages), 2)
        built = {a for builds in self.builds.values() for b in builds for a in b["reportArns"]}
        doomed = {a for b in self.builds["doomed"] + self.builds["delrep"] for a in b["reportArns"]}
        # Another test may have deleted doomed's and delrep's reports already.
        self.assertTrue(built - doomed <= set(everything), (built, everything))
        failed = set(self.cb.list_reports(filter={"status": "FAILED"})["reports"])
        self.assertIn(self.report_of("pyrep", "pyrep-unit"), failed)
        self.assertNotIn(self.report_of("pyrep", "pyrep-cov"), failed)

    def test_list_reports_for_report_group(self):
        want = {self.report_of("pyrep", "pyrep-unit", i) for i in (0, 1)}
        pages, got = self.paginate("list_reports_for_report_group", "reports", 1,
                                   reportGroupArn=self.group_arn("pyrep-unit"))
        self.assertEqual(set(got), want)
        self.assertEqual(len(got), 2)
        self.assertEqual(self.error_of(self.cb.list_reports_for_report_group,
                                       reportGroupArn=self.group_arn("no-such-group")),
                         "ResourceNotFoundException")

    def test_list_report_groups_paginates_and_sorts(self):
        everything = self.cb.list_report_groups(maxResults=100)["reportGroups"]
        for name in ("pyrep-unit", "pyrep-cov", "shared-rg",
                     "autodisc-JUNITXML-AutoDiscovered"):
            self.assertIn(self.group_arn(name), everything)
        pages, paged = self.paginate("list_report_groups", "reportGroups", 2,
                                     sortBy="NAME", sortOrder="ASCENDING")
        self.assertEqual(sorted(paged), sorted(everything))
        names = [a.split(":report-group/")[1] for a in paged]
        self.assertEqual(names, sorted(names))
        down = self.cb.list_report_groups(sortBy="NAME", sortOrder="DESCENDING")["reportGroups"]
        self.assertEqual(down, list(reversed(paged)))

    def test_batch_get_report_groups(self):
        unit, cov, missing = (self.group_arn(n) for n in ("pyrep-unit", "pyrep-cov", "nope-rg"))
        got = self.cb.batch_get_report_groups(reportGroupArns=[unit, cov, missing])
        by_arn = {g["arn"]: g for g in got["reportGroups"]}
        self.assertEqual(set(by_arn), {unit, cov})
        self.assertEqual(got["reportGroupsNotFound"], [missing])
        self.assertEqual(by_arn[unit]["type"], "TEST")
        self.assertEqual(by_arn[cov]["type"], "CODE_COVERAGE")
        self.assertEqual(by_arn[unit]["name"], "pyrep-unit")
        self.assertEqual(by_arn[unit]["status"], "ACTIVE")
        self.assertEqual(by_arn[unit]["exportConfig"]["exportConfigType"], "NO_EXPORT")
        self.assertIn("created", by_arn[unit])

    # --- group naming ---

    def test_group_given_by_arn_is_used_as_it_is(self):
        arn = self.builds["byarn"][0]["reportArns"]
        self.assertEqual(len(arn), 1, arn)
        r = self.get_report(arn[0])
        self.assertEqual(r["reportGroupArn"], self.shared_arn)
        self.assertEqual(r["name"], "shared-rg")
        self.assertTrue(arn[0].startswith("arn:aws:codebuild:%s:%s:report/shared-rg:"
                                          % (REGION, self.account)))
        missing = self.cb.batch_get_report_groups(
            reportGroupArns=[self.group_arn("byarn-shared-rg")])
        self.assertEqual(missing["reportGroups"], [])

    def test_auto_discover_makes_a_group_per_format(self):
        arns = self.builds["autodisc"][0]["reportArns"]
        self.assertEqual(len(arns), 1, arns)
        r = self.get_report(arns[0])
        self.assertEqual(r["name"], "autodisc-JUNITXML-AutoDiscovered")
        self.assertEqual(r["reportGroupArn"], self.group_arn("autodisc-JUNITXML-AutoDiscovered"))
        self.assertEqual(r["testSummary"]["total"], 2)
        self.assertEqual(r["status"], "FAILED")

    # --- groups: create, update, delete ---

    def test_create_update_delete_report_group(self):
        created = self.cb.create_report_group(
            name="crud-rg", type="CODE_COVERAGE",
            exportConfig={"exportConfigType": "NO_EXPORT"},
            tags=[{"key": "team", "value": "a"}])["reportGroup"]
        arn = self.group_arn("crud-rg")
        self.assertEqual(created["arn"], arn)
        self.assertEqual(created["type"], "CODE_COVERAGE")
        self.assertEqual(created["tags"], [{"key": "team", "value": "a"}])
        self.assertEqual(self.error_of(self.cb.create_report_group, name="crud-rg", type="TEST",
                                       exportConfig={"exportConfigType": "NO_EXPORT"}),
                         "ResourceAlreadyExistsException")
        updated = self.cb.update_report_group(arn=arn, tags=[{"key": "team", "value": "b"}])
        self.assertEqual(updated["reportGroup"]["tags"], [{"key": "team", "value": "b"}])
        got = self.cb.batch_get_report_groups(reportGroupArns=[arn])["reportGroups"][0]
        self.assertEqual(got["tags"], [{"key": "team", "value": "b"}])
        self.assertEqual(got["type"], "CODE_COVERAGE")
        self.assertGreaterEqual(got["lastModified"], got["created"])
        self.assertEqual(self.error_of(self.cb.update_report_group,
                                       arn=self.group_arn("nope-rg"), tags=[]),
                         "ResourceNotFoundException")
        self.cb.delete_report_group(arn=arn)  # no reports: no deleteReports needed
        got = self.cb.batch_get_report_groups(reportGroupArns=[arn])
        self.assertEqual(got["reportGroupsNotFound"], [arn])

    def test_delete_report_group_with_reports(self):
        arn = self.group_arn("doomed-unit")
        reports = self.builds["doomed"][0]["reportArns"]
        self.assertEqual(len(reports), 1)
        self.assertEqual(self.error_of(self.cb.delete_report_group, arn=arn,
                                       deleteReports=False), "InvalidInputException")
        self.assertEqual(self.error_of(self.cb.delete_report_group, arn=arn),
                         "InvalidInputException")
        self.assertEqual(len(self.cb.batch_get_reports(reportArns=reports)["reports"]), 1)
        self.cb.delete_report_group(arn=arn, deleteReports=True)
        deadline = time.time() + 10
        while True:
            groups = self.cb.batch_get_report_groups(reportGroupArns=[arn])
            found = self.cb.batch_get_reports(reportArns=reports)
            if not groups["reportGroups"] and not found["reports"]:
                break
            self.assertLess(time.time(), deadline, (groups, found))
            time.sleep(0.2)
        self.assertEqual(found["reportsNotFound"], reports)
        self.assertNotIn(reports[0], self.cb.list_reports(maxResults=100)["reports"])

    def test_delete_report(self):
        arn = self.builds["delrep"][0]["reportArns"][0]
        self.assertEqual(self.cb.delete_report(arn=arn)["ResponseMetadata"]["HTTPStatusCode"],
                         200)
        self.assertEqual(self.cb.batch_get_reports(reportArns=[arn])["reportsNotFound"], [arn])
        self.assertEqual(self.cb.list_reports_for_report_group(
            reportGroupArn=self.group_arn("delrep-unit"))["reports"], [])
        self.assertEqual(self.error_of(self.cb.describe_test_cases, reportArn=arn),
                         "ResourceNotFoundException")
        # The group stays.
        got = self.cb.batch_get_report_groups(reportGroupArns=[self.group_arn("delrep-unit")])
        self.assertEqual(len(got["reportGroups"]), 1)

    # --- trends ---

    def test_report_group_trend(self):
        unit, cov = self.group_arn("pyrep-unit"), self.group_arn("pyrep-cov")
        reports = {self.report_of("pyrep", "pyrep-unit", i) for i in (0, 1)}

        def trend(arn, field, **kw):
            got = self.cb.get_report_group_trend(reportGroupArn=arn, trendField=field, **kw)
            for k in ("average", "max", "min"):
                self.assertIsInstance(got["stats"][k], str, got)
                float(got["stats"][k])
            for d in got["rawData"]:
                self.assertIsInstance(d["data"], str, got)
                float(d["data"])
            return got

        total = trend(unit, "TOTAL")
        self.assertEqual({d["reportArn"] for d in total["rawData"]}, reports)
        self.assertEqual([float(d["data"]) for d in total["rawData"]], [6.0, 6.0])
        self.assertEqual(float(total["stats"]["max"]), 6.0)
        rate = trend(unit, "PASS_RATE")
        for d in rate["rawData"]:
            self.assertTrue(0 < float(d["data"]) < 100, rate)
        trend(unit, "DURATION")
        self.assertEqual(len(trend(unit, "TOTAL", numOfReports=1)["rawData"]), 1)
        t = self.expected_totals
        line = trend(cov, "LINE_COVERAGE")
        self.assertAlmostEqual(float(line["stats"]["average"]),
                               pct(t["linesCovered"], t["linesMissed"]), places=1)
        self.assertEqual(float(trend(cov, "LINES_COVERED")["stats"]["min"]), t["linesCovered"])
        self.assertEqual(float(trend(cov, "LINES_MISSED")["stats"]["min"]), t["linesMissed"])
        self.assertAlmostEqual(float(trend(cov, "BRANCH_COVERAGE")["stats"]["max"]),
                               pct(t["branchesCovered"], t["branchesMissed"]), places=1)
        self.assertEqual(float(trend(cov, "BRANCHES_COVERED")["stats"]["min"]),
                         t["branchesCovered"])
        self.assertEqual(float(trend(cov, "BRANCHES_MISSED")["stats"]["min"]),
                         t["branchesMissed"])
        self.assertEqual(self.error_of(self.cb.get_report_group_trend,
                                       reportGroupArn=self.group_arn("nope-rg"),
                                       trendField="TOTAL"), "ResourceNotFoundException")

    # --- errors ---

    def test_error_shapes(self):
        missing = "arn:aws:codebuild:%s:%s:report/pyrep-unit:%s" % (
            REGION, self.account, "11111111-1111-1111-1111-111111111111")
        self.assertEqual(self.error_of(self.cb.describe_test_cases, reportArn=missing),
                         "ResourceNotFoundException")
        self.assertEqual(self.error_of(self.cb.create_report_group, name="shared-rg",
                                       type="TEST",
                                       exportConfig={"exportConfigType": "NO_EXPORT"}),
                         "ResourceAlreadyExistsException")
        nx = {"exportConfigType": "NO_EXPORT"}
        for fn, kw in ((self.raw.create_report_group, dict(name="x", type="TEST",
                                                           exportConfig=nx)),
                       (self.raw.create_report_group, dict(name="bogus-type", type="BOGUS",
                                                           exportConfig=nx)),
                       (self.raw.list_report_groups, dict(maxResults=0)),
                       (self.raw.list_reports, dict(maxResults=101)),
                       (self.raw.get_report_group_trend,
                        dict(reportGroupArn=self.group_arn("pyrep-unit"), trendField="NOPE"))):
            self.assertEqual(self.error_of(fn, **kw), "InvalidInputException", (fn, kw))
        self.assertEqual(self.cb.batch_get_report_groups(
            reportGroupArns=[self.group_arn("x")])["reportGroups"], [])


class ReportBadInputTest(unittest.TestCase):
    """A server build whose report files are bad still finishes, with its other reports
    (tests/e2e/test_reports_bad_input.py has the rest of the bad inputs, through `kiln run`)."""

    def test_invalid_utf8_in_a_report_file(self):
        bad_json = (b'[{"uri": "f.feature", "id": "f", "name": "feature", "keyword": "Feature", '
                    b'"elements": [{"id": "f;s", "name": "scen \xff", "type": "scenario", '
                    b'"steps": [{"name": "a", "keyword": "Given ", '
                    b'"result": {"status": "passed", "duration": 1}}]}]}]')
        bad_xml = (b'<testsuite name="s"><testcase classname="c" name="bad \xff\xfe">'
                   b'<failure message="m \xc3\x28"/></testcase></testsuite>')
        good = b'<testsuite name="s"><testcase classname="c" name="ok"/></testsuite>'
        files = {"good.xml": good, "bad.json": bad_json, "bad.xml": bad_xml}
        spec = ("version: 0.2\nenv:\n  variables:\n    CODEBUILD_CONFIG_AUTO_DISCOVER: 'false'\n"
                "phases:\n  build:\n    commands:\n"
                + "".join("      - echo %s | base64 -d > %s\n" % (base64.b64encode(v).decode(), k)
                          for k, v in files.items())
                + "reports:\n  good:\n    files: [good.xml]\n"
                "  utfjson:\n    files: [bad.json]\n    file-format: CUCUMBERJSON\n"
                "  utfxml:\n    files: [bad.xml]\n")
        server = KilnServer().start()
        try:
            cb = server.boto3()
            inline_project(cb, "utf", spec)
            done = wait_for_build(cb, cb.start_build(projectName="utf")["build"]["id"])
            self.assertEqual(done["buildStatus"], "SUCCEEDED",
                             [p for p in done["phases"] if p.get("phaseStatus") == "FAILED"])
            self.assertEqual(len(done["reportArns"]), 3, done["reportArns"])
            got = cb.batch_get_reports(reportArns=done["reportArns"])["reports"]
            status = {r["name"]: r["status"] for r in got}
            self.assertEqual(status["utf-good"], "SUCCEEDED", status)
            for name in ("utf-utfjson", "utf-utfxml"):
                self.assertIn(status[name], ("INCOMPLETE", "FAILED", "SUCCEEDED"), status)
        finally:
            server.cleanup()


class ReportGroupLimitTest(unittest.TestCase):
    """1,000 report groups per account (§7.3): the 1,001st is AccountLimitExceededException."""

    def test_the_1001st_group_is_refused(self):
        server = KilnServer().start()
        try:
            cb = server.boto3()
            nx = {"exportConfigType": "NO_EXPORT"}
            start = time.monotonic()
            for i in range(1000):
                cb.create_report_group(name="g%04d" % i, type="TEST", exportConfig=nx)
            took = time.monotonic() - start
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                cb.create_report_group(name="g1000", type="TEST", exportConfig=nx)
            self.assertEqual(cm.exception.response["Error"]["Code"],
                             "AccountLimitExceededException")
            self.assertLess(took, 120, "1,000 CreateReportGroup calls took %.1fs" % took)
            pages = cb.get_paginator("list_report_groups").paginate()
            self.assertEqual(sum(len(p["reportGroups"]) for p in pages), 1000)
            # Deleting one makes room again.
            first = cb.list_report_groups(sortBy="NAME", sortOrder="ASCENDING",
                                          maxResults=1)["reportGroups"][0]
            self.assertTrue(first.endswith(":report-group/g0000"), first)
            cb.delete_report_group(arn=first)
            cb.create_report_group(name="g1000", type="TEST", exportConfig=nx)
        finally:
            server.cleanup()


class ReportExpiryTest(unittest.TestCase):
    """--report-expiry-days changes the 30 days of §7.3."""

    def test_expiry_days_option(self):
        server = KilnServer(extra_args=["--report-expiry-days", "3"]).start()
        try:
            cb = server.boto3()
            inline_project(cb, "exp", junit_buildspec("reports:\n  unit:\n    files: [out/*.xml]\n"))
            done = wait_for_build(cb, cb.start_build(projectName="exp")["build"]["id"])
            self.assertEqual(done["buildStatus"], "SUCCEEDED")
            arn = next(a for a in done["reportArns"] if ":report/exp-unit:" in a)
            r = cb.batch_get_reports(reportArns=[arn])["reports"][0]
            self.assertAlmostEqual(r["expired"].timestamp() - r["created"].timestamp(), 3 * DAY,
                                   delta=2)
            case = cb.describe_test_cases(reportArn=arn)["testCases"][0]
            self.assertAlmostEqual(case["expired"].timestamp(), r["expired"].timestamp(),
                                   delta=2)
        finally:
            server.cleanup()


class ReportExportTest(unittest.TestCase):
    """exportConfig S3: the raw report files reach the bucket (ZIP and NONE packaging)."""

    @classmethod
    def setUpClass(cls):
        cls.s3server = S3rver()
        announce(cls.__name__, cls.s3server.describe())
        cls.s3 = cls.s3server.client()
        cls.s3.create_bucket(Bucket="reports")
        cls.server = KilnServer(env=cls.s3server.env()).start()
        cls.cb = cls.server.boto3()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        cls.s3server.stop()

    def test_raw_files_are_exported(self):
        arns = {}
        for name, packaging in (("exp-zip", "ZIP"), ("exp-none", "NONE")):
            arns[packaging] = self.cb.create_report_group(
                name=name, type="TEST",
                exportConfig={"exportConfigType": "S3", "s3Destination": {
                    "bucket": "reports", "path": name + "-path", "packaging": packaging,
                    "encryptionDisabled": True}})["reportGroup"]["arn"]
        groups = "reports:\n" + "".join("  %s:\n    files: ['out/*.xml']\n" % json.dumps(a)
                                        for a in arns.values())
        inline_project(self.cb, "exporter", junit_buildspec(
            groups, "env:\n  variables:\n    CODEBUILD_CONFIG_AUTO_DISCOVER: 'false'\n"))
        done = wait_for_build(self.cb, self.cb.start_build(projectName="exporter")["build"]["id"])
        self.assertEqual(done["buildStatus"], "SUCCEEDED")
        self.assertEqual(len(done["reportArns"]), 2, done.get("reportArns"))
        reports = self.cb.batch_get_reports(reportArns=done["reportArns"])["reports"]
        for r in reports:
            self.assertEqual(r["exportConfig"]["exportConfigType"], "S3", r)
        objects = {o["Key"]: o for o in
                   self.s3.list_objects_v2(Bucket="reports").get("Contents", [])}
        plain = [k for k in objects if k.startswith("exp-none-path/")
                 and k.endswith("TEST-small.xml")]
        self.assertEqual(len(plain), 1, sorted(objects))
        body = self.s3.get_object(Bucket="reports", Key=plain[0])["Body"].read().decode()
        self.assertIn('name="bad"', body)
        zips = [k for k in objects if k.startswith("exp-zip-path/") and k.endswith(".zip")]
        self.assertEqual(len(zips), 1, sorted(objects))
        data = self.s3.get_object(Bucket="reports", Key=zips[0])["Body"].read()
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            members = [m for m in z.namelist() if m.endswith("TEST-small.xml")]
            self.assertEqual(len(members), 1, z.namelist())
            self.assertEqual(z.read(members[0]).decode(), body)


if __name__ == "__main__":
    unittest.main()
