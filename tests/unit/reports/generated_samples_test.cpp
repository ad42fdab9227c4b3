// tests/data/reports: report files the real tools wrote (SOURCES.md gives the tool, version and
// command for each). Every file parses with the format it claims, with the counts read off the
// file by hand; sniff_format (auto-discover) recognises each one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <set>

#include "report_files.h"

namespace kiln::testing {
namespace {

namespace fs = std::filesystem;
using reports::Coverage;
using reports::Format;
using reports::TestCase;
using ::testing::HasSubstr;

const fs::path kSamples = repo_root() / "tests" / "data" / "reports";

std::string head_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string s(4096, '\0');
  in.read(s.data(), static_cast<std::streamsize>(s.size()));
  s.resize(static_cast<std::size_t>(in.gcount()));
  return s;
}

struct TestCounts {
  const char* file;
  std::int64_t total, succeeded, failed, error, skipped;
};

const TestCounts kTestFiles[] = {
    // test_passes, test_in_class, test_param[1], test_param[3] pass; test_fails and
    // test_param[2] fail; test_errors errors in its fixture; skip and xfail are both <skipped>.
    {"pytest-7.2.1-junit.xml", 9, 4, 2, 1, 2},
    // The todo test is a <skipped type="todo">; "throws an error" sits under <testsuites>.
    {"node-20.20.2-test-junit.xml", 6, 2, 2, 0, 2},
    // TestTable and its two subtests are three cases.
    {"gotestsum-1.8.2-junit.xml", 6, 4, 1, 0, 1},
    {"surefire-2.22.3-junit.xml", 4, 1, 1, 1, 1},
};

struct CoverageCounts {
  const char* file;
  Format format;
  const char* path;  // the one file each sample covers
  Coverage counts;
};

const CoverageCounts kCoverageFiles[] = {
    // Lines 5, 11, 16-19 missed; lines 2, 4, 10, 17 carry 2 branches each (2, 1, 1, 0 covered).
    {"coveragepy-6.5.0-cobertura.xml", Format::kCoberturaXml, "calc.py", {9, 6, 4, 4}},
    // Lines 16-17 missed; six branch lines of 2 branches, three of them half taken.
    {"gcovr-5.2-cobertura.xml", Format::kCoberturaXml, "shapes.c", {13, 2, 9, 3}},
    // Lines 3, 8, 18, 19 have no covered instruction; cb 2+1+2, mb 1+2.
    {"jacoco-0.8.6.xml", Format::kJacocoXml, "com/example/Shapes.java", {7, 4, 5, 3}},
    // The two commands' hits add up (SimpleCov's merge); see SOURCES.md for the :nocov: lines.
    {"simplecov-0.22.0-resultset-branches.json",
     Format::kSimpleCov,
     "/tmp/rcov-gen/rb/lib/shapes.rb",
     {11, 3, 5, 2}},
};

TEST(GeneratedSamplesTest, TestFilesParseWithTheirCounts) {
  for (const auto& t : kTestFiles) {
    SCOPED_TRACE(t.file);
    reports::TestCollector collector;
    const auto r = parse_test_path(Format::kJunitXml, kSamples / t.file, collector);
    ASSERT_TRUE(r.has_value()) << r.error().message();
    const auto& s = collector.summary();
    EXPECT_EQ(s.total, t.total);
    EXPECT_EQ(s.status_counts.at("SUCCEEDED"), t.succeeded);
    EXPECT_EQ(s.status_counts.at("FAILED"), t.failed);
    EXPECT_EQ(s.status_counts.at("ERROR"), t.error);
    EXPECT_EQ(s.status_counts.at("SKIPPED"), t.skipped);
    EXPECT_EQ(s.status_counts.at("UNKNOWN"), 0);
    EXPECT_FALSE(collector.truncated());
  }
}

TestCase find_case(std::vector<TestCase> cases, const std::string& name) {
  for (auto& c : cases) {
    if (c.name == name) return c;
  }
  ADD_FAILURE() << "no case " << name;
  return {};
}

TEST(GeneratedSamplesTest, PytestCasesKeepClassnameAndMessage) {
  reports::TestCollector collector;
  ASSERT_TRUE(parse_test_path(Format::kJunitXml, kSamples / "pytest-7.2.1-junit.xml", collector));
  const auto cases = collector.take_cases();
  ASSERT_EQ(cases.size(), 9u);
  // Failures first.
  EXPECT_EQ(cases[0].status, "FAILED");
  EXPECT_EQ(cases[1].status, "ERROR");
  EXPECT_EQ(cases[2].status, "FAILED");
  const auto param = find_case(cases, "test_param[2]");
  EXPECT_EQ(param.prefix, "test_sample.TestGroup");
  EXPECT_EQ(param.test_suite_name, "pytest");
  EXPECT_THAT(param.message, HasSubstr("assert 2 != 2"));
  const auto err = find_case(cases, "test_errors");
  EXPECT_EQ(err.status, "ERROR");
  EXPECT_THAT(err.message, HasSubstr("fixture could not start"));
}

TEST(GeneratedSamplesTest, SurefireErrorAndFailureKeepTheirTypes) {
  reports::TestCollector collector;
  ASSERT_TRUE(
      parse_test_path(Format::kJunitXml, kSamples / "surefire-2.22.3-junit.xml", collector));
  const auto cases = collector.take_cases();
  EXPECT_EQ(find_case(cases, "clampThrows").status, "ERROR");
  EXPECT_THAT(find_case(cases, "classifiesZeroWrongly").message,
              HasSubstr("expected:<[positive]> but was:<[zero]>"));
  EXPECT_EQ(find_case(cases, "ignored").status, "SKIPPED");
  EXPECT_EQ(find_case(cases, "classifiesPositive").prefix, "com.example.ShapesTest");
}

TEST(GeneratedSamplesTest, NodeTopLevelCaseHasNoSuite) {
  reports::TestCollector collector;
  ASSERT_TRUE(
      parse_test_path(Format::kJunitXml, kSamples / "node-20.20.2-test-junit.xml", collector));
  const auto cases = collector.take_cases();
  EXPECT_EQ(find_case(cases, "subtracts wrongly").test_suite_name, "math");
  const auto top = find_case(cases, "throws an error");
  EXPECT_EQ(top.status, "FAILED");
  EXPECT_EQ(top.test_suite_name, "");
  EXPECT_THAT(top.message, HasSubstr("undefined is not a function"));
}

TEST(GeneratedSamplesTest, CoverageFilesParseWithTheirCounts) {
  for (const auto& t : kCoverageFiles) {
    SCOPED_TRACE(t.file);
    const auto files = parse_coverage_path(t.format, kSamples / t.file);
    ASSERT_TRUE(files.has_value()) << files.error().message();
    ASSERT_EQ(files->size(), 1u);
    EXPECT_EQ((*files)[0].file_path, t.path);
    EXPECT_EQ((*files)[0].counts, t.counts);
  }
}

TEST(GeneratedSamplesTest, AutoDiscoverRecognisesEachSample) {
  for (const auto& t : kTestFiles) {
    EXPECT_EQ(reports::sniff_format(head_of(kSamples / t.file)), Format::kJunitXml) << t.file;
  }
  for (const auto& t : kCoverageFiles) {
    EXPECT_EQ(reports::sniff_format(head_of(kSamples / t.file)), t.format) << t.file;
  }
}

// LCOV is not a CodeBuild report format (§7.1): not discovered, and no parser reads it.
TEST(GeneratedSamplesTest, LcovIsNotAReportFormat) {
  const fs::path lcov = kSamples / "lcov-1.16.info";
  EXPECT_EQ(reports::sniff_format(head_of(lcov)), std::nullopt);
  for (Format f :
       {Format::kCloverXml, Format::kCoberturaXml, Format::kJacocoXml, Format::kSimpleCov}) {
    EXPECT_FALSE(parse_coverage_path(f, lcov).has_value()) << reports::format_name(f);
  }
}

// Every file in the folder is one of the samples above (or SOURCES.md): a new sample needs
// its counts here.
TEST(GeneratedSamplesTest, EverySampleIsChecked) {
  std::set<std::string> known = {"SOURCES.md", "lcov-1.16.info"};
  for (const auto& t : kTestFiles) known.insert(t.file);
  for (const auto& t : kCoverageFiles) known.insert(t.file);
  for (const auto& e : fs::directory_iterator(kSamples)) {
    EXPECT_TRUE(known.count(e.path().filename().string())) << e.path();
  }
}

}  // namespace
}  // namespace kiln::testing
