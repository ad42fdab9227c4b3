// UPLOAD_ARTIFACTS (§5), exported variables (§1.6) and shell expansion for artifact names.
#include "engine/build_run.h"

namespace kiln::engine {

namespace {
bool starts_with(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}
}  // namespace

Result<std::string> BuildRun::expand(const std::string& text) {
  // A here-document expands $VAR, ${VAR} and $(cmd) exactly as the build's shell would,
  // without word splitting or globbing, and needs no quoting of the text.
  std::string delim = "KILN_EXPAND_EOF";
  while (text.find(delim) != std::string::npos) delim += "_";
  exec::CommandRequest r;
  r.text = "cat <<" + delim + "\n" + text + "\n" + delim;
  r.shell = spec_->env.shell.value_or("sh");
  r.state = spec_->version == spec::Version::k0_1 ? initial_state_ : state_;
  r.deadline = deadline_;
  std::string out;
  auto res = deps_.executor.run(
      r, [&out](std::string_view c) { out.append(c); }, cancel_);
  if (!res) return fail(std::move(res.error()).with("expanding \"" + text + "\""));
  if (res->end != exec::CommandResult::End::kExited || res->exit_code != 0)
    return fail(ErrorCode::kProcess, "expanding \"" + text + "\" failed: " + out);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

void BuildRun::capture_exported_variables() {
  const auto& env = (spec_->version == spec::Version::k0_1 ? initial_state_ : state_).env;
  for (const auto& name : spec_->env.exported_variables) {
    if (starts_with(name, "AWS_")) {
      log_.line("Skipping exported variable " + name +
                ": names starting with AWS_ cannot be exported");
      continue;
    }
    bool secret = false;
    for (const auto& s : secret_names_) secret = secret || s == name;
    if (secret) {
      log_.line("Skipping exported variable " + name + ": secrets cannot be exported");
      continue;
    }
    auto it = env.find(name);
    // A plain variable may still carry a secret's value (FOO=$TOKEN): mask it like the log.
    record_.exported_variables.emplace_back(name, it == env.end() ? "" : masking_.mask(it->second));
  }
}

PhaseOutcome BuildRun::upload_artifacts() {
  PhaseOutcome o = upload_artifact_files();
  // After the artifacts, as CodeBuild's logs show them (docs/reports.md "When"); also when the
  // artifacts failed: a report never depends on them.
  make_reports();
  // The cache is saved only from a build that succeeded, artifacts included (§6).
  if (o.status == Status::kSucceeded && succeeding_) save_cache();
  return o;
}

PhaseOutcome BuildRun::upload_artifact_files() {
  if (!spec_->artifacts.present) return {};
  if (req_.artifacts_dir.empty()) {
    // A project whose artifacts are NO_ARTIFACTS: CodeBuild uploads nothing and succeeds.
    log_.line("Skipping artifact upload: the project's artifacts type is NO_ARTIFACTS");
    return {};
  }
  artifacts::UploadRequest up;
  up.artifacts = &spec_->artifacts;
  up.src_dir = workspace_;
  up.output_dir = req_.artifacts_dir;
  up.packaging = req_.packaging;
  if (!req_.artifact_default_name.empty()) up.default_name = req_.artifact_default_name;
  up.secondary_prefix = req_.secondary_artifact_prefix;
  up.source_roots.push_back({initial_state_.cwd.string(), workspace_});
  for (const auto& s : req_.secondary_sources) up.source_roots.push_back(secondary_location(s));
  up.expand = [this](const std::string& t) { return expand(t); };
  // Absolute paths outside the sources are the environment's own (docs/artifacts.md "Absolute
  // paths"), copied out under the executor's scratch folder, which the build cannot see.
  up.open_environment_root = [this] { return deps_.executor.open_root(); };
  up.staging_dir = scratch_ / "artifacts-env";
  const RemoveOnExit remove_staging{up.staging_dir};
  ContainerLineSink sink(log_);
  auto result = deps_.uploader.upload(up, sink);
  if (!result) return {Status::kFailed, PhaseContext{"CLIENT_ERROR", result.error().describe()}};
  if (result->failure)
    return {Status::kFailed, PhaseContext{result->failure->status_code, result->failure->message}};
  auto to_record = [](const artifacts::ArtifactOutcome& a) {
    return ArtifactRecord{a.location.string(), a.sha256, a.md5, a.identifier};
  };
  if (result->primary) record_.artifacts = to_record(*result->primary);
  for (const auto& s : result->secondary) record_.secondary_artifacts.push_back(to_record(s));
  return {};
}

}  // namespace kiln::engine
