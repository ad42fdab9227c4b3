"""docs/security.md, findings 8, 11 and 13, against a real kiln server with boto3 and hand-signed requests.

Finding 8: CreateProject with 50,000 environment variables, then BatchGetProjects naming it 100
times, answered 989 MB and grew the server to 8.8 GB. Now the project is refused with
CodeBuild's validation message, a name asked for 100 times is answered once, and an answer that
would pass 16 MiB is refused; the server's peak RSS is checked to stay small throughout.
Finding 11: numbers JSON can write but the API cannot hold. Finding 13: the SigV4 scope's region.
"""
import json
import unittest
import urllib.error
import urllib.request

import botocore.exceptions

from kiln_server import KilnServer, inline_project

SPEC = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n"
# Far below the 8.8 GB the attack reached; the server's own heap and SQLite's cache fit easily.
MAX_PEAK_RSS_MB = 256


def variables(count, size=1):
    return [{"name": "V%d" % i, "value": "v" * size} for i in range(count)]


class AmplificationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = KilnServer().start()
        cls.cb = cls.server.boto3()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def peak_rss_mb(self):
        with open("/proc/%d/status" % self.server.proc.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
        raise AssertionError("no VmHWM in /proc/<pid>/status")

    def client_error(self, fn, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(**kwargs)
        e = cm.exception.response
        return e["ResponseMetadata"]["HTTPStatusCode"], e["Error"]["Code"], e["Error"]["Message"]

    def raw(self, body, region="us-east-1", target="CodeBuild_20161006.ListProjects"):
        """A request signed by botocore's SigV4Auth in `region`: (status, parsed body)."""
        import botocore.auth
        import botocore.awsrequest
        import botocore.credentials
        key, secret = self.server.credentials()
        req = botocore.awsrequest.AWSRequest(
            method="POST", url=self.server.endpoint + "/", data=body,
            headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target})
        botocore.auth.SigV4Auth(botocore.credentials.Credentials(key, secret), "codebuild",
                                region).add_auth(req)
        prepared = req.prepare()
        r = urllib.request.Request(prepared.url, data=body.encode(), headers=dict(prepared.headers),
                                   method="POST")
        try:
            with urllib.request.urlopen(r) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def test_the_original_attack_gets_a_clear_400(self):
        status, code, message = self.client_error(
            inline_project, client=self.cb, name="amp", buildspec=SPEC,
            environment={"type": "LINUX_CONTAINER", "image": "kiln/host",
                         "computeType": "BUILD_GENERAL1_SMALL",
                         "environmentVariables": variables(50000)})
        self.assertEqual((status, code), (400, "InvalidInputException"))
        self.assertEqual(message,
                         "1 validation error detected: Value '[50000 items]' at "
                         "'environment.environmentVariables' failed to satisfy constraint: Member "
                         "must have length less than or equal to 500")
        # The largest project the limits allow, asked for 100 times, is answered once.
        inline_project(self.cb, "amp", SPEC,
                       environment={"type": "LINUX_CONTAINER", "image": "kiln/host",
                                    "computeType": "BUILD_GENERAL1_SMALL",
                                    "environmentVariables": variables(240, 4096)})
        got = self.cb.batch_get_projects(names=["amp"] * 100)
        self.assertEqual([p["name"] for p in got["projects"]], ["amp"])
        self.assertEqual(len(got["projects"][0]["environment"]["environmentVariables"]), 240)
        self.assertLess(self.peak_rss_mb(), MAX_PEAK_RSS_MB)

    def test_a_large_answer_is_refused_and_memory_stays_bounded(self):
        names = []
        for i in range(20):  # each about 1 MB, under the project cap; 20 pass the 16 MiB cap
            name = "wide%d" % i
            inline_project(self.cb, name, SPEC,
                           environment={"type": "LINUX_CONTAINER", "image": "kiln/host",
                                        "computeType": "BUILD_GENERAL1_SMALL",
                                        "environmentVariables": variables(240, 4096)})
            names.append(name)
        for _ in range(5):
            status, code, message = self.client_error(self.cb.batch_get_projects, names=names)
            self.assertEqual((status, code), (400, "InvalidInputException"))
            self.assertEqual(message, "The response would be larger than Kiln's limit of 16 MiB: "
                                      "ask for fewer projects per call")
        self.assertEqual(len(self.cb.batch_get_projects(names=names[:10])["projects"]), 10)
        # One project over the cap is refused when it is stored, not when it is read.
        status, code, message = self.client_error(
            inline_project, client=self.cb, name="toowide", buildspec=SPEC,
            environment={"type": "LINUX_CONTAINER", "image": "kiln/host",
                         "computeType": "BUILD_GENERAL1_SMALL",
                         "environmentVariables": variables(300, 4096)})
        self.assertEqual((status, code), (400, "InvalidInputException"))
        self.assertRegex(message, r"^The project would be \d+ bytes as stored; Kiln's limit is "
                                  r"1048576 bytes$")
        self.assertLess(self.peak_rss_mb(), MAX_PEAK_RSS_MB)

    def test_unrepresentable_numbers(self):
        status, body = self.raw('{"x":1e400}')
        self.assertEqual((status, body["__type"]), (400, "SerializationException"))
        status, code, message = self.client_error(inline_project, client=self.cb, name="big",
                                                  buildspec=SPEC, timeoutInMinutes=2 ** 63)
        self.assertEqual((status, code), (400, "InvalidInputException"))
        self.assertEqual(message, "1 validation error detected: Value '9223372036854775808' at "
                                  "'timeoutInMinutes' failed to satisfy constraint: Member must "
                                  "have value less than or equal to 2160")

    def test_region_in_the_scope_is_checked(self):
        body = json.dumps({"name": "scoped", "source": {"type": "NO_SOURCE", "buildspec": SPEC},
                           "artifacts": {"type": "NO_ARTIFACTS"},
                           "environment": {"type": "LINUX_CONTAINER", "image": "kiln/host",
                                           "computeType": "BUILD_GENERAL1_SMALL"},
                           "serviceRole": "arn:aws:iam::000000000000:role/kiln"})
        for region in ('us-east-1"}', "a" * 2000):
            status, answer = self.raw(body, region, "CodeBuild_20161006.CreateProject")
            self.assertEqual((status, answer["__type"]), (400, "InvalidSignatureException"))
            self.assertTrue(answer["message"].startswith(
                "Credential should be scoped to a valid region, not '"), answer["message"])
        self.assertEqual(self.cb.batch_get_projects(names=["scoped"])["projectsNotFound"],
                         ["scoped"])
        status, answer = self.raw(body, "eu-north-1", "CodeBuild_20161006.CreateProject")
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer["project"]["arn"],
                         "arn:aws:codebuild:eu-north-1:000000000000:project/scoped")


if __name__ == "__main__":
    unittest.main()
