"""The kiln command line (docs/reference/design.md §3.1, §3.2): exit codes, workspaces, lint."""
import os


def test_unknown_flag_exits_2(kiln):
    assert kiln.cmd("run", "--no-such-flag").returncode == 2


def test_missing_source_exits_2(kiln):
    r = kiln.cmd("run", "-s", "/no/such/folder")
    assert r.returncode == 2
    assert "source folder not found: /no/such/folder" in r.stderr


def test_unknown_subcommand_exits_2(kiln):
    assert kiln.cmd("frobnicate").returncode == 2


def test_server_bad_listen_exits_2(kiln, tmp_path):
    data = str(tmp_path / "data")
    for listen in ("no-port", "127.0.0.1:http", "127.0.0.1:70000"):
        r = kiln.cmd("server", "--data", data, "--executor", "process", "--listen", listen)
        assert r.returncode == 2, r.stderr
        assert "kiln server: --listen" in r.stderr


def test_source_tree_is_untouched_by_default(kiln):
    p = kiln.project("version: 0.2\nphases:\n  build:\n    commands:\n"
                     "      - echo changed > tracked.txt\n      - touch new.txt\n",
                     {"tracked.txt": "original\n"})
    r = kiln.run(p)
    assert r.status == "SUCCEEDED", r.out
    assert (p / "tracked.txt").read_text() == "original\n"
    assert not (p / "new.txt").exists()


def test_in_place_builds_in_the_source_tree(kiln):
    p = kiln.project("version: 0.2\nphases:\n  build:\n    commands:\n"
                     "      - echo changed > tracked.txt\n", {"tracked.txt": "original\n"})
    r = kiln.run(p, "--in-place")
    assert r.status == "SUCCEEDED"
    assert (p / "tracked.txt").read_text() == "changed\n"


def test_workspace_is_removed_after_the_build(kiln):
    r = kiln.build("version: 0.2\nphases:\n  build:\n    commands:\n"
                   "      - echo \"ws=$CODEBUILD_SRC_DIR\"\n")
    ws = [l[3:] for l in r.out.splitlines() if l.startswith("ws=")][0]
    assert not os.path.exists(ws)


def test_secondary_source(kiln):
    other = kiln.project(None, {"lib.txt": "from secondary\n"}, name="other")
    p = kiln.project("version: 0.2\nphases:\n  build:\n    commands:\n"
                     "      - cat $CODEBUILD_SRC_DIR_lib/lib.txt\n")
    r = kiln.run(p, "--secondary-source", f"lib={other}")
    assert "from secondary\n" in r.out, r.out


def test_example_hello_builds(kiln):
    import pathlib
    root = pathlib.Path(__file__).resolve().parents[2]
    r = kiln.run(root / "examples" / "hello")
    assert r.code == 0, r.out
    assert r.zip_names("hello-1.zip") == ["greeting.txt", "hello.out", "hello.sh"]
    assert r.record["exportedEnvironmentVariables"][0]["name"] == "BUILD_STAMP"


def test_lint_clean_file_exits_0(kiln):
    p = kiln.project("version: 0.2\nphases:\n  build:\n    commands: [echo]\n")
    r = kiln.cmd("lint", "-b", str(p / "buildspec.yml"))
    assert r.returncode == 0, r.stdout


def test_lint_error_exact_text(kiln):
    p = kiln.project("version: 0.2\nphases:\n  biuld:\n    commands: [echo]\n")
    r = kiln.cmd("lint", "-b", "buildspec.yml", cwd=p)
    assert r.returncode == 1
    assert r.stdout == ("buildspec.yml:3:3: error: Invalid buildspec phase name: biuld. "
                        "Expecting: build,install,post_build,pre_build\n"
                        "  biuld:\n"
                        "  ^\n")


def test_lint_unknown_key_is_a_warning(kiln):
    p = kiln.project("version: 0.2\nfuture-key: 1\nphases:\n  build:\n    commands: [echo]\n")
    r = kiln.cmd("lint", "-b", "buildspec.yml", cwd=p)
    assert r.returncode == 0
    assert r.stdout.startswith("buildspec.yml:2:1: warning: ")


def test_unknown_key_does_not_stop_a_build(kiln):
    r = kiln.build("version: 0.2\nfuture-key: 1\nphases:\n  build:\n    commands: [echo ran]\n")
    assert r.status == "SUCCEEDED"
