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

// kParse with the field's name when a member has the wrong type.
[[nodiscard]] Result<BuildRequest> request_from_json(const nlohmann::json& j);

}  // namespace kiln::engine
