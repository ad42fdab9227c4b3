"""A real `kiln server` running builds in containers (docs/executors.md): `--executor sandbox` and
`--executor docker`, driven with boto3. The project's CodeBuild image name maps to a curated
image, the build runs at CodeBuild's paths and sees none of the server's data folder,
runtime-versions is checked against the image, and privilegedMode is refused by the sandbox in
PROVISIONING. Needs KILN_IMAGE_DIR with kiln/minimal (scripts/test.sh builds it), bwrap and
dockerd; KILN_REQUIRE_EXECUTORS=1 turns a missing one into a failure."""
import os
import shutil
import socket
import unittest

from kiln_server import KilnServer, inline_project, wait_for_build

IMAGES = os.environ.get("KILN_IMAGE_DIR", "")
REQUIRE = os.environ.get("KILN_REQUIRE_EXECUTORS") == "1"

SPEC = """version: 0.2
phases:
  install:
    runtime-versions:
      python: 3.11
  build:
    commands:
      - echo "src=$CODEBUILD_SRC_DIR"
      - ls /codebuild/output
      - test ! -e "$DATA" && echo no-data-folder
      - echo sandbox-marker > marker.txt
"""


def docker_up():
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect("/var/run/docker.sock")
        return True
    except OSError:
        return False
    finally:
        s.close()


def missing(executor):
    if not IMAGES or not os.path.isdir(os.path.join(IMAGES, "kiln_minimal")):
        return "KILN_IMAGE_DIR has no kiln/minimal"
    if executor == "sandbox" and (os.geteuid() != 0 or not shutil.which("bwrap")):
        return "the sandbox needs root and bwrap"
    if executor == "docker" and not docker_up():
        return "no dockerd"
    return None


class ExecutorBuilds:
    executor = None

    @classmethod
    def setUpClass(cls):
        why = missing(cls.executor)
        if why:
            if REQUIRE:
                raise AssertionError(why)
            raise unittest.SkipTest(why)
        # --allow-privileged: the sandbox itself must refuse privilegedMode (test below), not the
        # server's flag, which tests/compat/test_policies.py covers.
        cls.server = KilnServer(extra_args=["--executor", cls.executor, "--image-dir", IMAGES,
                                            "--allow-privileged"])
        cls.server.start()
        cls.client = cls.server.boto3()
        cls.logs = cls.server.boto3("logs")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def log(self, build):
        out = self.logs.get_log_events(logGroupName=build["logs"]["groupName"],
                                       logStreamName=build["logs"]["streamName"])
        return "\n".join(e["message"] for e in out["events"])

    def run_build(self, name, spec, image="kiln/minimal", **env):
        env_vars = [{"name": "DATA", "value": os.path.abspath(self.server.data), "type": "PLAINTEXT"}]
        inline_project(self.client, name, spec,
                       environment={"type": "LINUX_CONTAINER", "image": image,
                                    "computeType": "BUILD_GENERAL1_SMALL",
                                    "environmentVariables": env_vars, **env})
        build_id = self.client.start_build(projectName=name)["build"]["id"]
        return wait_for_build(self.client, build_id, timeout=120)

    def test_build_runs_inside_the_image_at_codebuild_paths(self):
        spec = SPEC.replace("    runtime-versions:\n      python: 3.11\n", "")
        done = self.run_build(f"inside-{self.executor}", spec)
        text = self.log(done)
        self.assertEqual(done["buildStatus"], "SUCCEEDED", text)
        self.assertIn("src=/codebuild/output/src", text)
        self.assertIn("no-data-folder", text)
        self.assertIn(f"({self.executor} executor)", text)

    def test_runtime_versions_on_a_curated_image(self):
        # kiln/minimal has no runtime selection: CodeBuild's warning, and the build goes on.
        done = self.run_build(f"runtimes-{self.executor}", SPEC)
        self.assertEqual(done["buildStatus"], "SUCCEEDED")
        self.assertIn("Skipping install of runtimes. Runtime version selection is not supported "
                      "by this build image", self.log(done))

    def test_unknown_image_fails_in_provisioning(self):
        done = self.run_build(f"noimage-{self.executor}", SPEC, image="not-here.invalid/none:1")
        self.assertEqual(done["buildStatus"], "FAILED")
        phase = [p for p in done["phases"] if p["phaseType"] == "PROVISIONING"][0]
        self.assertEqual(phase["phaseStatus"], "FAILED")
        self.assertEqual(phase["contexts"][0]["statusCode"], "BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE")


class SandboxBuilds(ExecutorBuilds, unittest.TestCase):
    executor = "sandbox"

    def test_privileged_mode_is_refused(self):
        done = self.run_build("privileged-sandbox", SPEC, privilegedMode=True)
        phase = [p for p in done["phases"] if p["phaseType"] == "PROVISIONING"][0]
        self.assertEqual(phase["phaseStatus"], "FAILED")
        self.assertIn("privilegedMode needs the docker executor", phase["contexts"][0]["message"])


class DockerBuilds(ExecutorBuilds, unittest.TestCase):
    executor = "docker"


if __name__ == "__main__":
    unittest.main()
