// ListReports, ListReportsForReportGroup, BatchGetReports, DeleteReport, DescribeTestCases and
// DescribeCodeCoverages (docs/reference/codebuild-api.md "Report groups / reports / test cases /
// coverage"; docs/reports.md). Builds make reports (server/report_ingest.h); nothing here does.
#include <array>
#include <cmath>
#include <cstdio>

#include "api/ops_common.h"
#include "api/report_shape.h"
#include "api/service.h"
#include "api/validate.h"

namespace kiln::api {
namespace {

using nlohmann::json;

// Sweeps are an hour apart at most: often enough that expired reports do not pile up.
constexpr double kSweepEverySeconds = 3600;

constexpr std::array<std::string_view, 5> kReportStatuses = {"GENERATING", "SUCCEEDED", "FAILED",
                                                             "INCOMPLETE", "DELETING"};

struct Paging {
  std::string token;
  int limit = store::kMaxPageSize;
};

ApiResult<Paging> paging(const Fields& f) {
  auto token = f.string("nextToken", false, 1);
  if (!token) return tl::unexpected(token.error());
  auto limit = f.integer("maxResults", false, 1, store::kMaxPageSize);
  if (!limit) return tl::unexpected(limit.error());
  return Paging{token->value_or(""), static_cast<int>(limit->value_or(store::kMaxPageSize))};
}

// ASCENDING or DESCENDING; `fallback` when absent.
ApiResult<store::SortOrder> sort_order(const Fields& f, store::SortOrder fallback) {
  auto order = f.one_of("sortOrder", false, {"ASCENDING", "DESCENDING"});
  if (!order) return tl::unexpected(order.error());
  if (!*order) return fallback;
  return **order == "ASCENDING" ? store::SortOrder::kAscending : store::SortOrder::kDescending;
}

// A Percentage member (a double, 0..100); `fallback` when absent.
ApiResult<double> percentage(const json& in, const char* name, double fallback) {
  const auto it = in.find(name);
  if (it == in.end() || it->is_null()) return fallback;
  if (!it->is_number()) return invalid_input(std::string(name) + " must be a number");
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < 0 || v > 100) {
    return constraint_error(it->dump(), name, "Member must have value between 0 and 100");
  }
  return v;
}

json page_json(const char* member, json items, const std::string& token) {
  json out = {{member, std::move(items)}};
  if (!token.empty()) out["nextToken"] = token;
  return out;
}

// The stored JSON texts of a page, as one JSON list.
ApiResult<json> parsed_items(const store::Page& page, std::string_view what) {
  json out = json::array();
  for (const auto& text : page.items) {
    auto item = parse_stored_json(text, what);
    if (!item) return tl::unexpected(item.error());
    out.push_back(std::move(*item));
  }
  return out;
}

// ListReports and ListReportsForReportGroup share their members but the group.
struct ReportListing {
  std::string status;
  store::SortOrder order = store::SortOrder::kDescending;
  Paging paging;
};

ApiResult<ReportListing> report_listing(const json& in) {
  Fields f(in, "");
  ReportListing l;
  // Newest first, as ListBuilds (docs/server.md).
  auto order = sort_order(f, store::SortOrder::kDescending);
  if (!order) return tl::unexpected(order.error());
  l.order = *order;
  auto p = paging(f);
  if (!p) return tl::unexpected(p.error());
  l.paging = std::move(*p);
  auto filter = f.object("filter", false);
  if (!filter) return tl::unexpected(filter.error());
  if (*filter) {
    auto status = Fields(**filter, "filter").one_of("status", false, kReportStatuses);
    if (!status) return tl::unexpected(status.error());
    l.status = status->value_or("");
  }
  return l;
}

}  // namespace

void Service::sweep_expired_reports() {
  const double t = now();
  double last = last_report_sweep_.load();
  if (t - last < kSweepEverySeconds || !last_report_sweep_.compare_exchange_strong(last, t))
    return;  // recent enough, or another call is sweeping
  if (auto swept = store_.delete_expired_reports(t); !swept)
    std::fprintf(stderr, "kiln server: removing expired reports: %s\n",
                 swept.error().describe().c_str());
}

ApiResult<json> Service::list_reports(const Call& c) {
  auto l = report_listing(c.in);
  if (!l) return tl::unexpected(l.error());
  sweep_expired_reports();
  KILN_API_TRY(
      page, store_.list_reports("", l->status, l->order, l->paging.token, l->paging.limit, now()));
  return page_json("reports", page.items, page.next_token);
}

ApiResult<json> Service::list_reports_for_report_group(const Call& c) {
  auto arn = Fields(c.in, "").string("reportGroupArn", true);
  if (!arn) return tl::unexpected(arn.error());
  auto l = report_listing(c.in);
  if (!l) return tl::unexpected(l.error());
  sweep_expired_reports();
  auto group = load_report_group(**arn);
  if (!group) return tl::unexpected(group.error());
  KILN_API_TRY(page, store_.list_reports(**arn, l->status, l->order, l->paging.token,
                                         l->paging.limit, now()));
  return page_json("reports", page.items, page.next_token);
}

ApiResult<json> Service::batch_get_reports(const Call& c) {
  auto arns = Fields(c.in, "").unique_strings("reportArns", kMaxBatchItems, kMaxStringLength);
  if (!arns) return tl::unexpected(arns.error());
  sweep_expired_reports();
  KILN_API_TRY(rows, store_.get_reports(*arns, now()));
  return batch_answer(*arns, rows, "reports", "reportsNotFound");
}

ApiResult<json> Service::delete_report(const Call& c) {
  auto arn = Fields(c.in, "").string("arn", true, 1);
  if (!arn) return tl::unexpected(arn.error());
  KILN_API_TRY(deleted, store_.delete_report(**arn));
  (void)deleted;  // the model gives DeleteReport no ResourceNotFoundException
  return json::object();
}

ApiResult<json> Service::describe_test_cases(const Call& c) {
  Fields f(c.in, "");
  auto arn = f.string("reportArn", true);
  if (!arn) return tl::unexpected(arn.error());
  auto p = paging(f);
  if (!p) return tl::unexpected(p.error());
  auto filter = f.object("filter", false);
  if (!filter) return tl::unexpected(filter.error());
  store::TestCaseFilter tf;
  if (*filter) {
    // A status is a free string in the model: one no case has matches nothing.
    Fields ff(**filter, "filter");
    auto status = ff.string("status", false);
    if (!status) return tl::unexpected(status.error());
    auto keyword = ff.string("keyword", false);
    if (!keyword) return tl::unexpected(keyword.error());
    tf = {status->value_or(""), keyword->value_or("")};
  }
  sweep_expired_reports();
  KILN_API_TRY(rows, store_.get_reports({**arn}, now()));
  if (rows.empty()) return not_found("Report cannot be found: " + **arn);
  KILN_API_TRY(page, store_.list_test_cases(**arn, tf, p->token, p->limit));
  auto cases = parsed_items(page, "test case");
  if (!cases) return tl::unexpected(cases.error());
  return page_json("testCases", std::move(*cases), page.next_token);
}

ApiResult<json> Service::describe_code_coverages(const Call& c) {
  Fields f(c.in, "");
  auto arn = f.string("reportArn", true, 1);
  if (!arn) return tl::unexpected(arn.error());
  auto p = paging(f);
  if (!p) return tl::unexpected(p.error());
  store::CoverageQuery q;
  auto order = sort_order(f, store::SortOrder::kAscending);
  if (!order) return tl::unexpected(order.error());
  q.order = *order;
  auto by = f.one_of("sortBy", false, {"LINE_COVERAGE_PERCENTAGE", "FILE_PATH"});
  if (!by) return tl::unexpected(by.error());
  if (*by && **by == "LINE_COVERAGE_PERCENTAGE") q.sort = store::CoverageSort::kLinePercentage;
  auto lo = percentage(c.in, "minLineCoveragePercentage", 0);
  if (!lo) return tl::unexpected(lo.error());
  auto hi = percentage(c.in, "maxLineCoveragePercentage", 100);
  if (!hi) return tl::unexpected(hi.error());
  if (*lo > *hi) {
    return invalid_input(
        "minLineCoveragePercentage must not be greater than maxLineCoveragePercentage");
  }
  q.min_line = *lo;
  q.max_line = *hi;
  sweep_expired_reports();
  // No ResourceNotFoundException in the model: a report that does not exist has no coverage.
  KILN_API_TRY(rows, store_.get_reports({**arn}, now()));
  if (rows.empty()) return json{{"codeCoverages", json::array()}};
  KILN_API_TRY(page, store_.list_code_coverages(**arn, q, p->token, p->limit));
  auto coverages = parsed_items(page, "code coverage");
  if (!coverages) return tl::unexpected(coverages.error());
  return page_json("codeCoverages", std::move(*coverages), page.next_token);
}

}  // namespace kiln::api
