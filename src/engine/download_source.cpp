// DOWNLOAD_SOURCE: the workspace copy, the buildspec, and the build's variables. Every problem
// here fails the phase (and the build goes to FINALIZING), as in CodeBuild (§1.9, §3.2).
#include <algorithm>
#include <system_error>

#include "engine/build_run.h"
#include "spec/parser.h"
#include "util/files.h"

namespace kiln::engine {

namespace fs = std::filesystem;

namespace {
PhaseOutcome yaml_error(std::string message) {
  return {Status::kFailed, PhaseContext{"YAML_FILE_ERROR", std::move(message)}};
}
PhaseOutcome client_error(std::string message) {
  return {Status::kFailed, PhaseContext{"CLIENT_ERROR", std::move(message)}};
}

// True when `p` (lexically normalised, relative) stays inside its base.
bool stays_inside(const fs::path& rel) {
  const fs::path n = rel.lexically_normal();
  return !n.empty() && !n.is_absolute() && *n.begin() != "..";
}
}  // namespace

artifacts::SourceRoot BuildRun::secondary_location(const SecondarySource& s) const {
  // In place, secondary sources are used where they are, like the primary one. Otherwise each
  // gets a copy beside the primary workspace, as CodeBuild puts them beside CODEBUILD_SRC_DIR.
  if (req_.in_place) return {s.dir.string(), s.dir};
  const std::string dir = "src_" + s.identifier;
  return {(initial_state_.cwd.parent_path() / dir).string(), workspace_.parent_path() / dir};
}

std::optional<PhaseOutcome> BuildRun::prepare_workspace() {
  if (req_.in_place) return std::nullopt;
  // copy_tree creates its destination; PROVISIONING left an empty folder there.
  std::error_code ec;
  // NO_SOURCE (a server project with an inline buildspec): the build starts in an empty folder,
  // which PROVISIONING already made.
  if (req_.source_dir.empty()) return std::nullopt;
  fs::remove(workspace_, ec);
  auto copied = workspace::copy_tree(req_.source_dir, workspace_, req_.copy_mode);
  if (!copied) {
    return client_error("failed to prepare the workspace: " +
                        copied.error().with("copying " + req_.source_dir.string()).describe());
  }
  for (const auto& s : req_.secondary_sources) {
    auto c = workspace::copy_tree(s.dir, secondary_location(s).host_path, req_.copy_mode);
    if (!c)
      return client_error("failed to prepare secondary source " + s.identifier + ": " +
                          c.error().describe());
  }
  return std::nullopt;
}

std::optional<PhaseOutcome> BuildRun::load_buildspec() {
  std::string text;
  std::string shown_path;
  if (req_.buildspec_text) {
    text = *req_.buildspec_text;
    shown_path = (req_.build_root / "readonly" / "buildspec.yml").string();
    log_.line("YAML location is " + shown_path);
  } else {
    const bool is_default = req_.buildspec_path.empty();
    fs::path p = is_default ? fs::path("buildspec.yml") : fs::path(req_.buildspec_path);
    if (p.is_relative()) {
      if (!stays_inside(p))
        return yaml_error("buildspec path " + p.string() + " leaves the source directory");
      p = workspace_ / p;
    }
    shown_path = p.string();
    log_.line("YAML location is " + shown_path);
    auto content = read_file(p);
    if (!content) {
      if (is_default) return yaml_error("YAML file does not exist");
      return yaml_error("stat " + shown_path + ": no such file or directory");
    }
    text = std::move(*content);
  }

  auto parsed = spec::parse_buildspec(text, shown_path);
  for (const auto& d : parsed.diagnostics) {
    if (d.severity == spec::Diagnostic::Severity::kWarning)
      log_.line("Warning: " + shown_path + ":" + std::to_string(d.mark.line) + ":" +
                std::to_string(d.mark.column) + ": " + d.message);
  }
  if (!parsed.spec) {
    for (const auto& d : parsed.diagnostics)
      if (d.severity == spec::Diagnostic::Severity::kError)
        return yaml_error(spec::phase_context_message(d));
    return yaml_error("invalid buildspec");
  }
  spec_ = std::move(*parsed.spec);
  return std::nullopt;
}

std::optional<PhaseOutcome> BuildRun::resolve_variables() {
  log_.line("Processing environment variables");
  // Nothing is half-resolved: the build's environment is composed only when every lookup
  // succeeded, and the first failure ends DOWNLOAD_SOURCE.
  std::vector<SecretVar> from_spec;
  for (const auto& [name, param] : spec_->env.parameter_store)
    from_spec.push_back({name, SecretVar::Kind::kParameterStore, param});
  for (const auto& [name, ref] : spec_->env.secrets_manager)
    from_spec.push_back({name, SecretVar::Kind::kSecretsManager, ref});
  const auto is_parameter = [](const SecretVar& v) {
    return v.kind == SecretVar::Kind::kParameterStore;
  };
  const bool any_parameter = std::ranges::any_of(from_spec, is_parameter) ||
                             std::ranges::any_of(req_.project_secret_vars, is_parameter) ||
                             std::ranges::any_of(req_.override_secret_vars, is_parameter);
  if (any_parameter) log_.line("Decrypting parameter store environment variables");

  VarList buildspec_vars = spec_->env.variables;
  VarList project_vars = req_.project_vars;
  VarList override_vars = req_.override_vars;
  if (auto failed = resolve_secret_vars(from_spec, buildspec_vars)) return failed;
  if (auto failed = resolve_secret_vars(req_.project_secret_vars, project_vars)) return failed;
  if (auto failed = resolve_secret_vars(req_.override_secret_vars, override_vars)) return failed;

  BuildIdentity id = req_.identity;
  id.src_dir = initial_state_.cwd.string();
  id.start_time_ms = static_cast<long long>(record_.start_time * 1000);
  VarList system = codebuild_variables(id);
  for (const auto& s : req_.secondary_sources)
    system.emplace_back("CODEBUILD_SRC_DIR_" + s.identifier, secondary_location(s).build_path);
  initial_state_.env =
      compose_environment(req_.image_env, buildspec_vars, project_vars, override_vars, system);
  if (spec_->env.git_credential_helper) {
    if (auto failed = setup_git_credentials()) return failed;
  }
  state_ = initial_state_;
  return std::nullopt;
}

void BuildRun::log_phases_found() {
  int present = 0;
  for (const auto& [name, phase] : spec_->phases) present += phase.present ? 1 : 0;
  log_.line("Phases found in YAML: " + std::to_string(present));
  for (const auto& [name, phase] : spec_->phases) {
    if (!phase.present) continue;
    log_.line(std::string(" ") + spec::upper_name(name) + ": " +
              std::to_string(phase.commands.size()) + " commands");
  }
}

PhaseOutcome BuildRun::download_source() {
  log_.line("Phase is DOWNLOAD_SOURCE");
  if (auto failed = prepare_workspace()) return *failed;
  log_.line("CODEBUILD_SRC_DIR=" + initial_state_.cwd.string());
  if (auto failed = load_buildspec()) return *failed;
  if (auto failed = resolve_variables()) return *failed;

  const auto& install = spec_->phases.at(spec::PhaseName::kInstall);
  if (install.runtime_versions.empty())
    log_.line("No runtime version selected in buildspec.");
  else
    log_.line(
        "Skipping install of runtimes. Runtime version selection is not supported by this "
        "build image.");
  log_.line("Moving to directory " + initial_state_.cwd.string());
  if (!spec_->cache.present) {
    log_.line("Cache is not defined in the buildspec");
    log_.line("Skip cache due to: no paths specified to be cached");
  } else {
    log_.line("Skip cache due to: caching is not supported by this version of kiln");
  }
  log_phases_found();
  return {};
}

}  // namespace kiln::engine
