#!/usr/bin/env python3
"""What reports add to a build (issue #16): a `kiln run` whose build writes a 5,000-case JUnit
report (2% of the cases failing, with messages) and declares it in `reports`, against the same
build, writing the same file, with no `reports` section. Both turn auto-discover off
(CODEBUILD_CONFIG_AUTO_DISCOVER=false), so the baseline parses nothing; a third variant keeps the
`reports` section with auto-discover on, to show what discovery adds. Every run writes its
report files (--reports-dir, as the server's worker does) and the record (--json) to /dev/shm.
The variants take turns, in an order that alternates every round, in the same run.

Two builds:
  cp      the build copies a pre-generated report into place: as short as a build can be, so
          the ratio is the worst case (the added time is nearly all parsing and writing);
  pytest  the build runs 5,000 real tests (Debian's /usr/bin/python3 -m pytest --junitxml), the
          kind of build that makes a 5,000-case report.

Budget: the added time at most 5% of the same build without reports.

    KILN_BIN=build/release/kiln RUNS=40 PYTEST_RUNS=10 python3 bench/report_build.py
"""
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
KILN = os.path.abspath(os.environ.get("KILN_BIN", str(ROOT / "build" / "release" / "kiln")))
RUNS = int(os.environ.get("RUNS", "40"))
WARMUP = int(os.environ.get("WARMUP", "3"))
CASES = int(os.environ.get("CASES", "5000"))
BUDGET = 0.05

NO_AUTO = "env:\n  variables:\n    CODEBUILD_CONFIG_AUTO_DISCOVER: 'false'\n"
PHASES = "phases:\n  build:\n    commands:\n      - mkdir -p out && cp data/junit.dat out/junit.xml\n"
PYTEST_PHASES = ("phases:\n  build:\n    commands:\n      - /usr/bin/python3 -m pytest -q -p "
                 "no:cacheprovider --junitxml=out/junit.xml tests > /dev/null || true\n")
PYTEST_RUNS = int(os.environ.get("PYTEST_RUNS", "10"))
TESTS = f"""import pytest


@pytest.mark.parametrize("i", range({CASES}))
def test_case(i):
    assert i % 50 != 7, f"expected {{i}} but was {{i + 1}}"
"""
GROUP = "reports:\n  unit:\n    files: [out/junit.xml]\n"


def junit(cases):
    """A JUnit file as Maven Surefire or pytest write them: suites of 100 cases."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n']
    for s in range(0, cases, 100):
        n = min(100, cases - s)
        out.append(f'  <testsuite name="com.example.Suite{s // 100}" tests="{n}" time="1.5">\n')
        for i in range(s, s + n):
            cls = f"com.example.Suite{s // 100}"
            if i % 50 == 7:
                out.append(f'    <testcase classname="{cls}" name="test_{i}" time="0.012">\n'
                           f'      <failure message="expected {i} but was {i + 1}" '
                           f'type="AssertionError">at {cls}.test_{i}(Suite.java:{i})\n'
                           f'at org.junit.Assert.fail(Assert.java:88)</failure>\n'
                           f'    </testcase>\n')
            else:
                out.append(f'    <testcase classname="{cls}" name="test_{i}" time="0.003"/>\n')
        out.append("  </testsuite>\n")
    out.append("</testsuites>\n")
    return "".join(out)


def project(base, name, buildspec, data):
    d = base / name
    (d / "data").mkdir(parents=True)
    (d / "tests").mkdir()
    (d / "buildspec.yml").write_text(buildspec)
    # .dat: not a name auto-discover looks at, so only out/junit.xml can be found.
    (d / "data" / "junit.dat").write_text(data)
    (d / "tests" / "test_many.py").write_text(TESTS)
    return d


def run(src, shm, tag):
    out = shm / f"{tag}-out"
    if out.exists():
        shutil.rmtree(out)
    cmd = [KILN, "run", "-s", str(src), "-a", str(out / "artifacts"), "--no-color",
           "--json", str(out / "record.json"), "--reports-dir", str(out / "reports")]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"{tag}: kiln run failed:\n{p.stdout[-3000:]}")
    return elapsed, p.stdout


def measure(title, variants, shm, runs):
    times = {k: [] for k in variants}
    order = list(variants)
    for i in range(WARMUP + runs):
        for k in (order if i % 2 == 0 else list(reversed(order))):
            t, _ = run(variants[k], shm, k)
            if i >= WARMUP:
                times[k].append(t)
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    p10 = {k: sorted(v)[len(v) // 10] * 1000 for k, v in times.items()}
    print(f"\n{title}")
    for k in variants:
        print(f"  {k:14s} median {med[k]:9.2f} ms   p10 {p10[k]:9.2f} ms   ({runs} runs)")
    added = med["with"] - med["without"]
    ratio = added / med["without"]
    added_d = med["with+discover"] - med["without"]
    print(f"  added by the report: {added:+.2f} ms = {ratio * 100:+.2f}% "
          f"(budget {BUDGET * 100:.0f}%: {'met' if ratio <= BUDGET else 'NOT met'})")
    print(f"  added with auto-discover on as well: {added_d:+.2f} ms = "
          f"{added_d / med['without'] * 100:+.2f}%")


def main():
    if not os.access(KILN, os.X_OK):
        sys.exit(f"no kiln binary at {KILN}; set KILN_BIN")
    data = junit(CASES)
    shm = pathlib.Path(tempfile.mkdtemp(prefix="kiln-report-bench-", dir="/dev/shm"))
    base = pathlib.Path(tempfile.mkdtemp(prefix="kiln-report-bench-src-"))
    try:
        for build, phases, runs in (("cp", PHASES, RUNS), ("pytest", PYTEST_PHASES, PYTEST_RUNS)):
            if runs == 0:
                continue
            variants = {
                "without": project(base / build, "without", "version: 0.2\n" + NO_AUTO + phases,
                                   data),
                "with": project(base / build, "with", "version: 0.2\n" + NO_AUTO + phases + GROUP,
                                data),
                "with+discover": project(base / build, "discover",
                                         "version: 0.2\n" + phases + GROUP, data),
            }
            _, out = run(variants["with"], shm, "check")
            if "Report with-unit:" not in out:
                sys.exit("the report was not made:\n" + out[-3000:])
            line = next(l for l in out.splitlines() if "Report with-unit:" in l)
            measure(f"{build} build ({len(data) / 1e6:.2f} MB file): {line.split(' ', 3)[3]}",
                    variants, shm, runs)
    finally:
        shutil.rmtree(shm, ignore_errors=True)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
