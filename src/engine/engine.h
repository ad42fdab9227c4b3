// The build engine: runs one build through CodeBuild's phases
// (docs/reference/codebuild-semantics.md §3) and produces its record. It knows nothing of HTTP or
// SQL; `kiln run` and the server both call it.
//
// Ownership: the Engine borrows everything in EngineDeps for the duration of run(). run() is
// synchronous and must be called from one thread; the CancelToken may be fired from anywhere.
// run() never throws for build failures: they become statuses in the record. It returns an
// Error only when the request itself is unusable (e.g. the build root cannot be created).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "artifacts/s3_uploader.h"
#include "artifacts/uploader.h"
#include "cache/build_cache.h"
#include "engine/record.h"
#include "engine/variables.h"
#include "exec/executor.h"
#include "logs/log_sink.h"
#include "reports/report.h"
#include "secrets/resolver.h"
#include "source/fetcher.h"
#include "util/clock.h"
#include "workspace/workspace.h"

namespace kiln::engine {

// The project's cache (ProjectCache, docs/reference/codebuild-semantics.md §6.1) and where this
// host keeps local caches.
struct CacheSettings {
  std::string type = "NO_CACHE";     // NO_CACHE, S3, LOCAL
  std::string location;              // S3: bucket/prefix
  std::vector<std::string> modes;    // LOCAL: LOCAL_SOURCE_CACHE, LOCAL_CUSTOM_CACHE, ...
  std::string namespace_name;        // cacheNamespace, else the project name
  std::filesystem::path local_root;  // LOCAL caches and git mirrors on this host
  // Archive cache eviction after each save (the server's --cache-max-bytes / --cache-max-age;
  // 0 = no limit).
  std::uint64_t max_bytes = 0;
  long long max_age_seconds = 0;
  bool has_mode(std::string_view m) const {
    for (const auto& x : modes)
      if (x == m) return true;
    return false;
  }
};

// A variable whose value is fetched: `reference` is a parameter name or a secrets-manager
// reference (secret-id:json-key:version-stage:version-id).
struct SecretVar {
  enum class Kind { kParameterStore, kSecretsManager };
  std::string name;
  Kind kind = Kind::kParameterStore;
  std::string reference;
  const char* type_name() const {
    return kind == Kind::kParameterStore ? "PARAMETER_STORE" : "SECRETS_MANAGER";
  }
};

struct BuildRequest {
  BuildIdentity identity;  // src_dir and start_time_ms are filled in by the engine

  // The primary source: NO_SOURCE starts in an empty folder; LOCAL copies the folder in
  // `location` (or runs in it, in_place); git and S3 sources are fetched in DOWNLOAD_SOURCE.
  source::SourceSpec source;
  std::vector<source::SourceSpec> secondary_sources;  // each with its identifier
  // A private folder for this build; the engine makes src/ (the workspace) and exec/ (the
  // executor's scratch) inside it. Must exist and be empty.
  std::filesystem::path build_root;
  bool in_place = false;  // run in the LOCAL source folder itself instead of a copy
  workspace::CopyMode copy_mode = workspace::CopyMode::kAuto;

  // "" = buildspec.yml. Relative to the source, and opened beneath it: `..` above it, an
  // absolute path and a symlink out of it fail the build (YAML_FILE_ERROR), as does anything
  // but a regular file of at most spec::kMaxBuildspecBytes (docs/buildspec.md "Where the
  // buildspec is read from").
  std::string buildspec_path;
  std::optional<std::string> buildspec_text;  // inline buildspec (NO_SOURCE, overrides)
  // Where buildspec_text was read from, when it is a file (`kiln run -b /abs/file`, which the
  // CLI reads itself): shown in "YAML location is" and kept as the record's buildspec instead
  // of the text. Never set by the server.
  std::string buildspec_origin;
  // The build only reads the batchspec for a batch (docs/batch.md): DOWNLOAD_SOURCE fetches the
  // source and parses the buildspec, EngineDeps::on_batchspec gets it, and the build ends
  // there (SUCCEEDED; a buildspec that does not parse fails it with YAML_FILE_ERROR as usual).
  // The first build group of a batch, DOWNLOAD_SOURCE (§8.3).
  bool batchspec_only = false;

  VarList project_vars;   // project environment.environmentVariables (PLAINTEXT)
  VarList override_vars;  // environmentVariablesOverride; kiln run's -e / --env-file
  // Variables of the PARAMETER_STORE / SECRETS_MANAGER types, resolved in DOWNLOAD_SOURCE and
  // layered with the plain ones of the same level (they win over a plain one of the same name).
  std::vector<SecretVar> project_secret_vars;
  std::vector<SecretVar> override_secret_vars;
  exec::EnvMap image_env;  // the environment the image (or host) provides

  std::string environment_type = "LINUX_CONTAINER";
  std::string compute_type = "BUILD_GENERAL1_SMALL";
  double timeout_minutes = 60;  // fractional minutes allowed (kiln run tests use seconds)
  int queued_timeout_minutes = 480;

  artifacts::Packaging packaging = artifacts::Packaging::kZip;
  std::filesystem::path artifacts_dir;  // empty: NO_ARTIFACTS, nothing is uploaded
  // Where the build's reports go (§7), one reports::report_file_json file each, written in
  // UPLOAD_ARTIFACTS; empty: reports are collected and summarised but not written. The server
  // points it at a folder of its data the build cannot see and takes the files in when the
  // worker's final record arrives.
  std::filesystem::path reports_dir;
  // A batch member's artifact names (§5.4): the primary artifact's name when the buildspec
  // gives none ("" = the uploader's default), and a prefix for each secondary artifact's
  // ("<buildIdentifier>_").
  std::string artifact_default_name;
  std::string secondary_artifact_prefix;
  // Set: artifacts go to S3 (artifacts_dir is then only their staging folder).
  std::vector<artifacts::S3ArtifactTarget> s3_artifacts;
  // kiln run -a s3://...: secondary artifacts without a target go beside the primary one.
  bool s3_default_secondary = false;
  std::string encryption_key;  // the project's encryptionKey (SSE-KMS for S3 artifacts)
  CacheSettings cache;
  std::string executor_name = "process";
  // The container executors (engine/executor_factory.h): environment.privilegedMode, and the
  // network ("" = the executor's default, "bridge", "none" or "host").
  bool privileged_mode = false;
  std::string network_mode;
  std::filesystem::path image_dir;  // the curated image store (image/store.h); "" = default
  unsigned max_builds = 0;  // builds the server runs at once (sizes sandbox pids.max); 0: one
};

struct EngineDeps {
  exec::Executor& executor;
  artifacts::ArtifactUploader& uploader;
  logs::LogSink& log;
  const Clock& clock;
  secrets::SecretResolver& secrets;
  std::function<void(const BuildRecord&)> on_change;  // optional; called at each phase change
  // Optional: null fetches LOCAL sources only (git and S3 then fail in DOWNLOAD_SOURCE).
  source::SourceFetcher* sources = nullptr;
  // Optional: the build's cache (cache/build_cache.h); null = the buildspec cache is skipped.
  cache::BuildCache* cache = nullptr;
  // Optional: called once in UPLOAD_ARTIFACTS with the build's reports (§7.5; maybe none),
  // already masked; not called when UPLOAD_ARTIFACTS did not run (the build jumped to
  // FINALIZING). `kiln run` prints them.
  std::function<void(const std::vector<reports::Report>&)> on_reports;
  // Optional: with BuildRequest::batchspec_only, called in DOWNLOAD_SOURCE with the buildspec's
  // text and the name it is shown by, once it parsed (batch/plan.h plans from it).
  std::function<void(const std::string& text, const std::string& shown_path)> on_batchspec;
};

class Engine {
 public:
  explicit Engine(EngineDeps deps) : deps_(std::move(deps)) {}
  BuildRecord run(const BuildRequest& req, const exec::CancelToken& cancel);

 private:
  EngineDeps deps_;
};

}  // namespace kiln::engine
