"""kiln run and kiln lint against hostile buildspecs and sources (docs/security.md): a buildspec never
comes from outside the source, only regular files of bounded size are read, control characters
from buildspec text never reach the terminal, secrets in artifact names are masked, and a
LOCAL_CUSTOM_CACHE namespace keeps no symlink a build made."""
import os
import subprocess

import pytest

SPEC = "version: 0.2\nphases:\n  build:\n    commands: [echo built]\n"
SHADOW = "root:$y$j9T$e2e-shadow-marker:19000:0:99999:7:::\n"


@pytest.fixture
def shadow(tmp_path):
    p = tmp_path / "shadow"
    p.write_text(SHADOW)
    return p


def test_a_buildspec_symlink_out_of_the_source_is_refused(kiln, shadow):
    p = kiln.project(None)
    os.symlink(shadow, p / "buildspec.yml")
    r = kiln.run(p)
    assert r.status == "FAILED"
    assert r.context("DOWNLOAD_SOURCE") == (
        "YAML_FILE_ERROR", "buildspec path buildspec.yml leaves the source directory")
    assert "e2e-shadow-marker" not in r.out + r.err


def test_a_relative_buildspec_path_cannot_climb_out(kiln, shadow):
    p = kiln.project(SPEC)
    r = kiln.run(p, "-b", "../shadow")
    assert r.context("DOWNLOAD_SOURCE") == (
        "YAML_FILE_ERROR", "buildspec path ../shadow leaves the source directory")
    assert "e2e-shadow-marker" not in r.out


def test_the_users_own_absolute_buildspec_still_works(kiln, tmp_path):
    mine = tmp_path / "elsewhere.yml"
    mine.write_text(SPEC)
    r = kiln.run(kiln.project(None), "-b", str(mine))
    assert r.status == "SUCCEEDED", r.out
    assert "YAML location is %s\n" % mine in r.out
    assert r.record["source"]["buildspec"] == str(mine)


def test_devices_and_fifos_as_buildspecs_fail_at_once(kiln, tmp_path):
    r = kiln.run(kiln.project(None), "-b", "/dev/zero", timeout=30)
    assert r.code == 2
    assert "kiln run: -b /dev/zero: is a device" in r.err
    lint = kiln.cmd("lint", "-b", "/dev/zero", timeout=30)
    assert lint.returncode == 1
    assert lint.stdout == "/dev/zero: error: cannot read file: is a device\n"
    assert "bad_alloc" not in lint.stderr


def test_a_fifo_buildspec_in_place_does_not_hang(kiln):
    p = kiln.project(None)
    os.mkfifo(p / "buildspec.yml")
    r = kiln.run(p, "--in-place", timeout=60)
    assert r.status == "FAILED"
    code, message = r.context("DOWNLOAD_SOURCE")
    assert code == "YAML_FILE_ERROR"
    assert message.endswith("/buildspec.yml: is a FIFO"), message  # the path the build sees
    lint = kiln.cmd("lint", "-b", str(p / "buildspec.yml"), timeout=30)
    assert lint.returncode == 1
    assert "cannot read file: is a FIFO" in lint.stdout


ESCAPES = ('version: 0.2\n"title\\e]0;owned\\a": 1\n"\\e[2J": 2\n'
           'phases:\n  build:\n    commands:\n      - "true \\e[31mred"\n')


def test_lint_and_run_never_print_raw_control_characters(kiln):
    p = kiln.project(ESCAPES)
    lint = kiln.cmd("lint", "-b", "buildspec.yml", cwd=p)
    assert lint.returncode == 0, lint.stdout
    assert "\x1b" not in lint.stdout and "\x07" not in lint.stdout
    assert "unknown top-level key that is not a key name (ignored)" in lint.stdout
    r = kiln.run(p)
    assert r.status == "SUCCEEDED", r.out
    assert "\x1b" not in r.out and "\x07" not in r.out
    assert "Running command true \\x1b[31mred\n" in r.out


def test_a_secret_in_the_artifact_name_is_masked(kiln):
    r = kiln.build("version: 0.2\nenv:\n  parameter-store:\n    TOKEN: /ci/token\nphases:\n"
                   "  build:\n    commands: [echo x > out.txt]\nartifacts:\n  files: [out.txt]\n"
                   "  name: art-$TOKEN\n",
                   "--parameter", "/ci/token=tok-e2e-1234567890")
    assert r.status == "SUCCEEDED", r.out
    assert "tok-e2e-1234567890" not in r.out
    assert "Artifact: %s/art-***.zip\n" % r.artifacts in r.out
    assert r.record["artifacts"]["location"].endswith("/art-***.zip")
    assert "tok-e2e-1234567890" not in str(r.record)


@pytest.mark.host_only  # the build reaches the cache folder only when it runs on the host
def test_a_cache_symlink_a_build_made_is_not_kept(kiln, tmp_path):
    cache = tmp_path / "cache"
    spec = ("version: 0.2\nphases:\n  build:\n    commands:\n"
            "      - mkdir -p deps && echo ok > deps/f\n"
            "      - ns=$(dirname \"$(readlink deps)\"); rm -rf \"$ns/deps\"; "
            "ln -s / \"$ns/deps\"; ln -s / \"$ns/extra\"\n"
            "cache:\n  paths: ['deps/**/*']\n")
    r = kiln.build(spec, "--cache", "LOCAL", "--cache-dir", str(cache))
    assert r.status == "SUCCEEDED", r.out
    ns = cache / "custom" / "proj"
    assert sorted(os.listdir(ns)) == []  # both links gone, nothing followed
    assert not any(os.path.islink(ns / n) for n in os.listdir(ns))


SANDBOX_READY = (os.path.isdir(os.path.join(os.environ.get("KILN_IMAGE_DIR", "/nonexistent"),
                                            "kiln_minimal", "rootfs"))
                 or os.environ.get("KILN_REQUIRE_EXECUTORS") == "1")


@pytest.mark.skipif(not SANDBOX_READY, reason="needs KILN_IMAGE_DIR with kiln/minimal")
def test_a_sandbox_build_sees_only_its_cache_folders(kiln, tmp_path):
    cache = tmp_path / "cache"
    args = ("--executor", "sandbox", "-i", "kiln/minimal", "--cache", "LOCAL", "--cache-dir",
            str(cache))
    spec = ("version: 0.2\nphases:\n  build:\n    commands:\n"
            "      - if [ -f deps/stamp ]; then echo FOUND; else echo MISSING; fi\n"
            "      - mkdir -p deps && echo \"$RUN\" > deps/stamp\n"
            "      - ns=%s; ln -s / \"$ns/extra\" 2>/dev/null; mv \"$ns/deps\" \"$ns/gone\" "
            "2>/dev/null; ln -sfnT / \"$ns/deps\" 2>/dev/null; true\n"
            "cache:\n  paths: ['deps/**/*']\n") % (cache / "custom" / "proj")
    p = kiln.project(spec)
    first = kiln.run(p, *args, "-e", "RUN=1", timeout=300)
    assert first.status == "SUCCEEDED", first.out
    assert "MISSING" in first.out
    assert "Cache folder for deps created" in first.out
    ns = cache / "custom" / "proj"
    # The environment could not reach the namespace folder: nothing it made is there, and the
    # new folder holds a copy of what the build left.
    assert sorted(os.listdir(ns)) == ["deps"]
    assert not os.path.islink(ns / "deps")
    assert (ns / "deps" / "stamp").read_text() == "1\n"
    second = kiln.run(p, *args, "-e", "RUN=2", timeout=300)
    assert second.status == "SUCCEEDED", second.out
    assert "FOUND" in second.out
    assert sorted(os.listdir(ns)) == ["deps"]
    assert not os.path.islink(ns / "deps")
    assert (ns / "deps" / "stamp").read_text() == "2\n"
