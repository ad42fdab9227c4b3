// tests/corpus/reports/{clover,cobertura,jacoco,simplecov}: every coverage file of the shared
// corpus of real reports (README.md, SOURCES.tsv) parses with the counts below.
//
// The counts come from each file's per-line elements (docs/reports.md "Coverage"). Where the
// file's own summary says the same, SOURCES.tsv's figures and the summary agree with them; the
// comments name the files where they do not, and why the lines win.
#include <gtest/gtest.h>

#include <set>

#include "report_files.h"

namespace kiln::testing {
namespace {

namespace fs = std::filesystem;
using reports::Coverage;
using reports::Format;

const fs::path kCorpus = repo_root() / "tests" / "corpus" / "reports";

struct Expected {
  const char* file;  // under kCorpus
  Format format;
  std::size_t files;  // FileCoverage entries
  Coverage total;     // lines covered, missed, branches covered, missed
};

const Expected kExpected[] = {
    // Cobertura 1.9 has no lines-valid/lines-covered; its rates (0.9, 0.75) are 27/30 and 9/12.
    {"cobertura/cobertura-1.9-java-maven.xml", Format::kCoberturaXml, 4, {27, 3, 9, 3}},
    {"cobertura/coveragepy-4.4.2.xml", Format::kCoberturaXml, 6, {9, 3, 0, 0}},
    // 93 classes (nested and compiler-generated ones share their file) in 39 files.
    {"cobertura/coverlet-csharp-bom.xml", Format::kCoberturaXml, 39, {1212, 248, 262, 116}},
    {"cobertura/gcovr-5.0-branches.xml", Format::kCoberturaXml, 1, {345, 227, 100, 152}},
    // The root says branches-valid="41" branches-covered="25"; its <line>s' condition-coverage
    // add up to 21 of 32 (istanbul counts branches no line carries).
    {"cobertura/istanbul-typescript.xml", Format::kCoberturaXml, 12, {63, 93, 21, 11}},
    {"cobertura/simplecov-cobertura-2.1.0.xml", Format::kCoberturaXml, 13, {350, 12, 0, 0}},
    // The metrics say 55 statements, 28 covered: CloverCoverageParser.java's line 20 holds two
    // statements but one stmt element, so there are 54 lines, 27 covered.
    {"clover/clover-1.3.13-java.xml", Format::kCloverXml, 9, {27, 27, 2, 0}},
    // The <testproject>'s "dummy" file is not counted.
    {"clover/gcovr-8.6-cpp.xml", Format::kCloverXml, 1, {23, 7, 0, 0}},
    {"clover/phpunit-clover.xml", Format::kCloverXml, 3, {9, 9, 0, 0}},
    // Bare <line nr/>: lines from the LINE counter, branches from the lines' mb/cb.
    {"jacoco/gcovr-8.6-cpp.xml", Format::kJacocoXml, 1, {23, 7, 18, 18}},
    {"jacoco/jacoco-aggregate-groups.xml", Format::kJacocoXml, 2, {14, 1, 0, 0}},
    {"jacoco/jacoco-java-single-line.xml", Format::kJacocoXml, 26, {1627, 39, 683, 38}},
    {"jacoco/jacoco-small.xml", Format::kJacocoXml, 1, {5, 1, 2, 2}},
    {"jacoco/pester-powershell-bom.xml", Format::kJacocoXml, 2, {10, 13, 0, 0}},
    {"simplecov/coverage-json-branches.json", Format::kSimpleCov, 1, {9, 1, 1, 1}},
    // The group's covered_percent 80.0 is not the file's 90%: groups are not read.
    {"simplecov/coverage-json-groups.json", Format::kSimpleCov, 1, {9, 1, 0, 0}},
    {"simplecov/resultset-coveralls-ruby.json", Format::kSimpleCov, 5, {314, 24, 0, 0}},
    {"simplecov/resultset-legacy-placeholder-paths.json", Format::kSimpleCov, 2, {8, 1, 0, 0}},
};

TEST(CorpusCoverageTest, EveryFileParsesWithItsCounts) {
  for (const auto& e : kExpected) {
    SCOPED_TRACE(e.file);
    const auto files = parse_coverage_path(e.format, kCorpus / e.file);
    ASSERT_TRUE(files.has_value()) << files.error().message();
    EXPECT_EQ(files->size(), e.files);
    EXPECT_EQ(total_of(*files), e.total);
  }
}

// A file added to the four folders must be added to kExpected too.
TEST(CorpusCoverageTest, EveryCoverageFileOfTheCorpusIsListed) {
  std::set<std::string> listed;
  for (const auto& e : kExpected) listed.insert(e.file);
  std::size_t seen = 0;
  for (const char* dir : {"clover", "cobertura", "jacoco", "simplecov"}) {
    for (const auto& entry : fs::directory_iterator(kCorpus / dir)) {
      ++seen;
      EXPECT_TRUE(listed.count(std::string(dir) + "/" + entry.path().filename().string()))
          << entry.path();
    }
  }
  EXPECT_EQ(seen, std::size(kExpected));
}

TEST(CorpusCoverageTest, PerFileEntriesKeepTheToolsPaths) {
  const auto jacoco = parse_coverage_path(Format::kJacocoXml, kCorpus / "jacoco/jacoco-small.xml");
  ASSERT_TRUE(jacoco.has_value());
  ASSERT_EQ(jacoco->size(), 1u);
  EXPECT_EQ((*jacoco)[0].file_path, "com/jacocodemo/examples/MessageBuilder.java");
  EXPECT_EQ((*jacoco)[0].counts, (Coverage{5, 1, 2, 2}));

  const auto gcovr =
      parse_coverage_path(Format::kCoberturaXml, kCorpus / "cobertura/gcovr-5.0-branches.xml");
  ASSERT_TRUE(gcovr.has_value());
  ASSERT_EQ(gcovr->size(), 1u);
  EXPECT_EQ((*gcovr)[0].counts, (Coverage{345, 227, 100, 152}));

  const auto simplecov = parse_coverage_path(
      Format::kSimpleCov, kCorpus / "simplecov/resultset-legacy-placeholder-paths.json");
  ASSERT_TRUE(simplecov.has_value());
  ASSERT_EQ(simplecov->size(), 2u);
  EXPECT_EQ((*simplecov)[0].file_path, "$$path/lib/code.rb");
  EXPECT_EQ((*simplecov)[0].counts, (Coverage{4, 1, 0, 0}));
  EXPECT_EQ((*simplecov)[1].counts, (Coverage{4, 0, 0, 0}));
}

// Percentages as CodeBuild shows them, for a file whose rate is the float 0.40380000000000005.
TEST(CorpusCoverageTest, PercentagesFromTheCounts) {
  const auto files =
      parse_coverage_path(Format::kCoberturaXml, kCorpus / "cobertura/istanbul-typescript.xml");
  ASSERT_TRUE(files.has_value());
  const Coverage total = total_of(*files);
  EXPECT_DOUBLE_EQ(total.line_percentage(), 40.38);    // 63 / 156
  EXPECT_DOUBLE_EQ(total.branch_percentage(), 65.63);  // 21 / 32
}

// A coverage file read as another coverage format is refused, not read as empty.
TEST(CorpusCoverageTest, AFileOfAnotherFormatIsRefused) {
  EXPECT_FALSE(
      parse_coverage_path(Format::kCloverXml, kCorpus / "cobertura/gcovr-5.0-branches.xml"));
  EXPECT_FALSE(parse_coverage_path(Format::kCoberturaXml, kCorpus / "clover/phpunit-clover.xml"));
  EXPECT_FALSE(parse_coverage_path(Format::kJacocoXml, kCorpus / "clover/gcovr-8.6-cpp.xml"));
  EXPECT_FALSE(parse_coverage_path(Format::kCoberturaXml, kCorpus / "jacoco/jacoco-small.xml"));
  EXPECT_FALSE(parse_coverage_path(Format::kSimpleCov, kCorpus / "jacoco/jacoco-small.xml"));
  EXPECT_FALSE(
      parse_coverage_path(Format::kCloverXml, kCorpus / "simplecov/resultset-coveralls-ruby.json"));
}

}  // namespace
}  // namespace kiln::testing
