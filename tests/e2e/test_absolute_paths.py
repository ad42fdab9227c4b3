"""Absolute paths outside the source, under every executor (docs/artifacts.md "Absolute paths",
docs/cache.md): an absolute `base-directory`, an absolute `files` entry (the 008/010 corpus
buildspecs of aws-toolkit-jetbrains) and absolute `cache.paths` are the build environment's own
paths: the host's under the process executor, the sandbox's or the container's otherwise. A
symlink there never reaches a host file (docs/security.md)."""
import os
import shutil
import subprocess
import uuid

import pytest

from test_executors import ALL, CONTAINERS, exe_args, require, sub_kiln, warm_up


@pytest.fixture(params=ALL)
def executor(request, kiln):
    require(request.param)
    warm_up(kiln, request.param)
    return request.param


@pytest.fixture
def abs_dir():
    """A fresh absolute folder name under /tmp; removed from the host afterwards (the process
    executor writes it there)."""
    path = "/tmp/kiln-abs-" + uuid.uuid4().hex[:12]
    yield path
    shutil.rmtree(path, ignore_errors=True)


def spec(commands, tail=""):
    body = "".join("      - '" + c.replace("'", "''") + "'\n" for c in commands)
    return "version: 0.2\nphases:\n  build:\n    commands:\n" + body + tail


def test_absolute_base_directory(kiln, executor, abs_dir):
    k = sub_kiln(kiln, "base-" + executor)
    r = k.run(k.project(spec(
        [f"mkdir -p {abs_dir}/test-reports {abs_dir}/logs",
         f"echo report > {abs_dir}/test-reports/r.xml",
         f"echo log > {abs_dir}/logs/idea.log"],
        f"artifacts:\n  files: ['**/*']\n  base-directory: {abs_dir}\n")),
        *exe_args(executor))
    assert r.status == "SUCCEEDED", r.out + r.err
    assert r.zip_names() == ["logs/idea.log", "test-reports/r.xml"]
    assert r.zip_read("test-reports/r.xml") == "report\n"
    assert f"Expanding base directory path: {abs_dir}" in r.out
    if executor != "process":
        # The sandbox's /tmp and the container's are their own, not the host's.
        assert not os.path.exists(abs_dir)


def test_absolute_files_entry_in_a_secondary_artifact(kiln, executor, abs_dir):
    # As 008-aws-aws-toolkit-jetbrains-linuxTests.yml: `files: [/tmp/buildArtifacts/*]`.
    k = sub_kiln(kiln, "files-" + executor)
    r = k.run(k.project(spec(
        [f"mkdir -p {abs_dir}/build/sub", f"echo zip > {abs_dir}/build/plugin.zip",
         f"echo deep > {abs_dir}/build/sub/deep.txt", "echo src > here.txt"],
        "artifacts:\n  files: [here.txt]\n  secondary-artifacts:\n    plugin:\n"
        f"      files: ['{abs_dir}/build/*']\n      discard-paths: yes\n"
        "    whole:\n"
        f"      files: ['{abs_dir}/build']\n")),
        *exe_args(executor))
    assert r.status == "SUCCEEDED", r.out + r.err
    assert r.zip_names() == ["here.txt"]
    assert r.zip_names("plugin.zip") == ["plugin.zip"]
    rel = abs_dir.lstrip("/")
    assert r.zip_names("whole.zip") == [f"{rel}/build/plugin.zip", f"{rel}/build/sub/deep.txt"]


def test_missing_absolute_base_directory_matches_nothing(kiln, executor, abs_dir):
    k = sub_kiln(kiln, "missing-" + executor)
    r = k.run(k.project(spec(["true"], f"artifacts:\n  files: ['**/*']\n  base-directory: {abs_dir}\n")),
              *exe_args(executor))
    assert r.status == "FAILED"
    assert r.context("UPLOAD_ARTIFACTS") == (
        "CLIENT_ERROR", f"no matching base directory path found for {abs_dir}")


def test_the_whole_file_system_is_refused(kiln):
    r = kiln.build(spec(["true"], "artifacts:\n  files: ['etc/hostname']\n  base-directory: /\n"))
    assert r.status == "FAILED"
    assert r.context("UPLOAD_ARTIFACTS") == (
        "CLIENT_ERROR", "base-directory: / names the whole file system; name a folder below /")


def test_a_symlink_in_an_absolute_folder_never_leaks_a_host_file(kiln, executor, abs_dir, tmp_path):
    secret = tmp_path / "host-secret.txt"
    secret.write_text("HOST-SECRET\n")
    secret_dir = tmp_path / "host-dir"
    secret_dir.mkdir()
    (secret_dir / "inner.txt").write_text("HOST-SECRET\n")
    k = sub_kiln(kiln, "hostile-" + executor)
    r = k.run(k.project(spec(
        [f"mkdir -p {abs_dir}/out", f"echo mine > {abs_dir}/out/ok.txt",
         f"ln -s {secret} {abs_dir}/out/leak.txt",
         f"ln -s {secret_dir} {abs_dir}/out/leakdir",
         f"ln -s ../../../../../../..{secret} {abs_dir}/out/climb.txt",
         # Where the process executor puts its copies: nothing of it is reachable either.
         f"ln -s /etc/hostname {abs_dir}/out/hostname"],
        f"artifacts:\n  files: ['**/*']\n  base-directory: {abs_dir}/out\n"
        f"  secondary-artifacts:\n    abs:\n      files: ['{abs_dir}/out/*']\n")),
        *exe_args(executor))
    assert r.status == "SUCCEEDED", r.out + r.err
    for name in ("artifacts.zip", "abs.zip"):
        names = r.zip_names(name)
        assert [n.rsplit("/", 1)[-1] for n in names] == ["ok.txt"], names
        for n in names:
            assert "HOST-SECRET" not in r.zip_read(n, name)
    assert "Skipping symbolic link leak.txt: its target is outside the source directory" in r.out


@pytest.mark.parametrize("executor_name", CONTAINERS)
def test_a_symlinked_absolute_base_directory_stays_in_the_environment(kiln, executor_name, tmp_path):
    """The base-directory itself is a symlink to a host folder's path: inside a sandbox or a
    container that path is the environment's (here absent), never the host's folder."""
    require(executor_name)
    warm_up(kiln, executor_name)
    host_dir = tmp_path / "host-only"
    host_dir.mkdir()
    (host_dir / "secret.txt").write_text("HOST-SECRET\n")
    link = "/tmp/kiln-abs-link-" + uuid.uuid4().hex[:12]
    k = sub_kiln(kiln, "link-" + executor_name)
    r = k.run(k.project(spec([f"ln -s {host_dir} {link}"],
                             f"artifacts:\n  files: ['**/*']\n  base-directory: {link}\n")),
              *exe_args(executor_name))
    assert r.status == "FAILED", r.out
    assert r.context("UPLOAD_ARTIFACTS") == (
        "CLIENT_ERROR", f"no matching base directory path found for {link}")
    assert not os.path.lexists(link)


# ---------------------------------------------------------------------------------------------
# Absolute cache.paths


def cache_spec(abs_dir, extra=()):
    """Prints what a restore brought back, then (re)writes the cached folder."""
    return spec([f"cat {abs_dir}/deps/f 2>/dev/null | sed 's/^/restored=/' || true",
                 f"mkdir -p {abs_dir}/deps/sub", f"echo v1 > {abs_dir}/deps/f",
                 f"echo deep > {abs_dir}/deps/sub/g", *extra],
                f"cache:\n  paths:\n    - '{abs_dir}/deps/**/*'\n")


def forget_host_copy(executor, abs_dir):
    # Under the process executor the path is the host's own and outlives the build: remove it,
    # so what the next build finds can only come from the cache.
    if executor == "process":
        shutil.rmtree(abs_dir, ignore_errors=True)


def no_secret_under(folder):
    for root, _, files in os.walk(folder):
        for f in files:
            p = os.path.join(root, f)
            if not os.path.islink(p):
                with open(p, "rb") as fh:
                    assert b"HOST-SECRET" not in fh.read(), p


def test_absolute_local_cache_path(kiln, executor, abs_dir, tmp_path):
    secret = tmp_path / "host-secret.txt"
    secret.write_text("HOST-SECRET\n")
    k = sub_kiln(kiln, "lcache-" + executor)
    proj = k.project(cache_spec(abs_dir, [f"ln -sf {secret} {abs_dir}/deps/leak"]))
    cache_dir = tmp_path / "cache"
    args = (*exe_args(executor), "--cache", "LOCAL", "--cache-dir", str(cache_dir))
    r = k.run(proj, *args)
    assert r.status == "SUCCEEDED", r.out + r.err
    assert "restored=v1" not in r.out
    assert f"Cache saved: {abs_dir}" in r.out, r.out
    forget_host_copy(executor, abs_dir)
    r = k.run(proj, *args)
    assert r.status == "SUCCEEDED", r.out + r.err
    assert "restored=v1" in r.out, r.out
    # The link was kept as a link: the host file's content is nowhere in the cache.
    no_secret_under(cache_dir)


@pytest.fixture(scope="module")
def s3():
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "compat"))
    from kiln_server import S3rver
    try:
        server = S3rver()
    except RuntimeError as e:
        pytest.skip(str(e))
    server.client().create_bucket(Bucket="cache")
    yield server
    server.stop()


def test_absolute_s3_cache_path(kiln, executor, abs_dir, tmp_path, s3):
    secret = tmp_path / "host-secret.txt"
    secret.write_text("HOST-SECRET\n")
    k = sub_kiln(kiln, "s3cache-" + executor)
    prefix = "abs-" + uuid.uuid4().hex[:8]
    proj = k.project(cache_spec(abs_dir, [f"ln -sf {secret} {abs_dir}/deps/leak",
                                          f"ln -sf ../../../../../../..{secret} {abs_dir}/deps/climb"]))
    args = (*exe_args(executor), "--cache", "S3", "--cache-location", f"cache/{prefix}")
    r = k.run(proj, *args, env=s3.env())
    assert r.status == "SUCCEEDED", r.out + r.err
    assert "Cache saved: no key" in r.out, r.out
    forget_host_copy(executor, abs_dir)
    r = k.run(proj, *args, env=s3.env())
    assert r.status == "SUCCEEDED", r.out + r.err
    assert "Cache hit" in r.out and "restored=v1" in r.out, r.out
    objects = s3.client().list_objects_v2(Bucket="cache", Prefix=prefix)["Contents"]
    assert objects
    for o in objects:
        body = s3.client().get_object(Bucket="cache", Key=o["Key"])["Body"].read()
        tar = subprocess.run(["zstd", "-d", "-c"], input=body, capture_output=True, check=True).stdout
        # The absolute folder is in the archive; the host file a link names is not.
        assert f".kiln-absolute{abs_dir}/deps/sub/g".encode() in tar
        assert b"HOST-SECRET" not in tar
