// The report model: format and status names, coverage arithmetic, ARNs, CodeBuild's JSON
// shapes (docs/reference/codebuild-api.md "Reports") and the report file's round trip.
#include "reports/report.h"

#include <gtest/gtest.h>

namespace kiln::reports {
namespace {

using nlohmann::json;

TEST(ReportModel, FormatNamesAreCaseInsensitive) {
  EXPECT_EQ(format_from_name("JUNITXML"), Format::kJunitXml);
  EXPECT_EQ(format_from_name("junitxml"), Format::kJunitXml);
  EXPECT_EQ(format_from_name("CucumberJson"), Format::kCucumberJson);
  EXPECT_EQ(format_from_name("simplecov"), Format::kSimpleCov);
  EXPECT_EQ(format_from_name("JUNIT"), std::nullopt);
  EXPECT_EQ(format_from_name(""), std::nullopt);
  for (Format f : kAllFormats) EXPECT_EQ(format_from_name(format_name(f)), f);
  EXPECT_EQ(format_name(Format::kVisualStudioTrx), "VISUALSTUDIOTRX");
  EXPECT_EQ(format_name(Format::kNunit3Xml), "NUNIT3XML");
}

TEST(ReportModel, TypesOfFormats) {
  int tests = 0;
  for (Format f : kAllFormats) tests += type_of(f) == ReportType::kTest ? 1 : 0;
  EXPECT_EQ(tests, 6);
  EXPECT_EQ(type_of(Format::kJacocoXml), ReportType::kCodeCoverage);
  EXPECT_EQ(type_of(Format::kTestNgXml), ReportType::kTest);
  EXPECT_EQ(type_name(ReportType::kCodeCoverage), "CODE_COVERAGE");
  EXPECT_EQ(type_from_name("TEST"), ReportType::kTest);
  EXPECT_EQ(type_from_name("test"), std::nullopt);  // an API enum: exact
}

TEST(ReportModel, StatusNames) {
  for (auto s : {ReportStatus::kGenerating, ReportStatus::kSucceeded, ReportStatus::kFailed,
                 ReportStatus::kIncomplete, ReportStatus::kDeleting}) {
    EXPECT_EQ(status_from_name(status_name(s)), s);
  }
  EXPECT_EQ(status_name(ReportStatus::kIncomplete), "INCOMPLETE");
  EXPECT_EQ(status_from_name("DONE"), std::nullopt);
}

TEST(ReportModel, CoveragePercentagesHaveTwoDecimals) {
  Coverage c{5, 1, 1, 1};  // CodeBuild's describe-code-coverages example: 83.33 and 50.0
  EXPECT_DOUBLE_EQ(c.line_percentage(), 83.33);
  EXPECT_DOUBLE_EQ(c.branch_percentage(), 50.0);
  EXPECT_DOUBLE_EQ((Coverage{2, 1, 0, 0}.line_percentage()), 66.67);  // half away from zero
  EXPECT_DOUBLE_EQ((Coverage{0, 0, 0, 0}.line_percentage()), 0.0);    // nothing to cover
  EXPECT_DOUBLE_EQ((Coverage{0, 7, 0, 0}.line_percentage()), 0.0);
  EXPECT_DOUBLE_EQ((Coverage{7, 0, 0, 0}.line_percentage()), 100.0);
  Coverage sum{1, 2, 3, 4};
  sum += Coverage{10, 20, 30, 40};
  EXPECT_EQ(sum, (Coverage{11, 22, 33, 44}));
}

TEST(ReportModel, GroupArns) {
  EXPECT_EQ(group_arn("eu-west-1", "123456789012", "proj-unit"),
            "arn:aws:codebuild:eu-west-1:123456789012:report-group/proj-unit");
  EXPECT_EQ(group_name_from_arn("arn:aws:codebuild:eu-west-1:123456789012:report-group/proj-unit"),
            "proj-unit");
  EXPECT_EQ(group_name_from_arn("arn:aws:codebuild:eu-west-1:1:report/g:uuid"), std::nullopt);
  EXPECT_EQ(group_name_from_arn("arn:aws:codebuild:eu-west-1:1:report-group/"), std::nullopt);
  EXPECT_EQ(group_name_from_arn("arn:aws:s3:::report-group/x"), std::nullopt);
  EXPECT_EQ(group_name_from_arn("proj-unit"), std::nullopt);
}

Report sample_test_report() {
  Report r;
  r.arn = "arn:aws:codebuild:us-east-1:000000000000:report/p-unit:1f2e";
  r.name = "p-unit";
  r.group_arn = "arn:aws:codebuild:us-east-1:000000000000:report-group/p-unit";
  r.execution_id = "arn:aws:codebuild:us-east-1:000000000000:build/p:b1";
  r.status = ReportStatus::kFailed;
  r.created = 1700000000.125;
  r.expired = 1702592000.125;
  r.truncated = true;
  r.test_summary.total = 501;
  r.test_summary.status_counts = {{"FAILED", 1}, {"SUCCEEDED", 500}};
  r.test_summary.duration_ns = 42;
  r.test_cases.push_back(TestCase{"reports/a.xml", "a.B", "t1", "FAILED", 7, "boom", "suite"});
  r.problems = {"reports/b.xml:3:1: bad"};
  r.raw_files = {"reports/a.xml", "reports/b.xml"};
  return r;
}

TEST(ReportModel, TestReportJsonHasCodeBuildsShape) {
  const json j = report_json(sample_test_report());
  EXPECT_EQ(j["type"], "TEST");
  EXPECT_EQ(j["status"], "FAILED");
  EXPECT_EQ(j["reportGroupArn"], "arn:aws:codebuild:us-east-1:000000000000:report-group/p-unit");
  EXPECT_EQ(j["executionId"], "arn:aws:codebuild:us-east-1:000000000000:build/p:b1");
  EXPECT_TRUE(j["created"].is_number_float());
  EXPECT_DOUBLE_EQ(j["created"].get<double>(), 1700000000.125);
  EXPECT_EQ(j["truncated"], true);
  EXPECT_FALSE(j.contains("codeCoverageSummary"));
  EXPECT_FALSE(j.contains("testCases"));
  EXPECT_FALSE(j.contains("problems"));
  const json want_counts = {
      {"SUCCEEDED", 500}, {"FAILED", 1}, {"ERROR", 0}, {"SKIPPED", 0}, {"UNKNOWN", 0}};
  EXPECT_EQ(j["testSummary"]["statusCounts"], want_counts);
  EXPECT_EQ(j["testSummary"]["total"], 501);
  EXPECT_EQ(j["testSummary"]["durationInNanoSeconds"], 42);
}

TEST(ReportModel, TestCaseJson) {
  const Report r = sample_test_report();
  const json j = test_case_json(r.test_cases[0], r);
  const json want = {{"reportArn", r.arn},      {"testRawDataPath", "reports/a.xml"},
                     {"prefix", "a.B"},         {"name", "t1"},
                     {"status", "FAILED"},      {"durationInNanoSeconds", 7},
                     {"message", "boom"},       {"expired", 1702592000.125},
                     {"testSuiteName", "suite"}};
  EXPECT_EQ(j, want);
}

TEST(ReportModel, CoverageJson) {
  Report r;
  r.arn = "arn:aws:codebuild:us-east-1:0:report/p-cov:9";
  r.type = ReportType::kCodeCoverage;
  r.coverage_summary = Coverage{5, 1, 1, 1};
  r.expired = 5;
  const json j = report_json(r);
  EXPECT_FALSE(j.contains("testSummary"));
  const json want_summary = {
      {"lineCoveragePercentage", 83.33},  {"linesCovered", 5},    {"linesMissed", 1},
      {"branchCoveragePercentage", 50.0}, {"branchesCovered", 1}, {"branchesMissed", 1}};
  EXPECT_EQ(j["codeCoverageSummary"], want_summary);
  const json f = code_coverage_json(FileCoverage{"src/a.py", Coverage{1, 3, 0, 0}}, "7", r);
  EXPECT_EQ(f["id"], "7");
  EXPECT_EQ(f["reportARN"], r.arn);
  EXPECT_EQ(f["filePath"], "src/a.py");
  EXPECT_EQ(f["lineCoveragePercentage"], 25.0);
  EXPECT_EQ(f["branchCoveragePercentage"], 0.0);
  EXPECT_EQ(f["expired"], 5.0);
}

TEST(ReportModel, ReportFileRoundTrips) {
  Report r = sample_test_report();
  const json file = report_file_json(r);
  EXPECT_EQ(file["kiln"]["rawFiles"], json({"reports/a.xml", "reports/b.xml"}));
  EXPECT_EQ(file["testCases"].size(), 1u);
  auto back = report_from_file_json(json::parse(file.dump()));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->arn, r.arn);
  EXPECT_EQ(back->name, r.name);
  EXPECT_EQ(back->group_arn, r.group_arn);
  EXPECT_EQ(back->execution_id, r.execution_id);
  EXPECT_EQ(back->status, r.status);
  EXPECT_EQ(back->type, r.type);
  EXPECT_DOUBLE_EQ(back->created, r.created);
  EXPECT_DOUBLE_EQ(back->expired, r.expired);
  EXPECT_EQ(back->truncated, true);
  EXPECT_EQ(back->test_summary.total, 501);
  EXPECT_EQ(back->test_summary.status_counts.at("SUCCEEDED"), 500);
  EXPECT_EQ(back->test_summary.status_counts.at("ERROR"), 0);
  EXPECT_EQ(back->test_cases, r.test_cases);
  EXPECT_EQ(back->problems, r.problems);
  EXPECT_EQ(back->raw_files, r.raw_files);

  Report cov;
  cov.arn = "arn:aws:codebuild:us-east-1:0:report/p-cov:9";
  cov.type = ReportType::kCodeCoverage;
  cov.status = ReportStatus::kSucceeded;
  cov.coverage_summary = Coverage{6, 4, 2, 2};
  cov.coverages = {FileCoverage{"a.c", Coverage{1, 1, 0, 0}}, FileCoverage{"b.c", {5, 3, 2, 2}}};
  const json cf = report_file_json(cov);
  EXPECT_EQ(cf["codeCoverages"][1]["id"], "2");
  auto cback = report_from_file_json(cf);
  ASSERT_TRUE(cback) << cback.error().message();
  EXPECT_EQ(cback->coverage_summary, cov.coverage_summary);
  EXPECT_EQ(cback->coverages, cov.coverages);
}

TEST(ReportModel, ReportFileErrorsNameTheMember) {
  json j = report_file_json(sample_test_report());
  auto no_arn = j;
  no_arn.erase("arn");
  auto r = report_from_file_json(no_arn);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message(), "report: member 'arn' is missing or not a string");

  auto bad_status = j;
  bad_status["status"] = "DONE";
  EXPECT_EQ(report_from_file_json(bad_status).error().message(),
            "report: member 'status' is missing or not a report status");

  auto bad_case = j;
  bad_case["testCases"][0]["durationInNanoSeconds"] = "7";
  EXPECT_EQ(report_from_file_json(bad_case).error().message(),
            "testCases[0]: member 'durationInNanoSeconds' is missing or not an integer");

  auto bad_kiln = j;
  bad_kiln["kiln"]["rawFiles"] = json::array({1});
  EXPECT_EQ(report_from_file_json(bad_kiln).error().message(),
            "kiln: member 'rawFiles' is missing or not an array of strings");

  EXPECT_FALSE(report_from_file_json(json::array()));
  EXPECT_FALSE(report_from_file_json(json("x")));
}

}  // namespace
}  // namespace kiln::reports
