"""`kiln lint` and `kiln run` over tests/corpus/buildspecs, the public buildspecs of
tests/corpus/buildspecs/README.md: CodeBuild's verdict for each file. The evidence
for each reject is written down in tests/unit/spec/real_corpus_test.cpp, which checks the same
verdicts through the library; this checks the binary."""
import shutil

from conftest import ROOT

CORPUS = ROOT / "tests" / "corpus" / "buildspecs"

# File -> the first error `kiln lint` prints for it: the one CodeBuild stops at, and where.
REJECTS = {
    "022-aws-sagemaker-chainer-container-pr-broken.yml":
        "24:9: error: Expected Commands[4] to be of string type: found subkeys instead",
    "026-ets-berkeley-edu-suitec-v01-colon-broken.yml":
        "18:9: error: Expected Commands[0] to be of string type: found subkeys instead",
    "035-aws-samples-aws-serverless-samfarm-v00-containers.yml":
        "1:10: error: invalid buildspec `version` specified: 0.0, see documentation",
    "044-ABRGI-nelson-short-links-service-hyphen-phases.yml":
        "7:3: error: Invalid buildspec phase name: pre-build.",
    "054-2025-softbank-hackathon-backend-merge-conflict.yml":
        "42:1: error: could not find expected ':'",
    "064-nukoinu-test-win-batch-on-aws-re-phases-env.yml":
        "7:3: error: Invalid buildspec phase name: env.",
}


def corpus_files():
    return sorted(p.name for p in CORPUS.iterdir() if p.suffix in (".yml", ".yaml"))


def diagnostics(output):
    """{file: ["LINE:COL: severity: message", ...]} from `kiln lint`'s output."""
    out = {}
    for line in output.splitlines():
        name, sep, rest = line.partition(":")
        if sep and name.endswith((".yml", ".yaml")) and rest[:1].isdigit():
            out.setdefault(name, []).append(rest)
    return out


def test_lint_gives_codebuilds_verdict_for_every_corpus_file(kiln):
    files = corpus_files()
    assert len(files) == 67
    r = kiln.cmd("lint", *files, cwd=CORPUS)
    assert r.returncode == 1, r.stderr
    found = diagnostics(r.stdout)
    rejected = {f for f, ds in found.items() if any(": error: " in d for d in ds)}
    assert rejected == set(REJECTS)
    for name, first in REJECTS.items():
        first_error = next(d for d in found[name] if ": error: " in d)
        assert first_error.startswith(first), (name, first_error)
    # Every diagnostic names FILE:LINE:COL.
    headers = [line for line in r.stdout.splitlines() if ": error: " in line or ": warning: " in line]
    assert len(headers) == sum(len(ds) for ds in found.values())

    accepted = [f for f in files if f not in REJECTS]
    ok = kiln.cmd("lint", *accepted, cwd=CORPUS)
    assert ok.returncode == 0, ok.stdout
    # Phases with only `finally` (020, 045) or an emptied `commands:` (041) run silently in
    # CodeBuild; only 053, whose build phase has GitHub Actions' `steps:`, is worth a word.
    no_commands = {f for f, ds in diagnostics(ok.stdout).items()
                   if any("has no commands" in d for d in ds)}
    assert no_commands == {"053-96browng-liquibase-poc-gha-steps.yml"}


def test_run_runs_a_batch_only_buildspec_as_a_batch(kiln):
    # tests/corpus/buildspecs/004: only `batch`, every task with its own buildspec. Run as one
    # build it used to "succeed" after running nothing; `kiln run` now runs it as the batch it is
    # (docs/batch.md). The tasks' buildspecs are not in this tree, so each member fails its
    # DOWNLOAD_SOURCE, and so does the batch. The process executor: under a container executor
    # each member's curated image (aws/codebuild/...) maps to kiln/docker, which a fresh machine
    # first builds from Debian's packages (minutes), and this test is about the batch.
    p = kiln.project()
    shutil.copy(CORPUS / "004-aws-s2n-tls-generalbatch.yml", p / "buildspec.yml")
    r = kiln.run(p, "--parallel", "4", "--executor", "process")
    assert r.code == 1
    j = r.record
    assert j["buildBatchStatus"] == "FAILED"
    groups = j["buildGroups"]
    assert groups[0]["identifier"] == "DOWNLOAD_SOURCE"
    assert len(groups) == 1 + CORPUS.joinpath("004-aws-s2n-tls-generalbatch.yml").read_text() \
        .count("identifier:")
    members = [b for b in j["builds"] if b["id"] != groups[0].get("currentBuildSummary", {})
               .get("arn", "").split("build/")[-1]]
    assert members and all(b["buildStatus"] == "FAILED" for b in members)
    assert all(b["buildBatchArn"] == j["arn"] for b in j["builds"])



def test_run_stops_a_merge_conflict_where_codebuild_does(kiln):
    p = kiln.project()
    shutil.copy(CORPUS / "054-2025-softbank-hackathon-backend-merge-conflict.yml",
                p / "buildspec.yml")
    r = kiln.run(p)
    assert r.code != 0
    assert r.context("DOWNLOAD_SOURCE") == ("YAML_FILE_ERROR",
                                            "could not find expected ':' at line 46")


def test_run_reads_a_single_string_as_one_command(kiln):
    # The shape of tests/corpus/buildspecs/049 (`commands: npm install jsonlint -g`).
    r = kiln.build("version: 0.1\nphases:\n  install:\n    commands:\n      echo scalar-ran\n"
                   "  build:\n    commands:\n      - echo listed\n")
    assert r.code == 0, r.out + r.err
    assert "scalar-ran" in r.out
