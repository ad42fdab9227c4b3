// The BuildBatch record (docs/reference/codebuild-api.md "Build batches";
// codebuild-semantics.md §8.3): its phases, status and build groups, typed, and CodeBuild's JSON
// shape of it. The state machine that moves it (batch/run.h) and both drivers (`kiln run
// --batch`, the server's batch coordinator) share it; the server stores to_json() and reads it
// back with from_json() after a restart.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/error.h"

namespace kiln::batch {

// BuildBatchPhaseType.
enum class BatchPhaseType {
  kSubmitted,
  kDownloadBatchspec,
  kInProgress,
  kCombineArtifacts,
  kSucceeded,
  kFailed,
  kStopped
};
const char* phase_name(BatchPhaseType t);

struct BatchPhaseContext {
  std::string status_code;
  std::string message;
};

struct BatchPhase {
  BatchPhaseType type = BatchPhaseType::kSubmitted;
  double start_time = 0;
  std::optional<double> end_time;  // and durationInSeconds; unset while running and for the
                                   // final SUCCEEDED/FAILED/STOPPED entry
  std::string status;              // StatusType of an ended phase; "" while running
  std::vector<BatchPhaseContext> contexts;
};

// CodeBuild's BuildSummary of one build of a group.
struct BuildSummary {
  std::string arn;                       // "" while the group has no build
  double requested_on = 0;               // when the build was started (queued); 0 while PENDING
  std::string build_status = "PENDING";  // PENDING (not in StatusType; §8.3), then StatusType
  nlohmann::json primary_artifact;       // ResolvedArtifact, or null
  nlohmann::json secondary_artifacts;    // [ResolvedArtifact], or null
};

// One build group: DOWNLOAD_SOURCE first, then one per plan member.
struct BuildGroup {
  std::string identifier;
  std::vector<std::string> depends_on;
  bool ignore_failure = false;
  // Unset: no build yet, shown as {buildStatus: PENDING}, or STOPPED once not_started is set.
  std::optional<BuildSummary> current;
  std::vector<BuildSummary> prior;  // earlier builds of the group (RetryBuildBatch)
  std::string build_id;             // "<project>:<uuid>" of `current`; not in the shape
  // Set when the group will never start (its dependency failed, fast-fail, the batch stopped):
  // the reason, shown in the IN_PROGRESS phase's contexts; not in the shape.
  std::string not_started;
};

struct BatchRecord {
  std::string id;   // "<project>:<uuid>"
  std::string arn;  // arn:aws:codebuild:<region>:<account>:build-batch/<id>
  long batch_number = 1;
  double start_time = 0;
  std::optional<double> end_time;
  BatchPhaseType current_phase = BatchPhaseType::kSubmitted;
  std::string status = "IN_PROGRESS";  // buildBatchStatus (StatusType)
  bool complete = false;
  std::string project_name;
  std::string initiator;
  std::string source_version;
  std::string resolved_source_version;
  std::vector<BatchPhase> phases;
  int build_timeout_minutes = 60;  // buildTimeoutInMinutes: each member's timeout
  int queued_timeout_minutes = 480;
  bool debug_session_enabled = false;
  std::string batch_type;  // BUILD_LIST, ... once the batchspec is read
  bool fast_fail = false;
  bool combine_artifacts = false;
  // "" while the batch can still succeed; else the status it will end with (FAILED, STOPPED,
  // TIMED_OUT), decided when a member failed or the batch was stopped; buildBatchStatus stays
  // IN_PROGRESS until finish_batch. Not in the shape.
  std::string ending;
  std::vector<BuildGroup> groups;
  std::vector<std::string> report_arns;  // the members' reports, merged (§7.7)
  // Members echoed as given (source, secondarySources, secondarySourceVersions, artifacts,
  // secondaryArtifacts, cache, environment, serviceRole, logConfig, encryptionKey,
  // buildBatchConfig, vpcConfig, ...): copied into the shape as they are.
  nlohmann::json settings = nlohmann::json::object();

  BuildGroup* group(const std::string& identifier);
  const BuildGroup* group(const std::string& identifier) const;
};

std::string batch_arn(const std::string& region, const std::string& account,
                      const std::string& batch_id);

// CodeBuild's BuildBatch shape. Kiln's own state (build ids, not-started reasons, the batch
// type, fast-fail, combine, ending) goes under the member "kiln" ({batchType, fastFail,
// combineArtifacts, ending, groups: [{started, buildId, notStarted}] parallel to buildGroups}),
// which the API strips from answers (strip_internal). Absent optional members (endTime,
// sourceVersion, an unstarted summary's arn, empty priorBuildSummaryList, contexts, reportArns)
// are left out, never null. Times are record_time's: epoch seconds to the millisecond.
// `settings` members are copied in, except names the record itself writes.
nlohmann::json to_json(const BatchRecord& r);
// Reads what to_json wrote, exactly (times to the millisecond); top-level members the record does
// not own become `settings`; other members under "kiln" (the coordinator's plan) are ignored. A
// member of the wrong type, or a missing required one, is an Error naming it by its path
// ("buildGroups[2].currentBuildSummary.buildStatus: expected a string"). Never throws.
Result<BatchRecord> from_json(const nlohmann::json& j);
// Removes the "kiln" member: the shape clients see.
void strip_internal(nlohmann::json& batch);

}  // namespace kiln::batch
