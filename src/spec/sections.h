// The section parsers that parse_buildspec() (parser.cpp) calls, one file per group of
// top-level keys. Each reads one value node into the model and reports problems into the
// Context; none throws. Internal to spec/.
#pragma once

#include <string_view>
#include <vector>

#include "spec/buildspec.h"
#include "spec/parse_util.h"

namespace kiln::spec::detail {

// parse_env.cpp. `path` is "env", or "environment_variables" in a version 0.1 buildspec.
void parse_env(Context& ctx, const Node& value, std::string_view path, Env& env);
void parse_proxy(Context& ctx, const Node& value, Proxy& proxy);

// parse_phases.cpp. Fills spec.phases, which must already hold the four phases.
void parse_phases(Context& ctx, const Node& value, Buildspec& spec);

// parse_artifacts.cpp. `key` is the `artifacts:` key, whose position the model records.
void parse_artifacts(Context& ctx, const Node& key, const Node& value, Artifacts& artifacts);

// parse_reports.cpp (reports and cache: the other two "collect files" sections).
void parse_reports(Context& ctx, const Node& value, std::vector<Report>& reports);
void parse_cache(Context& ctx, const Node& value, Cache& cache);

// parse_batch.cpp
void parse_batch(Context& ctx, const Node& value, Batch& batch);

}  // namespace kiln::spec::detail
