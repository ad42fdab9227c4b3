// The phase transitions of docs/reference/codebuild-semantics.md §3.2, plus the choices documented
// in docs/semantics.md for what the reference leaves open (ABORT, RETRY, timeouts, stops).
#include "engine/build_run.h"

namespace kiln::engine {

namespace {
double seconds(std::chrono::system_clock::time_point t) {
  return to_epoch_seconds(t);
}

PhaseType phase_type(spec::PhaseName n) {
  switch (n) {
    case spec::PhaseName::kInstall: return PhaseType::kInstall;
    case spec::PhaseName::kPreBuild: return PhaseType::kPreBuild;
    case spec::PhaseName::kBuild: return PhaseType::kBuild;
    case spec::PhaseName::kPostBuild: return PhaseType::kPostBuild;
  }
  return PhaseType::kBuild;
}
}  // namespace

BuildRun::BuildRun(EngineDeps& deps, const BuildRequest& req, const exec::CancelToken& cancel)
    : deps_(deps),
      req_(req),
      cancel_(cancel),
      escaping_(deps.log),
      masking_(escaping_),
      log_(masking_, deps.clock),
      record_(record_for(req)) {
  const auto budget = std::chrono::duration<double, std::ratio<60>>(req.timeout_minutes);
  deadline_ = deps.clock.steady_now() +
              std::chrono::duration_cast<std::chrono::steady_clock::duration>(budget);
  scratch_ = req.build_root / "exec";
  workspace_ = req.in_place ? std::filesystem::path(req.source.location) : req.build_root / "src";
}

void BuildRun::publish() {
  mask_build_fields();
  if (deps_.on_change) deps_.on_change(record_);
}

// Fields whose text the build chose (artifact names, report names) or printed (contexts,
// exported values) may carry a secret's value, like the log: `name: art-$TOKEN` put the
// token in artifacts.location (docs/security.md). They are masked before anyone sees the record.
void BuildRun::mask_build_fields() {
  const auto mask = [this](std::string& s) {
    if (!s.empty()) s = masking_.mask(s);
  };
  for (auto& p : record_.phases)
    for (auto& c : p.contexts) mask(c.message);
  const auto mask_artifact = [&](ArtifactRecord& a) {
    mask(a.location);
    mask(a.identifier);
  };
  if (record_.artifacts) mask_artifact(*record_.artifacts);
  for (auto& a : record_.secondary_artifacts) mask_artifact(a);
  for (auto& [name, value] : record_.exported_variables) {
    mask(name);
    mask(value);
  }
  for (auto& arn : record_.report_arns) mask(arn);
}

void BuildRun::begin_phase(PhaseType t) {
  PhaseRecord p;
  p.type = t;
  p.start_time = seconds(deps_.clock.now());
  p.status = Status::kInProgress;
  p.emit_contexts = t != PhaseType::kSubmitted && t != PhaseType::kQueued;
  record_.phases.push_back(p);
  record_.current_phase = t;
  if (t >= PhaseType::kInstall && t <= PhaseType::kPostBuild)
    log_.line(std::string("Entering phase ") + to_string(t));
  publish();
}

void BuildRun::end_phase(const PhaseOutcome& o, bool log_completion) {
  PhaseRecord& p = record_.phases.back();
  p.status = o.status;
  p.end_time = seconds(deps_.clock.now());
  p.duration_seconds = duration_seconds(p.start_time, *p.end_time);
  p.contexts.clear();
  if (o.context) {
    // A context may quote command output, and that may hold a secret.
    PhaseContext c = *o.context;
    c.message = masking_.mask(c.message);
    p.contexts.push_back(std::move(c));
  }
  if (log_completion) {
    log_.line(std::string("Phase complete: ") + to_string(p.type) +
              " State: " + to_string(o.status));
    const PhaseContext empty;
    const PhaseContext& c = o.context ? *o.context : empty;
    log_.line("Phase context status code: " + c.status_code + " Message: " + c.message);
  }
  if (o.status == Status::kFailed) succeeding_ = false;
  publish();
}

bool BuildRun::out_of_time() const {
  return deps_.clock.steady_now() >= deadline_;
}

PhaseOutcome BuildRun::interrupted_outcome() const {
  if (stopped_) return {Status::kStopped, PhaseContext{"BUILD_STOPPED", "Build was stopped"}};
  return {Status::kTimedOut, PhaseContext{"BUILD_TIMED_OUT", "Build has timed out. "}};
}

BuildRecord BuildRun::execute() {
  const auto start = deps_.clock.now();
  record_.start_time = seconds(start);

  for (PhaseType t : {PhaseType::kSubmitted, PhaseType::kQueued}) {
    begin_phase(t);
    end_phase({}, false);
  }
  log_.line("Running on Kiln (" + req_.executor_name + " executor)");

  begin_phase(PhaseType::kProvisioning);
  const PhaseOutcome provisioned = provision();
  end_phase(provisioned, false);

  // §3.2: a PROVISIONING failure skips FINALIZING and goes straight to COMPLETED.
  bool to_finalizing = provisioned.status != Status::kSucceeded;
  if (!to_finalizing) {
    log_.line("Waiting for DOWNLOAD_SOURCE");
    begin_phase(PhaseType::kDownloadSource);
    const PhaseOutcome o = download_source();
    end_phase(o);
    // A batchspec-only build (the batch's DOWNLOAD_SOURCE group) is done once it has read it.
    to_finalizing = o.status != Status::kSucceeded || req_.batchspec_only;

    for (spec::PhaseName name : spec::kAllPhases) {
      if (to_finalizing) break;
      begin_phase(phase_type(name));
      const PhaseOutcome po = run_command_phase(name);
      end_phase(po);
      if (po.status == Status::kSucceeded) continue;
      if (po.status != Status::kFailed) {  // timed out or stopped
        to_finalizing = true;
        break;
      }
      const auto kind = spec_->phases.at(name).on_failure.kind;
      if (kind == spec::OnFailure::Kind::kContinue) continue;
      // ABORT, and the default for INSTALL and PRE_BUILD, skip to FINALIZING. BUILD and
      // POST_BUILD failures still run the later phases (§3.2), also after RETRY gives up.
      if (kind == spec::OnFailure::Kind::kAbort || name == spec::PhaseName::kInstall ||
          name == spec::PhaseName::kPreBuild)
        to_finalizing = true;
    }
    if (spec_) capture_exported_variables();

    if (!to_finalizing) {
      begin_phase(PhaseType::kUploadArtifacts);
      end_phase(upload_artifacts());
    }
    begin_phase(PhaseType::kFinalizing);
    finalize();
    end_phase({}, false);
  } else {
    finalize();
  }

  if (stopped_)
    record_.build_status = Status::kStopped;
  else if (timed_out_)
    record_.build_status = Status::kTimedOut;
  else
    record_.build_status = succeeding_ ? Status::kSucceeded : Status::kFailed;

  begin_phase(PhaseType::kCompleted);
  record_.end_time = seconds(deps_.clock.now());
  record_.build_complete = true;
  record_.current_phase = PhaseType::kCompleted;
  masking_.end_output();
  masking_.flush();
  publish();
  return record_;
}

PhaseOutcome BuildRun::provision() {
  // The executor maps the workspace into the environment before the source arrives, so the
  // folder exists (empty) from here on; DOWNLOAD_SOURCE fills it.
  std::error_code ec;
  if (!req_.in_place && !std::filesystem::create_directories(workspace_, ec) && ec) {
    return {Status::kFailed,
            PhaseContext{"CLIENT_ERROR", "cannot create the workspace " + workspace_.string() +
                                             ": " + ec.message()}};
  }
  exec::PrepareRequest prep{record_.id, workspace_, scratch_, req_.identity.image, {}, &cancel_};
  if (req_.cache.type == "LOCAL" && req_.cache.has_mode("LOCAL_CUSTOM_CACHE") &&
      !req_.cache.local_root.empty()) {
    // Only the per-path folders, never the namespace folder: a build that could write there
    // could leave a symlink in place of a cached folder (cache/build_cache.h).
    custom_cache_folders_ = cache::linked_cache_folders(
        req_.cache.local_root / "custom",
        req_.cache.namespace_name.empty() ? req_.identity.project : req_.cache.namespace_name);
    prep.shared_dirs = custom_cache_folders_;
  }
  auto ws = deps_.executor.prepare(prep);
  for (const auto& line : deps_.executor.take_notes()) log_.line(line);
  if (!ws) {
    if (cancel_.cancelled()) {  // stopped while provisioning (an image build, a pull)
      log_.line("Provisioning stopped: " + ws.error().describe());
      stopped_ = true;
      return interrupted_outcome();
    }
    log_.line("Failed to provision the build environment: " + ws.error().describe());
    if (ws.error().code() == ErrorCode::kNotFound) {
      return {Status::kFailed,
              PhaseContext{"BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE",
                           "Unable to pull customer's container image. CannotPullContainerError: " +
                               ws.error().describe()}};
    }
    return {Status::kFailed, PhaseContext{"CLIENT_ERROR", ws.error().describe()}};
  }
  initial_state_.cwd = *ws;
  image_env_ = deps_.executor.image_environment().value_or(req_.image_env);
  return {};
}

void BuildRun::finalize() {
  // Every process of the build dies here, on every path (success, failure, timeout, stop).
  deps_.executor.shutdown();
}

}  // namespace kiln::engine
