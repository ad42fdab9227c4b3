#include "reports/report.h"

#include <algorithm>
#include <cmath>

#include "util/string.h"

namespace kiln::reports {
namespace {

using nlohmann::json;

constexpr std::string_view kFormatNames[] = {
    "JUNITXML",  "CUCUMBERJSON", "TESTNGXML",    "VISUALSTUDIOTRX", "NUNITXML",
    "NUNIT3XML", "CLOVERXML",    "COBERTURAXML", "JACOCOXML",       "SIMPLECOV"};
static_assert(std::size(kFormatNames) == std::size(kAllFormats));

constexpr std::string_view kStatusNames[] = {"GENERATING", "SUCCEEDED", "FAILED", "INCOMPLETE",
                                             "DELETING"};

constexpr std::string_view kArnPrefix = "arn:aws:codebuild:";
constexpr std::string_view kGroupMarker = ":report-group/";

// CodeBuild shows percentages with at most two decimals (83.33 for 5 of 6 lines in the CLI's
// describe-code-coverages example); half rounds away from zero.
double percentage(std::int64_t covered, std::int64_t missed) {
  const std::int64_t all = covered + missed;
  if (all <= 0 || covered <= 0) return 0;
  const double raw = static_cast<double>(covered) * 100.0 / static_cast<double>(all);
  return std::round(raw * 100.0) / 100.0;
}

json summary_json(const TestSummary& s) {
  json counts = json::object();
  for (std::string_view st : kTestStatuses) counts[std::string(st)] = 0;
  for (const auto& [k, v] : s.status_counts) counts[k] = v;
  return {{"total", s.total}, {"statusCounts", counts}, {"durationInNanoSeconds", s.duration_ns}};
}

json coverage_fields(const Coverage& c) {
  return {{"lineCoveragePercentage", c.line_percentage()},
          {"linesCovered", c.lines_covered},
          {"linesMissed", c.lines_missed},
          {"branchCoveragePercentage", c.branch_percentage()},
          {"branchesCovered", c.branches_covered},
          {"branchesMissed", c.branches_missed}};
}

// Readers for report_from_file_json: each names the member it could not read.
Error bad_member(std::string_view where, std::string_view member, std::string_view want) {
  return Error(ErrorCode::kInvalidArgument, std::string(where) + ": member '" +
                                                std::string(member) + "' is missing or not " +
                                                std::string(want));
}

Result<std::string> get_string(const json& j, std::string_view where, const char* key,
                               bool required) {
  const auto it = j.find(key);
  if (it == j.end() && !required) return std::string();
  if (it == j.end() || !it->is_string()) return fail(bad_member(where, key, "a string"));
  return it->get<std::string>();
}

Result<std::int64_t> get_int(const json& j, std::string_view where, const char* key) {
  const auto it = j.find(key);
  if (it == j.end()) return 0;
  if (!it->is_number_integer()) return fail(bad_member(where, key, "an integer"));
  return it->get<std::int64_t>();
}

Result<double> get_number(const json& j, std::string_view where, const char* key) {
  const auto it = j.find(key);
  if (it == j.end()) return 0.0;
  if (!it->is_number()) return fail(bad_member(where, key, "a number"));
  return it->get<double>();
}

Result<Coverage> coverage_from(const json& j, std::string_view where) {
  if (!j.is_object())
    return fail(ErrorCode::kInvalidArgument, std::string(where) + ": not an object");
  Coverage c;
  auto lc = get_int(j, where, "linesCovered");
  if (!lc) return fail(lc.error());
  auto lm = get_int(j, where, "linesMissed");
  if (!lm) return fail(lm.error());
  auto bc = get_int(j, where, "branchesCovered");
  if (!bc) return fail(bc.error());
  auto bm = get_int(j, where, "branchesMissed");
  if (!bm) return fail(bm.error());
  c.lines_covered = *lc;
  c.lines_missed = *lm;
  c.branches_covered = *bc;
  c.branches_missed = *bm;
  return c;
}

Result<TestCase> test_case_from(const json& j, std::string_view where) {
  if (!j.is_object())
    return fail(ErrorCode::kInvalidArgument, std::string(where) + ": not an object");
  TestCase c;
  struct Field {
    const char* key;
    std::string* out;
  };
  const Field fields[] = {{"testRawDataPath", &c.test_raw_data_path},
                          {"prefix", &c.prefix},
                          {"name", &c.name},
                          {"message", &c.message},
                          {"testSuiteName", &c.test_suite_name}};
  for (const Field& f : fields) {
    auto v = get_string(j, where, f.key, false);
    if (!v) return fail(v.error());
    *f.out = std::move(*v);
  }
  auto status = get_string(j, where, "status", true);
  if (!status) return fail(status.error());
  c.status = std::move(*status);
  auto d = get_int(j, where, "durationInNanoSeconds");
  if (!d) return fail(d.error());
  c.duration_ns = *d;
  return c;
}

Result<std::vector<std::string>> string_list(const json& j, std::string_view where,
                                             const char* key) {
  std::vector<std::string> out;
  const auto it = j.find(key);
  if (it == j.end()) return out;
  if (!it->is_array()) return fail(bad_member(where, key, "an array of strings"));
  for (const json& e : *it) {
    if (!e.is_string()) return fail(bad_member(where, key, "an array of strings"));
    out.push_back(e.get<std::string>());
  }
  return out;
}

Result<void> read_summary(const json& j, Report& r) {
  const auto it = j.find("testSummary");
  if (it == j.end()) return {};
  if (!it->is_object()) return fail(bad_member("report", "testSummary", "an object"));
  auto total = get_int(*it, "testSummary", "total");
  if (!total) return fail(total.error());
  auto dur = get_int(*it, "testSummary", "durationInNanoSeconds");
  if (!dur) return fail(dur.error());
  r.test_summary.total = *total;
  r.test_summary.duration_ns = *dur;
  const auto counts = it->find("statusCounts");
  if (counts != it->end()) {
    if (!counts->is_object()) return fail(bad_member("testSummary", "statusCounts", "an object"));
    for (const auto& [k, v] : counts->items()) {
      if (!v.is_number_integer())
        return fail(bad_member("testSummary.statusCounts", k, "an integer"));
      r.test_summary.status_counts[k] = v.get<std::int64_t>();
    }
  }
  return {};
}

Result<void> read_lists(const json& j, Report& r) {
  if (const auto cases = j.find("testCases"); cases != j.end()) {
    if (!cases->is_array()) return fail(bad_member("report", "testCases", "an array"));
    for (std::size_t i = 0; i < cases->size(); ++i) {
      auto c = test_case_from((*cases)[i], "testCases[" + std::to_string(i) + "]");
      if (!c) return fail(c.error());
      r.test_cases.push_back(std::move(*c));
    }
  }
  if (const auto covs = j.find("codeCoverages"); covs != j.end()) {
    if (!covs->is_array()) return fail(bad_member("report", "codeCoverages", "an array"));
    for (std::size_t i = 0; i < covs->size(); ++i) {
      const std::string where = "codeCoverages[" + std::to_string(i) + "]";
      auto c = coverage_from((*covs)[i], where);
      if (!c) return fail(c.error());
      auto path = get_string((*covs)[i], where, "filePath", true);
      if (!path) return fail(path.error());
      r.coverages.push_back(FileCoverage{std::move(*path), *c});
    }
  }
  if (const auto k = j.find("kiln"); k != j.end()) {
    if (!k->is_object()) return fail(bad_member("report", "kiln", "an object"));
    auto problems = string_list(*k, "kiln", "problems");
    if (!problems) return fail(problems.error());
    auto raw = string_list(*k, "kiln", "rawFiles");
    if (!raw) return fail(raw.error());
    r.problems = std::move(*problems);
    r.raw_files = std::move(*raw);
  }
  return {};
}

}  // namespace

std::optional<Format> format_from_name(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kFormatNames); ++i) {
    if (iequals(name, kFormatNames[i])) return kAllFormats[i];
  }
  return std::nullopt;
}

std::string_view format_name(Format f) {
  return kFormatNames[static_cast<std::size_t>(f)];
}

ReportType type_of(Format f) {
  switch (f) {
    case Format::kCloverXml:
    case Format::kCoberturaXml:
    case Format::kJacocoXml:
    case Format::kSimpleCov: return ReportType::kCodeCoverage;
    default: return ReportType::kTest;
  }
}

std::string_view type_name(ReportType t) {
  return t == ReportType::kTest ? "TEST" : "CODE_COVERAGE";
}

std::optional<ReportType> type_from_name(std::string_view name) {
  if (name == "TEST") return ReportType::kTest;
  if (name == "CODE_COVERAGE") return ReportType::kCodeCoverage;
  return std::nullopt;
}

double Coverage::line_percentage() const {
  return percentage(lines_covered, lines_missed);
}
double Coverage::branch_percentage() const {
  return percentage(branches_covered, branches_missed);
}

Coverage& Coverage::operator+=(const Coverage& o) {
  lines_covered += o.lines_covered;
  lines_missed += o.lines_missed;
  branches_covered += o.branches_covered;
  branches_missed += o.branches_missed;
  return *this;
}

std::string_view status_name(ReportStatus s) {
  return kStatusNames[static_cast<std::size_t>(s)];
}

std::optional<ReportStatus> status_from_name(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kStatusNames); ++i) {
    if (name == kStatusNames[i]) return static_cast<ReportStatus>(i);
  }
  return std::nullopt;
}

std::string group_arn(std::string_view region, std::string_view account, std::string_view name) {
  return std::string(kArnPrefix) + std::string(region) + ":" + std::string(account) +
         std::string(kGroupMarker) + std::string(name);
}

std::optional<std::string> group_name_from_arn(std::string_view arn) {
  if (!arn.starts_with(kArnPrefix)) return std::nullopt;
  const auto at = arn.find(kGroupMarker);
  if (at == std::string_view::npos) return std::nullopt;
  // region and account sit between the prefix and the marker: exactly one ':' between them
  const std::string_view middle = arn.substr(kArnPrefix.size(), at - kArnPrefix.size());
  if (std::count(middle.begin(), middle.end(), ':') != 1) return std::nullopt;
  std::string_view name = arn.substr(at + kGroupMarker.size());
  if (name.empty() || name.find('/') != std::string_view::npos) return std::nullopt;
  return std::string(name);
}

json report_json(const Report& r) {
  json j = {{"arn", r.arn},
            {"type", type_name(r.type)},
            {"name", r.name},
            {"reportGroupArn", r.group_arn},
            {"executionId", r.execution_id},
            {"status", status_name(r.status)},
            {"created", r.created},
            {"expired", r.expired},
            {"truncated", r.truncated}};
  if (r.type == ReportType::kTest) {
    j["testSummary"] = summary_json(r.test_summary);
  } else {
    j["codeCoverageSummary"] = coverage_fields(r.coverage_summary);
  }
  return j;
}

json test_case_json(const TestCase& c, const Report& r) {
  return {{"reportArn", r.arn},
          {"testRawDataPath", c.test_raw_data_path},
          {"prefix", c.prefix},
          {"name", c.name},
          {"status", c.status},
          {"durationInNanoSeconds", c.duration_ns},
          {"message", c.message},
          {"expired", r.expired},
          {"testSuiteName", c.test_suite_name}};
}

json code_coverage_json(const FileCoverage& f, const std::string& id, const Report& r) {
  json j = coverage_fields(f.counts);
  j["id"] = id;
  j["reportARN"] = r.arn;
  j["filePath"] = f.file_path;
  j["expired"] = r.expired;
  return j;
}

json report_file_json(const Report& r) {
  json j = report_json(r);
  json cases = json::array();
  for (const TestCase& c : r.test_cases) cases.push_back(test_case_json(c, r));
  json covs = json::array();
  for (std::size_t i = 0; i < r.coverages.size(); ++i) {
    covs.push_back(code_coverage_json(r.coverages[i], std::to_string(i + 1), r));
  }
  j["testCases"] = std::move(cases);
  j["codeCoverages"] = std::move(covs);
  j["kiln"] = {{"problems", r.problems}, {"rawFiles", r.raw_files}};
  return j;
}

Result<Report> report_from_file_json(const json& j) {
  if (!j.is_object()) return fail(ErrorCode::kInvalidArgument, "report: not a JSON object");
  Report r;
  auto arn = get_string(j, "report", "arn", true);
  if (!arn) return fail(arn.error());
  r.arn = std::move(*arn);
  auto name = get_string(j, "report", "name", false);
  if (!name) return fail(name.error());
  r.name = std::move(*name);
  auto garn = get_string(j, "report", "reportGroupArn", false);
  if (!garn) return fail(garn.error());
  r.group_arn = std::move(*garn);
  auto exec = get_string(j, "report", "executionId", false);
  if (!exec) return fail(exec.error());
  r.execution_id = std::move(*exec);

  auto type = get_string(j, "report", "type", true);
  if (!type) return fail(type.error());
  const auto t = type_from_name(*type);
  if (!t) return fail(bad_member("report", "type", "TEST or CODE_COVERAGE"));
  r.type = *t;
  auto status = get_string(j, "report", "status", true);
  if (!status) return fail(status.error());
  const auto s = status_from_name(*status);
  if (!s) return fail(bad_member("report", "status", "a report status"));
  r.status = *s;

  auto created = get_number(j, "report", "created");
  if (!created) return fail(created.error());
  r.created = *created;
  auto expired = get_number(j, "report", "expired");
  if (!expired) return fail(expired.error());
  r.expired = *expired;
  if (const auto tr = j.find("truncated"); tr != j.end()) {
    if (!tr->is_boolean()) return fail(bad_member("report", "truncated", "a boolean"));
    r.truncated = tr->get<bool>();
  }

  if (auto ok = read_summary(j, r); !ok) return fail(ok.error());
  if (const auto cs = j.find("codeCoverageSummary"); cs != j.end()) {
    auto c = coverage_from(*cs, "codeCoverageSummary");
    if (!c) return fail(c.error());
    r.coverage_summary = *c;
  }
  if (auto ok = read_lists(j, r); !ok) return fail(ok.error());
  return r;
}

}  // namespace kiln::reports
