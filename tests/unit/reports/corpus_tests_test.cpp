// Every test-report file of tests/corpus/reports (README.md, SOURCES.tsv) parses, with the
// counts CodeBuild would show. The counts are the cases in each file's body, per status, as
// SOURCES.tsv's notes give them; where a header disagrees with the body (gotestsum's tests=59
// for 60 cases, Surefire's tests=3 for one flaky case, NUnit 2's total=21 for 28 cases, the
// SilentNotes .trx's notExecuted=0 for 12 NotExecuted results), the body wins.
#include <gtest/gtest.h>

#include <set>

#include "reports/parse_fixture.h"

namespace kiln::reports {
namespace {

using fixture::kReportCorpus;
using fixture::parse_corpus;
using Counts = std::map<std::string, int>;

struct Expect {
  Format format;
  const char* file;
  Counts counts;
};

const Expect kExpected[] = {
    // junit/: <failure> FAILED, <error> ERROR, <skipped> SKIPPED.
    {Format::kJunitXml, "junit/ant-junit-errors.xml", {{"ERROR", 3}, {"SUCCEEDED", 5}}},
    {Format::kJunitXml, "junit/ctest-googletest.xml", {{"SUCCEEDED", 3}}},
    {Format::kJunitXml,
     "junit/go-junit-report-failures-output.xml",
     {{"FAILED", 9}, {"SUCCEEDED", 8}}},
    {Format::kJunitXml, "junit/gotestsum.xml", {{"FAILED", 13}, {"SKIPPED", 5}, {"SUCCEEDED", 42}}},
    {Format::kJunitXml,
     "junit/jest-junit-failures.xml",
     {{"FAILED", 4}, {"SKIPPED", 1}, {"SUCCEEDED", 1}}},
    {Format::kJunitXml,
     "junit/jest-junit-large.xml",
     {{"FAILED", 2}, {"SKIPPED", 30}, {"SUCCEEDED", 4207}}},
    {Format::kJunitXml, "junit/mocha-xunit-reporter.xml", {{"SUCCEEDED", 109}}},
    {Format::kJunitXml, "junit/phpunit-nested-suites.xml", {{"FAILED", 2}, {"SUCCEEDED", 28}}},
    {Format::kJunitXml,
     "junit/pytest-single-line-skipped.xml",
     {{"SKIPPED", 17}, {"SUCCEEDED", 80}}},
    {Format::kJunitXml, "junit/pytest-system-out-err.xml", {{"SUCCEEDED", 8}}},
    // One testcase that passed on its third run: its two flakyFailures do not fail it.
    {Format::kJunitXml, "junit/surefire-3.0.2-flaky-properties.xml", {{"SUCCEEDED", 1}}},
    {Format::kJunitXml,
     "junit/surefire-failures-skipped.xml",
     {{"FAILED", 2}, {"SKIPPED", 1}, {"SUCCEEDED", 2}}},
    // cucumber/: undefined steps make a scenario UNKNOWN.
    {Format::kCucumberJson,
     "cucumber/cucumber-js-mixed-statuses.json",
     {{"SUCCEEDED", 1}, {"UNKNOWN", 3}}},
    {Format::kCucumberJson, "cucumber/cucumber-jvm-calculator-passed.json", {{"SUCCEEDED", 8}}},
    {Format::kCucumberJson, "cucumber/cucumber-jvm-embedding-failed.json", {{"FAILED", 1}}},
    {Format::kCucumberJson, "cucumber/cucumber-jvm-spanish-background.json", {{"SUCCEEDED", 1}}},
    {Format::kCucumberJson,
     "cucumber/cucumber-jvm-undefined-step.json",
     {{"SUCCEEDED", 7}, {"UNKNOWN", 1}}},
    // testng/: is-config methods left out (286 in the self-suite file).
    {Format::kTestNgXml,
     "testng/testng-dataprovider-failures.xml",
     {{"FAILED", 4}, {"SUCCEEDED", 4}}},
    {Format::kTestNgXml, "testng/testng-exception-message.xml", {{"FAILED", 1}}},
    {Format::kTestNgXml, "testng/testng-instance-name.xml", {{"SUCCEEDED", 13}}},
    {Format::kTestNgXml, "testng/testng-self-suite-526.xml", {{"SUCCEEDED", 526}}},
    // trx/: NotExecuted SKIPPED, Aborted and NotRunnable ERROR.
    {Format::kVisualStudioTrx,
     "trx/mstest-vs2015-aborted-notexecuted.trx",
     {{"ERROR", 2}, {"FAILED", 2}, {"SKIPPED", 19}, {"SUCCEEDED", 2}}},
    {Format::kVisualStudioTrx,
     "trx/nunit-adapter-netcoreapp3.1.trx",
     {{"FAILED", 3}, {"SKIPPED", 1}, {"SUCCEEDED", 2}}},
    {Format::kVisualStudioTrx,
     "trx/nunit-adapter-silentnotes-not-executed.trx",
     {{"SKIPPED", 12}, {"SUCCEEDED", 67}}},
    {Format::kVisualStudioTrx,
     "trx/xunit-dotnet-failures.trx",
     {{"FAILED", 5}, {"SKIPPED", 1}, {"SUCCEEDED", 5}}},
    {Format::kVisualStudioTrx, "trx/xunit-v3-failures.trx", {{"FAILED", 3}, {"SUCCEEDED", 1}}},
    // nunit/: NotRunnable ERROR (CodeBuild's example), Ignored SKIPPED, Inconclusive UNKNOWN.
    {Format::kNunitXml, "nunit/nunit-2.2.8-failure.xml", {{"FAILED", 1}, {"SUCCEEDED", 3}}},
    {Format::kNunitXml, "nunit/nunit-2.5.10-218-tests.xml", {{"SUCCEEDED", 218}}},
    {Format::kNunitXml, "nunit/nunit-2.5.3-failures.xml", {{"FAILED", 3}, {"SUCCEEDED", 6}}},
    {Format::kNunitXml,
     "nunit/nunit-2.5.3-ignored.xml",
     {{"FAILED", 1}, {"SKIPPED", 1}, {"SUCCEEDED", 1}}},
    {Format::kNunitXml,
     "nunit/nunit-2.5.8-mock-assembly.xml",
     {{"ERROR", 4}, {"FAILED", 1}, {"SKIPPED", 4}, {"SUCCEEDED", 18}, {"UNKNOWN", 1}}},
    // nunit3/: Failed with label Error or Invalid is ERROR.
    {Format::kNunit3Xml,
     "nunit3/nunit3-console-3.12-failures.xml",
     {{"ERROR", 2}, {"FAILED", 3}, {"SKIPPED", 1}, {"SUCCEEDED", 3}}},
    {Format::kNunit3Xml,
     "nunit3/nunit3-engine-3.6-inconclusive.xml",
     {{"SUCCEEDED", 1}, {"UNKNOWN", 1}}},
    {Format::kNunit3Xml,
     "nunit3/nunit3-engine-3.6-large-failures.xml",
     {{"ERROR", 143}, {"FAILED", 1}, {"SUCCEEDED", 6}}},
    {Format::kNunit3Xml,
     "nunit3/nunit3-engine-3.8-failures.xml",
     {{"FAILED", 3}, {"SUCCEEDED", 3}}},
    {Format::kNunit3Xml, "nunit3/nunitlite-3.9-passed.xml", {{"SUCCEEDED", 3}}},
};

TEST(ReportCorpus, EveryTestFileParsesWithItsCounts) {
  for (const Expect& e : kExpected) {
    SCOPED_TRACE(e.file);
    const auto p = parse_corpus(e.format, e.file);
    ASSERT_TRUE(p.result) << p.error();
    EXPECT_EQ(p.counts(), e.counts);
    for (const auto& c : p.cases) {
      EXPECT_EQ(c.test_raw_data_path, e.file);
      EXPECT_GE(c.duration_ns, 0);
      EXPECT_LE(c.message.size(), 4 * kMaxMessageChars + 16);
    }
  }
}

// No file of the test folders is left out of kExpected, and each is sniffed as its format.
TEST(ReportCorpus, EveryFileIsListedAndSniffed) {
  std::set<std::string> listed;
  for (const Expect& e : kExpected) listed.insert(e.file);
  int seen = 0;
  for (const char* dir : {"junit", "cucumber", "testng", "trx", "nunit", "nunit3"}) {
    for (const auto& entry : std::filesystem::directory_iterator(kReportCorpus / dir)) {
      const std::string rel = std::string(dir) + "/" + entry.path().filename().string();
      EXPECT_TRUE(listed.count(rel)) << rel << " has no expected counts";
      ++seen;
    }
  }
  EXPECT_EQ(seen, static_cast<int>(std::size(kExpected)));
  for (const Expect& e : kExpected) {
    UniqueFd fd(::open((kReportCorpus / e.file).c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(fd) << e.file;
    std::string head(4096, '\0');
    const ssize_t n = ::read(fd.get(), head.data(), head.size());
    ASSERT_GT(n, 0);
    head.resize(static_cast<std::size_t>(n));
    EXPECT_EQ(sniff_format(head), e.format) << e.file;
  }
}

// A file given the wrong format is an error naming the file, not an empty report.
TEST(ReportCorpus, WrongFormatIsAnError) {
  auto p = parse_corpus(Format::kJunitXml, "trx/xunit-dotnet-failures.trx");
  ASSERT_FALSE(p.result);
  EXPECT_EQ(p.error(),
            "trx/xunit-dotnet-failures.trx:2:1: the root element is <TestRun>, not <testsuites> "
            "or <testsuite>: not a JUnit XML file (is the report group's file-format right?)");
  p = parse_corpus(Format::kNunit3Xml, "nunit/nunit-2.2.8-failure.xml");
  ASSERT_FALSE(p.result);
  EXPECT_NE(p.error().find("not a NUnit 3 XML file"), std::string::npos) << p.error();
  p = parse_corpus(Format::kCucumberJson, "junit/gotestsum.xml");
  ASSERT_FALSE(p.result);
  EXPECT_EQ(p.error().rfind("junit/gotestsum.xml:1:1: not valid JSON", 0), 0u) << p.error();
}

}  // namespace
}  // namespace kiln::reports
