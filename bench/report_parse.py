#!/usr/bin/env python3
"""Test-report parsing (docs/reports.md): a JUnit XML file of 100,000 test cases (about 50 MB),
parsed by Kiln's JUNITXML parser (bench/report_parse_bench.cpp: parse_test_file into a
TestCollector, as a build's report does) and by `xmllint --stream --noout` (libxml2-utils: the
same libxml2 reader, doing nothing with what it reads), alternately, in the same run.
Budget: Kiln at most 2.0x xmllint's median time, and Kiln's peak RSS under 64 MiB.

The file looks like a large Surefire/pytest report: 200 suites of 500 cases, classnames and
names of realistic length, times, 5% failures with a message and a 30-line stack trace, 1%
errors, 2% skipped, and 22% with 12 lines of captured system-out.

  BENCH=build/rcov-release/report_parse_bench RUNS=7 python3 bench/report_parse.py
"""
import os
import pathlib
import random
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
BENCH = os.path.abspath(
    os.environ.get("BENCH", str(ROOT / "build" / "release" / "report_parse_bench")))
CASES = int(os.environ.get("CASES", "100000"))
RUNS = int(os.environ.get("RUNS", "7"))
SUITE_SIZE = 500


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def write_report(path, cases):
    rng = random.Random(16)
    words = ["Order", "Invoice", "Customer", "Payment", "Ledger", "Shipment", "Catalog", "Cart",
             "Session", "Token", "Report", "Schedule", "Inventory", "Account", "Gateway"]
    verbs = ["creates", "rejects", "updates", "deletes", "lists", "validates", "renders",
             "computes", "merges", "retries"]
    failures = 0
    with open(path, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="all">\n')
        n = 0
        suite = 0
        while n < cases:
            count = min(SUITE_SIZE, cases - n)
            pkg = f"com.example.{rng.choice(words).lower()}.service{suite % 17}"
            cls = f"{pkg}.{rng.choice(words)}{rng.choice(words)}ServiceTest"
            f.write(f'  <testsuite name="{cls}" tests="{count}" time="{count * 0.05:.3f}" '
                    f'timestamp="2026-12-07T14:00:00" hostname="build-host">\n')
            f.write('    <properties><property name="java.version" value="17.0.15"/>'
                    '</properties>\n')
            for i in range(count):
                name = (f"test{rng.choice(verbs).capitalize()}{rng.choice(words)}When"
                        f"{rng.choice(words)}Is{rng.choice(['Empty', 'Missing', 'Stale', 'Valid'])}_{i}")
                t = rng.random() * 0.2
                r = rng.random()
                head = f'    <testcase name="{name}" classname="{cls}" time="{t:.4f}"'
                if r < 0.05:
                    failures += 1
                    msg = (f"expected:&lt;{rng.randint(0, 999)}&gt; but was:&lt;"
                           f"{rng.randint(0, 999)}&gt; for {rng.choice(words)} #{i}")
                    trace = "".join(
                        f"\tat {pkg}.{rng.choice(words)}.{rng.choice(verbs)}"
                        f"({rng.choice(words)}.java:{rng.randint(10, 900)})\n" for _ in range(30))
                    f.write(f'{head}>\n      <failure message="{msg}" '
                            f'type="org.opentest4j.AssertionFailedError">'
                            f'org.opentest4j.AssertionFailedError: {msg}\n{trace}</failure>\n'
                            f'    </testcase>\n')
                elif r < 0.06:
                    f.write(f'{head}>\n      <error message="Connection refused" '
                            f'type="java.net.ConnectException"><![CDATA[java.net.ConnectException:'
                            f' Connection refused\n\tat java.base/sun.nio.ch.Net.connect0(Native '
                            f'Method)\n]]></error>\n    </testcase>\n')
                elif r < 0.08:
                    f.write(f'{head}>\n      <skipped message="disabled on CI"/>\n    </testcase>\n')
                elif r < 0.30:
                    log = "".join(f"14:00:{j:02d}.{rng.randint(0, 999):03d} INFO  [main] "
                                  f"{rng.choice(words)}Service - request {j} served in "
                                  f"{rng.randint(1, 90)} ms\n" for j in range(12))
                    f.write(f'{head}>\n      <system-out><![CDATA[{esc(name)} started\n{log}'
                            f']]></system-out>\n    </testcase>\n')
                else:
                    f.write(f'{head}/>\n')
            f.write('  </testsuite>\n')
            n += count
            suite += 1
        f.write('</testsuites>\n')
    return failures


def timed(cmd):
    """Wall time, CPU time (user + system) and peak RSS in KiB of the child (wait4's rusage).
    The CPU time is steadier than the wall time on a machine others are loading."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t
    out = proc.stdout.read().decode()
    err = proc.stderr.read().decode()
    proc.stdout.close()
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({proc.returncode}): {err.strip()}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, out


def main():
    if not os.access(BENCH, os.X_OK):
        sys.exit(f"no {BENCH}: cmake -DCMAKE_BUILD_TYPE=Release and ninja report_parse_bench, "
                 "or set BENCH")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "junit-100k.xml")
        failures = write_report(path, CASES)
        size = os.path.getsize(path)
        kiln_t, lint_t, kiln_cpu, lint_cpu, kiln_rss, lint_rss = [], [], [], [], [], []
        out = ""
        for i in range(RUNS):
            # Alternate which goes first, so the page cache and the machine's drift hit both.
            order = ["kiln", "xmllint"] if i % 2 == 0 else ["xmllint", "kiln"]
            for who in order:
                if who == "kiln":
                    t, cpu, rss, out = timed([BENCH, path])
                    kiln_t.append(t)
                    kiln_cpu.append(cpu)
                    kiln_rss.append(rss)
                else:
                    t, cpu, rss, _ = timed(["xmllint", "--stream", "--noout", path])
                    lint_t.append(t)
                    lint_cpu.append(cpu)
                    lint_rss.append(rss)
    expect = f"cases {CASES} failed {failures} kept 500 truncated 1"
    if not out.startswith(expect):
        sys.exit(f"report_parse_bench found `{out.strip()}`, expected `{expect} ...`")
    k, x = statistics.median(kiln_t), statistics.median(lint_t)
    rss = max(kiln_rss) / 1024
    print(f"report_parse: {CASES} cases, {size / 1e6:.1f} MB, median of {RUNS} alternated runs")
    print(f"  kiln JUNITXML      {k:7.3f} s  {size / 1e6 / k:7.1f} MB/s  peak RSS {rss:6.1f} MiB")
    print(f"  xmllint --stream   {x:7.3f} s  {size / 1e6 / x:7.1f} MB/s  peak RSS "
          f"{max(lint_rss) / 1024:6.1f} MiB")
    kc, xc = statistics.median(kiln_cpu), statistics.median(lint_cpu)
    print(f"  ratio              {k / x:.2f}x xmllint's time (budget <= 2.0)")
    print(f"  CPU time           kiln {kc:.3f} s, xmllint {xc:.3f} s: {kc / xc:.2f}x")
    print(f"  kiln peak RSS      {rss:.1f} MiB (budget < 64)")
    print(f"  kiln runs: {' '.join(f'{v:.3f}' for v in kiln_t)}")
    print(f"  xmllint runs: {' '.join(f'{v:.3f}' for v in lint_t)}")
    ok = k / x <= 2.0 and rss < 64
    print("  budget met" if ok else "  BUDGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
