// The coverage parsers on hand-written files, one edge case each: which elements count, what
// falls back to summary attributes, and the errors a wrong or broken file gets
// (src/reports/{clover,cobertura,jacoco,simplecov}.cpp, docs/reports.md "Coverage").
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "report_files.h"
#include "reports/parsers.h"

namespace kiln::testing {
namespace {

using reports::Coverage;
using reports::FileCoverage;
using reports::Format;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// covered/missed lines, covered/missed branches
Coverage c(std::int64_t lc, std::int64_t lm, std::int64_t bc, std::int64_t bm) {
  return Coverage{lc, lm, bc, bm};
}

std::vector<FileCoverage> ok(Format f, const std::string& text) {
  auto r = parse_coverage_text(f, text);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message());
  return r ? *r : std::vector<FileCoverage>{};
}

std::string error_of(Format f, const std::string& text) {
  auto r = parse_coverage_text(f, text);
  EXPECT_FALSE(r.has_value());
  return r ? "" : r.error().message();
}

// ---- Cobertura ----

TEST(CoberturaTest, CountsClassLinesOnceNotTheirMethodCopies) {
  const auto files = ok(Format::kCoberturaXml, R"x(<?xml version="1.0" ?>
<coverage line-rate="0.5" branch-rate="0.5" lines-covered="99" lines-valid="99">
  <packages><package name="p"><classes>
    <class name="A" filename="src/a.py">
      <methods><method name="f" signature=""><lines>
        <line number="1" hits="1" branch="true" condition-coverage="50% (1/2)"/>
      </lines></method></methods>
      <lines>
        <line number="1" hits="1" branch="true" condition-coverage="50% (1/2)"/>
        <line number="2" hits="0"/>
        <line number="3" hits="12"/>
      </lines>
    </class>
  </classes></package></packages>
</coverage>)x");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].file_path, "src/a.py");
  EXPECT_EQ(files[0].counts, c(2, 1, 1, 1));  // not the header's 99
}

TEST(CoberturaTest, ClassesOfOneFileMergeInFirstSeenOrder) {
  const auto files = ok(Format::kCoberturaXml, R"x(<coverage><packages><package><classes>
    <class name="Z" filename="z.cs"><lines><line number="1" hits="1"/></lines></class>
    <class name="A" filename="a.cs"><lines><line number="1" hits="0"/></lines></class>
    <class name="Z+Inner" filename="z.cs"><lines>
      <line number="7" hits="0" branch="true" condition-coverage="0% (0/4)"/>
    </lines></class>
  </classes></package></packages></coverage>)x");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].file_path, "z.cs");
  EXPECT_EQ(files[0].counts, c(1, 1, 0, 4));
  EXPECT_EQ(files[1].file_path, "a.cs");
  EXPECT_EQ(files[1].counts, c(0, 1, 0, 0));
}

TEST(CoberturaTest, NoBranchAttributesMeansNoBranches) {
  // simplecov-cobertura writes no branch-rate, branches-* or condition-coverage at all.
  const auto files = ok(Format::kCoberturaXml,
                        "\xEF\xBB\xBF<?xml version=\"1.0\"?>\r\n"
                        "<coverage line-rate=\"0.40380000000000005\">"
                        "<packages><package name=\"\"><classes>\r\n"
                        "<class filename=\"lib/x.rb\"><lines>"
                        "<line number=\"1\" hits=\"2.0\"/>"
                        "<line number=\"2\" branch=\"true\"/>"
                        "</lines></class></classes></package>"
                        "</packages></coverage>\r\n");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].counts, c(1, 1, 0, 0));  // a line without hits is a missed line
}

TEST(CoberturaTest, ClassWithoutFilenameUsesItsName) {
  const auto files = ok(Format::kCoberturaXml,
                        R"x(<coverage><packages><package><classes><class name="Foo">
<lines><line number="3" hits="1"/></lines></class></classes></package></packages></coverage>)x");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].file_path, "Foo");
}

TEST(CoberturaTest, EmptyPackagesIsAnEmptyReport) {
  EXPECT_TRUE(ok(Format::kCoberturaXml, "<coverage><packages/></coverage>").empty());
}

TEST(CoberturaTest, BadConditionCoverageNamesTheLine) {
  const auto msg = error_of(Format::kCoberturaXml, R"x(<coverage><packages><package><classes>
<class filename="a.py"><lines>
<line number="1" hits="1" branch="true" condition-coverage="3 of 2"/>
</lines></class></classes></package></packages></coverage>)x");
  EXPECT_THAT(msg, StartsWith("cov.xml:3:"));
  EXPECT_THAT(msg, HasSubstr("condition-coverage=\"3 of 2\" is not"));
}

TEST(CoberturaTest, CoveredPastTheTotalIsAnError) {
  EXPECT_THAT(error_of(Format::kCoberturaXml,
                       R"x(<coverage><packages><package><classes><class filename="a"><lines>
<line number="1" hits="1" condition-coverage="100% (3/2)"/></lines></class></classes></package>
</packages></coverage>)x"),
              HasSubstr("condition-coverage"));
}

TEST(CoberturaTest, HitsThatAreNotACountAreAnError) {
  const auto msg = error_of(Format::kCoberturaXml, R"x(<coverage><packages><package><classes>
<class filename="a.py"><lines><line number="1" hits="-1"/></lines></class></classes></package>
</packages></coverage>)x");
  EXPECT_THAT(msg, StartsWith("cov.xml:2:"));
  EXPECT_THAT(msg, HasSubstr("attribute hits=\"-1\" is not a count"));
}

TEST(CoberturaTest, OtherRootsAreRefused) {
  EXPECT_THAT(error_of(Format::kCoberturaXml, "<report name=\"x\"/>"),
              HasSubstr("the root element is <report>, not <coverage>: not a Cobertura XML file"));
  EXPECT_THAT(error_of(Format::kCoberturaXml,
                       "<coverage clover=\"3\"><project><metrics/></project></coverage>"),
              HasSubstr("Clover's layout"));
  EXPECT_THAT(error_of(Format::kCoberturaXml, "<coverage line-rate=\"1\"/>"),
              HasSubstr("no <packages> element"));
}

TEST(CoberturaTest, TruncatedXmlIsAnError) {
  EXPECT_THAT(error_of(Format::kCoberturaXml,
                       "<coverage><packages><package><classes><class filename=\"a\">"),
              StartsWith("cov.xml:"));
}

// ---- Clover ----

TEST(CloverTest, StatementsAreLinesAndConditionalsTwoBranches) {
  const auto files = ok(Format::kCloverXml, R"x(<coverage generated="1" clover="4.4.1">
  <project timestamp="1"><metrics statements="99" coveredstatements="99"/>
    <package name="p">
      <file name="A.java" path="/src/p/A.java">
        <class name="A"><metrics statements="5"/></class>
        <metrics statements="50" coveredstatements="50" conditionals="50" coveredconditionals="0"/>
        <line num="3" type="method" count="1"/>
        <line num="4" type="stmt" count="1"/>
        <line num="5" type="cond" truecount="2" falsecount="0"/>
        <line num="6" type="stmt" count="0"/>
        <line num="7" type="cond" truecount="0" falsecount="0"/>
      </file>
    </package>
  </project>
</coverage>)x");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].file_path, "/src/p/A.java");  // path wins over name
  EXPECT_EQ(files[0].counts, c(1, 1, 1, 3));
}

TEST(CloverTest, RepeatedLineElementsEachCount) {
  // gcovr writes a line once per block; its metrics count each element.
  const auto files = ok(Format::kCloverXml, R"x(<coverage clover="1768334355"><project>
<file name="m.cpp" path="m.cpp">
<line num="10" type="stmt" count="0"/><line num="10" type="stmt" count="3"/>
</file></project></coverage>)x");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].counts, c(1, 1, 0, 0));
}

TEST(CloverTest, FileWithoutLinesTakesItsMetrics) {
  const auto files = ok(Format::kCloverXml, R"x(<coverage><project>
<file name="/abs/B.php">
  <metrics statements="10" coveredstatements="7" conditionals="4" coveredconditionals="1"/>
</file>
<file name="/abs/C.php">
  <metrics statements="10" coveredstatements="7" conditionals="4" coveredconditionals="1"/>
  <line num="1" type="stmt" count="1"/>
</file></project></coverage>)x");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].file_path, "/abs/B.php");  // PHPUnit: no path attribute
  EXPECT_EQ(files[0].counts, c(7, 3, 1, 3));
  // Lines from the one stmt element; no cond elements, so branches from the metrics.
  EXPECT_EQ(files[1].counts, c(1, 0, 1, 3));
}

TEST(CloverTest, TestProjectIsNotCounted) {
  const auto files = ok(Format::kCloverXml, R"x(<coverage><project>
<package name="p"><file name="a.c"><line num="1" type="stmt" count="1"/></file></package>
</project><testproject>
<package name="t"><file name="t.c"><line num="1" type="stmt" count="0"/></file></package>
</testproject></coverage>)x");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].file_path, "a.c");
}

TEST(CloverTest, ErrorsNameTheProblem) {
  EXPECT_THAT(error_of(Format::kCloverXml, "<coverage line-rate=\"1\"><packages/></coverage>"),
              HasSubstr("not a Clover report: no <project> element"));
  EXPECT_THAT(error_of(Format::kCloverXml, "<report/>"),
              HasSubstr("the root element is <report>, not <coverage>: not a Clover XML file"));
  const auto msg = error_of(Format::kCloverXml,
                            "<coverage><project>\n<file name=\"a\">\n"
                            "<line num=\"1\" type=\"stmt\" count=\"many\"/></file></project>"
                            "</coverage>");
  EXPECT_THAT(msg, StartsWith("cov.xml:3:"));
  EXPECT_THAT(msg, HasSubstr("attribute count=\"many\" is not a count"));
}

// ---- JaCoCo ----

TEST(JacocoTest, LinesAndBranchesFromLineElements) {
  const auto files = ok(Format::kJacocoXml, R"x(<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE report PUBLIC "-//JACOCO//DTD Report 1.1//EN" "report.dtd">
<report name="r"><sessioninfo id="x" start="1" dump="2"/>
<package name="com/x">
  <class name="com/x/A" sourcefilename="A.java">
    <method name="f" desc="()V" line="3"><counter type="LINE" missed="100" covered="100"/></method>
    <counter type="LINE" missed="100" covered="100"/>
  </class>
  <sourcefile name="A.java">
    <line nr="3" mi="0" ci="3" mb="0" cb="0"/>
    <line nr="4" mi="2" ci="1" mb="1" cb="1"/>
    <line nr="5" mi="4" ci="0" mb="2" cb="0"/>
    <line nr="6" mi="0" ci="0" mb="0" cb="0"/>
    <counter type="LINE" missed="50" covered="50"/>
    <counter type="BRANCH" missed="50" covered="50"/>
  </sourcefile>
</package>
<package name=""><sourcefile name="Main.java"><line nr="1" mi="0" ci="1" mb="0" cb="0"/>
</sourcefile></package>
<counter type="LINE" missed="1" covered="1"/>
</report>)x");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].file_path, "com/x/A.java");
  EXPECT_EQ(files[0].counts, c(2, 1, 1, 3));  // line 6 has no instructions: neither
  EXPECT_EQ(files[1].file_path, "Main.java");
  EXPECT_EQ(files[1].counts, c(1, 0, 0, 0));
}

TEST(JacocoTest, BareLinesFallBackToTheSourcefileCounters) {
  // gcovr's JaCoCo: <line nr/> without mi/ci; mb/cb on some lines only.
  const auto files = ok(Format::kJacocoXml, R"x(<report name="GCOVR report"><package name="">
<sourcefile name="main.cpp"><line nr="8"/><line nr="8"/><line nr="9" mb="1" cb="3"/>
<counter type="LINE" missed="7" covered="23"/><counter type="BRANCH" missed="18" covered="18"/>
</sourcefile><counter type="LINE" missed="70" covered="230"/></package></report>)x");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].counts, c(23, 7, 3, 1));
}

TEST(JacocoTest, NoLinesAtAllUsesBothCounters) {
  const auto files = ok(Format::kJacocoXml, R"x(<report name="r"><package name="a">
<sourcefile name="B.kt"><counter type="LINE" missed="2" covered="5"/>
<counter type="BRANCH" missed="1" covered="3"/></sourcefile>
<sourcefile name="Empty.kt"/></package></report>)x");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].counts, c(5, 2, 3, 1));
  EXPECT_EQ(files[1].file_path, "a/Empty.kt");
  EXPECT_EQ(files[1].counts, c(0, 0, 0, 0));
}

TEST(JacocoTest, GroupsOfAnAggregateReport) {
  const auto files = ok(Format::kJacocoXml, R"x(<report name="agg">
<group name="m1"><package name="p"><sourcefile name="A.java">
  <line nr="1" mi="0" ci="1" mb="0" cb="0"/></sourcefile></package></group>
<group name="m2"><package name="q"><sourcefile name="A.java">
  <line nr="1" mi="1" ci="0" mb="0" cb="0"/></sourcefile></package>
  <package name="p"><sourcefile name="A.java">
  <line nr="2" mi="1" ci="0" mb="0" cb="0"/></sourcefile></package></group></report>)x");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].file_path, "p/A.java");
  EXPECT_EQ(files[0].counts, c(1, 1, 0, 0));  // the same path in two modules is one file
  EXPECT_EQ(files[1].file_path, "q/A.java");
}

TEST(JacocoTest, APackageNameEndsWithItsElement) {
  const auto files = ok(Format::kJacocoXml, R"x(<report name="r"><package name="p"/>
<sourcefile name="Stray.java"><line nr="1" mi="0" ci="1" mb="0" cb="0"/></sourcefile>
</report>)x");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].file_path, "Stray.java");
}

TEST(JacocoTest, ErrorsNameTheProblem) {
  EXPECT_THAT(error_of(Format::kJacocoXml, "<coverage/>"),
              HasSubstr("the root element is <coverage>, not <report>: not a JaCoCo XML file"));
  EXPECT_THAT(
      error_of(Format::kJacocoXml, "<report><package name=\"p\"><sourcefile/></package></report>"),
      HasSubstr("<sourcefile> has no name"));
  const auto msg = error_of(Format::kJacocoXml,
                            "<report><package name=\"p\"><sourcefile name=\"A\">\n"
                            "<line nr=\"1\" mi=\"x\"/></sourcefile></package></report>");
  EXPECT_THAT(msg, StartsWith("cov.xml:2:"));
  EXPECT_THAT(msg, HasSubstr("attribute mi=\"x\" is not a count"));
}

// ---- SimpleCov ----

TEST(SimpleCovTest, LegacyResultsetLinesOnly) {
  const auto files = ok(Format::kSimpleCov, R"x({"RSpec": {"coverage": {
    "/app/lib/a.rb": [null, 1, 0, 4, null],
    "/app/lib/b.rb": [0, 0]}, "timestamp": 1}})x");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].file_path, "/app/lib/a.rb");
  EXPECT_EQ(files[0].counts, c(2, 1, 0, 0));
  EXPECT_EQ(files[1].counts, c(0, 2, 0, 0));
}

TEST(SimpleCovTest, CommandsMergeLikeSimpleCovsResultMerger) {
  // Two suites ran the same file: a line is covered when either covered it, counted once.
  const auto files = ok(Format::kSimpleCov, R"x({
    "unit": {"coverage": {"a.rb": {"lines": [1, 0, 0, null],
      "branches": {"[:if, 0, 2, 0, 4, 3]": {"[:then, 1, 3, 2, 3, 5]": 0,
                                            "[:else, 2, 4, 2, 4, 5]": 3}}}},
             "timestamp": 1},
    "edge": {"coverage": {"a.rb": {"lines": [0, 2, 0, null, 7],
      "branches": {"[:if, 0, 2, 0, 4, 3]": {"[:then, 1, 3, 2, 3, 5]": 1,
                                            "[:else, 2, 4, 2, 4, 5]": 0}}}},
             "timestamp": 2}})x");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].counts, c(3, 1, 2, 0));
}

TEST(SimpleCovTest, FormatterShapeSkipsIgnoredLinesAndBranches) {
  const auto files = ok(Format::kSimpleCov, R"x({"meta": {"simplecov_version": "0.22.0"},
    "coverage": {"/w/x.rb": {"lines": [null, 1, 0, "ignored", 3],
      "branches": [{"type": "then", "start_line": 2, "end_line": 2, "coverage": 0},
                   {"type": "else", "start_line": 3, "end_line": 3, "coverage": 2},
                   {"type": "else", "start_line": 4, "end_line": 4, "coverage": "ignored"}]}},
    "groups": {"Models": {"lines": {"covered_percent": 12.5}}}})x");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].counts, c(2, 1, 1, 1));
}

TEST(SimpleCovTest, ACommandNamedCoverageIsStillAResultset) {
  const auto files =
      ok(Format::kSimpleCov, R"x({"coverage": {"coverage": {"a.rb": [1, 0]}, "timestamp": 1}})x");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].counts, c(1, 1, 0, 0));
}

TEST(SimpleCovTest, ErrorsNameTheMember) {
  EXPECT_EQ(error_of(Format::kSimpleCov, R"x({"RSpec": {"coverage": {"a.rb": [1, "x"]}}})x"),
            "cov.xml: RSpec.coverage.a.rb[1]: a hit count must be a number, null or \"ignored\"");
  EXPECT_EQ(error_of(Format::kSimpleCov, R"x({"RSpec": {"timestamp": 1}})x"),
            "cov.xml: RSpec: member 'coverage' is missing (not a SimpleCov .resultset.json)");
  EXPECT_EQ(error_of(Format::kSimpleCov, R"x({"meta": {}, "coverage": {"a.rb": {"hits": []}}})x"),
            "cov.xml: coverage.a.rb: member 'lines' is missing");
  EXPECT_EQ(error_of(Format::kSimpleCov, "[1, 2]"),
            "cov.xml: document: not a JSON object (neither a SimpleCov .resultset.json nor a "
            "coverage.json)");
  EXPECT_EQ(error_of(Format::kSimpleCov, "{}"), "cov.xml: document: no SimpleCov results");
  EXPECT_THAT(error_of(Format::kSimpleCov, "{\"RSpec\": {\"coverage\""), StartsWith("cov.xml:1:"));
}

TEST(SimpleCovTest, HugeHitCountsSaturate) {
  const auto files = ok(Format::kSimpleCov,
                        R"x({"a": {"coverage": {"x.rb": [18446744073709551615, -3, 0.5]}},
                            "b": {"coverage": {"x.rb": [9223372036854775807]}}})x");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].counts, c(2, 1, 0, 0));
}

// ---- every format ----

TEST(CoverageParsersTest, TheReportSummaryIsTheSumOfItsFiles) {
  const auto files = ok(Format::kCoberturaXml, R"x(<coverage><packages><package><classes>
<class filename="a"><lines><line number="1" hits="1" condition-coverage="50% (1/2)"/></lines></class>
<class filename="b"><lines><line number="1" hits="0"/><line number="2" hits="3"/></lines></class>
</classes></package></packages></coverage>)x");
  EXPECT_EQ(total_of(files), c(2, 1, 1, 1));
}

TEST(CoverageParsersTest, ATestFormatIsNotACoverageFormat) {
  EXPECT_THAT(error_of(Format::kJunitXml, "<testsuite/>"),
              HasSubstr("JUNITXML is not a code coverage format"));
}

}  // namespace
}  // namespace kiln::testing
