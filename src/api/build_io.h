// StartBuild's sources, artifacts and cache: the project's settings with the build's overrides
// applied (sourceVersion, sourceTypeOverride, sourceLocationOverride, gitCloneDepthOverride,
// gitSubmodulesConfigOverride, insecureSslOverride, buildspecOverride, secondarySourcesOverride,
// secondarySourcesVersionOverride, artifactsOverride, secondaryArtifactsOverride, cacheOverride,
// encryptionKeyOverride), turned into the engine request's fields. Validation errors are
// InvalidInputException naming the member.
#pragma once

#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/api_error.h"
#include "api/data_layout.h"
#include "engine/engine.h"

namespace kiln::api {

struct BuildIo {
  nlohmann::json source;             // the effective ProjectSource, for Build.source
  nlohmann::json secondary_sources;  // the effective list, for Build.secondarySources
  nlohmann::json artifacts;          // the effective ProjectArtifacts
  nlohmann::json cache;              // the effective ProjectCache
};

struct BuildIoOptions {
  std::uint64_t cache_max_bytes = 0;
  long long cache_max_age_seconds = 0;
  // LOCAL sources must lie under one of these (the server's --source-root); none: refused.
  std::vector<std::filesystem::path> source_roots;
};

// Fills req.source, secondary_sources, buildspec_path / buildspec_text, artifacts_dir,
// packaging, s3_artifacts, encryption_key and cache.
ApiResult<BuildIo> apply_build_io(const nlohmann::json& project, const nlohmann::json& in,
                                  const DataLayout& data, const BuildIoOptions& options,
                                  engine::BuildRequest& req);

}  // namespace kiln::api
