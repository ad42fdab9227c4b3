"""Parameter-store and secrets-manager values with `kiln run` (docs/secrets.md): the local store
(`kiln secret`), `--parameter`, masking in the terminal log and the record, CodeBuild's failure
contexts, and run-as. `--secrets-from` against a real server is in tests/compat."""
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

TOKEN = "tok-e2e-0123456789"
DB_JSON = '{"user":"admin","password":"pw-e2e-abcdefgh"}'

USES = """\
version: 0.2
env:
  parameter-store:
    TOKEN: /ci/token
  secrets-manager:
    PW: db:password
    OLD: db:password:AWSPREVIOUS
  exported-variables: [TOKEN, COPY]
phases:
  build:
    commands:
      - echo "token=$TOKEN pw=$PW old=$OLD"
      - printf %s "$TOKEN" | sha256sum | cut -d' ' -f1 > token.sha
      - printf '%s' "$TOKEN" | head -c 7; printf '%s\\n' "$TOKEN" | tail -c +8
      - export COPY="[$PW]"
artifacts:
  files: [token.sha]
"""


def secret(kiln, store, *args, value=None):
    p = subprocess.run([kiln.bin, "secret", "--store", str(store), *args], input=value,
                       capture_output=True, text=True, timeout=30)
    return p


@pytest.fixture
def store(kiln):
    s = kiln.tmp / "store"
    assert secret(kiln, s, "put-parameter", "/ci/token", value=TOKEN + "\n").returncode == 0
    assert secret(kiln, s, "put-secret", "db", "--value",
                  '{"user":"admin","password":"pw-e2e-old-0000"}').returncode == 0
    assert secret(kiln, s, "put-secret", "db", value=DB_JSON).returncode == 0
    return s


def test_values_reach_the_build_and_are_masked_everywhere(kiln, store):
    r = kiln.build(USES, "--secrets-store", str(store), "--packaging", "NONE")
    assert r.status == "SUCCEEDED", r.out
    # The build got the real value: it wrote its hash.
    assert (r.artifacts / "artifacts" / "token.sha").read_text().strip() == \
        hashlib.sha256(TOKEN.encode()).hexdigest()
    assert "token=*** pw=*** old=***\n" in r.out, r.out
    # Split across two writes (head, then tail): still masked.
    for value in (TOKEN, "pw-e2e-abcdefgh", "pw-e2e-old-0000"):
        assert value not in r.out and value not in r.err
        assert value not in json.dumps(r.record)
    exported = {e["name"]: e["value"] for e in r.record["exportedEnvironmentVariables"]}
    assert exported == {"COPY": "[***]"}
    assert "Skipping exported variable TOKEN: secrets cannot be exported" in r.out


def test_store_keeps_no_plaintext_and_cli_reads_back(kiln, store):
    for f in store.rglob("*"):
        if f.is_file():
            assert TOKEN.encode() not in f.read_bytes(), f
    assert oct(store.stat().st_mode & 0o777) == "0o700"
    got = secret(kiln, store, "get-parameter", "/ci/token")
    assert got.stdout == TOKEN + "\n"
    got = secret(kiln, store, "get-secret", "db", "--version-stage", "AWSPREVIOUS")
    assert "pw-e2e-old-0000" in got.stdout
    listing = secret(kiln, store, "list").stdout
    assert "/ci/token" in listing and "db" in listing and TOKEN not in listing


def test_one_off_parameter_overrides_the_store(kiln, store):
    r = kiln.build("version: 0.2\nenv:\n  parameter-store:\n    T: /ci/token\nphases:\n"
                   "  build:\n    commands:\n      - test \"$T\" = one-off-value-1\n",
                   "--secrets-store", str(store), "--parameter", "/ci/token=one-off-value-1")
    assert r.status == "SUCCEEDED", r.out


def test_missing_parameter_fails_download_source(kiln, store):
    r = kiln.build("version: 0.2\nenv:\n  parameter-store:\n    T: /ci/none\nphases:\n"
                   "  build:\n    commands: [echo never]\n", "--secrets-store", str(store))
    assert r.status == "FAILED"
    assert r.phases()[:3] == ["SUBMITTED:SUCCEEDED", "QUEUED:SUCCEEDED", "PROVISIONING:SUCCEEDED"]
    assert r.context("DOWNLOAD_SOURCE") == ("Decrypted Variables Error",
                                            "parameter does not exist: /ci/none")
    assert "never" not in r.out.replace("echo never", "")


@pytest.mark.parametrize("ref,message", [
    ("nope", "ResourceNotFoundException: Secrets Manager can't find the specified secret."),
    ("db:nokey", "json key nokey not found in secret db"),
    ("db:::no-such-version",
     "ResourceNotFoundException: Secrets Manager can't find the specified secret value for "
     "VersionId: no-such-version"),
])
def test_secret_failures_give_exact_contexts(kiln, store, ref, message):
    r = kiln.build(f"version: 0.2\nenv:\n  secrets-manager:\n    S: \"{ref}\"\nphases:\n"
                   "  build:\n    commands: [echo never]\n", "--secrets-store", str(store))
    assert r.status == "FAILED"
    assert r.context("DOWNLOAD_SOURCE") == ("Secrets Manager Error", message)


def test_no_store_means_not_found(kiln):
    r = kiln.build("version: 0.2\nenv:\n  parameter-store:\n    T: /x/y\nphases:\n"
                   "  build:\n    commands: [echo never]\n",
                   "--secrets-store", str(kiln.tmp / "absent"))
    assert r.context("DOWNLOAD_SOURCE")[1].startswith("parameter does not exist: /x/y")
    assert not (kiln.tmp / "absent").exists()  # a lookup creates nothing


def test_access_key_ids_are_masked(kiln):
    r = kiln.build("version: 0.2\nphases:\n  build:\n    commands:\n"
                   "      - echo AKIAABCDEFGHIJKLMNOP and ASIAABCDEFGHIJKLMNOP\n")
    assert "\n*** and ***\n" in r.out, r.out


@pytest.mark.skipif(os.geteuid() != 0, reason="run-as needs root")
def test_run_as_runs_commands_as_that_user_with_read_access(kiln):
    r = kiln.build("version: 0.2\nrun-as: nobody\nphases:\n  install:\n    run-as: root\n"
                   "    commands: [id -un]\n  build:\n    commands:\n      - id -un\n"
                   "      - cat data.txt\n      - touch new.txt || echo cannot-write\n",
                   files={"data.txt": "readable\n"})
    assert r.status == "SUCCEEDED", r.out
    assert "\nroot\n" in r.out and "\nnobody\n" in r.out and "\nreadable\n" in r.out
    assert "cannot-write" in r.out


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to start kiln as another user")
def test_run_as_is_refused_when_kiln_is_not_root(kiln):
    # pytest's folders are private to root, so this run gets a folder "nobody" can use.
    top = pathlib.Path(tempfile.mkdtemp(prefix="kiln-runas-"))
    try:
        os.chmod(top, 0o777)
        (top / "buildspec.yml").write_text(
            "version: 0.2\nrun-as: root\nphases:\n  build:\n    commands: [id -un]\n")
        os.chmod(top / "buildspec.yml", 0o644)
        proc = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                               kiln.bin, "run", "-s", str(top), "-a", str(top / "a"),
                               "--no-color", "--json", str(top / "r.json")],
                              capture_output=True, text=True, timeout=60,
                              env={"PATH": "/usr/bin:/bin", "TMPDIR": str(top)})
        record = json.loads((top / "r.json").read_text())
        assert record["buildStatus"] == "FAILED", proc.stdout + proc.stderr
        ctx = [p for p in record["phases"] if p["phaseType"] == "BUILD"][0]["contexts"][0]
        assert "the process executor can switch users only when kiln runs as root" in \
            ctx["message"], ctx
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_lint_warns_about_values_too_short_to_mask(kiln, store):
    assert secret(kiln, store, "put-parameter", "/ci/short", "--value", "abc").returncode == 0
    p = kiln.project("version: 0.2\nenv:\n  parameter-store:\n    S: /ci/short\n"
                     "    T: /ci/token\nphases:\n  build:\n    commands: [echo]\n")
    r = kiln.cmd("lint", "--secrets-store", str(store), str(p / "buildspec.yml"))
    assert r.returncode == 0, r.stdout
    assert r.stdout.startswith(f"{p / 'buildspec.yml'}:4:8: warning: the value of S is shorter "
                               "than 8 characters, so build logs will not mask it\n"), r.stdout
    assert "value of T" not in r.stdout
    plain = kiln.cmd("lint", str(p / "buildspec.yml"))  # without a source: nothing fetched
    assert plain.stdout == ""


@pytest.mark.host_only  # host tools (git) or host pid files
def test_git_credential_helper_answers_from_source_credentials(kiln, store):
    token = "ghp_e2eToken0123456789"
    assert secret(kiln, store, "import-source-credential", "GITHUB",
                  value=token + "\n").returncode == 0
    r = kiln.build("version: 0.2\nenv:\n  git-credential-helper: yes\nphases:\n  build:\n"
                   "    commands:\n"
                   "      - printf 'protocol=https\\nhost=github.com\\n\\n' | git credential fill"
                   " > filled.txt\n"
                   "      - grep '^password=' filled.txt | cut -d= -f2- | tr -d '\\n' | sha256sum\n"
                   "      - cat filled.txt\n"
                   "      - env | grep -c ghp_ || true\n",
                   "--secrets-store", str(store))
    assert r.status == "SUCCEEDED", r.out
    assert hashlib.sha256(token.encode()).hexdigest() in r.out
    assert "password=***" in r.out and "username=x-access-token" in r.out
    assert token not in r.out
    assert "\n0\n" in r.out  # the token is in no environment variable


def test_git_credential_helper_without_credentials_is_harmless(kiln, tmp_path):
    r = kiln.build("version: 0.2\nenv:\n  git-credential-helper: yes\nphases:\n  build:\n"
                   "    commands: [echo built]\n", "--secrets-store", str(tmp_path / "none"))
    assert r.status == "SUCCEEDED", r.out
    assert "git-credential-helper: no source credentials are stored" in r.out
