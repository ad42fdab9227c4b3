// The batch state machine (docs/batch.md; docs/reference/codebuild-semantics.md §8): moves a
// BatchRecord through SUBMITTED, DOWNLOAD_BATCHSPEC, IN_PROGRESS, COMBINE_ARTIFACTS and its end,
// decides which member builds may start, what a failure stops, and the batch's status. It starts
// and stops nothing itself: the driver (`kiln run --batch`, server/batch_coordinator) does what
// it is told and reports back. The same rules thus hold locally and on the server.
//
// Rules:
// - build-list and build-matrix members are ready at once; a build-graph member when every
//   member in its depend-on has SUCCEEDED, or ended otherwise with ignore-failure.
// - A member that fails (any status but SUCCEEDED) without ignore-failure fails the batch. Its
//   dependants never start (not_started names it). With fast-fail the running members are to be
//   stopped and no other member starts; without it the running members finish.
// - A stopped batch starts nothing more and stops the running members: STOPPED.
// - The batch timeout (buildBatchConfig.timeoutInMins) stops the batch: status TIMED_OUT.
// - When no member runs or can start: COMBINE_ARTIFACTS if artifacts are combined and the batch
//   has not failed, then SUCCEEDED, FAILED or STOPPED (the last phase, with only a startTime).
//
// Thread safety: none; the driver serialises calls.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "batch/plan.h"
#include "batch/record.h"

namespace kiln::batch {

// The identifier of the group whose build reads the batchspec (§8.3).
inline constexpr const char* kDownloadSourceGroup = "DOWNLOAD_SOURCE";

// A new batch: SUBMITTED (ended at `now`), DOWNLOAD_BATCHSPEC running, and the DOWNLOAD_SOURCE
// group, which the driver starts at once (member_started).
void start_batch(BatchRecord& r, double now);

// DOWNLOAD_BATCHSPEC succeeded with this plan: its groups are added PENDING, IN_PROGRESS starts.
void batchspec_loaded(BatchRecord& r, const Plan& plan, bool combine_artifacts, double now);
// DOWNLOAD_BATCHSPEC failed (the DOWNLOAD_SOURCE build failed, or make_plan refused): the batch
// ends FAILED with this context.
void batchspec_failed(BatchRecord& r, const std::string& status_code, const std::string& message,
                      double now);

// Members that may start now, in plan order. Empty once the batch is ending. `limit` caps the
// answer (the driver's free slots).
std::vector<std::string> ready_members(const BatchRecord& r, std::size_t limit = SIZE_MAX);
// The driver started (queued) a build for the group: its summary becomes IN_PROGRESS.
void member_started(BatchRecord& r, const std::string& identifier, const std::string& build_id,
                    const std::string& build_arn, double now);

struct MemberEnd {
  std::string status;                  // the build's buildStatus
  nlohmann::json primary_artifact;     // ResolvedArtifact or null
  nlohmann::json secondary_artifacts;  // or null
  std::vector<std::string> report_arns;
};
// The group's build ended. Returns the identifiers of running members the driver must stop
// (fast-fail). For DOWNLOAD_SOURCE the driver calls batchspec_loaded/failed as well.
std::vector<std::string> member_finished(BatchRecord& r, const std::string& identifier,
                                         const MemberEnd& end, double now);

// StopBuildBatch, the batch timeout (timed_out), or a driver that cannot go on: nothing more
// starts; returns the running members to stop. `message` goes into the IN_PROGRESS context.
std::vector<std::string> stop_batch(BatchRecord& r, const std::string& message, double now,
                                    bool timed_out = false);

// True when no member runs and none can start: the driver then combines artifacts (if
// needs_combine) and calls finish_batch.
bool members_done(const BatchRecord& r);
bool needs_combine(const BatchRecord& r);
// COMBINE_ARTIFACTS begins.
void combine_started(BatchRecord& r, double now);
// Ends the batch: COMBINE_ARTIFACTS (if running) ends, with `combine_failure` as its context if
// set (the batch then FAILED), and the final phase is appended. complete = true.
void finish_batch(BatchRecord& r, double now,
                  const std::optional<BatchPhaseContext>& combine_failure = std::nullopt);

// The server died with the batch unfinished (docs/batch.md "Crash safety"): every group without
// an ended build is marked not started, running summaries take `member_status`, and the batch
// ends FAILED with the context `message`.
void fail_unfinished(BatchRecord& r, const std::string& message, double now);

// RetryBuildBatch: the groups to run again (all, or those not SUCCEEDED) move their current
// summary to prior and become PENDING; the batch starts IN_PROGRESS again (a new phase list
// after SUBMITTED, as a retried batch shows).
enum class RetryType { kAllBuilds, kFailedBuilds };
void retry_batch(BatchRecord& r, RetryType type, double now);

}  // namespace kiln::batch
