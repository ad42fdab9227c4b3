#include "batch/run.h"

#include <algorithm>

namespace kiln::batch {

using json = nlohmann::json;

namespace {

constexpr const char* kInProgress = "IN_PROGRESS";
constexpr const char* kSucceeded = "SUCCEEDED";
constexpr const char* kFailed = "FAILED";
constexpr const char* kStopped = "STOPPED";
constexpr const char* kTimedOut = "TIMED_OUT";
// The IN_PROGRESS phase's status when a member failed the batch: CodeBuild shows CLIENT_ERROR
// there (retry-build-batch.rst in the AWS CLI's examples: a build-graph whose first build
// FAILED), not FAILED.
constexpr const char* kMemberFailurePhaseStatus = "CLIENT_ERROR";

bool is_download_source(const BuildGroup& g) {
  return g.identifier == kDownloadSourceGroup;
}

bool running(const BuildGroup& g) {
  return g.current && g.current->build_status == kInProgress;
}

bool ended(const BuildGroup& g) {
  return g.current && g.current->build_status != kInProgress;
}

// Neither started nor ever to start.
bool waiting(const BuildGroup& g) {
  return !g.current && g.not_started.empty();
}

bool stopping(const BatchRecord& r) {
  return r.ending == kStopped || r.ending == kTimedOut;
}

BatchPhase* open_phase(BatchRecord& r) {
  if (r.phases.empty() || r.phases.back().end_time) return nullptr;
  return &r.phases.back();
}

void end_phase(BatchRecord& r, const std::string& status, double now) {
  if (BatchPhase* p = open_phase(r)) {
    p->end_time = now;
    p->status = status;
  }
}

void begin_phase(BatchRecord& r, BatchPhaseType type, double now) {
  r.phases.push_back(BatchPhase{type, now, std::nullopt, "", {}});
  r.current_phase = type;
}

// Contexts go on the phase that runs (IN_PROGRESS, or DOWNLOAD_BATCHSPEC when the batch is
// stopped before its plan), else on the last phase.
void add_context(BatchRecord& r, const std::string& code, const std::string& message) {
  if (r.phases.empty()) return;
  BatchPhase* p = open_phase(r);
  (p != nullptr ? *p : r.phases.back()).contexts.push_back({code, message});
}

// Marks every waiting group (but DOWNLOAD_SOURCE) as never to start, for `reason`, with one
// context listing them.
void stop_waiting(BatchRecord& r, const std::string& reason) {
  std::string names;
  for (auto& g : r.groups) {
    if (is_download_source(g) || !waiting(g)) continue;
    g.not_started = reason;
    names += (names.empty() ? "" : ", ") + g.identifier;
  }
  if (!names.empty()) add_context(r, kStopped, "Builds not started (" + reason + "): " + names);
}

// A waiting group whose dependency failed without ignore-failure, or will never start, never
// starts either; transitively, in plan order, each with its own context.
void propagate_dependency_failures(BatchRecord& r) {
  for (bool changed = true; changed;) {
    changed = false;
    for (auto& g : r.groups) {
      if (!waiting(g)) continue;
      for (const auto& dep_id : g.depends_on) {
        const BuildGroup* dep = r.group(dep_id);
        if (dep == nullptr) continue;
        if (ended(*dep) && dep->current->build_status != kSucceeded && !dep->ignore_failure)
          g.not_started = "its dependency " + dep_id + " " + dep->current->build_status;
        else if (!dep->current && !dep->not_started.empty())
          g.not_started = "its dependency " + dep_id + " was not started";
        if (g.not_started.empty()) continue;
        add_context(r, kStopped, "Build " + g.identifier + " was not started: " + g.not_started);
        changed = true;
        break;
      }
    }
  }
}

bool dependencies_met(const BatchRecord& r, const BuildGroup& g) {
  for (const auto& dep_id : g.depends_on) {
    const BuildGroup* dep = r.group(dep_id);
    if (dep == nullptr || !ended(*dep)) return false;
    if (dep->current->build_status != kSucceeded && !dep->ignore_failure) return false;
  }
  return true;
}

void merge_report_arns(BatchRecord& r, const std::vector<std::string>& arns) {
  for (const auto& arn : arns)
    if (std::find(r.report_arns.begin(), r.report_arns.end(), arn) == r.report_arns.end())
      r.report_arns.push_back(arn);
}

BatchPhaseType final_phase(const std::string& status) {
  if (status == kSucceeded) return BatchPhaseType::kSucceeded;
  if (status == kFailed) return BatchPhaseType::kFailed;
  return BatchPhaseType::kStopped;  // STOPPED and TIMED_OUT
}

// The status the running IN_PROGRESS (or DOWNLOAD_BATCHSPEC) phase ends with.
std::string closing_status(const std::string& batch_status) {
  return batch_status == kFailed ? kMemberFailurePhaseStatus : batch_status;
}

void end_batch(BatchRecord& r, const std::string& status, double now) {
  begin_phase(r, final_phase(status), now);
  r.status = status;
  r.complete = true;
  r.end_time = now;
}

}  // namespace

void start_batch(BatchRecord& r, double now) {
  r.start_time = now;
  r.end_time.reset();
  r.status = kInProgress;
  r.complete = false;
  r.ending.clear();
  r.phases = {BatchPhase{BatchPhaseType::kSubmitted, now, now, kSucceeded, {}}};
  begin_phase(r, BatchPhaseType::kDownloadBatchspec, now);
  BuildGroup download;
  download.identifier = kDownloadSourceGroup;
  r.groups = {download};
}

void batchspec_loaded(BatchRecord& r, const Plan& plan, bool combine_artifacts, double now) {
  if (r.complete || r.current_phase != BatchPhaseType::kDownloadBatchspec) return;
  r.batch_type = type_name(plan.type);
  r.fast_fail = plan.fast_fail;
  r.combine_artifacts = combine_artifacts;
  std::erase_if(r.groups, [](const BuildGroup& g) { return !is_download_source(g); });
  for (const auto& m : plan.members) {
    BuildGroup g;
    g.identifier = m.identifier;
    g.depends_on = m.depend_on;
    g.ignore_failure = m.ignore_failure;
    r.groups.push_back(std::move(g));
  }
  end_phase(r, stopping(r) ? r.ending : kSucceeded, now);
  begin_phase(r, BatchPhaseType::kInProgress, now);
  if (stopping(r))
    stop_waiting(r, r.ending == kTimedOut ? "the batch timed out" : "the batch was stopped");
}

void batchspec_failed(BatchRecord& r, const std::string& status_code, const std::string& message,
                      double now) {
  if (r.complete) return;
  if (BatchPhase* p = open_phase(r)) p->contexts.push_back({status_code, message});
  const std::string status = stopping(r) ? r.ending : kFailed;
  end_phase(r, status, now);
  end_batch(r, status, now);
}

std::vector<std::string> ready_members(const BatchRecord& r, std::size_t limit) {
  std::vector<std::string> ready;
  if (r.complete || limit == 0 || stopping(r)) return ready;
  // DOWNLOAD_SOURCE is never among them: its build is not a member's (batchspec_only), and
  // the driver starts it itself.
  if (r.current_phase != BatchPhaseType::kInProgress) return ready;
  if (r.ending == kFailed && r.fast_fail) return ready;
  for (const auto& g : r.groups) {
    if (ready.size() >= limit) break;
    if (!is_download_source(g) && waiting(g) && dependencies_met(r, g))
      ready.push_back(g.identifier);
  }
  return ready;
}

void member_started(BatchRecord& r, const std::string& identifier, const std::string& build_id,
                    const std::string& build_arn, double now) {
  BuildGroup* g = r.group(identifier);
  if (g == nullptr || r.complete || (running(*g) && g->build_id == build_id)) return;
  BuildSummary s;
  s.arn = build_arn;
  s.requested_on = now;
  s.build_status = kInProgress;
  g->current = std::move(s);
  g->build_id = build_id;
  g->not_started.clear();
}

std::vector<std::string> member_finished(BatchRecord& r, const std::string& identifier,
                                         const MemberEnd& end, double now) {
  (void)now;  // the summary keeps when the build was requested, not when it ended
  std::vector<std::string> to_stop;
  BuildGroup* g = r.group(identifier);
  // A second report of the same end (the coordinator may see it twice) changes nothing.
  if (g == nullptr || !running(*g)) return to_stop;
  BuildSummary& s = *g->current;
  // A build always ends with a status; one reported without is a fault, never "still running".
  const bool known = !end.status.empty() && end.status != kInProgress && end.status != "PENDING";
  s.build_status = known ? end.status : "FAULT";
  // As CodeBuild shows an ended member without artifacts (batch-get-build-batches.rst), and the
  // DOWNLOAD_SOURCE group always (§8.3).
  const json none{{"type", "no_artifacts"}, {"identifier", identifier}};
  s.primary_artifact =
      end.primary_artifact.is_null() || is_download_source(*g) ? none : end.primary_artifact;
  s.secondary_artifacts = end.secondary_artifacts.is_array() && !is_download_source(*g)
                              ? end.secondary_artifacts
                              : json::array();
  merge_report_arns(r, end.report_arns);
  if (is_download_source(*g) || r.complete) return to_stop;

  if (s.build_status == kSucceeded || g->ignore_failure || stopping(r)) {
    propagate_dependency_failures(r);  // nothing new fails; kept for a hand-edited record
    return to_stop;
  }
  // Under fast-fail, the builds this batch stopped end STOPPED: a consequence, not a failure.
  const bool consequence = r.fast_fail && r.ending == kFailed && s.build_status == kStopped;
  if (!consequence) add_context(r, s.build_status, "Build " + identifier + " " + s.build_status);
  const bool first_failure = r.ending.empty();
  if (first_failure) r.ending = kFailed;
  propagate_dependency_failures(r);
  if (r.fast_fail && first_failure) {
    stop_waiting(r, "fast-fail: build " + identifier + " " + s.build_status);
    for (const auto& other : r.groups)
      if (running(other)) to_stop.push_back(other.identifier);
  }
  return to_stop;
}

std::vector<std::string> stop_batch(BatchRecord& r, const std::string& message, double now,
                                    bool timed_out) {
  (void)now;  // the phase ends when the batch finishes (finish_batch)
  std::vector<std::string> to_stop;
  if (r.complete || stopping(r)) return to_stop;
  r.ending = timed_out ? kTimedOut : kStopped;
  add_context(r, r.ending, message);
  stop_waiting(r, timed_out ? "the batch timed out" : "the batch was stopped");
  for (const auto& g : r.groups)
    if (running(g)) to_stop.push_back(g.identifier);
  return to_stop;
}

bool members_done(const BatchRecord& r) {
  if (r.complete) return true;
  for (const auto& g : r.groups)
    if (running(g)) return false;
  // Between the DOWNLOAD_SOURCE build's end and batchspec_loaded/failed the driver still acts.
  if (r.current_phase == BatchPhaseType::kDownloadBatchspec && !stopping(r)) return false;
  return ready_members(r, 1).empty();
}

bool needs_combine(const BatchRecord& r) {
  return r.combine_artifacts && r.ending.empty() && !r.complete &&
         r.current_phase == BatchPhaseType::kInProgress;
}

void combine_started(BatchRecord& r, double now) {
  if (!needs_combine(r)) return;
  end_phase(r, kSucceeded, now);
  begin_phase(r, BatchPhaseType::kCombineArtifacts, now);
}

void finish_batch(BatchRecord& r, double now,
                  const std::optional<BatchPhaseContext>& combine_failure) {
  if (r.complete) return;
  // Groups still waiting here can never start (a dependency outside the plan): say so.
  stop_waiting(r, "its dependencies never completed");
  if (r.current_phase == BatchPhaseType::kCombineArtifacts) {
    if (combine_failure) {
      if (BatchPhase* p = open_phase(r)) p->contexts.push_back(*combine_failure);
      r.ending = kFailed;
    }
    end_phase(r, combine_failure ? kFailed : kSucceeded, now);
    end_batch(r, combine_failure ? kFailed : kSucceeded, now);
    return;
  }
  if (r.ending.empty() && r.current_phase == BatchPhaseType::kDownloadBatchspec) {
    // Finished without a plan and without a reason: the driver could not go on.
    r.ending = kFailed;
  }
  const std::string status = r.ending.empty() ? kSucceeded : r.ending;
  end_phase(r, closing_status(status), now);
  end_batch(r, status, now);
}

void fail_unfinished(BatchRecord& r, const std::string& message, double now) {
  if (r.complete) return;
  add_context(r, kFailed, message);
  for (auto& g : r.groups) {
    if (!running(g)) continue;
    g.current->build_status = kFailed;
    if (g.current->primary_artifact.is_null())
      g.current->primary_artifact = {{"type", "no_artifacts"}, {"identifier", g.identifier}};
    if (g.current->secondary_artifacts.is_null()) g.current->secondary_artifacts = json::array();
  }
  stop_waiting(r, "the batch ended unfinished");
  if (BuildGroup* download = r.group(kDownloadSourceGroup); download && waiting(*download))
    download->not_started = "the batch ended unfinished";
  r.ending = kFailed;
  end_phase(r, r.current_phase == BatchPhaseType::kInProgress ? kMemberFailurePhaseStatus : kFailed,
            now);
  end_batch(r, kFailed, now);
}

bool retryable(const BatchRecord& r) {
  return r.complete && r.status != kSucceeded;
}

void retry_batch(BatchRecord& r, RetryType type, double now) {
  if (!retryable(r)) return;
  // The ended batch's last phase (FAILED, STOPPED) ends RETRY and a new SUBMITTED follows: the
  // history stays (retry-build-batch.rst).
  if (!r.phases.empty()) {
    BatchPhase& last = r.phases.back();
    last.status = "RETRY";
    last.end_time = now;
  }
  r.phases.push_back(BatchPhase{BatchPhaseType::kSubmitted, now, now, kSucceeded, {}});
  r.status = kInProgress;
  r.complete = false;
  r.end_time.reset();
  r.ending.clear();

  const auto again = [](BuildGroup& g) {
    if (g.current) g.prior.push_back(std::move(*g.current));
    g.current.reset();
    g.build_id.clear();
    g.not_started.clear();
  };
  const bool planned = r.batch_type.size() > 0 && r.groups.size() > 1;
  if (!planned) {
    // It failed reading the batchspec: read it again.
    for (auto& g : r.groups)
      if (is_download_source(g)) again(g);
    std::erase_if(r.groups, [](const BuildGroup& g) { return !is_download_source(g); });
    begin_phase(r, BatchPhaseType::kDownloadBatchspec, now);
    return;
  }
  // The plan is kept: DOWNLOAD_SOURCE (which succeeded) does not run again.
  for (auto& g : r.groups) {
    if (is_download_source(g)) continue;
    const bool succeeded = g.current && g.current->build_status == kSucceeded;
    if (type == RetryType::kAllBuilds || !succeeded) again(g);
  }
  begin_phase(r, BatchPhaseType::kInProgress, now);
}

}  // namespace kiln::batch
