"""Reports from bad input, end to end with `kiln run --reports-dir` (docs/reports.md
"Bad input: a clear error, nothing lost"): missing files, a format that does not match the file,
truncated XML, a 2 GB file, a symlink out of the source, invalid UTF-8, hostile XML (billion
laughs, external entities, network DTDs) and 10,000 report groups. In each case the build and
the good group beside the bad one finish; reports never change the build's status."""
import base64
import json
import re
import shutil
import socket
import stat
import sys
import time
import xml.etree.ElementTree as ET

import pytest

NO_AUTO = "env:\n  variables:\n    CODEBUILD_CONFIG_AUTO_DISCOVER: 'false'\n"

GOOD = ('<?xml version="1.0"?>\n<testsuite name="good" tests="2">\n'
        '<testcase classname="g" name="one" time="0.1"/>\n'
        '<testcase classname="g" name="two" time="0.2"/>\n</testsuite>\n')

COBERTURA = ('<?xml version="1.0" ?>\n<coverage lines-valid="2" lines-covered="1" line-rate="0.5" '
             'branches-valid="0" branches-covered="0" branch-rate="0" version="6.5.0">\n'
             '<packages><package name="."><classes><class name="a.py" filename="a.py" '
             'line-rate="0.5"><lines><line number="1" hits="1"/><line number="2" hits="0"/>'
             '</lines></class></classes></package></packages>\n</coverage>\n')

CUCUMBER = json.dumps([{"uri": "f.feature", "id": "f", "name": "feature", "keyword": "Feature",
                        "elements": [{"id": "f;s", "name": "scenario", "type": "scenario",
                                      "keyword": "Scenario",
                                      "steps": [{"name": "a step", "keyword": "Given ",
                                                 "result": {"status": "passed",
                                                            "duration": 1000}}]}]}])

# What a bad file may add to the peak RSS of the same `kiln run` with only the good report
# (measured first, with the same binary: a sanitizer build's own footprint is several times a
# release build's). Loading 2 GB, or expanding a billion laughs, is far above this.
RSS_MARGIN_KIB = 64 * 1024


def buildspec(groups, commands=("echo build",), env=NO_AUTO):
    """A buildspec with the given report groups ({name: yaml body lines}) and `good` first."""
    text = "version: 0.2\n" + env + "phases:\n"
    text += "  build:\n    commands:\n" + "".join("      - %s\n" % json.dumps(c)
                                                  for c in commands)
    text += "reports:\n  good:\n    files: [good.xml]\n"
    for name, body in groups.items():
        text += "  %s:\n%s" % (name, "".join("    %s\n" % line for line in body))
    return text


def load_reports(folder):
    """{report name: report file JSON}; each file must be valid UTF-8 and valid JSON."""
    out = {}
    if not folder.is_dir():
        return out
    for f in sorted(folder.glob("*.json")):
        data = json.loads(f.read_bytes().decode("utf-8"))  # strict: raises on bad UTF-8
        out[data["name"]] = data
    return out


def run(kiln, spec, files=None, binary=None, extra=(), env=None):
    project = kiln.project(spec, dict({"good.xml": GOOD}, **(files or {})))
    for rel, data in (binary or {}).items():
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_bytes(data)
    folder = kiln.tmp / ("reports%d" % (kiln.count + 1))
    r = kiln.run(project, "--reports-dir", str(folder), *extra, env=env)
    assert r.record is not None, r.out + r.err
    return r, load_reports(folder), folder


def everything(r, folder):
    """Every byte Kiln wrote about the build: its output, record and report files."""
    text = r.out + r.err + json.dumps(r.record)
    if folder.is_dir():
        for f in folder.rglob("*"):
            if f.is_file():
                text += f.read_bytes().decode("utf-8", "replace")
    return text


def assert_good_made(r, reports):
    assert r.status == "SUCCEEDED", r.out
    good = reports["proj-good"]
    assert good["status"] == "SUCCEEDED", good
    assert good["testSummary"]["total"] == 2
    assert sorted(c["name"] for c in good["testCases"]) == ["one", "two"]
    arns = r.record.get("reportArns", [])
    assert len(arns) == len(reports), (arns, list(reports))
    assert good["arn"] in arns


def log_line(r, *needles, pattern=None):
    """The first line of the build's output holding every needle (case-insensitive) and, when
    given, matching the regular expression `pattern`."""
    for line in (r.out + r.err).splitlines():
        if all(n.lower() in line.lower() for n in needles) and (
                pattern is None or re.search(pattern, line)):
            return line
    raise AssertionError("no line with %r %r in:\n%s" % (needles, pattern, r.out + r.err))


def rss_limit_kib(kiln, maxrss):
    """The peak RSS a bad file may reach: that of a run with only the good report, plus the
    margin. `maxrss` is measured()'s reader."""
    run(kiln, buildspec({}))
    return maxrss() + RSS_MARGIN_KIB


def measured(kiln):
    """Makes kiln.run go through a wrapper that records the peak RSS of `kiln run` and all its
    children (getrusage(RUSAGE_CHILDREN) of a process whose only child is kiln); returns a
    function that reads it in KiB."""
    out = kiln.tmp / "maxrss"
    wrapper = kiln.tmp / "kiln-measured"
    wrapper.write_text("#!%s\nimport resource, subprocess, sys\n"
                       "rc = subprocess.call([%r] + sys.argv[1:])\n"
                       "open(%r, 'w').write(str(resource.getrusage("
                       "resource.RUSAGE_CHILDREN).ru_maxrss))\n"
                       "sys.exit(rc)\n" % (sys.executable, kiln.bin, str(out)))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    kiln.bin = str(wrapper)
    return lambda: int(out.read_text())


# --- missing files ---

def test_missing_files_make_an_incomplete_report_and_a_log_line(kiln):
    r, reports, _ = run(kiln, buildspec({"missing": ["files: ['nope/*.xml']"]}))
    assert_good_made(r, reports)
    assert reports["proj-missing"]["status"] == "INCOMPLETE"
    assert reports["proj-missing"]["testSummary"]["total"] == 0
    log_line(r, "proj-missing",
             pattern=r"(?i)no (matching|files|report)|not found|matched no|no match")


# --- format mismatch ---

@pytest.mark.parametrize("content, declared", [
    (GOOD, "CUCUMBERJSON"),
    (COBERTURA, "JUNITXML"),
    (GOOD, "COBERTURAXML"),
    (CUCUMBER, "JUNITXML"),
    (GOOD, "NUNIT3XML"),
], ids=["junit-as-cucumber", "cobertura-as-junit", "junit-as-cobertura", "cucumber-as-junit",
        "junit-as-nunit3"])
def test_a_format_that_does_not_match_the_file(kiln, content, declared):
    r, reports, _ = run(kiln, buildspec({"wrong": ["files: [wrong.dat]",
                                                   "file-format: " + declared]}),
                        files={"wrong.dat": content})
    assert_good_made(r, reports)
    wrong = reports["proj-wrong"]
    assert wrong["status"] in ("INCOMPLETE", "FAILED"), wrong
    if "testSummary" in wrong:
        assert wrong["testSummary"]["total"] == 0, wrong
    if "codeCoverageSummary" in wrong:
        assert wrong["codeCoverageSummary"].get("linesCovered", 0) == 0, wrong
    log_line(r, "wrong.dat")


def test_an_unknown_format_is_incomplete(kiln):
    r, reports, _ = run(kiln, buildspec({"odd": ["files: [good.xml]", "file-format: NOSUCHXML"]}))
    assert r.status == "SUCCEEDED", r.out
    assert reports["proj-good"]["status"] == "SUCCEEDED"
    if "proj-odd" in reports:
        assert reports["proj-odd"]["status"] == "INCOMPLETE"
    log_line(r, "NOSUCHXML")


# --- truncated XML ---

def test_truncated_xml_names_the_file_and_the_line(kiln):
    lines = GOOD.splitlines(keepends=True)
    cut = "".join(lines[:3]) + lines[3][:20]  # ends inside the second <testcase
    r, reports, _ = run(kiln, buildspec({"cut": ["files: [trunc.xml]"]}),
                        files={"trunc.xml": cut})
    assert_good_made(r, reports)
    assert reports["proj-cut"]["status"] in ("INCOMPLETE", "FAILED")
    m = re.search(r"trunc\.xml:(\d+)", r.out + r.err)
    assert m, r.out
    assert 1 <= int(m.group(1)) <= 4, m.group(0)


# --- a 2 GB file ---

def test_a_2gb_file_is_refused_by_the_size_limit_in_bounded_memory(kiln):
    maxrss = measured(kiln)
    limit = rss_limit_kib(kiln, maxrss)
    # The build makes the file (sparse: no disk), so the source copy does not carry it.
    commands = ["printf '<?xml version=\"1.0\"?><testsuite name=\"huge\">' > huge.xml",
                "truncate -s 2G huge.xml"]
    project = kiln.project(buildspec({"huge": ["files: [huge.xml]"]}, commands=commands,
                                     env=""), {"good.xml": GOOD})
    folder = kiln.tmp / "reports-huge"
    start = time.monotonic()
    r = kiln.run(project, "--reports-dir", str(folder))
    took = time.monotonic() - start
    try:
        check_huge(r, folder, took, maxrss(), limit)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # pytest keeps the folders of recent runs


def check_huge(r, folder, took, maxrss_kib, limit_kib):
    reports = load_reports(folder)
    assert r.status == "SUCCEEDED", r.out
    assert reports["proj-good"]["status"] == "SUCCEEDED"
    assert reports["proj-huge"]["status"] in ("INCOMPLETE", "FAILED")
    log_line(r, "huge.xml", pattern=r"(?i)size|large|limit|bytes")
    assert took < 30, "took %.1fs" % took
    assert maxrss_kib < limit_kib, "peak RSS %d KiB, limit %d KiB" % (maxrss_kib, limit_kib)
    # A refused file is not kept for export either: nothing near its size was written.
    written = sum(f.stat().st_blocks * 512 for f in folder.rglob("*") if f.is_file())
    assert written < 16 << 20, "the reports folder holds %d bytes" % written


# --- a symlink out of the source ---

LEAK = "LEAKED-CANARY-73c1"


def test_a_report_file_that_is_a_symlink_out_of_the_source_is_refused(kiln):
    leak = ('<testsuite name="%s"><testcase classname="%s" name="%s"/></testsuite>'
            % (LEAK, LEAK, LEAK))
    encoded = base64.b64encode(leak.encode()).decode()
    # The build writes the target beside its source folder and links to it, so that every
    # executor sees the same thing; the canary is written encoded, so the log never holds it in clear.
    outside = "$CODEBUILD_SRC_DIR/../rep-outside"
    commands = ["mkdir -p %s reports" % outside,
                "echo %s | base64 -d > %s/leak.xml" % (encoded, outside),
                "ln -sf %s/leak.xml reports/evil.xml" % outside,
                "ln -sfn %s reports/linkdir" % outside,
                "ln -sf /etc/passwd reports/passwd.xml"]
    r, reports, folder = run(kiln, buildspec({"evil": ["files: [reports/evil.xml]"],
                                              "evildir": ["files: ['reports/linkdir/*.xml']"],
                                              "passwd": ["files: [reports/passwd.xml]"]},
                                             commands=commands),
                             extra=("--junit-out", str(kiln.tmp / "merged.xml")))
    assert_good_made(r, reports)
    for name in ("proj-evil", "proj-evildir", "proj-passwd"):
        assert reports[name]["status"] == "INCOMPLETE", reports[name]
        assert reports[name]["testSummary"]["total"] == 0
    text = everything(r, folder) + (kiln.tmp / "merged.xml").read_text(errors="replace")
    assert LEAK not in text
    assert "root:x:0:0" not in text
    for name in ("evil.xml", "linkdir", "passwd.xml"):
        log_line(r, name, pattern=r"(?i)symbolic link|symlink|outside")


# --- invalid UTF-8 ---

BAD_UTF8_JUNIT = (b'<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="s">\n'
                  b'<testcase classname="c" name="before"/>\n'
                  b'<testcase classname="c" name="bad \xff\xfe name">'
                  b'<failure message="msg \xc3\x28 end">body \x80</failure></testcase>\n'
                  b'<testcase classname="c" name="after"/>\n</testsuite>\n')

BAD_UTF8_CUCUMBER = CUCUMBER.replace('"name": "scenario"', '"name": "scen \udcff"').encode(
    "utf-8", "surrogateescape")


@pytest.mark.parametrize("content, declared, first_case", [
    (BAD_UTF8_JUNIT, "JUNITXML", "before"),
    (BAD_UTF8_CUCUMBER, "CUCUMBERJSON", None),
], ids=["junit", "cucumber"])
def test_invalid_utf8_is_stored_as_valid_json(kiln, content, declared, first_case):
    merged = kiln.tmp / "merged.xml"
    try:
        r, reports, _ = run(kiln, buildspec({"utf": ["files: [bad.dat]",
                                                     "file-format: " + declared]}),
                            binary={"bad.dat": content}, extra=("--junit-out", str(merged)))
    except UnicodeDecodeError as e:
        pytest.fail("kiln run's output is not valid UTF-8: %s" % e)
    assert_good_made(r, reports)  # load_reports decoded every file strictly
    utf = reports["proj-utf"]
    assert utf["status"] in ("SUCCEEDED", "FAILED", "INCOMPLETE")
    names = [c["name"] for c in utf["testCases"]]
    if first_case and utf["status"] != "INCOMPLETE":
        assert first_case in names, utf
    for case in utf["testCases"]:
        json.dumps(case, ensure_ascii=False).encode("utf-8")  # no lone surrogates
    if utf["status"] == "INCOMPLETE":
        log_line(r, "bad.dat")
    ET.parse(merged)  # the merged JUnit file is still well-formed XML


# --- hostile XML ---

LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
          + "".join('<!ENTITY lol%d "%s">\n' % (i, ("&lol%d;" % (i - 1) if i > 1 else "&lol;") * 10)
                    for i in range(1, 10))
          + ']>\n<testsuite name="&lol9;"><testcase classname="c" name="&lol9;">'
          '<failure message="&lol9;">&lol9;</failure></testcase></testsuite>\n')

XXE = ('<?xml version="1.0"?>\n<!DOCTYPE testsuite [\n'
       '<!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'
       '<testsuite name="&xxe;"><testcase classname="c" name="x&xxe;">'
       '<failure message="&xxe;">&xxe;</failure></testcase></testsuite>\n')


def network_xml(port):
    return ('<?xml version="1.0"?>\n'
            '<!DOCTYPE testsuite SYSTEM "http://127.0.0.1:%d/evil.dtd" [\n'
            '<!ENTITY net SYSTEM "http://127.0.0.1:%d/entity">\n'
            '<!ENTITY %% param SYSTEM "http://127.0.0.1:%d/param">\n%%param;\n]>\n'
            '<testsuite name="n"><testcase classname="c" name="&net;"/></testsuite>\n'
            % (port, port, port))


def test_billion_laughs_is_not_expanded(kiln):
    maxrss = measured(kiln)
    limit = rss_limit_kib(kiln, maxrss)
    start = time.monotonic()
    r, reports, folder = run(kiln, buildspec({"laughs": ["files: [laughs.xml]"]}),
                             files={"laughs.xml": LAUGHS})
    assert time.monotonic() - start < 30
    assert_good_made(r, reports)
    assert "proj-laughs" in reports
    assert "lollollol" not in everything(r, folder)
    assert maxrss() < limit, "peak RSS %d KiB, limit %d KiB" % (maxrss(), limit)


def test_external_entities_are_not_read(kiln):
    r, reports, folder = run(kiln, buildspec({"xxe": ["files: [xxe.xml]"]}),
                             files={"xxe.xml": XXE})
    assert_good_made(r, reports)
    assert "proj-xxe" in reports
    text = everything(r, folder)
    with open("/etc/passwd") as f:
        first = f.readline().strip()
    assert first and first not in text
    assert "root:x:0:0" not in text


def test_no_network_for_dtds_or_entities(kiln):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        r, reports, _ = run(kiln, buildspec({"net": ["files: [net.xml]"]}),
                            files={"net.xml": network_xml(port)})
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            conn, _ = listener.accept()
            conn.close()
    assert_good_made(r, reports)
    assert "proj-net" in reports


# --- 10,000 report groups ---

def test_ten_thousand_groups_make_five_reports_and_say_so(kiln):
    groups = "".join("  g%05d: {files: [good.xml]}\n" % i for i in range(10000))
    spec = "version: 0.2\n%sphases:\n  build:\n    commands: [echo]\nreports:\n%s" % (NO_AUTO,
                                                                                    groups)
    folder = kiln.tmp / "reports-many"
    start = time.monotonic()
    r = kiln.run(kiln.project(spec, {"good.xml": GOOD}), "--reports-dir", str(folder))
    took = time.monotonic() - start
    assert r.status == "SUCCEEDED", r.out[-2000:]
    reports = load_reports(folder)
    assert sorted(reports) == ["proj-g%05d" % i for i in range(5)]
    for rep in reports.values():
        assert rep["status"] == "SUCCEEDED" and rep["testSummary"]["total"] == 2
    assert len(r.record.get("reportArns", [])) == 5
    log_line(r, pattern=r"9,?995")  # says how many groups were left out
    assert took < 60, "took %.1fs" % took


# --- when reports are made (the jump to FINALIZING: test_reports_run.py) ---

def test_a_failed_build_phase_still_makes_reports(kiln):
    r, reports, _ = run(kiln, buildspec({}, commands=["false"]))
    assert r.status == "FAILED"
    assert reports["proj-good"]["status"] == "SUCCEEDED"
    assert r.record["reportArns"] == [reports["proj-good"]["arn"]]
