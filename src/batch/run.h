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
//   dependants never start (not_started names it), transitively. With fast-fail the running
//   members are to be stopped and no other member starts; without it the running members finish
//   AND members the failure does not touch (no failed dependency) still start. CodeBuild's docs
//   only say "All running builds will complete" (batch-build-buildspec.html); but CodeBuild starts
//   every ready member at once, so a member Kiln holds back for want of a slot (`limit`) would be
//   running there, and completing. The batch still ends FAILED.
// - A failed member with ignore-failure does not fail the batch, and its dependants start.
// - A stopped batch starts nothing more and stops the running members: STOPPED.
// - The batch timeout (buildBatchConfig.timeoutInMins) stops the batch: status TIMED_OUT (the last
//   phase is STOPPED: BuildBatchPhaseType has no TIMED_OUT).
// - When no member runs or can start: COMBINE_ARTIFACTS if artifacts are combined and the batch
//   has not failed, then SUCCEEDED, FAILED or STOPPED (the last phase, with only a startTime).
//   buildBatchStatus stays IN_PROGRESS until then (BatchRecord::ending keeps the decided end).
// - Phase statuses: IN_PROGRESS ends SUCCEEDED, STOPPED, TIMED_OUT, or CLIENT_ERROR when members
//   failed the batch (as CodeBuild shows it: retry-build-batch.rst in the AWS CLI's examples).
// - Contexts (on the running phase; CodeBuild's wording is undocumented): a failing member gives
//   {<its status>, "Build <identifier> <status>"}; a group that will never start
//   {STOPPED, "Build <identifier> was not started: its dependency <id> FAILED"} (or "... was not
//   started"), or one {STOPPED, "Builds not started (<reason>): a, b, ..."} for fast-fail, a stop
//   and a crash; a stop or timeout {STOPPED|TIMED_OUT, <message>}.
// - A group that never started shows currentBuildSummary {buildStatus: PENDING} while it may
//   start and {buildStatus: STOPPED} once it never will (batch/record.cpp says why).
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
// group, which the driver starts at once (member_started; ready_members never returns it), and
// again after a retry_batch that reads the batchspec again (the group then has no current build).
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
// (fast-fail). For DOWNLOAD_SOURCE the driver calls batchspec_loaded/failed as well. A second
// call for the same end (or for a group not running) changes nothing. The summary keeps
// requestedOn; a null primary artifact shows as {type: no_artifacts, identifier: <group>} and
// null secondaries as [] (CodeBuild's ended members); report_arns are merged into the batch's,
// in order, without duplicates. A status that is not an end (empty, IN_PROGRESS) counts as FAULT.
std::vector<std::string> member_finished(BatchRecord& r, const std::string& identifier,
                                         const MemberEnd& end, double now);

// StopBuildBatch, the batch timeout (timed_out), or a driver that cannot go on: nothing more
// starts; returns the running members to stop. `message` goes into the running phase's contexts
// (IN_PROGRESS, or DOWNLOAD_BATCHSPEC before the plan). No-op once stopping or complete.
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
// an ended build is marked not started, running summaries become FAILED (as the scheduler's
// recover() ends their builds), and the batch ends FAILED with the context {FAILED, `message`}.
void fail_unfinished(BatchRecord& r, const std::string& message, double now);

// RetryBuildBatch is allowed: the batch is complete and did not succeed ("Only batch builds that
// have failed can be retried": FAILED, STOPPED, TIMED_OUT).
bool retryable(const BatchRecord& r);
// RetryBuildBatch (no-op unless retryable): the groups to run again (all, or those not
// SUCCEEDED, never-started ones included) move their current summary to priorBuildSummaryList and
// become PENDING. The phase history stays, as a retried batch shows (retry-build-batch.rst): the
// last phase (FAILED, STOPPED) gets phaseStatus RETRY and an endTime, then SUBMITTED (ended at
// once) and IN_PROGRESS follow; complete false, endTime cleared, startTime kept. The plan is kept,
// so DOWNLOAD_SOURCE does not run again, unless the batch failed before it had one: then
// DOWNLOAD_BATCHSPEC runs again with a new DOWNLOAD_SOURCE build.
enum class RetryType { kAllBuilds, kFailedBuilds };
void retry_batch(BatchRecord& r, RetryType type, double now);

}  // namespace kiln::batch
