"""Shell semantics (docs/reference/codebuild-semantics.md §2), end to end on the process executor."""


def test_v02_carries_directory_and_variables(kiln):
    r = kiln.build("""\
        version: 0.2
        phases:
          install:
            commands:
              - mkdir -p sub && cd sub
              - export EXPORTED=yes
              - PLAIN=also
          build:
            commands:
              - echo "pwd=$(basename $(pwd)) exported=$EXPORTED plain=$PLAIN"
        """)
    assert "pwd=sub exported=yes plain=also\n" in r.out, r.out


def test_v01_runs_each_command_in_isolation(kiln):
    r = kiln.build("""\
        version: 0.1
        phases:
          build:
            commands:
              - mkdir -p sub && cd sub
              - export EXPORTED=yes
              - echo "home=$([ "$(pwd)" = "$CODEBUILD_SRC_DIR" ] && echo yes) exported=${EXPORTED:-unset}"
        """)
    assert r.status == "SUCCEEDED"
    assert "home=yes exported=unset\n" in r.out, r.out


def test_v01_environment_variables_plaintext(kiln):
    r = kiln.build("""\
        version: 0.1
        environment_variables:
          plaintext:
            OLD_STYLE: "works"
        phases:
          build:
            commands:
              - echo "old=$OLD_STYLE"
        """)
    assert "old=works\n" in r.out, r.out


def test_default_shell_is_sh(kiln):
    r = kiln.build("""\
        version: 0.2
        phases:
          build:
            commands:
              - "[[ 1 == 1 ]] && echo bashism"
        """)
    assert r.status == "FAILED"
    assert "\nbashism\n" not in r.out
    assert "[[: not found" in r.out  # dash's wording, as on CodeBuild's Ubuntu images


def test_env_shell_bash(kiln):
    r = kiln.build("""\
        version: 0.2
        env:
          shell: bash
        phases:
          build:
            commands:
              - "[[ 1 == 1 ]] && echo bashism"
        """)
    assert r.status == "SUCCEEDED"
    assert "\nbashism\n" in r.out


def test_multiline_block_returns_its_own_status(kiln):
    masked = kiln.build("""\
        version: 0.2
        phases:
          build:
            commands:
              - |
                false
                echo after
        """)
    assert masked.status == "SUCCEEDED"  # no set -e: the last command's status wins (§2.2)
    failing = kiln.build("""\
        version: 0.2
        phases:
          build:
            commands:
              - |
                true
                false
        """)
    assert failing.status == "FAILED"


def test_exit_in_command_keeps_state_and_fails(kiln):
    r = kiln.build("""\
        version: 0.2
        phases:
          build:
            commands:
              - export KEEP=1; exit 5
          post_build:
            commands:
              - echo "keep=$KEEP"
        """)
    assert r.context("BUILD")[1].endswith("Reason: exit status 5")
    assert "keep=1\n" in r.out


def test_pipeline_status_is_the_last_command(kiln):
    r = kiln.build("""\
        version: 0.2
        phases:
          build:
            commands:
              - false | true
        """)
    assert r.status == "SUCCEEDED"


def test_stdin_is_empty(kiln):
    r = kiln.build("""\
        version: 0.2
        phases:
          build:
            commands:
              - cat > got.txt; echo "bytes=$(wc -c < got.txt)"
        """)
    assert "bytes=0\n" in r.out


def test_no_kiln_fd_leaks_into_the_build(kiln):
    r = kiln.build("""\
        version: 0.2
        phases:
          build:
            commands:
              - ls /proc/self/fd | sort -n | tr '\\n' ' '; echo
        """)
    line = [l for l in r.out.splitlines() if l.startswith("0 1 2")]
    assert line, r.out
    # 0-2 plus at most the fd `ls` itself opens for /proc/self/fd.
    assert len(line[0].split()) <= 4, line


def test_background_task_survives_between_commands(kiln):
    r = kiln.build("""\
        version: 0.2
        phases:
          build:
            commands:
              - nohup sh -c 'sleep 1; echo done > bg.txt' > /dev/null 2>&1 &
              - sleep 2; cat bg.txt
        """)
    assert "done\n" in r.out, r.out
