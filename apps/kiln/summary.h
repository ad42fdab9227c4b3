#pragma once

#include <vector>

#include "engine/record.h"
#include "reports/report.h"
#include "run_options.h"

namespace kiln::app {

// The table that ends `kiln run`: each phase with its status and duration.
void print_summary(const engine::BuildRecord& record, SummaryStyle style);

// The test summary after it (reports/summary.h); nothing when the build made no reports.
void print_report_summary(const std::vector<reports::Report>& reports, SummaryStyle style);

}  // namespace kiln::app
