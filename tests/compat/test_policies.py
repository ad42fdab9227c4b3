"""Least-privilege keys (docs/security.md): IAM policies on Kiln's keys, seen through boto3 and the AWS
CLI v2 against a real `kiln server`; privileged builds; a deleted keys.json."""
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials
import botocore.exceptions

from kiln_server import KILN, REGION, KilnServer, inline_project, wait_for_build

POLICIES = pathlib.Path(__file__).resolve().parents[2] / "docs" / "policies"
CLI = "/usr/bin/aws"
ACCOUNT = "000000000000"
SPEC = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hello\n"


def developer_policy(project):
    return (POLICIES / "developer.json").read_text().replace("PROJECT_NAME", project)


class Key:
    def __init__(self, server, user, policy_text=None):
        self.server = server
        self.user = user
        args = [KILN, "key", "--data", str(server.data), "create", "--user", user]
        if policy_text is not None:
            path = server.data.parent / (server.data.name + "-%s.json" % user)
            path.write_text(policy_text)
            args += ["--policy", str(path)]
        out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
        fields = dict(line.split(" = ", 1) for line in out.splitlines() if " = " in line)
        self.id = fields["aws_access_key_id"]
        self.secret = fields["aws_secret_access_key"]

    def client(self, service="codebuild"):
        import boto3
        return boto3.client(service, endpoint_url=self.server.endpoint, region_name=REGION,
                            aws_access_key_id=self.id, aws_secret_access_key=self.secret,
                            config=botocore.config.Config(retries={"max_attempts": 1}))

    def cli(self, *args):
        env = self.server.client_env()
        env.pop("AWS_SHARED_CREDENTIALS_FILE")
        env.update({"AWS_ACCESS_KEY_ID": self.id, "AWS_SECRET_ACCESS_KEY": self.secret})
        return subprocess.run([CLI, "--endpoint-url", self.server.endpoint, *args], env=env,
                              capture_output=True, text=True, timeout=60)

    def get_log(self, project, uuid):
        """GET /logs/<project>/<uuid>, signed like the API."""
        url = "%s/logs/%s/%s" % (self.server.endpoint, project, uuid)
        req = botocore.awsrequest.AWSRequest(method="GET", url=url)
        creds = botocore.credentials.Credentials(self.id, self.secret)
        botocore.auth.SigV4Auth(creds, "codebuild", REGION).add_auth(req)
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=dict(req.headers))) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()


def denied_message(user, action, resource, explicit=False):
    head = "User: arn:aws:iam::%s:user/%s is not authorized to perform: %s on resource: %s" % (
        ACCOUNT, user, action, resource)
    if explicit:
        return head + " with an explicit deny in an identity-based policy"
    return head + " because no identity-based policy allows the %s action" % action


def project_arn(name):
    return "arn:aws:codebuild:%s:%s:project/%s" % (REGION, ACCOUNT, name)


def wait_until_known(key):
    """The server reads keys.json again at most once a second."""
    deadline = time.time() + 10
    while True:
        try:
            key.client().list_curated_environment_images()
            return
        except botocore.exceptions.ClientError as e:
            if e.response["Error"]["Code"] != "UnrecognizedClientException" or time.time() > deadline:
                return
        time.sleep(0.2)


class PolicyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = KilnServer(extra_args=["--allow-privileged"]).start()
        admin = cls.server.boto3()
        for name in ("app", "other"):
            inline_project(admin, name, SPEC)
        cls.builds = {}
        for name in ("app", "other"):
            build = admin.start_build(projectName=name)["build"]
            cls.builds[name] = wait_for_build(admin, build["id"])
        sm = cls.server.boto3("secretsmanager")
        sm.create_secret(Name="db", SecretString="hunter2")
        cls.dev = Key(cls.server, "dev", developer_policy("app"))
        cls.reader = Key(cls.server, "reader", (POLICIES / "read-only.json").read_text())
        cls.builder = Key(cls.server, "builder", json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "codebuild:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "codebuild:DeleteProject", "Resource": "*"}]}))
        cls.nobody = Key(cls.server, "nobody")
        wait_until_known(cls.nobody)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def assertDenied(self, call, message):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            call()
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDeniedException")
        self.assertEqual(cm.exception.response["Error"]["Message"], message)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)

    # A key limited to one project cannot list, start or read others.
    def test_project_key_with_boto3(self):
        cb = self.dev.client()
        other_build = self.builds["other"]["id"]
        self.assertDenied(cb.list_projects,
                          denied_message("dev", "codebuild:ListProjects", "*"))
        self.assertDenied(cb.list_builds, denied_message("dev", "codebuild:ListBuilds", "*"))
        self.assertDenied(lambda: cb.start_build(projectName="other"),
                          denied_message("dev", "codebuild:StartBuild", project_arn("other")))
        self.assertDenied(lambda: cb.batch_get_projects(names=["app", "other"]),
                          denied_message("dev", "codebuild:BatchGetProjects", project_arn("other")))
        self.assertDenied(lambda: cb.batch_get_builds(ids=[other_build]),
                          denied_message("dev", "codebuild:BatchGetBuilds", project_arn("other")))
        self.assertDenied(lambda: cb.stop_build(id=other_build),
                          denied_message("dev", "codebuild:StopBuild", project_arn("other")))
        self.assertDenied(lambda: cb.list_builds_for_project(projectName="other"),
                          denied_message("dev", "codebuild:ListBuildsForProject",
                                         project_arn("other")))
        logs = self.dev.client("logs")
        uuid = other_build.split(":")[1]
        self.assertDenied(
            lambda: logs.get_log_events(logGroupName="/aws/codebuild/other", logStreamName=uuid),
            denied_message("dev", "logs:GetLogEvents",
                           "arn:aws:logs:%s:%s:log-group:/aws/codebuild/other:log-stream:%s" %
                           (REGION, ACCOUNT, uuid)))
        self.assertDenied(
            lambda: logs.filter_log_events(logGroupName="/aws/codebuild/other"),
            denied_message("dev", "logs:FilterLogEvents",
                           "arn:aws:logs:%s:%s:log-group:/aws/codebuild/other:*" % (REGION, ACCOUNT)))
        status, body = self.dev.get_log("other", uuid)
        self.assertEqual(status, 400)
        self.assertIn("AccessDeniedException", body)

        # Its own project works end to end.
        self.assertEqual(cb.batch_get_projects(names=["app"])["projects"][0]["name"], "app")
        own = cb.start_build(projectName="app")["build"]
        self.assertEqual(wait_for_build(cb, own["id"])["buildStatus"], "SUCCEEDED")
        self.assertIn(own["id"], cb.list_builds_for_project(projectName="app")["ids"])
        events = logs.get_log_events(logGroupName="/aws/codebuild/app",
                                     logStreamName=own["id"].split(":")[1])["events"]
        self.assertTrue(any("hello" in e["message"] for e in events))
        status, body = self.dev.get_log("app", own["id"].split(":")[1])
        self.assertEqual(status, 200)
        self.assertIn("hello", body)
        # Not creating or deleting projects, nor reading secrets.
        self.assertDenied(lambda: cb.delete_project(name="app"),
                          denied_message("dev", "codebuild:DeleteProject", project_arn("app")))
        self.assertDenied(
            lambda: self.dev.client("secretsmanager").get_secret_value(SecretId="db"),
            "User: arn:aws:iam::%s:user/dev is not authorized to perform: "
            "secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:%s:%s:secret:db-"
            % (ACCOUNT, REGION, ACCOUNT) +
            self.server.boto3("secretsmanager").describe_secret(SecretId="db")["ARN"][-6:] +
            " because no identity-based policy allows the secretsmanager:GetSecretValue action")

    def test_project_key_cannot_read_secrets_through_a_build(self):
        cb = self.dev.client()
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            cb.start_build(projectName="app", environmentVariablesOverride=[
                {"name": "X", "value": "db", "type": "SECRETS_MANAGER"}])
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDeniedException")
        self.assertIn("secretsmanager:GetSecretValue", cm.exception.response["Error"]["Message"])

    def test_project_key_with_the_cli(self):
        other_build = self.builds["other"]["id"]
        for args, action in [
            (["codebuild", "list-projects"], "codebuild:ListProjects"),
            (["codebuild", "start-build", "--project-name", "other"], "codebuild:StartBuild"),
            (["codebuild", "batch-get-projects", "--names", "other"], "codebuild:BatchGetProjects"),
            (["codebuild", "batch-get-builds", "--ids", other_build], "codebuild:BatchGetBuilds"),
            (["logs", "get-log-events", "--log-group-name", "/aws/codebuild/other",
              "--log-stream-name", other_build.split(":")[1]], "logs:GetLogEvents"),
        ]:
            r = self.dev.cli(*args)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertIn("(AccessDeniedException)", r.stderr)
            self.assertIn("User: arn:aws:iam::%s:user/dev is not authorized to perform: %s" %
                          (ACCOUNT, action), r.stderr)
        r = self.dev.cli("codebuild", "batch-get-projects", "--names", "app")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["projects"][0]["name"], "app")

    # A read-only key cannot StartBuild.
    def test_read_only_key(self):
        cb = self.reader.client()
        self.assertEqual(sorted(cb.list_projects()["projects"]), ["app", "other"])
        self.assertEqual(len(cb.batch_get_builds(ids=[b["id"] for b in self.builds.values()])
                             ["builds"]), 2)
        self.assertDenied(lambda: cb.start_build(projectName="app"),
                          denied_message("reader", "codebuild:StartBuild", project_arn("app")))
        r = self.reader.cli("codebuild", "start-build", "--project-name", "app")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("(AccessDeniedException)", r.stderr)
        self.assertIn(denied_message("reader", "codebuild:StartBuild", project_arn("app")), r.stderr)

    # A key without kiln:PrivilegedBuild cannot create a privileged project.
    def test_privileged_needs_kiln_privileged_build(self):
        cb = self.builder.client()
        env = {"type": "LINUX_CONTAINER", "image": "kiln/host",
               "computeType": "BUILD_GENERAL1_SMALL", "privilegedMode": True}
        self.assertDenied(lambda: inline_project(cb, "priv", SPEC, environment=env),
                          denied_message("builder", "kiln:PrivilegedBuild", project_arn("priv")))
        self.assertDenied(lambda: cb.start_build(projectName="app", privilegedModeOverride=True),
                          denied_message("builder", "kiln:PrivilegedBuild", project_arn("app")))
        r = self.builder.cli("codebuild", "start-build", "--project-name", "app",
                             "--privileged-mode-override")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(denied_message("builder", "kiln:PrivilegedBuild", project_arn("app")),
                      r.stderr)
        # The admin may, on this server (--allow-privileged).
        admin = self.server.boto3()
        inline_project(admin, "priv-ok", SPEC, environment=env)
        admin.delete_project(name="priv-ok")

    def test_explicit_deny_wins_and_no_policy_means_nothing(self):
        self.assertDenied(lambda: self.builder.client().delete_project(name="app"),
                          denied_message("builder", "codebuild:DeleteProject", project_arn("app"),
                                         explicit=True))
        self.assertDenied(self.nobody.client().list_projects,
                          denied_message("nobody", "codebuild:ListProjects", "*"))
        self.assertDenied(
            lambda: self.nobody.client("ssm").get_parameter(Name="/x"),
            denied_message("nobody", "ssm:GetParameter",
                           "arn:aws:ssm:%s:%s:parameter/x" % (REGION, ACCOUNT)))

    def test_set_policy_applies_without_restart(self):
        key = Key(self.server, "later")
        wait_until_known(key)
        self.assertDenied(key.client().list_projects,
                          denied_message("later", "codebuild:ListProjects", "*"))
        subprocess.run([KILN, "key", "--data", str(self.server.data), "set-policy", key.id,
                        str(POLICIES / "read-only.json")], check=True, capture_output=True)
        deadline = time.time() + 10
        while True:
            try:
                key.client().list_projects()
                break
            except botocore.exceptions.ClientError:
                self.assertLess(time.time(), deadline, "the new policy never applied")
                time.sleep(0.2)

    def test_the_admin_policy_file(self):
        key = Key(self.server, "admin2", (POLICIES / "admin.json").read_text())
        wait_until_known(key)
        self.assertIn("app", key.client().list_projects()["projects"])
        key.client("ssm").put_parameter(Name="/admin2/p", Value="v", Type="String")

    def test_bad_policy_files_are_refused(self):
        bad = self.server.data.parent / (self.server.data.name + "-bad.json")
        bad.write_text('{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", '
                       '"Condition": {}}}')
        r = subprocess.run([KILN, "key", "--data", str(self.server.data), "create", "--user", "x",
                            "--policy", str(bad)], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "kiln key: %s: policy: Statement.Condition: conditions are not "
                         "supported by Kiln; express the rule with Action and Resource\n" % bad)


def team_policy(team):
    """May manage projects named TEAM*, and read TEAM's parameters and secrets only."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "codebuild:*",
         "Resource": "arn:aws:codebuild:*:*:project/%s*" % team},
        {"Effect": "Allow", "Action": "ssm:GetParameter",
         "Resource": "arn:aws:ssm:*:*:parameter/%s/*" % team},
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
         "Resource": "arn:aws:secretsmanager:*:*:secret:%s/*" % team}]})


def reads(env_kind, name):
    return ("version: 0.2\nenv:\n  %s:\n    V: %s\nphases:\n  build:\n    commands:\n"
            "      - echo \"got:$V\"\n" % (env_kind, name))


class ProjectKeyTest(unittest.TestCase):
    """A build reads parameters and secrets with the rights of the key that last created or
    updated its project (docs/server.md "Builds' own calls: serviceRole"), whoever wrote its
    buildspec."""
    B_PARAMETER = "bravo-parameter-value-5678"
    B_SECRET = "bravo-secret-value-9012"

    @classmethod
    def setUpClass(cls):
        cls.server = KilnServer().start()
        cls.admin = cls.server.boto3()
        ssm = cls.server.boto3("ssm")
        ssm.put_parameter(Name="/team-a/x", Value="alpha-value-1234", Type="SecureString")
        ssm.put_parameter(Name="/team-b/secret", Value=cls.B_PARAMETER, Type="SecureString")
        sm = cls.server.boto3("secretsmanager")
        sm.create_secret(Name="team-a/db", SecretString="alpha-secret-3456")
        cls.b_secret_arn = sm.create_secret(Name="team-b/db", SecretString=cls.B_SECRET)["ARN"]
        cls.team_a = Key(cls.server, "team-a", team_policy("team-a"))
        wait_until_known(cls.team_a)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def run_build(self, client, project, **args):
        build = client.start_build(projectName=project, **args)["build"]
        build = wait_for_build(self.admin, build["id"])
        events = self.server.boto3("logs").get_log_events(
            logGroupName="/aws/codebuild/" + project,
            logStreamName=build["id"].split(":")[1])["events"]
        return build, "".join(e["message"] for e in events)

    def assertReadDenied(self, build, log, code, action, resource, value):
        self.assertEqual(build["buildStatus"], "FAILED")
        phase = next(p for p in build["phases"] if p["phaseType"] == "DOWNLOAD_SOURCE")
        self.assertEqual(phase["phaseStatus"], "FAILED")
        self.assertEqual(phase["contexts"], [{
            "statusCode": code,
            "message": "AccessDeniedException: " + denied_message("team-a", action, resource)}])
        self.assertNotIn(value, json.dumps(build, default=str))
        self.assertNotIn(value, log)
        self.assertNotIn("got:", log)

    def test_a_teams_project_reads_only_what_its_key_may(self):
        cb = self.team_a.client()
        inline_project(cb, "team-a-app", reads("parameter-store", "/team-b/secret"))
        build, log = self.run_build(cb, "team-a-app")
        self.assertReadDenied(build, log, "Decrypted Variables Error", "ssm:GetParameter",
                              "arn:aws:ssm:%s:%s:parameter/team-b/secret" % (REGION, ACCOUNT),
                              self.B_PARAMETER)
        build, log = self.run_build(
            cb, "team-a-app", buildspecOverride=reads("secrets-manager", "team-b/db"))
        self.assertReadDenied(build, log, "Secrets Manager Error",
                              "secretsmanager:GetSecretValue", self.b_secret_arn, self.B_SECRET)
        # The admin starting the team's build does not lend it the admin's rights.
        build, log = self.run_build(self.admin, "team-a-app")
        self.assertEqual(build["buildStatus"], "FAILED")
        self.assertNotIn(self.B_PARAMETER, log)

        for spec in (reads("parameter-store", "/team-a/x"),
                     reads("secrets-manager", "team-a/db")):
            build, log = self.run_build(cb, "team-a-app", buildspecOverride=spec)
            self.assertEqual(build["buildStatus"], "SUCCEEDED", log)
            self.assertIn("got:", log)
        # Internal: BatchGetProjects does not show whose rights the builds have.
        shown = json.dumps(self.admin.batch_get_projects(names=["team-a-app"])["projects"],
                           default=str)
        self.assertNotIn(self.team_a.id, shown)

    def test_an_admin_made_project_still_reads_anything(self):
        inline_project(self.admin, "admin-app", reads("parameter-store", "/team-b/secret"))
        build, log = self.run_build(self.admin, "admin-app")
        self.assertEqual(build["buildStatus"], "SUCCEEDED", log)
        self.assertIn("got:", log)
        self.assertNotIn(self.B_PARAMETER, log)  # masked, as ever

    def test_an_admin_update_gives_the_project_the_admins_rights(self):
        cb = self.team_a.client()
        inline_project(cb, "team-a-handover", reads("parameter-store", "/team-b/secret"))
        self.assertEqual(self.run_build(cb, "team-a-handover")[0]["buildStatus"], "FAILED")
        self.admin.update_project(name="team-a-handover", description="checked by the admin")
        self.assertEqual(self.run_build(cb, "team-a-handover")[0]["buildStatus"], "SUCCEEDED")

    def test_revoking_the_key_stops_its_projects_reads(self):
        key = Key(self.server, "team-a-2", team_policy("team-a"))
        wait_until_known(key)
        inline_project(key.client(), "team-a-revoked", reads("parameter-store", "/team-a/x"))
        self.assertEqual(self.run_build(key.client(), "team-a-revoked")[0]["buildStatus"],
                         "SUCCEEDED")
        subprocess.run([KILN, "key", "--data", str(self.server.data), "revoke", key.id],
                       check=True, capture_output=True)
        build, log = self.run_build(self.admin, "team-a-revoked")
        self.assertEqual(build["buildStatus"], "FAILED")
        phase = next(p for p in build["phases"] if p["phaseType"] == "DOWNLOAD_SOURCE")
        self.assertEqual(phase["contexts"][0]["statusCode"], "Decrypted Variables Error")
        self.assertIn("of user team-a-2", phase["contexts"][0]["message"])
        self.assertIn("is revoked", phase["contexts"][0]["message"])
        self.assertNotIn("got:", log)


class ServerFlagsTest(unittest.TestCase):
    def setUp(self):
        self.server = KilnServer().start()

    def tearDown(self):
        self.server.cleanup()

    # Without --allow-privileged, not even the admin gets a privileged project.
    def test_privileged_needs_allow_privileged(self):
        admin = self.server.boto3()
        env = {"type": "LINUX_CONTAINER", "image": "kiln/host",
               "computeType": "BUILD_GENERAL1_SMALL", "privilegedMode": True}
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            inline_project(admin, "priv", SPEC, environment=env)
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidInputException")
        self.assertIn("--allow-privileged", cm.exception.response["Error"]["Message"])
        inline_project(admin, "plain", SPEC)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            admin.start_build(projectName="plain", privilegedModeOverride=True)
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidInputException")
        self.assertIn("--allow-privileged", cm.exception.response["Error"]["Message"])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            admin.update_project(name="plain", environment=env)
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidInputException")

    # A deleted keys.json beside the credentials: refuse to start, overwrite nothing.
    def test_deleted_keys_json_refuses_to_start(self):
        self.server.stop()
        credentials = (self.server.data / "credentials").read_text()
        (self.server.data / "keys.json").unlink()
        r = subprocess.run([KILN, "server", "--data", str(self.server.data), "--listen",
                            "127.0.0.1:0", "--executor", "process"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn("keys.json is missing but", r.stderr)
        self.assertIn("will not make a new admin key over existing credentials", r.stderr)
        self.assertEqual((self.server.data / "credentials").read_text(), credentials)
        self.assertFalse((self.server.data / "keys.json").exists())


if __name__ == "__main__":
    unittest.main()
