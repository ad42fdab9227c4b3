"""privilegedMode on the docker executor (docs/executors.md "docker"): a privileged build gets
the capabilities and devices an inner Docker daemon needs; an ordinary one does not. The full
inner-daemon build (dockerd, docker build) needs the kiln/docker image (1.7 GB, over two minutes
to build), so it runs only where the image store already holds it."""
import os
import pathlib
import socket

import pytest

IMAGES = os.environ.get("KILN_IMAGE_DIR", "")
SYS_ADMIN = 1 << 21


def docker_up():
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect("/var/run/docker.sock")
        return True
    except OSError:
        return False
    finally:
        s.close()


pytestmark = [
    pytest.mark.host_only,  # chooses its own executor
    pytest.mark.skipif(not docker_up() and os.environ.get("KILN_REQUIRE_EXECUTORS") != "1",
                       reason="no dockerd"),
]

CAPS = """version: 0.2
phases:
  build:
    commands:
      - grep CapEff /proc/self/status
      - ls /dev | wc -l
"""


def cap_eff(out):
    line = [l for l in out.splitlines() if l.startswith("CapEff:")][0]
    return int(line.split()[1], 16)


def test_privileged_build_has_what_an_inner_daemon_needs(kiln):
    plain = kiln.build(CAPS, "--executor", "docker", "-i", "kiln/minimal")
    assert plain.status == "SUCCEEDED", plain.out
    priv = kiln.build(CAPS, "--executor", "docker", "-i", "kiln/minimal", "--privileged")
    assert priv.status == "SUCCEEDED", priv.out
    assert not cap_eff(plain.out) & SYS_ADMIN
    assert cap_eff(priv.out) & SYS_ADMIN


@pytest.mark.skipif(not (pathlib.Path(IMAGES) / "kiln_docker").is_dir(),
                    reason="kiln/docker is not in the image store")
def test_privileged_build_runs_its_own_docker_daemon(kiln):
    spec = """version: 0.2
phases:
  install:
    commands:
      - nohup dockerd --storage-driver=vfs > /tmp/dockerd.log 2>&1 &
      - timeout 30 sh -c "until docker info >/dev/null 2>&1; do sleep 1; done"
  build:
    commands:
      - docker ps -q | wc -l
      - mkdir ctx && printf 'FROM scratch\\nCOPY hello.txt /\\n' > ctx/Dockerfile
      - echo hi > ctx/hello.txt
      - DOCKER_BUILDKIT=0 docker build -q -t inner:1 ctx
      - docker images --format '{{.Repository}}:{{.Tag}}' inner
"""
    r = kiln.build(spec, "--executor", "docker", "--privileged", "-i",
                   "aws/codebuild/standard:7.0", timeout=300)
    assert r.status == "SUCCEEDED", r.out
    assert "using kiln/docker" in r.out
    assert "\n0\n" in r.out  # the inner daemon sees none of the host's containers
    assert "\ninner:1\n" in r.out


def test_local_docker_layer_cache_keeps_var_lib_docker(kiln):
    import subprocess
    import uuid
    token = uuid.uuid4().hex
    project = "layers-" + token[:8]
    args = ["--executor", "docker", "-i", "kiln/minimal", "--privileged", "--cache", "LOCAL",
            "--cache-mode", "LOCAL_DOCKER_LAYER_CACHE", "--cache-dir", str(kiln.tmp / "cache"),
            "--project", project]
    try:
        first = kiln.build(f"version: 0.2\nphases:\n  build:\n    commands:\n"
                           f"      - echo {token} > /var/lib/docker/kiln-marker\n", *args)
        assert first.status == "SUCCEEDED", first.out
        assert "Docker layer cache: volume kiln-docker-layers-" in first.out
        second = kiln.build("version: 0.2\nphases:\n  build:\n    commands:\n"
                            "      - cat /var/lib/docker/kiln-marker\n", *args)
        assert second.status == "SUCCEEDED", second.out
        assert f"\n{token}\n" in second.out
        # Without the cache mode the folder starts empty.
        third = kiln.build("version: 0.2\nphases:\n  build:\n    commands:\n"
                           "      - test ! -e /var/lib/docker/kiln-marker\n",
                           "--executor", "docker", "-i", "kiln/minimal", "--privileged",
                           "--project", project)
        assert third.status == "SUCCEEDED", third.out
    finally:
        subprocess.run(["docker", "volume", "rm", "-f",
                        "kiln-docker-layers-" + project.replace("-", "_")],
                       capture_output=True)
