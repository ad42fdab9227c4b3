#include "api/report_shape.h"

#include <algorithm>
#include <cstdio>

#include "api/ops_common.h"
#include "api/validate.h"
#include "reports/report.h"

namespace kiln::api {
namespace {

using nlohmann::json;

const json* member(const json& j, const char* name) {
  const auto it = j.find(name);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

std::optional<double> number_at(const json& j, const char* object, const char* name) {
  const json* o = member(j, object);
  if (o == nullptr || !o->is_object()) return std::nullopt;
  const json* v = member(*o, name);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  return v->get<double>();
}

// Trend numbers as CodeBuild's percentages are shown: at most two decimals, and none for whole
// numbers (a count, a duration).
std::string number_text(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

ApiResult<void> check_group_members(const json& in, bool create) {
  Fields f(in, "");
  auto config = f.object("exportConfig", create);
  if (!config) return tl::unexpected(config.error());
  if (*config) KILN_API_PASS(check_export_config(**config, "exportConfig"));
  auto tags = f.list("tags", false, 50);
  if (!tags) return tl::unexpected(tags.error());
  return check_tags(*tags);
}

}  // namespace

ApiResult<void> check_export_config(const json& config, const std::string& where) {
  Fields f(config, where);
  auto type = f.one_of("exportConfigType", false, {"S3", "NO_EXPORT"});
  if (!type) return tl::unexpected(type.error());
  auto dest = f.object("s3Destination", false);
  if (!dest) return tl::unexpected(dest.error());
  std::optional<std::string> bucket;
  if (*dest) {
    Fields d(**dest, where + ".s3Destination");
    auto b = d.string("bucket", false, 1);
    if (!b) return tl::unexpected(b.error());
    bucket = *b;
    KILN_API_PASS(d.string("bucketOwner", false));
    KILN_API_PASS(d.string("path", false));
    KILN_API_PASS(d.one_of("packaging", false, {"ZIP", "NONE"}));
    KILN_API_PASS(d.string("encryptionKey", false, 1));
    KILN_API_PASS(d.boolean("encryptionDisabled"));
  }
  if (*type && **type == "S3" && !bucket) {
    return invalid_input("Invalid " + where +
                         ": s3Destination.bucket must be specified when exportConfigType is S3");
  }
  return {};
}

ApiResult<json> report_group_from_create(const json& in, const Account& account, double now) {
  Fields f(in, "");
  auto name = f.string("name", true, 2, 128);
  if (!name) return tl::unexpected(name.error());
  auto type = f.one_of("type", true, {"TEST", "CODE_COVERAGE"});
  if (!type) return tl::unexpected(type.error());
  KILN_API_PASS(check_group_members(in, true));
  json group =
      new_report_group(reports::group_arn(account.region, account.id, **name), **name, **type, now);
  group["exportConfig"] = in.at("exportConfig");
  if (const json* tags = member(in, "tags")) group["tags"] = *tags;
  return group;
}

ApiResult<json> report_group_apply_update(json group, const json& in, double now) {
  KILN_API_PASS(check_group_members(in, false));
  for (const char* key : {"exportConfig", "tags"}) {
    if (const json* v = member(in, key)) group[key] = *v;
  }
  group["lastModified"] = now;
  return group;
}

json new_report_group(const std::string& arn, const std::string& name, std::string_view type,
                      double now) {
  return {{"arn", arn},
          {"name", name},
          {"type", type},
          {"exportConfig", {{"exportConfigType", "NO_EXPORT"}}},
          {"created", now},
          {"lastModified", now},
          {"tags", json::array()},
          {"status", "ACTIVE"}};
}

StoredReport stored_report(const reports::Report& r, const json& export_config) {
  StoredReport out;
  json shape = reports::report_json(r);
  shape["exportConfig"] = export_config;
  out.row = {r.arn,     r.group_arn, r.execution_id, std::string(reports::status_name(r.status)),
             r.created, r.expired,   shape.dump(),   0};
  for (const auto& c : r.test_cases)
    out.cases.push_back({c.status, c.name, c.prefix, reports::test_case_json(c, r).dump()});
  for (std::size_t i = 0; i < r.coverages.size(); ++i) {
    const auto& f = r.coverages[i];
    out.coverages.push_back({f.file_path, f.counts.line_percentage(),
                             reports::code_coverage_json(f, std::to_string(i + 1), r).dump()});
  }
  return out;
}

std::string group_arn_of_report(const std::string& report_arn) {
  constexpr std::string_view kMarker = ":report/";
  const auto at = report_arn.find(kMarker);
  const auto colon = report_arn.rfind(':');
  if (!report_arn.starts_with("arn:aws:codebuild:") || at == std::string::npos ||
      colon < at + kMarker.size())
    return "";
  const std::size_t start = at + kMarker.size();
  return report_arn.substr(0, at) + ":report-group/" + report_arn.substr(start, colon - start);
}

std::optional<double> trend_value(const json& report, std::string_view field) {
  if (field == "PASS_RATE") {
    const auto total = number_at(report, "testSummary", "total");
    if (!total || *total <= 0) return std::nullopt;
    const json* s = member(report, "testSummary");
    const json* counts = member(*s, "statusCounts");
    const json* passed = counts != nullptr && counts->is_object()
                             ? member(*counts, std::string(reports::kSucceeded).c_str())
                             : nullptr;
    const double ok = passed != nullptr && passed->is_number() ? passed->get<double>() : 0;
    return ok * 100.0 / *total;
  }
  if (field == "DURATION") return number_at(report, "testSummary", "durationInNanoSeconds");
  if (field == "TOTAL") return number_at(report, "testSummary", "total");
  static constexpr std::pair<std::string_view, const char*> kCoverage[] = {
      {"LINE_COVERAGE", "lineCoveragePercentage"},
      {"LINES_COVERED", "linesCovered"},
      {"LINES_MISSED", "linesMissed"},
      {"BRANCH_COVERAGE", "branchCoveragePercentage"},
      {"BRANCHES_COVERED", "branchesCovered"},
      {"BRANCHES_MISSED", "branchesMissed"}};
  for (const auto& [name, key] : kCoverage) {
    if (field == name) return number_at(report, "codeCoverageSummary", key);
  }
  return std::nullopt;
}

json trend_json(const std::vector<std::pair<std::string, double>>& data) {
  json raw = json::array();
  for (const auto& [arn, value] : data)
    raw.push_back({{"reportArn", arn}, {"data", number_text(value)}});
  json stats = json::object();
  if (!data.empty()) {
    double sum = 0;
    double lo = data.front().second;
    double hi = lo;
    for (const auto& d : data) {
      sum += d.second;
      lo = std::min(lo, d.second);
      hi = std::max(hi, d.second);
    }
    stats = {{"average", number_text(sum / static_cast<double>(data.size()))},
             {"max", number_text(hi)},
             {"min", number_text(lo)}};
  }
  return {{"stats", stats}, {"rawData", raw}};
}

}  // namespace kiln::api
