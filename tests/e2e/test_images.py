"""`kiln image` (docs/images.md): a real mmdebstrap build of kiln/minimal into a temporary
image store (needs root and deb.debian.org; ~15 s), a failing build, and the usage errors.

The builds are marked host_only: they do not depend on the executor, so they run once, in the
process-executor pass of the suite."""
import json
import os
import re
import shutil
import tarfile

import pytest

needs_mmdebstrap = pytest.mark.skipif(
    shutil.which("mmdebstrap") is None or os.geteuid() != 0,
    reason="needs mmdebstrap and root (the unshare mode of other users is not tested here)")


def image_cmd(kiln, *args, timeout=60):
    return kiln.cmd("image", *args, timeout=timeout)


@pytest.mark.host_only
@needs_mmdebstrap
def test_build_list_and_remove_kiln_minimal(kiln, tmp_path):
    store = tmp_path / "images"
    r = image_cmd(kiln, "build", "kiln/minimal", "--image-dir", str(store), timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "I: success in" in r.stdout  # mmdebstrap's own output, streamed
    m = re.search(r"^image kiln/minimal: ([\d.]+) s, rootfs (\d+) bytes, tar (\d+) bytes, in (.+)$",
                  r.stdout, re.M)
    assert m, r.stdout
    rootfs_bytes, tar_bytes = int(m.group(2)), int(m.group(3))
    image = store / "kiln_minimal"
    assert m.group(4) == str(image)
    assert sorted(os.listdir(store)) == ["kiln_minimal"]  # no staging folder left behind

    assert os.path.exists(image / "rootfs" / "bin" / "sh")
    assert os.path.islink(image / "rootfs" / "bin")  # merged /usr, as Debian 12 has it
    assert not os.path.exists(image / "rootfs" / "usr" / "share" / "man" / "man1" / "ls.1.gz")

    assert os.path.getsize(image / "image.tar") == tar_bytes
    with tarfile.open(image / "image.tar") as t:
        members = {m.name: m for m in t.getmembers()}
    assert {"./usr/bin/sh", "usr/bin/sh", "./bin/sh", "bin/sh"} & set(members)
    assert members["./bin"].issym() and members["./bin"].linkname == "usr/bin"
    assert members["./dev/null"].ischr()
    assert members["./etc/shadow"].uid == 0
    assert members["./etc/shadow"].gid == 42  # the shadow group, numeric as in the image

    meta = json.loads((image / "image.json").read_text())
    assert meta["name"] == "kiln/minimal"
    assert meta["suite"] == "bookworm"
    assert meta["packages"] == [] and meta["runtimes"] == {}
    assert meta["rootfs_bytes"] == rootfs_bytes and meta["tar_bytes"] == tar_bytes
    assert 0 < meta["build_seconds"] < 600
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["built_at"])

    listed = image_cmd(kiln, "list", "--image-dir", str(store))
    assert listed.returncode == 0
    assert re.search(r"^kiln/minimal\s+[\d.]+ MB\s+[\d.]+ MB\s+" + meta["built_at"] + r"\s+-$",
                     listed.stdout, re.M), listed.stdout

    removed = image_cmd(kiln, "rm", "kiln/minimal", "--image-dir", str(store))
    assert removed.returncode == 0 and removed.stdout == "removed kiln/minimal\n"
    assert os.listdir(store) == []


@pytest.mark.host_only
@needs_mmdebstrap
def test_unknown_package_fails_with_apts_message(kiln, tmp_path):
    store = tmp_path / "images"
    r = image_cmd(kiln, "build", "team/broken", "--packages", "kiln-no-such-package",
                  "--image-dir", str(store), timeout=600)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "E: Unable to locate package kiln-no-such-package" in r.stdout
    assert ("kiln image build: team/broken failed: mmdebstrap failed with exit status 25: "
            "E: Unable to locate package kiln-no-such-package") in r.stderr
    assert os.listdir(store) == []


def test_usage_errors_exit_2(kiln, tmp_path):
    store = str(tmp_path / "images")
    r = image_cmd(kiln, "build", "team/tools", "--image-dir", store)
    assert r.returncode == 2
    assert ("team/tools is not a curated image (kiln/minimal, kiln/standard, kiln/docker): "
            "name its packages with --packages") in r.stderr
    r = image_cmd(kiln, "build", "Team/Tools", "--packages", "make", "--image-dir", store)
    assert r.returncode == 2
    assert "invalid image name 'Team/Tools'" in r.stderr
    r = image_cmd(kiln, "build", "team/tools", "--packages", "--force-yes", "--image-dir", store)
    assert r.returncode == 2
    assert image_cmd(kiln, "build").returncode == 2
    assert image_cmd(kiln, "frobnicate").returncode == 2
    assert not os.path.exists(store)  # nothing was started


def test_list_and_rm_on_an_empty_store(kiln, tmp_path):
    store = str(tmp_path / "images")
    r = image_cmd(kiln, "list", "--image-dir", store)
    assert r.returncode == 0 and r.stdout == ""
    assert "no images in" in r.stderr
    r = image_cmd(kiln, "rm", "kiln/minimal", "--image-dir", store)
    assert r.returncode == 1
    assert "no image named kiln/minimal" in r.stderr
