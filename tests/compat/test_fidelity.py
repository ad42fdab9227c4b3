"""What boto3 and the AWS CLI v2 see where Kiln once differed from CodeBuild: the build record's
effective environment, idempotency tokens reused with other parameters, variable types,
validation when a project is stored, one precision for every time, StopBuild on a finished
build, and the resource-policy and sharing operations (with keys' IAM policies applied to them).
Each test runs the same checks through both clients."""
import json
import subprocess
import unittest

import botocore.exceptions

from kiln_server import KilnServer, inline_project, wait_for_build
from test_policies import Key, wait_until_known

CLI = "/usr/bin/aws"
SPEC = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"who=$WHO\"\n"
ROLE = "arn:aws:iam::000000000000:role/kiln"
ENV = {"type": "LINUX_CONTAINER", "image": "kiln/host", "computeType": "BUILD_GENERAL1_SMALL"}
ARN = "arn:aws:codebuild:us-east-1:000000000000:project/"


class ClientError(Exception):
    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code, self.message = code, message


class Boto3:
    """CodeBuild calls through boto3: operation name and keyword arguments in, dict out."""
    name = "boto3"

    def __init__(self, server):
        self.cb = server.boto3()

    def __call__(self, op, **kwargs):
        try:
            return getattr(self.cb, op)(**kwargs)
        except botocore.exceptions.ClientError as e:
            raise ClientError(e.response["Error"]["Code"], e.response["Error"]["Message"])


class Cli:
    """The same calls through the AWS CLI v2, each argument passed as its JSON."""
    name = "cli"

    def __init__(self, server):
        self.server = server

    def __call__(self, op, **kwargs):
        args = [CLI, "--endpoint-url", self.server.endpoint, "--output", "json", "codebuild",
                op.replace("_", "-")]
        for key, value in kwargs.items():
            flag = "--" + "".join("-" + c.lower() if c.isupper() else c for c in key)
            args += [flag, value if isinstance(value, str) else json.dumps(value)]
        r = subprocess.run(args, env=self.server.client_env(), capture_output=True, text=True,
                           timeout=120, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            # "An error occurred (Code) when calling the Op operation: message"
            text = r.stderr.strip()
            code = text.split("(", 1)[1].split(")", 1)[0] if "(" in text else ""
            raise ClientError(code, text.split(": ", 1)[1] if ": " in text else text)
        return json.loads(r.stdout) if r.stdout.strip() else {}


def create(client, name, environment=None, **extra):
    args = dict(name=name, source={"type": "NO_SOURCE", "buildspec": SPEC},
                artifacts={"type": "NO_ARTIFACTS"}, environment=environment or ENV,
                serviceRole=ROLE)
    args.update(extra)
    return client("create_project", **args)["project"]


class FidelityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = KilnServer().start()
        cls.boto = cls.server.boto3()
        cls.clients = [Boto3(cls.server), Cli(cls.server)]

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def each_client(self):
        for client in self.clients:
            with self.subTest(client=client.name):
                yield client

    def assert_error(self, code, fn, *args, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.code, code, cm.exception.message)
        return cm.exception.message

    def test_record_shows_the_effective_environment(self):
        for c in self.each_client():
            name = "effective-" + c.name
            env = dict(ENV, environmentVariables=[
                {"name": "WHO", "value": "project"},
                {"name": "KEEP", "value": "kept", "type": "PLAINTEXT"},
                {"name": "PASS", "value": "/db/pass", "type": "PARAMETER_STORE"}])
            create(c, name, environment=env)
            b = c("start_build", projectName=name, environmentVariablesOverride=[
                {"name": "WHO", "value": "override", "type": "PLAINTEXT"},
                {"name": "PASS", "value": "not-a-secret-now"},
                {"name": "TOKEN", "value": "gh-token:token", "type": "SECRETS_MANAGER"}])["build"]
            expected = [{"name": "WHO", "value": "override", "type": "PLAINTEXT"},
                        {"name": "KEEP", "value": "kept", "type": "PLAINTEXT"},
                        {"name": "PASS", "value": "not-a-secret-now", "type": "PLAINTEXT"},
                        {"name": "TOKEN", "value": "gh-token:token", "type": "SECRETS_MANAGER"}]
            self.assertEqual(b["environment"]["environmentVariables"], expected)
            got = c("batch_get_builds", ids=[b["id"]])["builds"][0]
            self.assertEqual(got["environment"]["environmentVariables"], expected)
            # The build fails reading a secret that does not exist; the record still shows the
            # reference only.
            done = wait_for_build(self.boto, b["id"])
            self.assertEqual(done["environment"]["environmentVariables"], expected)

    def test_idempotency_token_with_other_parameters(self):
        for c in self.each_client():
            name = "idem-" + c.name
            create(c, name)
            args = dict(projectName=name, idempotencyToken="tok-" + c.name,
                        environmentVariablesOverride=[{"name": "WHO", "value": "one"}])
            first = c("start_build", **args)["build"]
            self.assertEqual(c("start_build", **args)["build"]["id"], first["id"])
            other = dict(args, environmentVariablesOverride=[{"name": "WHO", "value": "two"}])
            self.assert_error("IdempotentParameterMismatchException", c, "start_build", **other)
            self.assertEqual(len(c("list_builds_for_project", projectName=name)["ids"]), 1)

    def test_variables_without_a_type_are_plaintext(self):
        for c in self.each_client():
            name = "types-" + c.name
            p = create(c, name, environment=dict(ENV, environmentVariables=[
                {"name": "WHO", "value": "x"}]))
            self.assertEqual(p["environment"]["environmentVariables"],
                             [{"name": "WHO", "value": "x", "type": "PLAINTEXT"}])
            p = c("update_project", name=name, environment=dict(ENV, environmentVariables=[
                {"name": "WHO", "value": "y"}]))["project"]
            self.assertEqual(p["environment"]["environmentVariables"][0]["type"], "PLAINTEXT")
            got = c("batch_get_projects", names=[name])["projects"][0]
            self.assertEqual(got["environment"]["environmentVariables"],
                             [{"name": "WHO", "value": "y", "type": "PLAINTEXT"}])
            b = c("start_build", projectName=name,
                  environmentVariablesOverride=[{"name": "NEW", "value": "z"}])["build"]
            self.assertIn({"name": "NEW", "value": "z", "type": "PLAINTEXT"},
                          b["environment"]["environmentVariables"])

    def test_create_and_update_validate_what_they_store(self):
        for c in self.each_client():
            name = "valid-" + c.name
            msg = self.assert_error("InvalidInputException", create, c, name,
                                    source={"type": "S3"})
            self.assertEqual(msg, "Project source location is required")
            self.assertEqual(c("batch_get_projects", names=[name])["projectsNotFound"], [name])
            msg = self.assert_error("InvalidInputException", create, c, name,
                                    artifacts={"type": "S3", "location": "bucket/prefix"})
            self.assertEqual(msg, "Invalid artifacts: location should not have a forward-slash")
            msg = self.assert_error("InvalidInputException", create, c, name,
                                    cache={"type": "S3"})
            self.assertEqual(msg, "Invalid cache: location must be specified for S3 caches")
            create(c, name)
            msg = self.assert_error("InvalidInputException", c, "update_project", name=name,
                                    source={"type": "GITHUB"})
            self.assertEqual(msg, "Project source location is required")
            msg = self.assert_error("InvalidInputException", c, "update_project", name=name,
                                    artifacts={"type": "CODEPIPELINE"})
            self.assertIn("both sourceType, and artifactType must be set to: CODEPIPELINE", msg)
            got = c("batch_get_projects", names=[name])["projects"][0]
            self.assertEqual((got["source"]["type"], got["artifacts"]["type"]),
                             ("NO_SOURCE", "NO_ARTIFACTS"))
            # StartBuild keeps its own checks of what the overrides change.
            msg = self.assert_error("InvalidInputException", c, "start_build", projectName=name,
                                    sourceTypeOverride="S3")
            self.assertEqual(msg, "Invalid source: location must be specified for type S3")

    def test_small_shapes(self):  # times, StopBuild on a finished build
        for c in self.each_client():
            name = "shapes-" + c.name
            create(c, name)
            b = c("start_build", projectName=name)["build"]
            done = wait_for_build(self.boto, b["id"])
            self.assertEqual(done["buildStatus"], "SUCCEEDED")
            # Every time in the record, as sent on the wire, to the millisecond.
            raw = self.raw_build(b["id"])
            times = [raw["startTime"], raw["endTime"]]
            for p in raw["phases"]:
                times += [p["startTime"]] + ([p["endTime"]] if "endTime" in p else [])
            for t in times:
                self.assertAlmostEqual(t * 1000, round(t * 1000), places=3, msg=str(t))
            stopped = c("stop_build", id=b["id"])["build"]
            self.assertEqual(stopped["buildStatus"], "SUCCEEDED")
            self.assertEqual(stopped["endTime"], c("batch_get_builds", ids=[b["id"]])
                             ["builds"][0]["endTime"])

    def raw_build(self, build_id):
        """BatchGetBuilds' JSON as Kiln sent it, before a client turns times into datetimes."""
        bodies = []
        client = self.server.boto3()
        client.meta.events.register(
            "after-call.codebuild.BatchGetBuilds",
            lambda http_response, **_: bodies.append(http_response.content))
        client.batch_get_builds(ids=[build_id])
        return json.loads(bodies[0])["builds"][0]

    def test_resource_policy_visibility_and_sharing(self):
        for c in self.each_client():
            name = "policy-" + c.name
            create(c, name)
            arn = ARN + name
            policy = json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Action": ["codebuild:BatchGetProjects"], "Resource": arn}]})
            self.assertEqual(c("put_resource_policy", resourceArn=arn, policy=policy)
                             ["resourceArn"], arn)
            self.assertEqual(json.loads(c("get_resource_policy", resourceArn=arn)["policy"]),
                             json.loads(policy))
            self.assert_error("InvalidInputException", c, "put_resource_policy",
                              resourceArn=arn, policy="{not json")
            self.assert_error("ResourceNotFoundException", c, "put_resource_policy",
                              resourceArn=ARN + "nope", policy=policy)
            c("delete_resource_policy", resourceArn=arn)
            self.assert_error("ResourceNotFoundException", c, "get_resource_policy",
                              resourceArn=arn)
            out = c("update_project_visibility", projectArn=arn, projectVisibility="PRIVATE")
            self.assertEqual((out["projectArn"], out["projectVisibility"]), (arn, "PRIVATE"))
            self.assert_error("InvalidInputException", c, "update_project_visibility",
                              projectArn=arn, projectVisibility="PUBLIC_READ")
            self.assertEqual(c("list_shared_projects").get("projects", []), [])
            self.assertEqual(c("list_shared_report_groups").get("reportGroups", []), [])

    def test_policy_operations_are_authorized(self):  # keys' IAM policies apply
        inline_project(self.boto, "guarded", SPEC)
        reader = Key(self.server, "reader", json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "codebuild:GetResourcePolicy",
            "Resource": ARN + "guarded"}]}))
        wait_until_known(reader)
        arn = ARN + "guarded"
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            reader.client().put_resource_policy(resourceArn=arn, policy="{}")
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDeniedException")
        r = reader.cli("codebuild", "put-resource-policy", "--resource-arn", arn,
                       "--policy", "{}")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("AccessDeniedException", r.stderr)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            reader.client().get_resource_policy(resourceArn=arn)  # allowed; there is none
        self.assertEqual(cm.exception.response["Error"]["Code"], "ResourceNotFoundException")


if __name__ == "__main__":
    unittest.main()
