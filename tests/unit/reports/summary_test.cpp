// The `kiln run` test summary: totals by status, the first failed cases with their messages,
// coverage percentages, problems, and no terminal control from report text.
#include "reports/summary.h"

#include <gtest/gtest.h>

namespace kiln::testing {
namespace {

using reports::Report;

Report test_report(int failed) {
  Report r;
  r.name = "proj-unit";
  r.status = failed ? reports::ReportStatus::kFailed : reports::ReportStatus::kSucceeded;
  r.test_summary.total = failed + 3;
  r.test_summary.status_counts = {
      {"SUCCEEDED", 2}, {"FAILED", failed}, {"ERROR", 0}, {"SKIPPED", 1}, {"UNKNOWN", 0}};
  for (int i = 0; i < failed; ++i) {
    reports::TestCase c;
    c.prefix = "calc.Div";
    c.name = "case" + std::to_string(i);
    c.status = "FAILED";
    c.message = "expected " + std::to_string(i) + "\nstack trace";
    r.test_cases.push_back(c);
  }
  return r;
}

TEST(SummaryTest, TotalsFailedCasesAndCoverage) {
  Report cov;
  cov.name = "proj-cov";
  cov.type = reports::ReportType::kCodeCoverage;
  cov.status = reports::ReportStatus::kSucceeded;
  cov.coverage_summary = {3, 1, 1, 1};
  const std::string s = reports::test_summary({test_report(2), cov});
  EXPECT_EQ(
      s,
      "\nREPORT                                   STATUS        TOTAL  PASSED  FAILED   ERROR "
      "SKIPPED UNKNOWN\n"
      "proj-unit                                FAILED            5       2       2       0 "
      "      1       0\n"
      "  FAILED calc.Div.case0: expected 0\n"
      "  FAILED calc.Div.case1: expected 1\n"
      "proj-cov                                 SUCCEEDED   line 75.00% (3/4)  branch 50.00% "
      "(1/2)\n");
}

TEST(SummaryTest, ListsTheFirstTwentyFailedAndCountsTheRest) {
  Report r = test_report(25);
  r.test_summary.status_counts["FAILED"] = 600;  // more than the report kept
  const std::string s = reports::test_summary({r});
  EXPECT_NE(s.find("  FAILED calc.Div.case19: expected 19\n"), std::string::npos) << s;
  EXPECT_EQ(s.find("case20"), std::string::npos) << s;
  EXPECT_NE(s.find("  ... and 580 more failed\n"), std::string::npos) << s;
}

TEST(SummaryTest, ProblemsAreShownAndControlCharactersEscaped) {
  Report r = test_report(1);
  r.status = reports::ReportStatus::kIncomplete;
  r.problems = {"r/b.xml:3:1: premature end of data"};
  r.test_cases[0].message = "evil \033[2J clear";
  const std::string s = reports::test_summary({r});
  EXPECT_NE(s.find("  problem: r/b.xml:3:1: premature end of data\n"), std::string::npos) << s;
  EXPECT_EQ(s.find('\033'), std::string::npos) << s;
}

TEST(SummaryTest, NothingWithoutReports) {
  EXPECT_EQ(reports::test_summary({}), "");
}

}  // namespace
}  // namespace kiln::testing
