// Editing stored Build JSON (the `Build` shape) where no engine is running: a build stopped or
// timed out while queued, or one whose worker died. The engine writes every other change.
// Thread safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace kiln::api {

// Ends a build at its current phase: that phase gets `status` and the context, a COMPLETED
// entry is appended, buildStatus becomes `status` and buildComplete true. No-op if complete.
void end_build(nlohmann::json& build, const std::string& status, double now,
               const std::string& context_code, const std::string& context_message);

bool build_complete(const nlohmann::json& build);

}  // namespace kiln::api
