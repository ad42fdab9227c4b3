// The report model: CodeBuild's test reports and code coverage reports
// (docs/reference/codebuild-semantics.md §7.2, docs/reference/codebuild-api.md "Reports"), the
// report formats a buildspec names (§7.1), and the JSON shapes both `kiln run --reports-dir` and
// the worker-to-server hand-over use.
//
// A Report is one group's report of one build: every file the group selected, merged. It keeps
// at most kMaxTestCases test cases (failures first, TestCollector) while its summary counts
// every case.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/error.h"

namespace kiln::reports {

// The buildspec's `file-format` values (§7.1).
enum class Format {
  kJunitXml,
  kCucumberJson,
  kTestNgXml,
  kVisualStudioTrx,
  kNunitXml,
  kNunit3Xml,
  kCloverXml,
  kCoberturaXml,
  kJacocoXml,
  kSimpleCov,
};
inline constexpr Format kAllFormats[] = {
    Format::kJunitXml,  Format::kCucumberJson, Format::kTestNgXml, Format::kVisualStudioTrx,
    Format::kNunitXml,  Format::kNunit3Xml,    Format::kCloverXml, Format::kCoberturaXml,
    Format::kJacocoXml, Format::kSimpleCov};

// Case-insensitive ("junitxml" is JUNITXML); nullopt for an unknown name.
std::optional<Format> format_from_name(std::string_view name);
// The upper-case name: "JUNITXML", "SIMPLECOV", ...
std::string_view format_name(Format f);

enum class ReportType { kTest, kCodeCoverage };
ReportType type_of(Format f);
std::string_view type_name(ReportType t);  // "TEST" | "CODE_COVERAGE"
std::optional<ReportType> type_from_name(std::string_view name);

// §7.3.
inline constexpr std::size_t kMaxTestCases = 500;
inline constexpr std::size_t kMaxNameChars = 1000;
inline constexpr std::size_t kMaxMessageChars = 5000;
// Reports expire after this many days (§7.3); the server's --report-expiry-days changes it.
inline constexpr int kDefaultExpiryDays = 30;

// Test-case statuses (§7.2); parsers map anything else to kUnknown.
inline constexpr std::string_view kSucceeded = "SUCCEEDED";
inline constexpr std::string_view kFailed = "FAILED";
inline constexpr std::string_view kError = "ERROR";
inline constexpr std::string_view kSkipped = "SKIPPED";
inline constexpr std::string_view kUnknown = "UNKNOWN";
inline constexpr std::string_view kTestStatuses[] = {kSucceeded, kFailed, kError, kSkipped,
                                                     kUnknown};

struct TestCase {
  std::string test_raw_data_path;  // the file it came from, as the build sees it
  std::string prefix;              // e.g. a JUnit classname (framework-dependent)
  std::string name;                // at most kMaxNameChars
  std::string status = std::string(kUnknown);
  std::int64_t duration_ns = 0;
  std::string message;  // at most kMaxMessageChars
  std::string test_suite_name;

  bool operator==(const TestCase&) const = default;
};

struct TestSummary {
  std::int64_t total = 0;                             // every case, truncated ones included
  std::map<std::string, std::int64_t> status_counts;  // all five statuses, zeros included
  std::int64_t duration_ns = 0;
};

// Line and branch counts. Percentages are covered / (covered + missed) * 100, and 0 when there
// is nothing to cover.
struct Coverage {
  std::int64_t lines_covered = 0;
  std::int64_t lines_missed = 0;
  std::int64_t branches_covered = 0;
  std::int64_t branches_missed = 0;
  double line_percentage() const;
  double branch_percentage() const;
  Coverage& operator+=(const Coverage& o);
  bool operator==(const Coverage&) const = default;
};

struct FileCoverage {
  std::string file_path;  // as the coverage tool wrote it
  Coverage counts;
  bool operator==(const FileCoverage&) const = default;
};

// GCC's -Wshadow counts a scoped enumerator as shadowing the status strings above, though
// ReportStatus::kSucceeded can never be confused with kSucceeded.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
enum class ReportStatus { kGenerating, kSucceeded, kFailed, kIncomplete, kDeleting };
#pragma GCC diagnostic pop
std::string_view status_name(ReportStatus s);  // "GENERATING", "SUCCEEDED", ...
std::optional<ReportStatus> status_from_name(std::string_view name);

struct Report {
  std::string arn;           // arn:aws:codebuild:<region>:<account>:report/<group name>:<uuid>
  std::string name;          // the group's name (CodeBuild's Report.name)
  std::string group_arn;     // arn:aws:codebuild:<region>:<account>:report-group/<group name>
  std::string execution_id;  // the build's ARN
  ReportType type = ReportType::kTest;
  ReportStatus status = ReportStatus::kGenerating;
  double created = 0;  // epoch seconds
  double expired = 0;  // created + kDefaultExpiryDays (the server may re-stamp it)
  bool truncated = false;
  TestSummary test_summary;             // type kTest
  Coverage coverage_summary;            // type kCodeCoverage
  std::vector<TestCase> test_cases;     // at most kMaxTestCases, failures first
  std::vector<FileCoverage> coverages;  // one per file, type kCodeCoverage
  // Why the report is INCOMPLETE or FAILED short of its tests (for the log and the summary;
  // not a CodeBuild field, and not part of report_json).
  std::vector<std::string> problems;
  // The raw files the report came from, as the build sees them (for exportConfig).
  std::vector<std::string> raw_files;
};

// ARNs (docs/reference/codebuild-api.md "ARNs").
std::string group_arn(std::string_view region, std::string_view account, std::string_view name);
// The group name of a report-group ARN; nullopt when `arn` is not one.
std::optional<std::string> group_name_from_arn(std::string_view arn);

// CodeBuild's shapes. report_json: the Report (testSummary or codeCoverageSummary, no cases);
// test_case_json: a TestCase of DescribeTestCases; code_coverage_json: a CodeCoverage of
// DescribeCodeCoverages (`id` given by the caller, and the member spelled `reportARN`).
nlohmann::json report_json(const Report& r);
nlohmann::json test_case_json(const TestCase& c, const Report& r);
nlohmann::json code_coverage_json(const FileCoverage& f, const std::string& id, const Report& r);

// The report file: report_json(r) plus "testCases" (test_case_json each), "codeCoverages"
// (code_coverage_json each, ids "<n>" in order) and "kiln": {"problems": [...], "rawFiles":
// [...]}. What `kiln run --reports-dir` writes, one file per report, and what a server's worker
// hands to the server. report_from_file_json reads it back: kInvalidArgument naming the member
// that is missing or of the wrong type; it never throws.
nlohmann::json report_file_json(const Report& r);
Result<Report> report_from_file_json(const nlohmann::json& j);

}  // namespace kiln::reports
