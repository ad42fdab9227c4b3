"""SSM Parameter Store, Secrets Manager and CodeBuild source credentials on a real kiln server,
driven by boto3 and the AWS CLI v1 and v2 with nothing but --endpoint-url. Also checks that
secret values never reach the data folder or the server's stderr as plaintext."""
import base64
import json
import os
import subprocess
import unittest
import urllib.error
import urllib.request
import uuid

import botocore.exceptions

from kiln_server import REGION, KilnServer
from test_cli import V1_MISSING, V2_MISSING, find_clis


class SecretsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = KilnServer().start()
        cls.ssm = cls.server.boto3("ssm")
        cls.sm = cls.server.boto3("secretsmanager")
        cls.cb = cls.server.boto3("codebuild")
        cls.clis = find_clis()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def error(self, fn, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(**kwargs)
        return cm.exception.response["Error"]["Code"]

    def aws(self, cli, *args, check=True):
        r = subprocess.run([self.clis[cli], "--endpoint-url", self.server.endpoint, *args,
                            "--output", "json"], env=self.server.client_env(),
                           capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            self.fail("aws %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr))
        return json.loads(r.stdout) if check and r.stdout.strip() else r

    # ---- boto3 ----

    def test_boto3_parameters(self):
        ssm = self.ssm
        out = ssm.put_parameter(Name="/b3/url", Value="plain", Type="String")
        self.assertEqual((out["Version"], out["Tier"]), (1, "Standard"))
        self.assertEqual(ssm.get_parameter(Name="/b3/url")["Parameter"]["Value"], "plain")
        ssm.put_parameter(Name="/b3/pw", Value="hunter2", Type="SecureString")
        p = ssm.get_parameter(Name="/b3/pw")["Parameter"]
        self.assertEqual(p["Type"], "SecureString")
        self.assertNotEqual(p["Value"], "hunter2")
        self.assertEqual(p["ARN"], "arn:aws:ssm:%s:000000000000:parameter/b3/pw" % REGION)
        self.assertEqual(ssm.get_parameter(Name="/b3/pw", WithDecryption=True)
                         ["Parameter"]["Value"], "hunter2")
        got = ssm.get_parameters(Names=["/b3/pw", "/b3/missing"], WithDecryption=True)
        self.assertEqual([x["Value"] for x in got["Parameters"]], ["hunter2"])
        self.assertEqual(got["InvalidParameters"], ["/b3/missing"])
        self.assertEqual(self.error(ssm.put_parameter, Name="/b3/pw", Value="x",
                                    Type="SecureString"), "ParameterAlreadyExists")
        self.assertEqual(ssm.put_parameter(Name="/b3/pw", Value="hunter3", Type="SecureString",
                                           Overwrite=True)["Version"], 2)
        for i in range(12):
            ssm.put_parameter(Name="/b3/many/p%02d" % i, Value=str(i), Type="String")
        pages = ssm.get_paginator("get_parameters_by_path").paginate(
            Path="/b3/many", PaginationConfig={"PageSize": 5})
        names = [p["Name"] for page in pages for p in page["Parameters"]]
        self.assertEqual(names, ["/b3/many/p%02d" % i for i in range(12)])
        deep = ssm.get_parameters_by_path(Path="/b3", Recursive=True, MaxResults=10)
        self.assertIn("NextToken", deep)
        described = ssm.describe_parameters(ParameterFilters=[
            {"Key": "Name", "Option": "BeginsWith", "Values": ["/b3/p"]}])["Parameters"]
        self.assertEqual([d["Name"] for d in described], ["/b3/pw"])
        self.assertNotIn("Value", described[0])
        self.assertEqual(described[0]["Version"], 2)
        ssm.delete_parameter(Name="/b3/pw")
        self.assertEqual(self.error(ssm.get_parameter, Name="/b3/pw"), "ParameterNotFound")
        self.assertEqual(self.error(ssm.delete_parameter, Name="/b3/pw"), "ParameterNotFound")
        self.assertEqual(self.error(ssm.put_parameter, Name="/aws/x", Value="v", Type="String"),
                         "ValidationException")

    def test_boto3_secrets(self):
        sm = self.sm
        created = sm.create_secret(Name="b3/db", SecretString='{"pw": "s1"}', Description="d")
        self.assertEqual(set(created) - {"ResponseMetadata"}, {"ARN", "Name", "VersionId"})
        arn = created["ARN"]
        self.assertTrue(arn.startswith("arn:aws:secretsmanager:%s:000000000000:secret:b3/db-"
                                       % REGION))
        for secret_id in ("b3/db", arn):
            v = sm.get_secret_value(SecretId=secret_id)
            self.assertEqual((v["SecretString"], v["VersionStages"], v["VersionId"]),
                             ('{"pw": "s1"}', ["AWSCURRENT"], created["VersionId"]))
        put = sm.put_secret_value(SecretId=arn, SecretString='{"pw": "s2"}')
        self.assertEqual(put["VersionStages"], ["AWSCURRENT"])
        self.assertEqual(sm.get_secret_value(SecretId="b3/db")["SecretString"], '{"pw": "s2"}')
        prev = sm.get_secret_value(SecretId="b3/db", VersionStage="AWSPREVIOUS")
        self.assertEqual(prev["SecretString"], '{"pw": "s1"}')
        sm.update_secret(SecretId="b3/db", Description="new")
        d = sm.describe_secret(SecretId="b3/db")
        self.assertEqual(d["Description"], "new")
        self.assertEqual(len(d["VersionIdsToStages"]), 2)
        sm.create_secret(Name="b3/bin", SecretBinary=b"\x00\x01\xff")
        self.assertEqual(sm.get_secret_value(SecretId="b3/bin")["SecretBinary"], b"\x00\x01\xff")
        names = [s["Name"] for s in sm.list_secrets()["SecretList"]]
        self.assertIn("b3/db", names)
        self.assertEqual(self.error(sm.create_secret, Name="b3/db", SecretString="x"),
                         "ResourceExistsException")
        deleted = sm.delete_secret(SecretId="b3/db", RecoveryWindowInDays=7)
        self.assertEqual(deleted["Name"], "b3/db")
        self.assertIn("DeletionDate", deleted)
        self.assertEqual(self.error(sm.get_secret_value, SecretId="b3/db"),
                         "InvalidRequestException")
        self.assertNotIn("b3/db", [s["Name"] for s in sm.list_secrets()["SecretList"]])
        # Debian's botocore (1.29) predates IncludePlannedDeletion and refuses it before sending,
        # so it goes as the raw JSON request newer botocore sends.
        status, listed = self.raw("secretsmanager.ListSecrets", '{"IncludePlannedDeletion": true}',
                                  "secretsmanager")
        self.assertEqual(status, 200, listed)
        self.assertIn("b3/db", [s["Name"] for s in listed["SecretList"]])
        self.assertEqual(self.error(sm.get_secret_value, SecretId="b3/none"),
                         "ResourceNotFoundException")
        sm.delete_secret(SecretId="b3/bin", ForceDeleteWithoutRecovery=True)
        self.assertEqual(self.error(sm.describe_secret, SecretId="b3/bin"),
                         "ResourceNotFoundException")

    def test_boto3_source_credentials(self):
        token = "ghp_" + uuid.uuid4().hex
        arn = self.cb.import_source_credentials(token=token, serverType="GITLAB",
                                                authType="PERSONAL_ACCESS_TOKEN")["arn"]
        self.assertEqual(arn, "arn:aws:codebuild:%s:000000000000:token/gitlab" % REGION)
        infos = self.cb.list_source_credentials()["sourceCredentialsInfos"]
        self.assertIn({"arn": arn, "serverType": "GITLAB", "authType": "PERSONAL_ACCESS_TOKEN"},
                      infos)
        self.assertNotIn(token, json.dumps(infos))
        self.assertEqual(self.error(self.cb.import_source_credentials, token="x",
                                    serverType="GITLAB", authType="PERSONAL_ACCESS_TOKEN",
                                    shouldOverwrite=False), "ResourceAlreadyExistsException")
        self.assertEqual(self.cb.delete_source_credentials(arn=arn)["arn"], arn)
        self.assertEqual(self.error(self.cb.delete_source_credentials, arn=arn),
                         "ResourceNotFoundException")

    # ---- AWS CLI v1 and v2 ----

    def cli_scenario(self, cli):
        p = "/cli-%s" % cli
        aws = lambda *args, **kw: self.aws(cli, *args, **kw)  # noqa: E731
        self.assertEqual(aws("ssm", "put-parameter", "--name", p + "/plain", "--value", "v1",
                             "--type", "String")["Version"], 1)
        aws("ssm", "put-parameter", "--name", p + "/deep/pw", "--value", "pw-" + cli,
            "--type", "SecureString", "--description", "a password")
        got = aws("ssm", "get-parameter", "--name", p + "/deep/pw", "--with-decryption")
        self.assertEqual(got["Parameter"]["Value"], "pw-" + cli)
        got = aws("ssm", "get-parameter", "--name", p + "/deep/pw")
        self.assertNotEqual(got["Parameter"]["Value"], "pw-" + cli)
        got = aws("ssm", "get-parameters", "--names", p + "/plain", p + "/missing")
        self.assertEqual([x["Name"] for x in got["Parameters"]], [p + "/plain"])
        self.assertEqual(got["InvalidParameters"], [p + "/missing"])
        flat = aws("ssm", "get-parameters-by-path", "--path", p)["Parameters"]
        self.assertEqual([x["Name"] for x in flat], [p + "/plain"])
        deep = aws("ssm", "get-parameters-by-path", "--path", p, "--recursive",
                   "--with-decryption")["Parameters"]
        self.assertEqual({x["Name"]: x["Value"] for x in deep},
                         {p + "/plain": "v1", p + "/deep/pw": "pw-" + cli})
        described = aws("ssm", "describe-parameters", "--parameter-filters",
                        "Key=Name,Option=BeginsWith,Values=%s/deep" % p)["Parameters"]
        self.assertEqual([(d["Name"], d["Description"]) for d in described],
                         [(p + "/deep/pw", "a password")])
        self.assertEqual(aws("ssm", "delete-parameter", "--name", p + "/plain", check=False)
                         .returncode, 0)
        bad = aws("ssm", "get-parameter", "--name", p + "/plain", check=False)
        self.assertIn(bad.returncode, (254, 255))
        self.assertIn("ParameterNotFound", bad.stderr)

        name = "cli/%s/secret" % cli
        created = aws("secretsmanager", "create-secret", "--name", name, "--secret-string", "one")
        self.assertEqual(created["Name"], name)
        self.assertEqual(aws("secretsmanager", "get-secret-value", "--secret-id", name)
                         ["SecretString"], "one")
        self.assertEqual(aws("secretsmanager", "get-secret-value", "--secret-id", created["ARN"])
                         ["SecretString"], "one")
        aws("secretsmanager", "put-secret-value", "--secret-id", name, "--secret-string", "two")
        self.assertEqual(aws("secretsmanager", "get-secret-value", "--secret-id", name)
                         ["SecretString"], "two")
        self.assertEqual(aws("secretsmanager", "get-secret-value", "--secret-id", name,
                             "--version-stage", "AWSPREVIOUS")["SecretString"], "one")
        aws("secretsmanager", "update-secret", "--secret-id", name, "--description", "updated")
        self.assertEqual(aws("secretsmanager", "describe-secret", "--secret-id", name)
                         ["Description"], "updated")
        listed = aws("secretsmanager", "list-secrets")["SecretList"]
        self.assertIn(name, [s["Name"] for s in listed])
        self.assertEqual(aws("secretsmanager", "delete-secret", "--secret-id", name)["Name"], name)
        bad = aws("secretsmanager", "get-secret-value", "--secret-id", name, check=False)
        self.assertIn("InvalidRequestException", bad.stderr)
        bad = aws("secretsmanager", "get-secret-value", "--secret-id", name + "-nope",
                  check=False)
        self.assertIn("ResourceNotFoundException", bad.stderr)

        token = "tok-%s-%s" % (cli, uuid.uuid4().hex)
        arn = aws("codebuild", "import-source-credentials", "--token", token, "--server-type",
                  "BITBUCKET", "--auth-type", "BASIC_AUTH", "--username", "bob")["arn"]
        listed = aws("codebuild", "list-source-credentials", check=False)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertIn(arn, listed.stdout)
        self.assertNotIn(token, listed.stdout)
        self.assertEqual(aws("codebuild", "delete-source-credentials", "--arn", arn)["arn"], arn)

    def test_cli_v1(self):
        if "v1" not in self.clis:
            self.skipTest(V1_MISSING)
        self.cli_scenario("v1")

    def test_cli_v2(self):
        if "v2" not in self.clis:
            self.skipTest(V2_MISSING)
        self.cli_scenario("v2")

    # ---- protocol and storage ----

    def raw(self, target, body, service):
        import botocore.auth
        import botocore.awsrequest
        import botocore.credentials
        key, secret = self.server.credentials()
        req = botocore.awsrequest.AWSRequest(
            method="POST", url=self.server.endpoint + "/", data=body,
            headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target})
        botocore.auth.SigV4Auth(botocore.credentials.Credentials(key, secret), service,
                                REGION).add_auth(req)
        prepared = req.prepare()
        r = urllib.request.Request(prepared.url, data=body.encode(),
                                   headers=dict(prepared.headers), method="POST")
        try:
            with urllib.request.urlopen(r) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def test_signature_scope_must_match_the_service(self):
        body = '{"Name": "/scope/x"}'
        for target, wrong in [("AmazonSSM.GetParameter", "codebuild"),
                              ("secretsmanager.ListSecrets", "ssm"),
                              ("CodeBuild_20161006.ListSourceCredentials", "secretsmanager")]:
            status, out = self.raw(target, body, wrong)
            self.assertEqual((status, out.get("__type")), (400, "InvalidSignatureException"),
                             target)
        status, out = self.raw("AmazonSSM.GetParameter", body, "ssm")
        self.assertEqual((status, out.get("__type")), (400, "ParameterNotFound"))

    def test_secret_values_are_not_stored_or_logged_in_plaintext(self):
        marks = {k: "%s-%s" % (k, uuid.uuid4().hex) for k in ("param", "secret", "binary",
                                                               "second", "token", "toolong")}
        self.ssm.put_parameter(Name="/plain/pw", Value=marks["param"], Type="SecureString")
        self.sm.create_secret(Name="plain/s", SecretString=marks["secret"])
        self.sm.put_secret_value(SecretId="plain/s", SecretString=marks["second"])
        self.sm.create_secret(Name="plain/b", SecretBinary=marks["binary"].encode())
        self.cb.import_source_credentials(token=marks["token"], serverType="GITHUB_ENTERPRISE",
                                          authType="PERSONAL_ACCESS_TOKEN")
        code = self.error(self.ssm.put_parameter, Name="/plain/long", Type="SecureString",
                          Value=marks["toolong"] + "x" * 9000)
        self.assertEqual(code, "ValidationException")
        # Everything the server wrote: the data folder (SQLite, its WAL, keys, logs) and stderr.
        files = [self.server.data.parent / (self.server.data.name + ".stderr")]
        for root, _, names in os.walk(self.server.data):
            files += [os.path.join(root, n) for n in names]
        self.assertTrue(any(str(f).endswith("secrets.db") for f in files), files)
        for f in files:
            with open(f, "rb") as fh:
                data = fh.read()
            for mark in marks.values():
                for form in (mark.encode(), base64.b64encode(mark.encode())):
                    self.assertNotIn(form, data, "%s found in %s" % (mark, f))


if __name__ == "__main__":
    unittest.main()
