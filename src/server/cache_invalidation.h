// What InvalidateProjectCache removes (docs/cache.md), kept out of the API layer so the API
// decides nothing about where caches live:
//   S3     every object under <location>/<namespace>/ (the archive cache's layout), through the
//          S3 endpoint of the server's environment
//   LOCAL  the namespace's custom-cache folders and the git mirrors of the project's sources,
//          under `cache_dir` (DATA/cache)
// A build of the project running at that moment keeps what it restored.
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

#include "util/error.h"

namespace kiln::server {

// `project` is the stored Project JSON. kInvalidArgument for an unusable cache location.
[[nodiscard]] Result<void> invalidate_project_cache(const nlohmann::json& project,
                                                    const std::filesystem::path& cache_dir);

}  // namespace kiln::server
