// Internal to the engine: the state of one build while it runs. Engine::run() creates a
// BuildRun and calls execute(); the phase steps live in build_run.cpp (transitions),
// download_source.cpp (sources, buildspec, variables), secret_vars.cpp (secret values,
// git-credential-helper, source credentials), cache_phase.cpp (cache restore and save),
// command_phase.cpp (commands, finally, on-failure), upload_phase.cpp (artifacts) and
// report_phase.cpp (test and coverage reports).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "engine/container_log.h"
#include "engine/engine.h"
#include "secrets/masking_sink.h"
#include "spec/buildspec.h"

namespace kiln::engine {

// Removes a staging folder when the step that made it returns, however it returns; a folder
// that cannot be removed goes with the build's folder at the end.
struct RemoveOnExit {
  explicit RemoveOnExit(std::filesystem::path d) : dir(std::move(d)) {}
  RemoveOnExit(const RemoveOnExit&) = delete;
  RemoveOnExit& operator=(const RemoveOnExit&) = delete;
  ~RemoveOnExit() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  std::filesystem::path dir;
};

// How a phase ended, before it is written to the record.
struct PhaseOutcome {
  Status status = Status::kSucceeded;
  std::optional<PhaseContext> context;  // unset: the empty success context
};

class BuildRun {
 public:
  BuildRun(EngineDeps& deps, const BuildRequest& req, const exec::CancelToken& cancel);
  BuildRecord execute();

 private:
  // Phase bookkeeping.
  void begin_phase(PhaseType t);
  void end_phase(const PhaseOutcome& o, bool log_completion = true);
  void publish();  // masks (mask_build_fields), then hands the record to on_change
  void mask_build_fields();

  // Steps.
  PhaseOutcome provision();
  PhaseOutcome download_source();
  PhaseOutcome run_command_phase(spec::PhaseName name);
  PhaseOutcome upload_artifacts();  // artifacts, reports, then the cache
  PhaseOutcome upload_artifact_files();
  // report_phase.cpp: the buildspec's reports and auto-discover (§7); never fails the build.
  void make_reports();
  void finalize();

  // download_source helpers.
  std::optional<PhaseOutcome> prepare_workspace();
  source::SourceFetcher& fetcher();
  std::optional<PhaseOutcome> fetch_source(const source::SourceSpec& spec,
                                           const std::filesystem::path& dest,
                                           source::FetchedSource& out);
  // The stored source credential for a git source's host, registered with the masker.
  std::optional<PhaseOutcome> git_credentials_for(const source::SourceSpec& spec,
                                                  source::FetchContext& ctx);

  // cache_phase.cpp: never fail the build (cache/build_cache.h).
  std::optional<cache::CacheRequest> cache_request();
  void restore_cache();
  void save_cache();
  std::optional<PhaseOutcome> load_buildspec();
  std::optional<PhaseOutcome> resolve_variables();
  // Fetches one parameter or secret and registers its value with the masker.
  Result<std::string> fetch_secret(const std::string& name, SecretVar::Kind kind,
                                   const std::string& reference);
  std::optional<PhaseOutcome> setup_git_credentials();
  std::optional<PhaseOutcome> resolve_secret_vars(const std::vector<SecretVar>& vars,
                                                  VarList& into);
  void log_phases_found();

  // command_phase helpers.
  PhaseOutcome run_commands_once(const spec::Phase& phase, std::string& failed_output);
  std::optional<PhaseOutcome> run_one(const spec::Command& cmd, const spec::Phase& phase,
                                      std::string& failed_output, bool phase_failing);
  exec::CommandRequest command_request(const std::string& text, const spec::Phase& phase) const;

  // Where a secondary source lives: as the build sees it (CODEBUILD_SRC_DIR_<id>) and on the host.
  artifacts::SourceRoot secondary_location(const source::SourceSpec& s) const;
  // In place, a LOCAL secondary source is used where it is, unless the executor isolates the
  // build (then it is copied like any other).
  bool uses_local_in_place(const source::SourceSpec& s) const;
  std::optional<PhaseOutcome> select_runtimes();

  Result<std::string> expand(const std::string& text);
  void capture_exported_variables();
  bool out_of_time() const;
  PhaseOutcome interrupted_outcome() const;

  EngineDeps& deps_;
  const BuildRequest& req_;
  const exec::CancelToken& cancel_;
  // Every byte of the log passes the masker before any sink sees it (docs/secrets.md), then agent
  // lines have their control characters escaped (they quote buildspec text; docs/security.md).
  EscapingSink escaping_;
  secrets::MaskingSink masking_;
  ContainerLog log_;
  BuildRecord record_;

  std::chrono::steady_clock::time_point deadline_;
  std::filesystem::path workspace_;  // host path of CODEBUILD_SRC_DIR
  std::filesystem::path scratch_;
  std::optional<spec::Buildspec> spec_;
  std::optional<cache::CacheRequest> cache_request_;         // set once the cache was restored
  std::vector<std::filesystem::path> custom_cache_folders_;  // mounted at PROVISIONING
  std::unique_ptr<source::SourceFetcher> own_fetcher_;       // when EngineDeps has none
  source::FetchedSource primary_fetched_;
  std::vector<std::pair<std::string, source::FetchedSource>> secondary_fetched_;
  exec::EnvMap image_env_;                 // the image's own (or the host's) environment
  exec::ShellState initial_state_;         // 0.1 runs every command from this
  exec::ShellState state_;                 // 0.2 carries this from command to command
  std::vector<std::string> secret_names_;  // never exported
  bool succeeding_ = true;
  int last_exit_ = 0;
  bool timed_out_ = false;
  bool stopped_ = false;
};

}  // namespace kiln::engine
