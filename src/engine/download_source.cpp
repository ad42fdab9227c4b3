// DOWNLOAD_SOURCE: the workspace copy, the buildspec, and the build's variables. Every problem
// here fails the phase (and the build goes to FINALIZING), as in CodeBuild (§1.9, §3.2).
#include <algorithm>
#include <system_error>

#include "engine/build_run.h"
#include "image/catalog.h"
#include "spec/parser.h"
#include "util/escape.h"
#include "util/files.h"
#include "util/safe_read.h"
#include "util/unique_fd.h"

namespace kiln::engine {

namespace fs = std::filesystem;

namespace {
PhaseOutcome yaml_error(std::string message) {
  return {Status::kFailed, PhaseContext{"YAML_FILE_ERROR", std::move(message)}};
}
PhaseOutcome client_error(std::string message) {
  return {Status::kFailed, PhaseContext{"CLIENT_ERROR", std::move(message)}};
}

// A git mirror serves one build at a time (concurrent fetches into one repository fail on ref
// locks): the lock is `<mirror>.lock`, the file cache::evict_folders() also respects. An
// invalid fd when another build holds it.
UniqueFd lock_mirror(const fs::path& mirror) {
  std::error_code ec;
  fs::create_directories(mirror.parent_path(), ec);
  auto lock = try_lock_file(mirror.string() + ".lock");
  return lock ? std::move(*lock) : UniqueFd();
}

// True when `p` (lexically normalised, relative) stays inside its base.
bool stays_inside(const fs::path& rel) {
  const fs::path n = rel.lexically_normal();
  return !n.empty() && !n.is_absolute() && *n.begin() != "..";
}
}  // namespace

artifacts::SourceRoot BuildRun::secondary_location(const source::SourceSpec& s) const {
  // In place, LOCAL secondary sources are used where they are, like the primary one. Otherwise
  // each gets a folder beside the primary workspace, as CodeBuild puts them beside
  // CODEBUILD_SRC_DIR. A container cannot see the user's other folders: there they are copied.
  if (uses_local_in_place(s)) return {s.location, s.location};
  const std::string dir = "src_" + s.identifier;
  // In place, the workspace is the user's own folder: fetched sources go in the build folder,
  // never beside the user's tree.
  if (req_.in_place)
    return {deps_.executor.map_path(req_.build_root / dir).string(), req_.build_root / dir};
  return {(initial_state_.cwd.parent_path() / dir).string(), workspace_.parent_path() / dir};
}

bool BuildRun::uses_local_in_place(const source::SourceSpec& s) const {
  const bool isolated = deps_.executor.map_path(req_.build_root) != req_.build_root;
  return req_.in_place && s.is_local() && !isolated;
}

source::SourceFetcher& BuildRun::fetcher() {
  if (deps_.sources != nullptr) return *deps_.sources;
  if (!own_fetcher_) {
    own_fetcher_ = source::make_source_fetcher([]() -> Result<net::S3Client*> {
      return fail(ErrorCode::kInvalidArgument, "this build has no S3 client configured");
    });
  }
  return *own_fetcher_;
}

// One source into `dest` (an existing empty folder), with CodeBuild's failure context
// ("<why> for primary source and source version <v>").
std::optional<PhaseOutcome> BuildRun::fetch_source(const source::SourceSpec& spec,
                                                   const std::filesystem::path& dest,
                                                   source::FetchedSource& out) {
  std::error_code ec;
  source::FetchContext ctx;
  ctx.cancel = &cancel_;
  ctx.log = [this](std::string_view line) { log_.line(line); };
  ctx.scratch = req_.build_root / "download";
  ctx.copy_mode = req_.copy_mode;
  ctx.timeout_ms =
      std::max<long>(1000, static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 deadline_ - deps_.clock.steady_now())
                                                 .count()));
  UniqueFd mirror_lock;
  if (spec.is_git()) {
    if (auto failed = git_credentials_for(spec, ctx)) return failed;
    if (req_.cache.type == "LOCAL" && req_.cache.has_mode("LOCAL_SOURCE_CACHE") &&
        !req_.cache.local_root.empty()) {
      const auto mirror = req_.cache.local_root / "git" / source::mirror_dir_name(spec.location);
      mirror_lock = lock_mirror(mirror);
      if (mirror_lock)
        ctx.git_mirror_dir = mirror;
      else
        log_.line("Source cache " + mirror.string() +
                  " is in use by another build; cloning without it");
    }
  }
  auto fetched = fetcher().fetch(spec, dest, ctx);
  if (fetched && ctx.git_mirror_dir) {
    // Last use, for the eviction of LOCAL caches (cache::evict_folders).
    fs::last_write_time(*ctx.git_mirror_dir, fs::file_time_type::clock::now(), ec);
  }
  if (!fetched) {
    if (cancel_.cancelled()) {
      stopped_ = true;
      return interrupted_outcome();
    }
    const std::string which =
        spec.identifier.empty() ? "primary source" : "secondary source " + spec.identifier;
    return client_error(fetched.error().message() + " for " + which + " and source version " +
                        (spec.version.empty() ? std::string("(default)") : spec.version));
  }
  out = std::move(*fetched);
  return std::nullopt;
}

std::optional<PhaseOutcome> BuildRun::prepare_workspace() {
  std::error_code ec;
  // NO_SOURCE (a server project with an inline buildspec): the build starts in an empty folder,
  // which PROVISIONING already made. In place, the primary source is the workspace itself.
  if (!req_.source.is_none() && !req_.in_place) {
    if (auto failed = fetch_source(req_.source, workspace_, primary_fetched_)) return failed;
    if (!primary_fetched_.resolved_version.empty())
      record_.resolved_source_version = primary_fetched_.resolved_version;
  }
  for (const auto& s : req_.secondary_sources) {
    if (uses_local_in_place(s)) continue;  // used where it is
    const auto dest = secondary_location(s).host_path;
    std::filesystem::create_directories(dest, ec);
    source::FetchedSource got;
    if (auto failed = fetch_source(s, dest, got)) return failed;
    record_.secondary_source_versions.emplace_back(
        s.identifier, got.resolved_version.empty() ? got.version : got.resolved_version);
    secondary_fetched_.emplace_back(s.identifier, std::move(got));
  }
  return std::nullopt;
}

std::optional<PhaseOutcome> BuildRun::load_buildspec() {
  std::string text;
  std::string shown_path;
  if (req_.buildspec_text) {
    text = *req_.buildspec_text;
    shown_path =
        !req_.buildspec_origin.empty()
            ? req_.buildspec_origin
            : deps_.executor.map_path(req_.build_root / "readonly" / "buildspec.yml").string();
    log_.line("YAML location is " + shown_path);
    if (text.size() > spec::kMaxBuildspecBytes)
      return yaml_error("the buildspec is larger than " + size_text(spec::kMaxBuildspecBytes) +
                        ", the limit");
  } else {
    // CodeBuild: a buildspec path is relative to CODEBUILD_SRC_DIR
    // (docs/reference/codebuild-semantics.md §1.1). It is read on the host, so it is opened beneath
    // the source: a path or a symlink that leads out of it (/etc/shadow) must not put a host file's
    // lines into the build log, and a device or FIFO (/dev/zero) must not exhaust the worker or
    // hang it.
    const bool is_default = req_.buildspec_path.empty();
    const fs::path p = is_default ? fs::path("buildspec.yml") : fs::path(req_.buildspec_path);
    if (p.is_absolute() || !stays_inside(p))
      return yaml_error("buildspec path " + p.string() + " leaves the source directory");
    shown_path = deps_.executor.map_path(workspace_ / p).string();  // as the build sees it
    log_.line("YAML location is " + shown_path);
    auto content = read_file_beneath(workspace_, p.string(), spec::kMaxBuildspecBytes, shown_path);
    if (!content) {
      const ErrorCode code = content.error().code();
      if (code == ErrorCode::kNotFound && is_default) return yaml_error("YAML file does not exist");
      if (code == ErrorCode::kNotFound)
        return yaml_error("stat " + shown_path + ": no such file or directory");
      if (code == ErrorCode::kPathEscape)
        return yaml_error("buildspec path " + p.string() + " leaves the source directory");
      return yaml_error(content.error().message());
    }
    text = std::move(*content);
  }

  auto parsed = spec::parse_buildspec(text, shown_path);
  // Messages quote keys and values: a line feed in one must not start a forged log line.
  for (const auto& d : parsed.diagnostics) {
    if (d.severity == spec::Diagnostic::Severity::kWarning)
      log_.line("Warning: " + shown_path + ":" + std::to_string(d.mark.line) + ":" +
                std::to_string(d.mark.column) + ": " + escape_control(d.message));
  }
  if (!parsed.spec) {
    for (const auto& d : parsed.diagnostics)
      if (d.severity == spec::Diagnostic::Severity::kError)
        return yaml_error(escape_control(spec::phase_context_message(d)));
    return yaml_error("invalid buildspec");
  }
  if (req_.batchspec_only) {
    // The batch's DOWNLOAD_SOURCE build (docs/batch.md): its work ends with the batchspec.
    if (!parsed.spec->batch.present)
      return yaml_error("the buildspec has no `batch` section: it cannot run as a batch build");
    if (deps_.on_batchspec) deps_.on_batchspec(text, shown_path);
    spec_ = std::move(*parsed.spec);
    return std::nullopt;
  }
  // The parser lets a batch buildspec go without phases (docs/buildspec.md): its tasks name
  // their own buildspecs (tests/corpus/buildspecs/004). Run as one build it would succeed after
  // running nothing, so outside a batch it fails here, saying how to run it. A batch's member
  // runs the buildspec's phases, none here.
  if (parsed.spec->batch.present && !spec::has_phases(*parsed.spec) &&
      req_.identity.batch_identifier.empty())
    return yaml_error(
        "the buildspec defines only a batch build (`batch`, no `phases`): run it as a batch "
        "(StartBuildBatch, or kiln run --batch)");
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
  // What DOWNLOAD_SOURCE learnt wins over what the request guessed (§4.1).
  if (!primary_fetched_.resolved_version.empty())
    id.resolved_source_version = primary_fetched_.resolved_version;
  if (!primary_fetched_.repo_url.empty() && !req_.source.is_local())
    id.source_repo_url = primary_fetched_.repo_url;
  if (id.source_version.empty()) id.source_version = primary_fetched_.version;
  VarList system = codebuild_variables(id);
  for (const auto& s : req_.secondary_sources)
    system.emplace_back("CODEBUILD_SRC_DIR_" + s.identifier, secondary_location(s).build_path);
  for (const auto& [sid, got] : secondary_fetched_) {
    system.emplace_back("CODEBUILD_SOURCE_VERSION_" + sid,
                        got.resolved_version.empty() ? got.version : got.resolved_version);
    system.emplace_back("CODEBUILD_SOURCE_REPO_URL_" + sid, got.repo_url);
  }
  initial_state_.env =
      compose_environment(image_env_, buildspec_vars, project_vars, override_vars, system);
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

// phases.install.runtime-versions against the runtimes of the build's image (§3.7): the host
// and images that are not curated have none, so a selection there is skipped with CodeBuild's
// warning; an unknown runtime or version on a curated image is a YAML_FILE_ERROR.
std::optional<PhaseOutcome> BuildRun::select_runtimes() {
  const auto& requested = spec_->phases.at(spec::PhaseName::kInstall).runtime_versions;
  if (requested.empty()) log_.line("No runtime version selected in buildspec.");
  const auto mapped = image::map_image(req_.identity.image, req_.privileged_mode);
  const image::ImageRuntimes none;
  const auto& runtimes = mapped.curated != nullptr ? mapped.curated->runtimes : none;
  auto wanted = requested;
  for (auto& entry : wanted) {  // "$MY_RUBY_VAR": expanded as the build's shell would
    if (entry.second.find('$') == std::string::npos) continue;
    auto value = expand(entry.second);
    entry.second = value ? *value : std::string();
  }
  auto selected = image::select_runtimes(runtimes, wanted);
  if (!selected) return yaml_error(selected.error().message);
  for (const auto& line : selected->log) log_.line(line);
  for (const auto& r : selected->runtimes)
    for (const auto& [k, v] : r.env) initial_state_.env[k] = v;
  state_ = initial_state_;
  return std::nullopt;
}

PhaseOutcome BuildRun::download_source() {
  log_.line("Phase is DOWNLOAD_SOURCE");
  if (auto failed = prepare_workspace()) return *failed;
  log_.line("CODEBUILD_SRC_DIR=" + initial_state_.cwd.string());
  if (auto failed = load_buildspec()) return *failed;
  if (req_.batchspec_only) return {};
  if (auto failed = resolve_variables()) return *failed;

  if (auto failed = select_runtimes()) return *failed;
  log_.line("Moving to directory " + initial_state_.cwd.string());
  restore_cache();
  log_phases_found();
  return {};
}

}  // namespace kiln::engine
