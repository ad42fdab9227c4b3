// Auto-discover (§7.6): groups per format, CodeBuild's log lines, the folder setting, files
// already taken by an explicit group, and the time and file limits.
#include <chrono>

#include "artifacts/temp_tree.h"
#include "logs/log_sink.h"
#include "reports/collect.h"

namespace kiln::testing {
namespace {

constexpr char kJunit[] =
    "<?xml version=\"1.0\"?>\n<testsuite name=\"s\" tests=\"1\">"
    "<testcase classname=\"c\" name=\"t\"/></testsuite>\n";
constexpr char kCobertura[] =
    "<?xml version=\"1.0\" ?>\n<coverage line-rate=\"1\" branch-rate=\"0\" version=\"7\">"
    "<packages><package name=\"p\"><classes><class name=\"m\" filename=\"m.py\">"
    "<lines><line number=\"1\" hits=\"1\"/></lines></class></classes></package></packages>"
    "</coverage>\n";

// Moves one second each time it is read: the discovery's time limit passes after five reads.
class TickingClock final : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  }
  std::chrono::steady_clock::time_point steady_now() const override {
    ticks_ += std::chrono::seconds(1);
    return std::chrono::steady_clock::time_point(ticks_);
  }

 private:
  mutable std::chrono::steady_clock::duration ticks_{};
};

class DiscoverTest : public ::testing::Test {
 protected:
  TempTree tree;
  FakeClock clock;
  logs::MemorySink log;
  std::vector<spec::Report> groups;
  reports::CollectRequest req;

  DiscoverTest() {
    req.groups = &groups;
    req.src_dir = tree.root();
    req.source_roots.push_back({"/codebuild/output/src1/src", tree.root()});
    req.identity = {"proj", "us-east-1", "000000000000", "arn:build"};
    req.clock = &clock;
  }

  std::vector<reports::CollectedReport> collect() { return reports::collect_reports(req, log); }
  bool has_line(const std::string& line) const {
    return log.text().find("\n" + line + "\n") != std::string::npos ||
           log.text().rfind(line + "\n", 0) == 0;
  }
};

TEST_F(DiscoverTest, OneReportPerFormatWithCodeBuildsLines) {
  tree.file("build/test-results/TEST-a.xml", kJunit);
  tree.file("build/test-results/TEST-b.xml", kJunit);
  tree.file("coverage/coverage.xml", kCobertura);
  tree.file("pom.xml", "<project/>\n");    // XML, but no report
  tree.file("notes.txt", "<testsuite/>");  // a report's content, but not a report's name
  auto out = collect();
  ASSERT_EQ(out.size(), 2u) << log.text();
  EXPECT_EQ(out[0].report.name, "proj-JUNITXML-AutoDiscovered");
  EXPECT_EQ(out[0].report.group_arn,
            "arn:aws:codebuild:us-east-1:000000000000:report-group/proj-JUNITXML-AutoDiscovered");
  EXPECT_EQ(out[0].report.test_summary.total, 2);
  EXPECT_EQ(out[1].report.name, "proj-COBERTURAXML-AutoDiscovered");
  EXPECT_EQ(out[1].report.type, reports::ReportType::kCodeCoverage);
  const std::string expected =
      "Set report auto-discover timeout to 5 seconds\n"
      "Expanding base directory path:  .\n"
      "Assembling file list\n"
      "Expanding .\n"
      "Expanding file paths for base directory .\n"
      "Assembling file list\n"
      "Expanding **/*\n"
      "Found 3 file(s)\n"
      "Report auto-discover file discovery took 0.000000 seconds\n";
  EXPECT_EQ(log.text().rfind(expected, 0), 0u) << log.text();
}

TEST_F(DiscoverTest, NothingFoundSaysSo) {
  tree.file("src/main.c", "int main() {}\n");
  auto out = collect();
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(has_line("No matching auto-discover report paths found")) << log.text();
}

TEST_F(DiscoverTest, FilesOfExplicitGroupsAreNotRediscovered) {
  tree.file("reports/a.xml", kJunit);
  tree.file("other/b.xml", kJunit);
  spec::Report g;
  g.group = "unit";
  g.files = {"reports/*.xml"};
  groups.push_back(g);
  auto out = collect();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].report.name, "proj-JUNITXML-AutoDiscovered");
  EXPECT_EQ(out[1].report.raw_files, std::vector<std::string>{"other/b.xml"});
}

TEST_F(DiscoverTest, DirectorySettingLimitsTheSearch) {
  tree.file("a/TEST-a.xml", kJunit);
  tree.file("b/TEST-b.xml", kJunit);
  req.discover.dir = "b";
  auto out = collect();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].report.raw_files, std::vector<std::string>{"TEST-b.xml"});
  EXPECT_EQ(out[0].report.test_cases.at(0).test_raw_data_path,
            "/codebuild/output/src1/src/b/TEST-b.xml");
  EXPECT_TRUE(has_line("Expanding base directory path:  b")) << log.text();
}

TEST_F(DiscoverTest, DisabledMakesNothingAndLogsNothing) {
  tree.file("TEST-a.xml", kJunit);
  req.discover.enabled = false;
  EXPECT_TRUE(collect().empty());
  EXPECT_EQ(log.text(), "");
}

TEST_F(DiscoverTest, StopsAtTheTimeLimitAndKeepsWhatItFound) {
  for (int i = 0; i < 20; ++i) tree.file("r/TEST-" + std::to_string(100 + i) + ".xml", kJunit);
  TickingClock ticking;
  req.clock = &ticking;
  auto out = collect();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_LT(out[0].report.test_summary.total, 20);
  EXPECT_GT(out[0].report.test_summary.total, 0);
  EXPECT_TRUE(
      has_line("Report auto-discover timed out after 5 seconds; the rest of the files are "
               "skipped"))
      << log.text();
}

TEST_F(DiscoverTest, StopsAtTheFileLimit) {
  for (int i = 0; i < 5; ++i) tree.file("r/TEST-" + std::to_string(i) + ".xml", kJunit);
  req.discover.max_files = 2;
  auto out = collect();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].report.test_summary.total, 2);
  EXPECT_TRUE(has_line("Report auto-discover examined its limit of 2 files; the rest are skipped"))
      << log.text();
  EXPECT_TRUE(has_line("Found 2 file(s)")) << log.text();
}

}  // namespace
}  // namespace kiln::testing
