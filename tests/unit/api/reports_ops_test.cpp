// The report operations through Service::handle (report_groups_ops.cpp, reports_ops.cpp):
// CodeBuild's shapes, errors, pagination and expiry. Reports are stored as a build's ingest
// stores them (api::stored_report).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "api/authorize.h"
#include "api/report_shape.h"
#include "api/service_fixture.h"
#include "reports/report.h"

namespace kiln::api {
namespace {

using nlohmann::json;

const std::string kCb = "CodeBuild_20161006.";
const std::string kGroup = "arn:aws:codebuild:us-east-1:123456789012:report-group/app-unit";
const json kNoExport = {{"exportConfigType", "NO_EXPORT"}};

class ReportsOps : public ServiceTest {
 protected:
  double now() const { return to_epoch_seconds_ms(clock_.now()); }

  json create_group(const std::string& name, const std::string& type = "TEST") {
    return ok(kCb + "CreateReportGroup",
              {{"name", name}, {"type", type}, {"exportConfig", kNoExport}})["reportGroup"];
  }

  // Stores a report of `group` with the given case statuses (names "case-<i>", prefix
  // "suite.<status>") or, for a coverage report, the given files.
  std::string add_report(const std::string& uuid, const std::vector<std::string>& statuses,
                         const std::string& group = kGroup,
                         const std::vector<reports::FileCoverage>& files = {}) {
    reports::Report r;
    const std::string name = group.substr(group.rfind('/') + 1);
    r.arn = "arn:aws:codebuild:us-east-1:123456789012:report/" + name + ":" + uuid;
    r.name = name;
    r.group_arn = group;
    r.execution_id = "arn:aws:codebuild:us-east-1:123456789012:build/app:" + uuid;
    r.type = files.empty() ? reports::ReportType::kTest : reports::ReportType::kCodeCoverage;
    r.created = now();
    r.expired = r.created + reports::kDefaultExpiryDays * 86400.0;
    bool failed = false;
    for (std::size_t i = 0; i < statuses.size(); ++i) {
      reports::TestCase c;
      c.name = "case-" + std::to_string(i);
      c.prefix = "suite." + statuses[i];
      c.status = statuses[i];
      c.duration_ns = 1000;
      r.test_cases.push_back(c);
      r.test_summary.status_counts[statuses[i]]++;
      r.test_summary.duration_ns += 1000;
      failed = failed || statuses[i] == "FAILED";
    }
    r.test_summary.total = static_cast<std::int64_t>(statuses.size());
    for (const auto& f : files) r.coverage_summary += f.counts;
    r.coverages = files;
    r.status = failed ? reports::ReportStatus::kFailed : reports::ReportStatus::kSucceeded;
    const StoredReport s = stored_report(r, kNoExport);
    auto inserted = store_->insert_report(s.row, s.cases, s.coverages);
    EXPECT_TRUE(inserted) << inserted.error().describe();
    return r.arn;
  }

  void expect_error(const std::string& op, const json& in, const std::string& type,
                    const std::string& message = "") {
    const Answer a = call(kCb + op, in);
    EXPECT_EQ(a.status, 400) << op << ": " << a.text;
    EXPECT_EQ(a.type(), type) << op << ": " << a.text;
    if (!message.empty()) {
      EXPECT_EQ(a.message(), message) << op;
    }
  }

  // Every item of a paginated operation, with page size 1.
  std::vector<json> all_pages(const std::string& op, json in, const std::string& member) {
    std::vector<json> out;
    in["maxResults"] = 1;
    for (int i = 0; i < 50; ++i) {
      json page = ok(kCb + op, in);
      for (const auto& item : page[member]) out.push_back(item);
      if (!page.contains("nextToken")) break;
      EXPECT_NE(page["nextToken"], in.value("nextToken", ""));
      in["nextToken"] = page["nextToken"];
    }
    return out;
  }
};

TEST_F(ReportsOps, CreateUpdateGetAndListGroups) {
  const json g = create_group("app-unit");
  EXPECT_EQ(g["arn"], kGroup);
  EXPECT_EQ(g["name"], "app-unit");
  EXPECT_EQ(g["type"], "TEST");
  EXPECT_EQ(g["status"], "ACTIVE");
  EXPECT_EQ(g["exportConfig"], kNoExport);
  EXPECT_EQ(g["tags"], json::array());
  EXPECT_EQ(g["created"], now());
  expect_error("CreateReportGroup",
               {{"name", "app-unit"}, {"type", "TEST"}, {"exportConfig", kNoExport}},
               "ResourceAlreadyExistsException", "Report group already exists: " + kGroup);

  clock_.advance(std::chrono::seconds(5));
  const json s3 = {{"exportConfigType", "S3"},
                   {"s3Destination", {{"bucket", "reports"}, {"packaging", "ZIP"}}}};
  const json u = ok(kCb + "UpdateReportGroup",
                    {{"arn", kGroup},
                     {"exportConfig", s3},
                     {"tags", {{{"key", "team"}, {"value", "web"}}}}})["reportGroup"];
  EXPECT_EQ(u["exportConfig"], s3);
  EXPECT_EQ(u["tags"][0]["key"], "team");
  EXPECT_EQ(u["lastModified"], now());
  EXPECT_EQ(u["created"], g["created"]);
  expect_error("UpdateReportGroup", {{"arn", kGroup + "x"}}, "ResourceNotFoundException",
               "Report group cannot be found: " + kGroup + "x");

  const json got = ok(kCb + "BatchGetReportGroups", {{"reportGroupArns", {kGroup, "nope"}}});
  ASSERT_EQ(got["reportGroups"].size(), 1U);
  EXPECT_EQ(got["reportGroups"][0], u);
  EXPECT_EQ(got["reportGroupsNotFound"], json({"nope"}));

  create_group("b-cov", "CODE_COVERAGE");
  create_group("c-int");
  std::vector<std::string> names;
  for (const auto& arn : all_pages(
           "ListReportGroups", {{"sortBy", "NAME"}, {"sortOrder", "ASCENDING"}}, "reportGroups"))
    names.push_back(arn.get<std::string>().substr(arn.get<std::string>().rfind('/') + 1));
  EXPECT_EQ(names, (std::vector<std::string>{"app-unit", "b-cov", "c-int"}));
  const json by_default = ok(kCb + "ListReportGroups", json::object());
  EXPECT_EQ(by_default["reportGroups"].size(), 3U);
  EXPECT_FALSE(by_default.contains("nextToken"));
  EXPECT_EQ(by_default["reportGroups"][0].get<std::string>().substr(kGroup.size() - 8), "c-int");
}

TEST_F(ReportsOps, GroupInputIsChecked) {
  expect_error("CreateReportGroup", {{"name", "x"}, {"type", "TEST"}, {"exportConfig", kNoExport}},
               "InvalidInputException");
  expect_error("CreateReportGroup",
               {{"name", "xy"}, {"type", "BOGUS"}, {"exportConfig", kNoExport}},
               "InvalidInputException");
  expect_error("CreateReportGroup", {{"name", "xy"}, {"type", "TEST"}}, "InvalidInputException",
               "Missing required parameter: exportConfig");
  expect_error("CreateReportGroup",
               {{"name", "xy"}, {"type", "TEST"}, {"exportConfig", {{"exportConfigType", "S3"}}}},
               "InvalidInputException",
               "Invalid exportConfig: s3Destination.bucket must be specified when "
               "exportConfigType is S3");
  expect_error(
      "CreateReportGroup",
      {{"name", "xy"},
       {"type", "TEST"},
       {"exportConfig",
        {{"exportConfigType", "S3"}, {"s3Destination", {{"bucket", "b"}, {"packaging", "TAR"}}}}}},
      "InvalidInputException");
  expect_error("ListReportGroups", {{"maxResults", 101}}, "InvalidInputException");
  expect_error("ListReportGroups", {{"sortBy", "ARN"}}, "InvalidInputException");
  expect_error("ListReportGroups", {{"nextToken", "garbage"}}, "InvalidInputException");
  expect_error("BatchGetReportGroups", {{"reportGroupArns", json::array()}},
               "InvalidInputException");
}

TEST_F(ReportsOps, AtMostAThousandGroups) {
  for (int i = 0; i < kMaxReportGroups; ++i) {
    ASSERT_EQ(store_
                  ->create_report_group(
                      {"arn:g" + std::to_string(i), "g" + std::to_string(i), "TEST", 1, 1, "{}"},
                      kMaxReportGroups)
                  .value(),
              store::GroupCreated::kCreated);
  }
  expect_error("CreateReportGroup",
               {{"name", "one-more"}, {"type", "TEST"}, {"exportConfig", kNoExport}},
               "AccountLimitExceededException");
}

TEST_F(ReportsOps, DeleteGroupNeedsDeleteReportsWhileItHasReports) {
  create_group("app-unit");
  const std::string r = add_report("r1", {"SUCCEEDED"});
  expect_error("DeleteReportGroup", {{"arn", kGroup}}, "InvalidInputException",
               "Cannot delete report group " + kGroup +
                   ": it still has reports. Set deleteReports to true to delete them with it");
  expect_error("DeleteReportGroup", {{"arn", kGroup}, {"deleteReports", "yes"}},
               "InvalidInputException");
  EXPECT_EQ(ok(kCb + "DeleteReportGroup", {{"arn", kGroup}, {"deleteReports", true}}),
            json::object());
  EXPECT_EQ(ok(kCb + "BatchGetReports", {{"reportArns", {r}}})["reportsNotFound"], json({r}));
  // A group that is not there is deleted already.
  EXPECT_EQ(ok(kCb + "DeleteReportGroup", {{"arn", kGroup}}), json::object());
}

TEST_F(ReportsOps, ReportsListedFilteredAndFetched) {
  create_group("app-unit");
  const std::string other = create_group("other")["arn"];
  const std::string r1 = add_report("r1", {"SUCCEEDED"});
  const std::string r2 = add_report("r2", {"FAILED", "SUCCEEDED"});
  const std::string r3 = add_report("r3", {"SUCCEEDED"}, other);

  const json got = ok(kCb + "BatchGetReports", {{"reportArns", {r2, "nope", r2}}});
  ASSERT_EQ(got["reports"].size(), 1U);
  const json& report = got["reports"][0];
  EXPECT_EQ(report["arn"], r2);
  EXPECT_EQ(report["status"], "FAILED");
  EXPECT_EQ(report["reportGroupArn"], kGroup);
  EXPECT_EQ(report["name"], "app-unit");
  EXPECT_EQ(report["exportConfig"], kNoExport);
  EXPECT_EQ(report["testSummary"]["total"], 2);
  EXPECT_EQ(report["testSummary"]["statusCounts"]["FAILED"], 1);
  EXPECT_EQ(report["expired"], now() + 30 * 86400.0);
  EXPECT_EQ(got["reportsNotFound"], json({"nope"}));

  EXPECT_EQ(all_pages("ListReports", json::object(), "reports"), (std::vector<json>{r3, r2, r1}));
  EXPECT_EQ(all_pages("ListReports", {{"sortOrder", "ASCENDING"}}, "reports"),
            (std::vector<json>{r1, r2, r3}));
  EXPECT_EQ(all_pages("ListReports", {{"filter", {{"status", "FAILED"}}}}, "reports"),
            (std::vector<json>{r2}));
  EXPECT_EQ(all_pages("ListReportsForReportGroup", {{"reportGroupArn", kGroup}}, "reports"),
            (std::vector<json>{r2, r1}));
  expect_error("ListReports", {{"filter", {{"status", "PASSED"}}}}, "InvalidInputException");
  expect_error("ListReportsForReportGroup", {{"reportGroupArn", kGroup + "x"}},
               "ResourceNotFoundException");

  EXPECT_EQ(ok(kCb + "DeleteReport", {{"arn", r1}}), json::object());
  EXPECT_EQ(ok(kCb + "DeleteReport", {{"arn", r1}}), json::object());
  EXPECT_EQ(ok(kCb + "ListReportsForReportGroup", {{"reportGroupArn", kGroup}})["reports"],
            json({r2}));
}

TEST_F(ReportsOps, DescribeTestCasesFiltersByStatusAndKeyword) {
  create_group("app-unit");
  const std::string r = add_report("r1", {"FAILED", "SUCCEEDED", "SKIPPED", "FAILED"});
  const auto cases = all_pages("DescribeTestCases", {{"reportArn", r}}, "testCases");
  ASSERT_EQ(cases.size(), 4U);
  EXPECT_EQ(cases[0]["reportArn"], r);
  EXPECT_EQ(cases[0]["name"], "case-0");
  EXPECT_EQ(cases[0]["status"], "FAILED");
  EXPECT_EQ(cases[0]["durationInNanoSeconds"], 1000);
  EXPECT_EQ(cases[0]["expired"], now() + 30 * 86400.0);
  const auto failed = all_pages(
      "DescribeTestCases", {{"reportArn", r}, {"filter", {{"status", "FAILED"}}}}, "testCases");
  ASSERT_EQ(failed.size(), 2U);
  EXPECT_EQ(failed[1]["name"], "case-3");
  const auto by_prefix = ok(kCb + "DescribeTestCases",
                            {{"reportArn", r}, {"filter", {{"keyword", "SKIP"}}}})["testCases"];
  ASSERT_EQ(by_prefix.size(), 1U);
  EXPECT_EQ(by_prefix[0]["name"], "case-2");
  const auto by_name = ok(kCb + "DescribeTestCases",
                          {{"reportArn", r}, {"filter", {{"keyword", "case-1"}}}})["testCases"];
  ASSERT_EQ(by_name.size(), 1U);
  EXPECT_EQ(by_name[0]["status"], "SUCCEEDED");
  expect_error("DescribeTestCases", {{"reportArn", r + "x"}}, "ResourceNotFoundException",
               "Report cannot be found: " + r + "x");
  expect_error("DescribeTestCases", json::object(), "InvalidInputException",
               "Missing required parameter: reportArn");
  expect_error("DescribeTestCases", {{"reportArn", r}, {"maxResults", 0}}, "InvalidInputException");
}

TEST_F(ReportsOps, DescribeCodeCoveragesSortsAndBounds) {
  const std::string group = create_group("cov", "CODE_COVERAGE")["arn"];
  const std::string r =
      add_report("c1", {}, group,
                 {{"src/b.c", {3, 1, 0, 0}}, {"src/a.c", {1, 0, 1, 1}}, {"src/c.c", {0, 4, 0, 0}}});
  auto paths = [&](const json& in) {
    std::vector<std::string> out;
    json q = in;
    q["reportArn"] = r;
    for (const auto& c : all_pages("DescribeCodeCoverages", q, "codeCoverages"))
      out.push_back(c["filePath"]);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(paths(json::object()), (V{"src/a.c", "src/b.c", "src/c.c"}));
  EXPECT_EQ(paths({{"sortBy", "LINE_COVERAGE_PERCENTAGE"}, {"sortOrder", "DESCENDING"}}),
            (V{"src/a.c", "src/b.c", "src/c.c"}));
  EXPECT_EQ(paths({{"sortBy", "LINE_COVERAGE_PERCENTAGE"}}), (V{"src/c.c", "src/b.c", "src/a.c"}));
  EXPECT_EQ(paths({{"minLineCoveragePercentage", 50}, {"maxLineCoveragePercentage", 99.9}}),
            (V{"src/b.c"}));
  const json first = ok(kCb + "DescribeCodeCoverages", {{"reportArn", r}})["codeCoverages"][0];
  EXPECT_EQ(first["reportARN"], r);
  EXPECT_EQ(first["id"], "2");
  EXPECT_EQ(first["lineCoveragePercentage"], 100.0);
  EXPECT_EQ(first["branchCoveragePercentage"], 50.0);
  // No ResourceNotFoundException in the model.
  EXPECT_EQ(ok(kCb + "DescribeCodeCoverages", {{"reportArn", r + "x"}})["codeCoverages"],
            json::array());
  expect_error("DescribeCodeCoverages", {{"reportArn", r}, {"minLineCoveragePercentage", 101}},
               "InvalidInputException");
  expect_error(
      "DescribeCodeCoverages",
      {{"reportArn", r}, {"minLineCoveragePercentage", 60}, {"maxLineCoveragePercentage", 50}},
      "InvalidInputException");
  expect_error("DescribeCodeCoverages", {{"reportArn", r}, {"sortBy", "NAME"}},
               "InvalidInputException");
}

TEST_F(ReportsOps, TrendOfEveryFieldAsStrings) {
  create_group("app-unit");
  const std::string r1 = add_report("r1", {"SUCCEEDED", "FAILED"});               // 50%
  const std::string r2 = add_report("r2", {"SUCCEEDED", "SUCCEEDED", "FAILED"});  // 66.67%
  const std::string r3 = add_report("r3", {"SUCCEEDED"});                         // 100%
  const json all =
      ok(kCb + "GetReportGroupTrend", {{"reportGroupArn", kGroup}, {"trendField", "PASS_RATE"}});
  EXPECT_EQ(all["stats"], json({{"average", "72.22"}, {"max", "100"}, {"min", "50"}}));
  EXPECT_EQ(all["rawData"], json({{{"reportArn", r3}, {"data", "100"}},
                                  {{"reportArn", r2}, {"data", "66.67"}},
                                  {{"reportArn", r1}, {"data", "50"}}}));
  const json two = ok(kCb + "GetReportGroupTrend",
                      {{"reportGroupArn", kGroup}, {"trendField", "TOTAL"}, {"numOfReports", 2}});
  EXPECT_EQ(two["stats"], json({{"average", "2"}, {"max", "3"}, {"min", "1"}}));
  EXPECT_EQ(two["rawData"].size(), 2U);
  const json duration =
      ok(kCb + "GetReportGroupTrend", {{"reportGroupArn", kGroup}, {"trendField", "DURATION"}});
  EXPECT_EQ(duration["stats"]["max"], "3000");

  const std::string cov = create_group("cov", "CODE_COVERAGE")["arn"];
  add_report("c1", {}, cov, {{"a", {1, 3, 2, 2}}});
  for (const auto& [field, value] :
       std::vector<std::pair<std::string, std::string>>{{"LINE_COVERAGE", "25"},
                                                        {"LINES_COVERED", "1"},
                                                        {"LINES_MISSED", "3"},
                                                        {"BRANCH_COVERAGE", "50"},
                                                        {"BRANCHES_COVERED", "2"},
                                                        {"BRANCHES_MISSED", "2"}}) {
    const json t =
        ok(kCb + "GetReportGroupTrend", {{"reportGroupArn", cov}, {"trendField", field}});
    EXPECT_EQ(t["rawData"][0]["data"], value) << field;
  }
  // A test field of a coverage group has nothing to count.
  const json none =
      ok(kCb + "GetReportGroupTrend", {{"reportGroupArn", cov}, {"trendField", "TOTAL"}});
  EXPECT_EQ(none, json({{"stats", json::object()}, {"rawData", json::array()}}));

  expect_error("GetReportGroupTrend", {{"reportGroupArn", kGroup}, {"trendField", "SPEED"}},
               "InvalidInputException");
  expect_error("GetReportGroupTrend",
               {{"reportGroupArn", kGroup}, {"trendField", "TOTAL"}, {"numOfReports", 101}},
               "InvalidInputException");
  expect_error("GetReportGroupTrend", {{"reportGroupArn", kGroup + "x"}, {"trendField", "TOTAL"}},
               "ResourceNotFoundException");
}

TEST_F(ReportsOps, ExpiredReportsAreGoneAndSwept) {
  create_group("app-unit");
  const std::string r = add_report("r1", {"FAILED"});
  clock_.advance(std::chrono::hours(24 * 30) - std::chrono::seconds(1));
  EXPECT_EQ(ok(kCb + "BatchGetReports", {{"reportArns", {r}}})["reports"].size(), 1U);
  clock_.advance(std::chrono::seconds(1));
  EXPECT_EQ(ok(kCb + "BatchGetReports", {{"reportArns", {r}}})["reportsNotFound"], json({r}));
  EXPECT_EQ(ok(kCb + "ListReports", json::object())["reports"], json::array());
  expect_error("DescribeTestCases", {{"reportArn", r}}, "ResourceNotFoundException");
  // Sweeps are an hour apart: the first read after that removes it from the store.
  clock_.advance(std::chrono::hours(1));
  ok(kCb + "ListReports", json::object());
  EXPECT_EQ(store_->delete_expired_reports(now()).value(), 0);
  // And its group can go without deleteReports.
  EXPECT_EQ(ok(kCb + "DeleteReportGroup", {{"arn", kGroup}}), json::object());
}

TEST_F(ReportsOps, ActionsAndResources) {
  ArnContext ctx{"eu-west-1", "123456789012", nullptr};
  const std::string report = "arn:aws:codebuild:us-east-1:123456789012:report/app-unit:abc";
  auto one = [&](const std::string& op, const json& in) {
    const auto a = accesses_of(kCb + op, in, ctx);
    EXPECT_EQ(a.size(), 1U) << op;
    return a.empty() ? Access{} : a[0];
  };
  EXPECT_EQ(one("CreateReportGroup", {{"name", "g"}}),
            (Access{"codebuild:CreateReportGroup",
                    "arn:aws:codebuild:eu-west-1:123456789012:report-group/g"}));
  EXPECT_EQ(one("UpdateReportGroup", {{"arn", kGroup}}),
            (Access{"codebuild:UpdateReportGroup", kGroup}));
  EXPECT_EQ(one("GetReportGroupTrend", {{"reportGroupArn", kGroup}}).resource, kGroup);
  EXPECT_EQ(one("DescribeTestCases", {{"reportArn", report}}),
            (Access{"codebuild:DescribeTestCases", kGroup}));
  EXPECT_EQ(one("DeleteReport", {{"arn", report}}).resource, kGroup);
  EXPECT_EQ(one("BatchGetReports", {{"reportArns", {report}}}).resource, kGroup);
  EXPECT_EQ(one("ListReports", json::object()), (Access{"codebuild:ListReports", "*"}));
}

}  // namespace
}  // namespace kiln::api
