"""kiln run with git sources and LOCAL caches (docs/sources.md), on real git repositories in the test's
folder (file:// URLs). S3 sources, artifacts and caches are in tests/compat/test_s3_builds.py,
where a real S3-compatible server runs."""
import subprocess

import pytest

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}

SPEC = """version: 0.2
phases:
  build:
    commands:
      - echo "resolved=$CODEBUILD_RESOLVED_SOURCE_VERSION"
      - echo "version=$CODEBUILD_SOURCE_VERSION"
      - echo "branch=$(git branch --show-current)"
      - cat msg.txt
"""


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, env=GIT_ENV).stdout.strip()


def make_repo(path, spec=SPEC):
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / "buildspec.yml").write_text(spec)
    (path / "msg.txt").write_text("on main\n")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "one")
    git(path, "tag", "v1")
    first = git(path, "rev-parse", "HEAD")
    git(path, "checkout", "-q", "-b", "feature")
    (path / "msg.txt").write_text("on feature\n")
    git(path, "commit", "-q", "-am", "two")
    git(path, "checkout", "-q", "main")
    (path / "msg.txt").write_text("main again\n")
    git(path, "commit", "-q", "-am", "three")
    return first


@pytest.mark.host_only  # host tools (git) or host pid files
def test_git_branch_tag_and_commit(kiln, tmp_path):
    repo = tmp_path / "repo"
    first = make_repo(repo)
    url = "file://%s" % repo
    r = kiln.run(url)
    assert r.code == 0, r.out
    assert "main again" in r.out and "branch=main" in r.out
    assert "resolved=%s" % git(repo, "rev-parse", "main") in r.out
    assert r.record["resolvedSourceVersion"] == git(repo, "rev-parse", "main")

    r = kiln.run(url, "--source-version", "feature")
    assert r.code == 0, r.out
    assert "on feature" in r.out and "branch=feature" in r.out and "version=feature" in r.out

    r = kiln.run(url, "--source-version", "v1")
    assert r.code == 0, r.out
    assert "on main" in r.out and "resolved=%s" % first in r.out

    r = kiln.run(url, "--source-version", first[:10])
    assert r.code == 0, r.out
    assert "resolved=%s" % first in r.out


@pytest.mark.host_only  # host tools (git) or host pid files
def test_shallow_clone(kiln, tmp_path):
    repo = tmp_path / "repo"
    make_repo(repo, SPEC + "      - git rev-list --count HEAD\n")
    r = kiln.run("file://%s" % repo, "--git-clone-depth", "1")
    assert r.code == 0, r.out
    assert "\n1\n" in r.out


def test_missing_ref_and_missing_repo_fail_download_source(kiln, tmp_path):
    repo = tmp_path / "repo"
    make_repo(repo)
    r = kiln.run("file://%s" % repo, "--source-version", "nope")
    assert r.code == 1
    assert r.phases()[:4] == ["SUBMITTED:SUCCEEDED", "QUEUED:SUCCEEDED",
                              "PROVISIONING:SUCCEEDED", "DOWNLOAD_SOURCE:FAILED"]
    assert r.context("DOWNLOAD_SOURCE") == (
        "CLIENT_ERROR", "reference not found for primary source and source version nope")
    r = kiln.run("file://%s/none.git" % tmp_path)
    assert r.context("DOWNLOAD_SOURCE") == (
        "CLIENT_ERROR", "repository not found for primary source and source version (default)")


def test_secondary_git_source(kiln, tmp_path):
    repo = tmp_path / "lib"
    make_repo(repo)
    proj = kiln.project("""
        version: 0.2
        phases:
          build:
            commands:
              - cat "$CODEBUILD_SRC_DIR_lib/msg.txt"
              - echo "libv=$CODEBUILD_SOURCE_VERSION_lib"
        """)
    r = kiln.run(proj, "--secondary-source", "lib=file://%s" % repo,
                 "--secondary-source-version", "lib=feature")
    assert r.code == 0, r.out
    assert "on feature" in r.out
    assert "libv=%s" % git(repo, "rev-parse", "feature") in r.out
    assert r.record["secondarySourceVersions"] == [
        {"sourceIdentifier": "lib", "sourceVersion": git(repo, "rev-parse", "feature")}]


def test_local_custom_cache_persists_between_builds(kiln, tmp_path):
    spec = """
        version: 0.2
        phases:
          build:
            commands:
              - if [ -f deps/stamp ]; then echo "FOUND $(cat deps/stamp)"; else echo MISSING; fi
              - mkdir -p deps && echo "$RUN" > deps/stamp
        cache:
          paths:
            - 'deps/**/*'
        """
    proj = kiln.project(spec)
    cache = tmp_path / "cache"
    args = ("--cache", "LOCAL", "--cache-dir", str(cache))
    r = kiln.run(proj, *args, env={"RUN": "1"})
    assert r.code == 0, r.out
    assert "MISSING" in r.out
    r = kiln.run(proj, *args, "-e", "RUN=2")
    assert r.code == 0, r.out
    assert "FOUND" in r.out
    # Without the cache flag nothing is found: the cache lives outside the source.
    r = kiln.run(proj)
    assert "MISSING" in r.out
    assert not (proj / "deps").exists()


def test_local_source_cache_reuses_the_git_mirror(kiln, tmp_path):
    repo = tmp_path / "repo"
    make_repo(repo)
    args = ("--cache", "LOCAL", "--cache-dir", str(tmp_path / "cache"))
    r = kiln.run("file://%s" % repo, *args)
    assert r.code == 0, r.out
    (repo / "msg.txt").write_text("newer\n")
    git(repo, "commit", "-q", "-am", "four")
    r = kiln.run("file://%s" % repo, *args)
    assert r.code == 0, r.out
    assert "newer" in r.out
    assert "Source cache hit" in r.out
    assert list((tmp_path / "cache" / "git").iterdir())


def test_in_place_build_fetches_git_secondary_sources_into_the_build_folder(kiln, tmp_path):
    repo = tmp_path / "lib"
    make_repo(repo)
    proj = kiln.project("""
        version: 0.2
        phases:
          build:
            commands:
              - cat "$CODEBUILD_SRC_DIR_lib/msg.txt"
        """, name="inplace")
    before = sorted(p.name for p in tmp_path.iterdir())
    r = kiln.run(proj, "--in-place", "--secondary-source", "lib=file://%s" % repo)
    assert r.code == 0, r.out
    assert "main again" in r.out
    # Nothing was written beside the user's folder.
    after = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(("artifacts",
                                                                               "record")))
    assert after == [n for n in before if not n.startswith(("artifacts", "record"))]


def test_a_git_mirror_in_use_is_not_shared(kiln, tmp_path):
    import fcntl
    repo = tmp_path / "repo"
    make_repo(repo)
    args = ("--cache", "LOCAL", "--cache-dir", str(tmp_path / "cache"))
    assert kiln.run("file://%s" % repo, *args).code == 0
    mirrors = [p for p in (tmp_path / "cache" / "git").iterdir() if p.is_dir()]
    assert len(mirrors) == 1
    with open(str(mirrors[0]) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as a concurrent build of the project would
        r = kiln.run("file://%s" % repo, *args)
    assert r.code == 0, r.out
    assert "is in use by another build; cloning without it" in r.out
    assert "Source cache hit" not in r.out
    assert "main again" in r.out


def test_an_unreachable_s3_cache_never_fails_the_build(kiln):
    proj = kiln.project("""
        version: 0.2
        phases:
          build:
            commands:
              - mkdir -p deps && echo x > deps/f
        cache:
          paths:
            - 'deps/**/*'
        """)
    # Nothing listens on port 9: every cache transfer fails at once.
    env = {"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "k",
           "AWS_SECRET_ACCESS_KEY": "s"}
    r = kiln.run(proj, "--cache", "S3", "--cache-location", "bucket/prefix", env=env)
    assert r.code == 0, r.out
    assert r.status == "SUCCEEDED"
    assert "Cache restore failed: " in r.out
    assert "Cache save failed: " in r.out
