#include "summary.h"

#include <cstdio>
#include <string>

#include "reports/summary.h"
#include "util/escape.h"

namespace kiln::app {

namespace {
const char* color_of(engine::Status s) {
  switch (s) {
    case engine::Status::kSucceeded: return "\033[32m";
    case engine::Status::kInProgress: return "\033[33m";
    default: return "\033[31m";
  }
}
}  // namespace

void print_summary(const engine::BuildRecord& r, SummaryStyle style) {
  const char* reset = style.color ? "\033[0m" : "";
  std::printf("\n%-18s %-11s %10s\n", "PHASE", "STATUS", "DURATION");
  for (const auto& p : r.phases) {
    if (p.type == engine::PhaseType::kCompleted || !p.status) continue;
    const double secs = p.end_time ? *p.end_time - p.start_time : 0.0;
    const char* status = engine::to_string(*p.status);
    std::printf("%-18s %s%-11s%s %9.3fs\n", engine::to_string(p.type),
                style.color ? color_of(*p.status) : "", status, reset, secs);
  }
  const double total = r.end_time ? *r.end_time - r.start_time : 0.0;
  std::printf("\nBuild %s %s%s%s in %.3fs\n", r.id.c_str(),
              style.color ? color_of(r.build_status) : "", engine::to_string(r.build_status), reset,
              total);
  // Artifact names come from the buildspec: no control characters reach the terminal.
  if (r.artifacts && !r.artifacts->location.empty())
    std::printf("Artifact: %s\n", escape_control(r.artifacts->location).c_str());
  for (const auto& a : r.secondary_artifacts)
    std::printf("Artifact %s: %s\n", escape_control(a.identifier).c_str(),
                escape_control(a.location).c_str());
  std::fflush(stdout);
}

void print_report_summary(const std::vector<reports::Report>& reports, SummaryStyle style) {
  const std::string text = reports::test_summary(reports, {style.color});
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
}

}  // namespace kiln::app
