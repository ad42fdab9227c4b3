// The test summary that ends `kiln run` (docs/reports.md): per report, its status and the
// totals by status, the names and messages of its first failed cases, and its coverage.
//
//   REPORT                               STATUS      TOTAL  PASSED FAILED  ERROR SKIPPED UNKNOWN
//   proj-unit                            FAILED         12      10      1      0       1       0
//     FAILED calc.Div.divides: expected 2 got 3
//   proj-cov                             SUCCEEDED   line 81.25% (13/16)  branch 50.00% (1/2)
//
// Every text from a report passes escape_control (util/escape.h): report files are the build's,
// and their names must not drive the terminal. Messages show their first line, cut to
// kMessageChars.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "reports/report.h"

namespace kiln::reports {

struct SummaryOptions {
  bool color = false;
  std::size_t max_failed = 20;  // failed (FAILED or ERROR) cases listed per report
};

inline constexpr std::size_t kMessageChars = 200;

// "" when there are no reports.
std::string test_summary(const std::vector<Report>& reports, const SummaryOptions& options = {});

}  // namespace kiln::reports
