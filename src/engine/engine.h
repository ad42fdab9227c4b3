// The build engine: runs one build through CodeBuild's phases (codebuild-semantics §3) and
// produces its record. It knows nothing of HTTP or SQL; `kiln run` and the server both call it.
//
// Ownership: the Engine borrows everything in EngineDeps for the duration of run(). run() is
// synchronous and must be called from one thread; the CancelToken may be fired from anywhere.
// run() never throws for build failures: they become statuses in the record. It returns an
// Error only when the request itself is unusable (e.g. the build root cannot be created).
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "artifacts/uploader.h"
#include "engine/record.h"
#include "engine/variables.h"
#include "exec/executor.h"
#include "logs/log_sink.h"
#include "secrets/resolver.h"
#include "util/clock.h"
#include "workspace/workspace.h"

namespace kiln::engine {

struct SecondarySource {
  std::string identifier;
  std::filesystem::path dir;
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

  std::filesystem::path source_dir;  // the user's tree; empty: NO_SOURCE, start in an empty folder
  std::vector<SecondarySource> secondary_sources;
  // A private folder for this build; the engine makes src/ (the workspace) and exec/ (the
  // executor's scratch) inside it. Must exist and be empty.
  std::filesystem::path build_root;
  bool in_place = false;  // run in source_dir itself instead of a copy
  workspace::CopyMode copy_mode = workspace::CopyMode::kAuto;

  std::string buildspec_path;                 // "" = buildspec.yml; relative to the source
  std::optional<std::string> buildspec_text;  // inline buildspec (NO_SOURCE, overrides)

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
  std::string executor_name = "process";
};

struct EngineDeps {
  exec::Executor& executor;
  artifacts::ArtifactUploader& uploader;
  logs::LogSink& log;
  const Clock& clock;
  secrets::SecretResolver& secrets;
  std::function<void(const BuildRecord&)> on_change;  // optional; called at each phase change
};

class Engine {
 public:
  explicit Engine(EngineDeps deps) : deps_(std::move(deps)) {}
  BuildRecord run(const BuildRequest& req, const exec::CancelToken& cancel);

 private:
  EngineDeps deps_;
};

}  // namespace kiln::engine
