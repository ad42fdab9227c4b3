// A BuildRequest as JSON: how the server hands a build to its worker process (docs/server.md).
// Every field round-trips; unknown keys are ignored so an older worker can read a newer request.
// Thread safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "util/error.h"

namespace kiln::engine {

// The member, beside the BuildRequest's own, naming the access key whose rights the build's own
// parameter and secret reads have (the project's key: docs/server.md "Builds' own calls").
// Set by the server's StartBuild and read by `kiln worker`; absent: the server's own rights.
inline constexpr const char* kSecretsKeyMember = "secretsKeyId";

nlohmann::json request_to_json(const BuildRequest& req);

// kParse naming the first member of the wrong type by its path, "build request:
// projectVars[2].name: expected a string" (or "...: missing" for a list item's name, value, type
// or reference). Absent and null members keep the BuildRequest's defaults.
[[nodiscard]] Result<BuildRequest> request_from_json(const nlohmann::json& j);

}  // namespace kiln::engine
