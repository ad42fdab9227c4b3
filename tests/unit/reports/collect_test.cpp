// collect_reports(): group names and ARNs, file selection with the artifact collector, status
// rules, masking, the five-group limit, and bad input (docs/reports.md).
#include "reports/collect.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>

#include "artifacts/temp_tree.h"
#include "logs/log_sink.h"

namespace kiln::testing {
namespace {

using reports::CollectedReport;
using reports::ReportStatus;
using reports::ReportType;

constexpr char kJunitTwo[] =
    R"x(<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="calc" tests="2" failures="1">
    <testcase classname="calc.Add" name="adds" time="0.5"/>
    <testcase classname="calc.Div" name="divides" time="0.25">
      <failure message="expected 2 got 3">trace</failure>
    </testcase>
  </testsuite>
</testsuites>
)x";

constexpr char kJunitPass[] =
    R"x(<?xml version="1.0"?>
<testsuite name="ok" tests="1"><testcase classname="a.B" name="passes" time="1"/></testsuite>
)x";

constexpr char kCobertura[] =
    R"x(<?xml version="1.0" ?>
<coverage line-rate="0.5" branch-rate="0.5" lines-covered="1" lines-valid="2" branches-covered="1" branches-valid="2" version="7" timestamp="1">
  <packages><package name="p"><classes>
    <class name="m" filename="src/m.py" line-rate="0.5" branch-rate="0.5">
      <lines>
        <line number="1" hits="1" branch="true" condition-coverage="50% (1/2)"/>
        <line number="2" hits="0"/>
      </lines>
    </class>
  </classes></package></packages>
</coverage>
)x";

class ReportCollectTest : public ::testing::Test {
 protected:
  TempTree tree;
  FakeClock clock;
  logs::MemorySink log;
  std::vector<spec::Report> groups;
  reports::CollectRequest req;

  ReportCollectTest() {
    req.groups = &groups;
    req.src_dir = tree.root();
    req.source_roots.push_back({"/codebuild/output/src1/src", tree.root()});
    req.identity = {"proj", "eu-west-1", "123456789012",
                    "arn:aws:codebuild:eu-west-1:123456789012:build/proj:b1"};
    req.clock = &clock;
    req.discover.enabled = false;
  }

  spec::Report& group(const std::string& name, std::vector<std::string> files,
                      std::optional<std::string> format = std::nullopt) {
    spec::Report g;
    g.group = name;
    g.files = std::move(files);
    g.file_format = std::move(format);
    groups.push_back(std::move(g));
    return groups.back();
  }

  std::vector<CollectedReport> collect() { return reports::collect_reports(req, log); }

  // Position of `line` as a whole line of the log; npos when absent.
  std::size_t line_at(const std::string& line) const {
    return log.text().find(line + "\n") == 0 ? 0 : log.text().find("\n" + line + "\n");
  }
  bool has_line(const std::string& line) const { return line_at(line) != std::string::npos; }
};

TEST_F(ReportCollectTest, NamedGroupBecomesProjectPrefixedWithCasesAndArns) {
  tree.file("reports/unit.xml", kJunitTwo);
  group("unit", {"**/*.xml"}).base_directory = "reports";
  auto out = collect();
  ASSERT_EQ(out.size(), 1u);
  const auto& r = out[0].report;
  EXPECT_EQ(r.name, "proj-unit");
  EXPECT_EQ(r.group_arn, "arn:aws:codebuild:eu-west-1:123456789012:report-group/proj-unit");
  EXPECT_EQ(r.arn.rfind("arn:aws:codebuild:eu-west-1:123456789012:report/proj-unit:", 0), 0u);
  EXPECT_EQ(r.execution_id, req.identity.build_arn);
  EXPECT_EQ(r.type, ReportType::kTest);
  EXPECT_EQ(r.status, ReportStatus::kFailed);
  EXPECT_EQ(r.test_summary.total, 2);
  EXPECT_EQ(r.test_summary.status_counts.at("FAILED"), 1);
  EXPECT_EQ(r.test_summary.status_counts.at("SUCCEEDED"), 1);
  EXPECT_EQ(r.test_summary.status_counts.at("SKIPPED"), 0);  // all five, zeros included
  ASSERT_EQ(r.test_cases.size(), 2u);
  EXPECT_EQ(r.test_cases[0].status, "FAILED");  // failures first
  EXPECT_EQ(r.test_cases[0].test_raw_data_path, "/codebuild/output/src1/src/reports/unit.xml");
  EXPECT_EQ(r.raw_files, std::vector<std::string>{"unit.xml"});
  EXPECT_EQ(r.created, 1700000000.0);
  EXPECT_EQ(r.expired, 1700000000.0 + 30 * 86400);
  EXPECT_TRUE(r.problems.empty());
  // CodeBuild's artifact lines, then the report's own.
  const auto prep = line_at("Preparing to copy TEST report proj-unit");
  const auto base = line_at("Expanding base directory path: reports");
  const auto found = line_at("Found 1 file(s)");
  const auto done = line_at("Report proj-unit: FAILED (2 test case(s), 1 failed)");
  ASSERT_NE(prep, std::string::npos) << log.text();
  ASSERT_NE(done, std::string::npos) << log.text();
  EXPECT_LT(prep, base);
  EXPECT_LT(base, found);
  EXPECT_LT(found, done);
}

TEST_F(ReportCollectTest, GroupByArnIsUsedAsItIs) {
  tree.file("r.xml", kJunitPass);
  const std::string arn = "arn:aws:codebuild:us-west-2:999999999999:report-group/shared";
  group(arn, {"r.xml"});
  auto out = collect();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].report.name, "shared");
  EXPECT_EQ(out[0].report.group_arn, arn);
  EXPECT_EQ(out[0].report.status, ReportStatus::kSucceeded);
}

TEST_F(ReportCollectTest, GroupNameAndBaseDirectoryExpandVariables) {
  tree.file("out/junit/a.xml", kJunitPass);
  req.expand = [](const std::string& t) -> Result<std::string> {
    if (t == "$REPORT_GROUP_NAME") return std::string("unit");
    if (t == "$OUT") return std::string("out/junit");
    return fail(ErrorCode::kProcess, "unexpected " + t);
  };
  group("$REPORT_GROUP_NAME", {"*.xml"}).base_directory = "$OUT";
  auto out = collect();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].report.name, "proj-unit");
  EXPECT_EQ(out[0].report.test_summary.total, 1);
}

TEST_F(ReportCollectTest, FileFormatIsCaseInsensitiveAndCoverageIsSummed) {
  tree.file("coverage.xml", kCobertura);
  group("cov", {"coverage.xml"}, "coberturaXml");
  auto out = collect();
  ASSERT_EQ(out.size(), 1u);
  const auto& r = out[0].report;
  EXPECT_EQ(r.type, ReportType::kCodeCoverage);
  EXPECT_EQ(r.status, ReportStatus::kSucceeded) << log.text();
  ASSERT_EQ(r.coverages.size(), 1u);
  EXPECT_EQ(r.coverages[0].file_path, "src/m.py");
  EXPECT_EQ(r.coverage_summary.lines_covered, 1);
  EXPECT_EQ(r.coverage_summary.lines_missed, 1);
  EXPECT_DOUBLE_EQ(r.coverage_summary.line_percentage(), 50.0);
  EXPECT_TRUE(has_line("Preparing to copy CODE_COVERAGE report proj-cov")) << log.text();
}

TEST_F(ReportCollectTest, UnknownFormatIsIncompleteWithALogLine) {
  tree.file("r.xml", kJunitPass);
  group("g", {"r.xml"}, "TAPXML");
  auto out = collect();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].report.status, ReportStatus::kIncomplete);
  EXPECT_TRUE(has_line("Report proj-g: unknown report file-format TAPXML")) << log.text();
  EXPECT_TRUE(has_line("Report proj-g: INCOMPLETE (0 test case(s), 0 failed)")) << log.text();
}

TEST_F(ReportCollectTest, MissingFilesMakeAnIncompleteReport) {
  group("g", {"reports/*.xml"});
  auto out = collect();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].report.status, ReportStatus::kIncomplete);
  EXPECT_EQ(out[0].report.problems, std::vector<std::string>{"no matching report paths found"});
  EXPECT_TRUE(has_line("Skipping invalid file path reports/*.xml")) << log.text();
  EXPECT_TRUE(has_line("Report proj-g: no matching report paths found")) << log.text();
}

TEST_F(ReportCollectTest, TruncatedXmlNamesFileAndLineAndKeepsTheOtherFiles) {
  tree.file("r/a.xml", kJunitTwo);
  tree.file("r/b.xml", "<?xml version=\"1.0\"?>\n<testsuite name=\"x\">\n  <testcase name=\"t\"");
  group("g", {"r/*.xml"});
  auto out = collect();
  ASSERT_EQ(out.size(), 1u);
  const auto& r = out[0].report;
  EXPECT_EQ(r.status, ReportStatus::kIncomplete);  // INCOMPLETE wins over FAILED
  EXPECT_EQ(r.test_summary.total, 2);              // a.xml's cases are kept
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].rfind("r/b.xml:3:", 0), 0u) << r.problems[0];
  EXPECT_TRUE(has_line(r.problems[0])) << log.text();
}

TEST_F(ReportCollectTest, FormatThatDoesNotMatchTheFileIsIncomplete) {
  tree.file("r.xml", kJunitPass);
  group("g", {"r.xml"}, "JACOCOXML");
  auto out = collect();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].report.status, ReportStatus::kIncomplete);
  ASSERT_EQ(out[0].report.problems.size(), 1u);
  EXPECT_EQ(out[0].report.problems[0].rfind("r.xml:", 0), 0u) << out[0].report.problems[0];
}

TEST_F(ReportCollectTest, SymlinkOutOfTheSourceIsNeverRead) {
  TempTree outside;
  outside.file("secret.xml", kJunitTwo);
  tree.link("r/evil.xml", outside.path("secret.xml").string());
  group("g", {"r/*.xml"});
  auto out = collect();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].report.status, ReportStatus::kIncomplete);
  EXPECT_EQ(out[0].report.test_summary.total, 0);
  EXPECT_TRUE(out[0].report.raw_files.empty());
}

TEST_F(ReportCollectTest, InvalidUtf8NeverFailsTheCollection) {
  tree.file("r.xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite><testcase name=\"\xff\xfe\"/>"
            "</testsuite>\n");
  group("g", {"r.xml"});
  auto out = collect();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(out[0].report.status, ReportStatus::kGenerating);
  for (const auto& c : out[0].report.test_cases) EXPECT_EQ(c.name.find('\xff'), std::string::npos);
}

TEST_F(ReportCollectTest, TwoGigabyteFileEndsQuickly) {
  const auto big = tree.file("big.xml", "");
  {
    UniqueFd fd(::open(big.c_str(), O_WRONLY | O_CLOEXEC));
    ASSERT_TRUE(fd);
    ASSERT_EQ(::ftruncate(fd.get(), 2LL << 30), 0);  // sparse: no disk used
  }
  group("g", {"big.xml"});
  const auto start = std::chrono::steady_clock::now();
  auto out = collect();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].report.status, ReportStatus::kIncomplete);
  EXPECT_EQ(
      out[0].report.problems,
      std::vector<std::string>{"big.xml: is larger than 512 MiB, the limit for a report file"});
  EXPECT_TRUE(has_line("big.xml: is larger than 512 MiB, the limit for a report file"));
  EXPECT_TRUE(out[0].report.raw_files.empty());  // never exported
}

TEST_F(ReportCollectTest, ProblemsQuotingInvalidUtf8AreStoredAsValidUtf8) {
  tree.file("c.json", "[{\"uri\": \"f\", \"name\": \"scen \xff\"}]");
  group("g", {"c.json"}, "CUCUMBERJSON");
  auto out = collect();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(log.text().find('\xff'), std::string::npos) << log.text();
  TempTree dest;
  ASSERT_TRUE(reports::write_report_files(out, dest.root()));
  const std::string text = read_file(dest.path("report-1.json"));
  EXPECT_EQ(text.find('\xff'), std::string::npos);
  EXPECT_NO_THROW((void)nlohmann::json::parse(text));
}

TEST_F(ReportCollectTest, TenThousandGroupsMakeFiveAndOneLineNamesTheRest) {
  tree.file("r.xml", kJunitPass);
  for (int i = 0; i < 10000; ++i) group("g" + std::to_string(i), {"r.xml"});
  const auto start = std::chrono::steady_clock::now();
  auto out = collect();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[4].report.name, "proj-g4");
  const std::string expected =
      "Skipping 9995 report group(s) beyond the limit of 5 per project: g5, g6, g7, g8, g9, g10, "
      "g11, g12, g13, g14, g15, g16, g17, g18, g19, g20, g21, g22, g23, g24 and 9975 more";
  EXPECT_TRUE(has_line(expected)) << log.text().substr(log.text().size() - 400);
}

TEST_F(ReportCollectTest, EveryStringPassesTheMasker) {
  tree.file("r.xml",
            "<testsuite name=\"suite-s3cr3t\"><testcase classname=\"c.s3cr3t\" name=\"t-s3cr3t\">"
            "<failure message=\"token s3cr3t leaked\"/></testcase></testsuite>");
  req.mask = [](std::string_view s) {
    std::string out(s);
    for (auto p = out.find("s3cr3t"); p != std::string::npos; p = out.find("s3cr3t"))
      out.replace(p, 6, "***");
    return out;
  };
  group("g-s3cr3t", {"r.xml"});
  auto out = collect();
  ASSERT_EQ(out.size(), 1u);
  const std::string file = reports::report_file_json(out[0].report).dump();
  EXPECT_EQ(file.find("s3cr3t"), std::string::npos) << file;
  ASSERT_EQ(out[0].report.test_cases.size(), 1u);
  EXPECT_EQ(out[0].report.test_cases[0].message, "token *** leaked");
  EXPECT_EQ(out[0].report.name, "proj-g-***");
  EXPECT_EQ(log.text().find("s3cr3t"), std::string::npos) << log.text();
}

TEST_F(ReportCollectTest, WritesReportFilesAndRawFiles) {
  tree.file("reports/deep/unit.xml", kJunitTwo);
  group("unit", {"reports/**/*.xml"});
  group("flat", {"reports/**/*.xml"}).discard_paths = true;
  auto out = collect();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].report.raw_files, std::vector<std::string>{"unit.xml"});
  TempTree dest;
  ASSERT_TRUE(reports::write_report_files(out, dest.path("reports")));
  auto j = nlohmann::json::parse(read_file(dest.path("reports/report-1.json")));
  auto back = reports::report_from_file_json(j);
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(back->arn, out[0].report.arn);
  EXPECT_EQ(back->test_cases.size(), 2u);
  EXPECT_EQ(read_file(dest.path("reports/report-1.raw/reports/deep/unit.xml")), kJunitTwo);
  EXPECT_EQ(read_file(dest.path("reports/report-2.raw/unit.xml")), kJunitTwo);
}

TEST_F(ReportCollectTest, DiscoverSettingsComeFromTheEnvironment) {
  EXPECT_TRUE(reports::discover_settings({}).enabled);
  EXPECT_FALSE(reports::discover_settings({{"CODEBUILD_CONFIG_AUTO_DISCOVER", "False"}}).enabled);
  EXPECT_TRUE(reports::discover_settings({{"CODEBUILD_CONFIG_AUTO_DISCOVER", "true"}}).enabled);
  EXPECT_EQ(reports::discover_settings({{"CODEBUILD_CONFIG_AUTO_DISCOVER_DIR", "out"}}).dir, "out");
}

}  // namespace
}  // namespace kiln::testing
