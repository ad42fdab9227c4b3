#include "reports/summary.h"

#include <cstdio>

#include "util/escape.h"

namespace kiln::reports {

namespace {

const char* color_of(ReportStatus s) {
  switch (s) {
    case ReportStatus::kSucceeded: return "\033[32m";
    case ReportStatus::kIncomplete: return "\033[33m";
    default: return "\033[31m";
  }
}

std::int64_t count(const Report& r, std::string_view status) {
  auto it = r.test_summary.status_counts.find(std::string(status));
  return it == r.test_summary.status_counts.end() ? 0 : it->second;
}

std::string first_line(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  if (line.size() > kMessageChars) line = line.substr(0, kMessageChars) + "...";
  return escape_control(line);
}

std::string fraction(std::int64_t covered, std::int64_t missed) {
  return "(" + std::to_string(covered) + "/" + std::to_string(covered + missed) + ")";
}

}  // namespace

std::string test_summary(const std::vector<Report>& reports, const SummaryOptions& options) {
  if (reports.empty()) return "";
  const char* reset = options.color ? "\033[0m" : "";
  char buf[512];
  std::string out;
  std::snprintf(buf, sizeof buf, "\n%-40s %-11s %7s %7s %7s %7s %7s %7s\n", "REPORT", "STATUS",
                "TOTAL", "PASSED", "FAILED", "ERROR", "SKIPPED", "UNKNOWN");
  out += buf;
  for (const Report& r : reports) {
    const std::string status(status_name(r.status));
    std::snprintf(buf, sizeof buf, "%-40s %s%-11s%s", escape_control(r.name).c_str(),
                  options.color ? color_of(r.status) : "", status.c_str(), reset);
    out += buf;
    if (r.type == ReportType::kCodeCoverage) {
      const Coverage& c = r.coverage_summary;
      std::snprintf(buf, sizeof buf, " line %.2f%% %s  branch %.2f%% %s\n", c.line_percentage(),
                    fraction(c.lines_covered, c.lines_missed).c_str(), c.branch_percentage(),
                    fraction(c.branches_covered, c.branches_missed).c_str());
      out += buf;
    } else {
      std::snprintf(
          buf, sizeof buf, " %7lld %7lld %7lld %7lld %7lld %7lld\n",
          static_cast<long long>(r.test_summary.total),
          static_cast<long long>(count(r, kSucceeded)), static_cast<long long>(count(r, kFailed)),
          static_cast<long long>(count(r, kError)), static_cast<long long>(count(r, kSkipped)),
          static_cast<long long>(count(r, kUnknown)));
      out += buf;
    }
    for (const std::string& p : r.problems) out += "  problem: " + first_line(p) + "\n";
    std::size_t listed = 0;
    for (const TestCase& c : r.test_cases) {
      if (c.status != kFailed && c.status != kError) continue;
      if (listed == options.max_failed) continue;
      ++listed;
      std::string name = c.prefix.empty() ? c.name : c.prefix + "." + c.name;
      out += "  " + c.status + " " + first_line(name);
      if (!c.message.empty()) out += ": " + first_line(c.message);
      out += "\n";
    }
    const std::int64_t all_failed = count(r, kFailed) + count(r, kError);
    if (all_failed > static_cast<std::int64_t>(listed)) {
      out += "  ... and " + std::to_string(all_failed - static_cast<std::int64_t>(listed)) +
             " more failed\n";
    }
  }
  return out;
}

}  // namespace kiln::reports
