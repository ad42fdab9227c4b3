// Report groups and reports as the API shows them (docs/reference/codebuild-api.md "Reports",
// §3.5 ReportGroup, ReportExportConfig; docs/reports.md): CreateReportGroup / UpdateReportGroup
// input checked and turned into the stored ReportGroup JSON, the group a build makes for a
// buildspec's group that does not exist, report ARNs, and GetReportGroupTrend's arithmetic.
// Thread safety: pure functions.
#pragma once

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/api_error.h"
#include "api/project_shape.h"
#include "reports/report.h"
#include "store/store.h"

namespace kiln::api {

// Report groups per account (docs/reference/codebuild-semantics.md §7.3).
inline constexpr int kMaxReportGroups = 1000;

inline constexpr std::array<std::string_view, 9> kTrendFields = {
    "PASS_RATE",       "DURATION",         "TOTAL",
    "LINE_COVERAGE",   "LINES_COVERED",    "LINES_MISSED",
    "BRANCH_COVERAGE", "BRANCHES_COVERED", "BRANCHES_MISSED"};

// A ReportExportConfig; `where` is the member path for messages ("exportConfig").
ApiResult<void> check_export_config(const nlohmann::json& config, const std::string& where);

// CreateReportGroup's input -> the ReportGroup to store, its ARN in `account`. `now` in epoch
// seconds.
ApiResult<nlohmann::json> report_group_from_create(const nlohmann::json& in, const Account& account,
                                                   double now);
// UpdateReportGroup: exportConfig and tags, when given, replace the stored ones.
ApiResult<nlohmann::json> report_group_apply_update(nlohmann::json group, const nlohmann::json& in,
                                                    double now);
// The group a build makes for a buildspec's group that does not exist yet (§7.1): no export,
// no tags.
nlohmann::json new_report_group(const std::string& arn, const std::string& name,
                                std::string_view type, double now);

// A report as the store keeps it: the Report shape (report_json plus the group's exportConfig),
// each TestCase and each CodeCoverage (ids "1", "2", ... in order).
struct StoredReport {
  store::ReportRow row;
  std::vector<store::TestCaseRow> cases;
  std::vector<store::CoverageRow> coverages;
};
StoredReport stored_report(const reports::Report& r, const nlohmann::json& export_config);

// BatchGetReportGroups' and BatchGetReports' answer: `found_member` lists the stored JSON of
// each ARN of `arns` found in `rows` (report or group rows, with `arn` and `json`), in the order
// asked; `missing_member` the others.
template <typename Row>
ApiResult<nlohmann::json> batch_answer(const std::vector<std::string>& arns,
                                       const std::vector<Row>& rows, const char* found_member,
                                       const char* missing_member) {
  nlohmann::json found = nlohmann::json::array();
  nlohmann::json missing = nlohmann::json::array();
  for (const auto& arn : arns) {
    const auto it =
        std::find_if(rows.begin(), rows.end(), [&](const Row& r) { return r.arn == arn; });
    if (it == rows.end()) {
      missing.push_back(arn);
      continue;
    }
    auto item = nlohmann::json::parse(it->json, nullptr, false);
    if (item.is_discarded())
      return tl::unexpected(
          ApiError{"InternalFailure",
                   "a stored " + std::string(found_member) + " item is not valid JSON", 500});
    found.push_back(std::move(item));
  }
  return nlohmann::json{{found_member, std::move(found)}, {missing_member, std::move(missing)}};
}

// The report group ARN a report ARN belongs to ("...:report/G:ID" -> "...:report-group/G");
// "" when `report_arn` is not a report ARN.
std::string group_arn_of_report(const std::string& report_arn);

// The value of trend field `field` in a stored Report; nullopt when the report has none (a test
// field of a coverage report, or the pass rate of a report without cases).
std::optional<double> trend_value(const nlohmann::json& report, std::string_view field);
// GetReportGroupTrend's answer for the (report ARN, value) pairs, newest first: stats {average,
// max, min} and rawData [{reportArn, data}], every number as a string (the model's type).
nlohmann::json trend_json(const std::vector<std::pair<std::string, double>>& data);

}  // namespace kiln::api
