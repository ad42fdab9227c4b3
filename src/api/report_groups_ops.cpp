// CreateReportGroup, UpdateReportGroup, DeleteReportGroup, BatchGetReportGroups,
// ListReportGroups and GetReportGroupTrend (docs/reference/codebuild-api.md "Report groups /
// reports / test cases / coverage"; docs/reports.md). ListSharedReportGroups is in
// policy_ops.cpp.
#include <span>

#include "api/ops_common.h"
#include "api/report_shape.h"
#include "api/service.h"
#include "api/validate.h"

namespace kiln::api {
namespace {

using nlohmann::json;

tl::unexpected<ApiError> group_not_found(const std::string& arn) {
  return not_found("Report group cannot be found: " + arn);
}

store::ReportGroupRow group_row(const json& group) {
  return {group.at("arn").get<std::string>(),  group.at("name").get<std::string>(),
          group.at("type").get<std::string>(), group.value("created", 0.0),
          group.value("lastModified", 0.0),    group.dump()};
}

}  // namespace

ApiResult<json> Service::load_report_group(const std::string& arn) {
  KILN_API_TRY(rows, store_.get_report_groups({arn}));
  if (rows.empty()) return group_not_found(arn);
  return parse_stored_json(rows.front().json, "report group");
}

ApiResult<json> Service::create_report_group(const Call& c) {
  Account account = options_.account;
  account.region = c.region;
  auto group = report_group_from_create(c.in, account, now());
  if (!group) return group;
  const store::ReportGroupRow row = group_row(*group);
  KILN_API_TRY(created, store_.create_report_group(row, kMaxReportGroups));
  switch (created) {
    case store::GroupCreated::kCreated: break;
    case store::GroupCreated::kExists:
      return api_fail("ResourceAlreadyExistsException", "Report group already exists: " + row.arn);
    case store::GroupCreated::kAtLimit:
      return api_fail("AccountLimitExceededException",
                      "Cannot create report group " + row.name + ": the account has " +
                          std::to_string(kMaxReportGroups) + " report groups, the most allowed");
  }
  return json{{"reportGroup", std::move(*group)}};
}

ApiResult<json> Service::update_report_group(const Call& c) {
  auto arn = Fields(c.in, "").string("arn", true, 1);
  if (!arn) return tl::unexpected(arn.error());
  auto current = load_report_group(**arn);
  if (!current) return current;
  auto updated = report_group_apply_update(std::move(*current), c.in, now());
  if (!updated) return updated;
  KILN_API_CHECK(store_.update_report_group(group_row(*updated)));
  return json{{"reportGroup", std::move(*updated)}};
}

ApiResult<json> Service::delete_report_group(const Call& c) {
  Fields f(c.in, "");
  auto arn = f.string("arn", true, 1);
  if (!arn) return tl::unexpected(arn.error());
  auto delete_reports = f.boolean("deleteReports");
  if (!delete_reports) return tl::unexpected(delete_reports.error());
  auto deleted = store_.delete_report_group(**arn, delete_reports->value_or(false), now());
  if (!deleted && deleted.error().code() == ErrorCode::kInvalidArgument) {
    return invalid_input("Cannot delete report group " + **arn +
                         ": it still has reports. Set deleteReports to true to delete them "
                         "with it");
  }
  if (!deleted) return tl::unexpected(from_error(deleted.error()));
  // The model gives DeleteReportGroup no ResourceNotFoundException: a missing group is deleted.
  return json::object();
}

ApiResult<json> Service::batch_get_report_groups(const Call& c) {
  auto arns = Fields(c.in, "").unique_strings("reportGroupArns", kMaxBatchItems, kMaxStringLength);
  if (!arns) return tl::unexpected(arns.error());
  KILN_API_TRY(rows, store_.get_report_groups(*arns));
  return batch_answer(*arns, rows, "reportGroups", "reportGroupsNotFound");
}

ApiResult<json> Service::list_report_groups(const Call& c) {
  Fields f(c.in, "");
  auto sort = name_time_sort(f);
  if (!sort) return tl::unexpected(sort.error());
  auto token = f.string("nextToken", false, 1);
  if (!token) return tl::unexpected(token.error());
  auto limit = f.integer("maxResults", false, 1, store::kMaxPageSize);
  if (!limit) return tl::unexpected(limit.error());
  KILN_API_TRY(page, store_.list_report_groups(sort->sort, sort->order, token->value_or(""),
                                               static_cast<int>(limit->value_or(100))));
  json out = {{"reportGroups", page.items}};
  if (!page.next_token.empty()) out["nextToken"] = page.next_token;
  return out;
}

ApiResult<json> Service::get_report_group_trend(const Call& c) {
  Fields f(c.in, "");
  auto arn = f.string("reportGroupArn", true, 1);
  if (!arn) return tl::unexpected(arn.error());
  auto count = f.integer("numOfReports", false, 1, 100);
  if (!count) return tl::unexpected(count.error());
  auto field =
      f.one_of("trendField", true,
               std::span<const std::string_view>(kTrendFields.data(), kTrendFields.size()));
  if (!field) return tl::unexpected(field.error());
  sweep_expired_reports();
  auto group = load_report_group(**arn);
  if (!group) return tl::unexpected(group.error());
  KILN_API_TRY(rows, store_.latest_reports(**arn, static_cast<int>(count->value_or(100)), now()));
  std::vector<std::pair<std::string, double>> data;
  for (const auto& row : rows) {
    auto report = parse_stored_json(row.json, "report");
    if (!report) return tl::unexpected(report.error());
    // Reports still being made, or being deleted, have no final figures to count.
    if (row.status == "GENERATING" || row.status == "DELETING") continue;
    if (const auto v = trend_value(*report, **field)) data.emplace_back(row.arn, *v);
  }
  return trend_json(data);
}

}  // namespace kiln::api
