"""CodeBuild's webhook API (CreateWebhook, UpdateWebhook, DeleteWebhook) on a real kiln server,
driven by boto3 and the AWS CLI v2 (/usr/bin/aws) with nothing but --endpoint-url
(docs/server.md "Webhooks"). The secret is shown by CreateWebhook and a rotating UpdateWebhook
only, never by BatchGetProjects, and never reaches the data folder or the server's stderr as
plaintext."""
import base64
import json
import os
import subprocess
import unittest

import botocore.exceptions

from kiln_server import KilnServer

AWS_V2 = "/usr/bin/aws"
ENV = {"type": "LINUX_CONTAINER", "image": "kiln/host", "computeType": "BUILD_GENERAL1_SMALL"}
ROLE = "arn:aws:iam::000000000000:role/kiln"
GROUPS = [[{"type": "EVENT", "pattern": "PUSH, PULL_REQUEST_CREATED"},
           {"type": "HEAD_REF", "pattern": "^refs/heads/main$", "excludeMatchedPattern": False}],
          [{"type": "EVENT", "pattern": "PUSH"},
           {"type": "FILE_PATH", "pattern": "^docs/", "excludeMatchedPattern": True}]]


def shown(groups):
    """filterGroups as answers show them: every filter with its excludeMatchedPattern."""
    return [[dict({"excludeMatchedPattern": False}, **f) for f in g] for g in groups]


class WebhooksTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = KilnServer().start()
        cls.cb = cls.server.boto3("codebuild")
        cls.secrets = []  # every secret the server gave out, looked for in its files at the end

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def project(self, name, source_type="GITHUB"):
        source = {"type": source_type, "location": "https://github.com/octo/%s.git" % name}
        if source_type == "NO_SOURCE":
            source = {"type": "NO_SOURCE", "buildspec": "version: 0.2"}
        self.cb.create_project(name=name, source=source, artifacts={"type": "NO_ARTIFACTS"},
                               environment=ENV, serviceRole=ROLE)

    def webhook_of(self, name):
        return self.cb.batch_get_projects(names=[name])["projects"][0].get("webhook")

    def error(self, fn, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(**kwargs)
        return cm.exception.response["Error"]

    def aws(self, *args, check=True):
        if not os.path.exists(AWS_V2):
            self.skipTest("AWS CLI v2 (/usr/bin/aws, Debian's awscli) not installed")
        r = subprocess.run([AWS_V2, "--endpoint-url", self.server.endpoint, "codebuild", *args,
                            "--output", "json"], env=self.server.client_env(),
                           capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        if check:
            self.assertEqual(r.returncode, 0, "aws %s: %s" % (" ".join(args), r.stderr))
            return json.loads(r.stdout) if r.stdout.strip() else {}
        return r

    def test_boto3_create_update_delete(self):
        self.project("wh-boto3")
        hook = self.cb.create_webhook(projectName="wh-boto3", filterGroups=GROUPS,
                                      buildType="BUILD_BATCH")["webhook"]
        secret = hook["secret"]
        self.secrets.append(secret)
        self.assertRegex(secret, "^[0-9a-f]{64}$")
        self.assertEqual(hook["payloadUrl"], self.server.endpoint + "/webhooks/wh-boto3")
        self.assertEqual(hook["url"], hook["payloadUrl"])
        self.assertEqual(hook["filterGroups"], shown(GROUPS))
        self.assertEqual(hook["buildType"], "BUILD_BATCH")
        created = hook["lastModifiedSecret"]

        got = self.webhook_of("wh-boto3")
        self.assertNotIn("secret", got)
        self.assertEqual(got["filterGroups"], shown(GROUPS))
        self.assertEqual(got["payloadUrl"], hook["payloadUrl"])
        self.assertEqual(got["lastModifiedSecret"], created)

        err = self.error(self.cb.create_webhook, projectName="wh-boto3")
        self.assertEqual(err["Code"], "ResourceAlreadyExistsException")

        same = self.cb.update_webhook(projectName="wh-boto3", branchFilter="^main$")["webhook"]
        self.assertNotIn("secret", same)
        self.assertEqual(same["branchFilter"], "^main$")
        self.assertEqual(same["filterGroups"], shown(GROUPS))

        rotated = self.cb.update_webhook(projectName="wh-boto3", rotateSecret=True)["webhook"]
        self.secrets.append(rotated["secret"])
        self.assertRegex(rotated["secret"], "^[0-9a-f]{64}$")
        self.assertNotEqual(rotated["secret"], secret)
        self.assertGreater(rotated["lastModifiedSecret"], created)
        self.assertNotIn("secret", self.webhook_of("wh-boto3"))

        self.assertEqual(self.cb.delete_webhook(projectName="wh-boto3")["ResponseMetadata"]
                         ["HTTPStatusCode"], 200)
        self.assertIsNone(self.webhook_of("wh-boto3"))
        err = self.error(self.cb.delete_webhook, projectName="wh-boto3")
        self.assertEqual(err["Code"], "ResourceNotFoundException")
        err = self.error(self.cb.update_webhook, projectName="wh-boto3", rotateSecret=True)
        self.assertEqual(err["Code"], "ResourceNotFoundException")

    def test_boto3_refusals(self):
        self.project("wh-refused")
        bad = [[{"type": "EVENT", "pattern": "PUSH"}, {"type": "HEAD_REF", "pattern": "(?=x)"}]]
        err = self.error(self.cb.create_webhook, projectName="wh-refused", filterGroups=bad)
        self.assertEqual(err["Code"], "InvalidInputException")
        self.assertIn("pattern", err["Message"])
        err = self.error(self.cb.create_webhook, projectName="wh-refused",
                         filterGroups=[[{"type": "HEAD_REF", "pattern": "main"}]])
        self.assertEqual(err["Code"], "InvalidInputException")
        self.assertIsNone(self.webhook_of("wh-refused"))
        err = self.error(self.cb.create_webhook, projectName="wh-missing")
        self.assertEqual(err["Code"], "ResourceNotFoundException")
        self.project("wh-inline", "NO_SOURCE")
        err = self.error(self.cb.create_webhook, projectName="wh-inline")
        self.assertEqual(err["Code"], "InvalidInputException")
        self.assertIn("source type NO_SOURCE", err["Message"])

    def test_project_operations_keep_or_drop_the_webhook(self):
        self.project("wh-project")
        self.secrets.append(self.cb.create_webhook(projectName="wh-project")["webhook"]["secret"])
        self.cb.update_project(name="wh-project", description="still hooked")
        self.assertEqual(self.webhook_of("wh-project")["buildType"], "BUILD")
        self.cb.delete_project(name="wh-project")
        self.project("wh-project")
        self.assertIsNone(self.webhook_of("wh-project"))
        # The old secret went with the project: a new webhook gets a new one.
        hook = self.cb.create_webhook(projectName="wh-project")["webhook"]
        self.secrets.append(hook["secret"])
        self.assertNotEqual(hook["secret"], self.secrets[-2])
        self.assertEqual(self.cb.list_source_credentials()["sourceCredentialsInfos"], [])

    def test_cli_v2_create_and_delete(self):
        self.project("wh-cli")
        out = self.aws("create-webhook", "--project-name", "wh-cli", "--filter-groups",
                       json.dumps(GROUPS[:1]))
        self.secrets.append(out["webhook"]["secret"])
        self.assertEqual(out["webhook"]["filterGroups"], shown(GROUPS[:1]))
        self.assertEqual(out["webhook"]["payloadUrl"], self.server.endpoint + "/webhooks/wh-cli")
        got = self.aws("batch-get-projects", "--names", "wh-cli")["projects"][0]["webhook"]
        self.assertNotIn("secret", got)
        rotated = self.aws("update-webhook", "--project-name", "wh-cli", "--rotate-secret")
        self.secrets.append(rotated["webhook"]["secret"])
        self.assertNotEqual(rotated["webhook"]["secret"], out["webhook"]["secret"])
        self.assertEqual(self.aws("delete-webhook", "--project-name", "wh-cli"), {})
        self.assertNotIn("webhook", self.aws("batch-get-projects", "--names", "wh-cli")
                         ["projects"][0])
        r = self.aws("delete-webhook", "--project-name", "wh-cli", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("ResourceNotFoundException", r.stderr)

    def test_zz_secrets_are_not_stored_or_logged_in_plaintext(self):
        # Named to run last: it looks for every secret the other tests were given.
        self.project("wh-plain")
        self.secrets.append(self.cb.create_webhook(projectName="wh-plain")["webhook"]["secret"])
        files = [self.server.stderr_path]
        for root, _, names in os.walk(self.server.data):
            files += [os.path.join(root, n) for n in names]
        self.assertTrue(any(str(f).endswith("secrets.db") for f in files), files)
        for f in files:
            with open(f, "rb") as fh:
                data = fh.read()
            for secret in self.secrets:
                for form in (secret.encode(), base64.b64encode(secret.encode())):
                    self.assertNotIn(form, data, "a webhook secret found in %s" % f)


if __name__ == "__main__":
    unittest.main()
