// A BuildRequest as JSON: how the server hands a build to its worker process (docs/server.md).
// Every field round-trips; unknown keys are ignored so an older worker can read a newer request.
// Thread safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "util/error.h"

namespace kiln::engine {

nlohmann::json request_to_json(const BuildRequest& req);

// kParse with the field's name when a member has the wrong type.
[[nodiscard]] Result<BuildRequest> request_from_json(const nlohmann::json& j);

}  // namespace kiln::engine
