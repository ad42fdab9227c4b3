#pragma once

#include "engine/record.h"
#include "run_options.h"

namespace kiln::app {

// The table that ends `kiln run`: each phase with its status and duration.
void print_summary(const engine::BuildRecord& record, SummaryStyle style);

}  // namespace kiln::app
