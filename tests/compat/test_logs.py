"""CloudWatch Logs against a real kiln server, with boto3 and the AWS CLI v2:
missing groups and streams, DescribeLogGroups / DescribeLogStreams, filter patterns, the Logs
model's error for operations Kiln lacks, and per-line timestamps (`aws logs tail` of a build that
prints a line a second)."""
import datetime
import json
import os
import subprocess
import unittest

import botocore.exceptions

from kiln_server import KilnServer, inline_project, wait_for_build

AWS_V2 = "/usr/bin/aws"

TICKS = """version: 0.2
phases:
  build:
    commands:
      - for i in 1 2 3; do echo line$i; sleep 1; done
"""

MIXED = r"""version: 0.2
phases:
  build:
    commands:
      - echo 'ERROR disk full'
      - echo 'ERROR Exiting now'
      - echo 'WARN low memory'
      - echo '{"level":"error","latency":1500,"tags":["a","b"]}'
      - echo '{"level":"info","latency":20}'
"""


def parse_tail_line(line):
    """(time, stream, message) of a line of `aws logs tail` in its detailed format."""
    stamp, stream, message = line.split(" ", 2)
    return datetime.datetime.fromisoformat(stamp), stream, message


class LogsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = KilnServer().start()
        cls.cb = cls.server.boto3()
        cls.logs = cls.server.boto3("logs")
        inline_project(cls.cb, "ticks", TICKS)
        inline_project(cls.cb, "mixed", MIXED)
        ids = [cls.cb.start_build(projectName=p)["build"]["id"] for p in ("ticks", "mixed")]
        cls.builds = {}
        for build_id in ids:
            done = wait_for_build(cls.cb, build_id, timeout=120)
            assert done["buildStatus"] == "SUCCEEDED", json.dumps(done, default=str)
            cls.builds[build_id.split(":")[0]] = done

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def error_of(self, fn, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(**kwargs)
        err = cm.exception.response["Error"]
        return err["Code"], err["Message"]

    def group(self, project):
        return self.builds[project]["logs"]["groupName"]

    def stream(self, project):
        return self.builds[project]["logs"]["streamName"]

    def aws(self, *args, check=True):
        if not os.path.exists(AWS_V2):
            self.skipTest("AWS CLI v2 (/usr/bin/aws, Debian's awscli) not installed")
        r = subprocess.run([AWS_V2, "--endpoint-url", self.server.endpoint, *args],
                           env=self.server.client_env(), capture_output=True, text=True,
                           timeout=120, stdin=subprocess.DEVNULL)
        if check and r.returncode != 0:
            self.fail("aws %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr))
        return r

    # --- boto3 ---

    def test_missing_groups_and_streams_are_resource_not_found(self):
        for fn, extra in ((self.logs.get_log_events, {"logStreamName": self.stream("ticks")}),
                          (self.logs.filter_log_events, {}),
                          (self.logs.describe_log_streams, {})):
            self.assertEqual(self.error_of(fn, logGroupName="/aws/codebuild/nope", **extra),
                             ("ResourceNotFoundException",
                              "The specified log group does not exist."))
        self.assertEqual(
            self.error_of(self.logs.get_log_events, logGroupName=self.group("ticks"),
                          logStreamName="00000000-0000-0000-0000-000000000000"),
            ("ResourceNotFoundException", "The specified log stream does not exist."))

    def test_unimplemented_operations_are_the_logs_models_error(self):
        code, _ = self.error_of(self.logs.put_retention_policy, logGroupName=self.group("ticks"),
                                retentionInDays=1)
        self.assertEqual(code, "InvalidParameterException")

    def test_each_line_has_the_time_it_was_printed(self):
        events = self.logs.get_log_events(logGroupName=self.group("ticks"),
                                          logStreamName=self.stream("ticks"),
                                          startFromHead=True)["events"]
        times = {e["message"]: e["timestamp"] for e in events if e["message"].startswith("line")}
        self.assertEqual(sorted(times), ["line1", "line2", "line3"])
        for a, b in (("line1", "line2"), ("line2", "line3")):
            self.assertGreaterEqual(times[b] - times[a], 900, times)
            self.assertLess(times[b] - times[a], 2500, times)
        stamps = [e["timestamp"] for e in events]
        self.assertEqual(stamps, sorted(stamps))

    def test_deleting_a_build_deletes_its_log_and_time_index(self):
        build = self.cb.start_build(projectName="mixed")["build"]
        done = wait_for_build(self.cb, build["id"], timeout=120)
        self.assertEqual(done["buildStatus"], "SUCCEEDED")
        log = self.server.data / "logs" / "mixed" / (build["id"].split(":")[1] + ".log")
        times = log.with_suffix(".times")
        self.assertTrue(log.is_file() and times.is_file(), list(log.parent.iterdir()))
        answer = self.cb.batch_delete_builds(ids=[build["id"]])
        self.assertEqual(answer["buildsDeleted"], [build["id"]])
        self.assertFalse(log.exists())
        self.assertFalse(times.exists())

    def test_describe_log_groups(self):
        got = self.logs.describe_log_groups(logGroupNamePrefix="/aws/codebuild/")["logGroups"]
        self.assertEqual([g["logGroupName"] for g in got],
                         ["/aws/codebuild/mixed", "/aws/codebuild/ticks"])
        ticks = got[1]
        self.assertEqual(ticks["arn"],
                         "arn:aws:logs:us-east-1:000000000000:log-group:/aws/codebuild/ticks:*")
        self.assertGreater(ticks["storedBytes"], 0)
        self.assertGreater(ticks["creationTime"], 0)
        page = self.logs.describe_log_groups(limit=1)
        self.assertEqual(len(page["logGroups"]), 1)
        rest = self.logs.describe_log_groups(limit=1, nextToken=page["nextToken"])
        self.assertEqual(rest["logGroups"][0]["logGroupName"], "/aws/codebuild/ticks")
        pages = self.logs.get_paginator("describe_log_groups").paginate(PaginationConfig={
            "PageSize": 1})
        self.assertEqual(sum(len(p["logGroups"]) for p in pages), 2)
        self.assertEqual(self.logs.describe_log_groups(logGroupNamePrefix="/aws/lambda")[
            "logGroups"], [])
        code, _ = self.error_of(self.logs.describe_log_groups, logGroupNamePrefix="/aws",
                                logGroupNamePattern="ticks")
        self.assertEqual(code, "InvalidParameterException")

    def test_describe_log_streams(self):
        second = wait_for_build(self.cb, self.cb.start_build(projectName="ticks")["build"]["id"],
                                timeout=120)
        group = self.group("ticks")
        streams = self.logs.describe_log_streams(logGroupName=group)["logStreams"]
        names = [s["logStreamName"] for s in streams]
        self.assertEqual(names, sorted([self.stream("ticks"), second["logs"]["streamName"]]))
        for s in streams:
            self.assertLessEqual(s["firstEventTimestamp"], s["lastEventTimestamp"])
            self.assertEqual(s["lastIngestionTime"], s["lastEventTimestamp"])
            self.assertTrue(s["arn"].endswith(":log-group:%s:log-stream:%s"
                                              % (group, s["logStreamName"])))
        newest = self.logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime",
                                                descending=True, limit=1)
        self.assertEqual(newest["logStreams"][0]["logStreamName"], second["logs"]["streamName"])
        older = self.logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime",
                                               descending=True, limit=1,
                                               nextToken=newest["nextToken"])
        self.assertEqual(older["logStreams"][0]["logStreamName"], self.stream("ticks"))
        prefixed = self.logs.describe_log_streams(logGroupName=group,
                                                  logStreamNamePrefix=self.stream("ticks")[:8])
        self.assertIn(self.stream("ticks"),
                      [s["logStreamName"] for s in prefixed["logStreams"]])
        self.assertEqual(
            self.error_of(self.logs.describe_log_streams, logGroupName=group,
                          logStreamNamePrefix="a", orderBy="LastEventTime"),
            ("InvalidParameterException",
             "Cannot order by LastEventTime with a logStreamNamePrefix."))

    def test_filter_patterns(self):
        def messages(pattern):
            events = self.logs.filter_log_events(logGroupName=self.group("mixed"),
                                                 filterPattern=pattern)["events"]
            # The agent's "Running command echo ..." lines match too; they are not the point.
            return [e["message"] for e in events if not e["message"].startswith("[Container]")]

        self.assertEqual(messages("ERROR -Exiting"), ["ERROR disk full"])
        self.assertEqual(messages("?WARN ?Exiting"), ["ERROR Exiting now", "WARN low memory"])
        self.assertEqual(messages('"disk full"'), ["ERROR disk full"])
        self.assertEqual(messages("full disk"), ["ERROR disk full"])
        self.assertEqual(messages('{ $.level = "error" && $.latency > 1000 }'),
                         ['{"level":"error","latency":1500,"tags":["a","b"]}'])
        self.assertEqual(messages('{ $.tags[*] = "b" || $.latency < 50 }'),
                         ['{"level":"error","latency":1500,"tags":["a","b"]}',
                          '{"level":"info","latency":20}'])
        self.assertEqual(messages("%W[A-Z]+ low%"), ["WARN low memory"])
        events = self.logs.filter_log_events(logGroupName=self.group("mixed"),
                                             filterPattern='disk -"[Container]"')["events"]
        self.assertEqual([e["message"] for e in events], ["ERROR disk full"])
        for bad in ('{ $.level = "error"', "[ip, user]", "%(a|b)%", '"unclosed'):
            code, message = self.error_of(self.logs.filter_log_events,
                                          logGroupName=self.group("mixed"), filterPattern=bad)
            self.assertEqual(code, "InvalidParameterException", bad)
            self.assertTrue(message.startswith(("Invalid filter pattern",
                                                "If a filter pattern starts with '{'")), message)

    # --- AWS CLI v2 ---

    def test_cli_tail_shows_lines_a_second_apart(self):
        r = self.aws("logs", "tail", self.group("ticks"), "--log-stream-names",
                     self.stream("ticks"), "--since", "1h")
        lines = [parse_tail_line(l) for l in r.stdout.splitlines() if l.strip()]
        ticks = {msg.strip(): t for t, _, msg in lines if msg.strip().startswith("line")}
        self.assertEqual(sorted(ticks), ["line1", "line2", "line3"], r.stdout)
        for a, b in (("line1", "line2"), ("line2", "line3")):
            gap = (ticks[b] - ticks[a]).total_seconds()
            self.assertTrue(0.9 <= gap < 2.5, "%s -> %s: %.3f s\n%s" % (a, b, gap, r.stdout))
        self.assertEqual([t for t, _, _ in lines], sorted(t for t, _, _ in lines))
        self.assertTrue(all(s == self.stream("ticks") for _, s, _ in lines))

    def test_cli_filter_and_describe(self):
        out = json.loads(self.aws("logs", "filter-log-events", "--log-group-name",
                                  self.group("mixed"), "--filter-pattern", "ERROR -Exiting",
                                  "--output", "json").stdout)
        self.assertEqual([e["message"] for e in out["events"]],
                         ["[Container] " + out["events"][0]["message"][12:], "ERROR disk full"])
        self.assertIn("Running command echo 'ERROR disk full'", out["events"][0]["message"])
        out = json.loads(self.aws("logs", "filter-log-events", "--log-group-name",
                                  self.group("mixed"), "--filter-pattern",
                                  '{ $.latency < 100 }', "--output", "json").stdout)
        self.assertEqual([e["message"] for e in out["events"]],
                         ['{"level":"info","latency":20}'])
        r = self.aws("logs", "filter-log-events", "--log-group-name", self.group("mixed"),
                     "--filter-pattern", "{ $.latency <", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("InvalidParameterException", r.stderr)
        out = json.loads(self.aws("logs", "describe-log-groups", "--log-group-name-prefix",
                                  "/aws/codebuild/m", "--output", "json").stdout)
        self.assertEqual([g["logGroupName"] for g in out["logGroups"]], ["/aws/codebuild/mixed"])
        out = json.loads(self.aws("logs", "describe-log-streams", "--log-group-name",
                                  self.group("mixed"), "--order-by", "LastEventTime",
                                  "--descending", "--output", "json").stdout)
        self.assertEqual([s["logStreamName"] for s in out["logStreams"]], [self.stream("mixed")])
        r = self.aws("logs", "get-log-events", "--log-group-name", "/aws/codebuild/nope",
                     "--log-stream-name", self.stream("mixed"), check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("ResourceNotFoundException", r.stderr)
        self.assertIn("The specified log group does not exist.", r.stderr)


if __name__ == "__main__":
    unittest.main()
