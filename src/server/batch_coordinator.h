// Runs the server's build batches (docs/batch.md "On the server"): after StartBuildBatch has
// stored a batch (state kQueued, batch::start_batch done), every change to it is made here, with
// batch/run.h deciding and this class doing:
//   - a kQueued batch gets its DOWNLOAD_SOURCE build: an ordinary queued BuildRow whose engine
//     request has batchspec_only; the batch becomes kRunning;
//   - that build's worker leaves the batchspec in <reports_dir>/batchspec.json (kBatchspecFile,
//     written by `kiln worker`); keep_batchspec() reads it before the scheduler removes that
//     folder, and the plan (batch::make_plan) is kept in the stored BuildBatch's private part
//     ("kiln"."server"."plan", which the API strips with the rest of "kiln");
//   - ready members are queued as ordinary BuildRows (batch::member_request), at most
//     max(1, max_running) of one batch queued or running at once (the fairness rule);
//   - a member's end is recorded (batch::member_finished); what it stops is stopped;
//   - when no member runs or can start: COMBINE_ARTIFACTS (the members' folders zipped and
//     uploaded to the batch's S3 artifacts location, through the builds' own S3 uploader; with
//     no S3 location, into data.artifacts_dir(project, batch uuid)), then the batch is stored
//     kDone;
//   - StopBuildBatch, RetryBuildBatch and the batch timeout (buildBatchConfig.timeoutInMins);
//   - at start, recover() fails every unfinished batch a dead server left and ends its queued
//     member builds, so no member is left without a status.
// A member's end is seen twice at most: from the scheduler's record path (build_ended) and from
// the next tick, which compares each in-flight group with its stored build; both are idempotent,
// so builds ended elsewhere (StopBuild of a queued member, a queued timeout, a launch failure)
// are followed too.
//
// Ownership: borrows the store and the clock. Thread safety: every public method may be called
// from any thread; mu_ serialises them (one batch change at a time). `stop_running` is called
// with mu_ held and must not call back into the coordinator.
// Failures: a store error is logged (stderr) with the batch's id and the batch is tried again at
// the next tick; a batch whose stored JSON cannot be read is logged and left alone.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/data_layout.h"
#include "batch/plan.h"
#include "batch/record.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/thread_annotations.h"

namespace kiln::server {

// Where a batchspec-only build's worker writes {"text", "path"}: in its reports folder.
inline constexpr const char* kBatchspecFile = "batchspec.json";

struct BatchCoordinatorOptions {
  api::DataLayout data;
  unsigned max_running = 2;  // the scheduler's --max-builds: a batch's share of the queue
};

class BatchCoordinator {
 public:
  // Signals a running build to stop (Scheduler::stop); false if it does not run.
  using StopRunning = std::function<bool(const std::string& build_id)>;

  BatchCoordinator(BatchCoordinatorOptions options, store::Store& store, const Clock& clock,
                   StopRunning stop_running);

  // The scheduler's loop, each tick and on wake, before it launches queued builds.
  void tick() EXCLUDES(mu_);
  // The scheduler's record path, with the build's final record in hand and before its reports
  // folder is taken in: keeps the batchspec a batchspec-only build left.
  void keep_batchspec(const std::string& build_id) EXCLUDES(mu_);
  // The build `build_id` (a stored BuildRow whose request names a batch) is stored done.
  void build_ended(const std::string& build_id, const std::string& request_json) EXCLUDES(mu_);

  // StopBuildBatch: false when the batch is unknown or complete.
  bool stop_batch(const std::string& batch_id) EXCLUDES(mu_);
  // RetryBuildBatch: kNotFound, or kInvalidArgument when the batch is not complete.
  [[nodiscard]] Result<void> retry_batch(const std::string& batch_id, bool failed_only)
      EXCLUDES(mu_);

  // After Scheduler::recover(): every batch not done ends FAILED (batch::fail_unfinished), its
  // queued member builds end STOPPED. Returns the number of batches ended.
  [[nodiscard]] Result<int> recover() EXCLUDES(mu_);

 private:
  // One stored batch, read for one change and saved after it.
  struct Loaded {
    store::BuildBatchRow row;
    batch::BatchRecord rec;
    nlohmann::json stored;  // row.request_json: the batch's request, settings and batchConfig
    // The stored BuildBatch's "kiln"."server": the plan once the batchspec is read ("plan"),
    // and "stopping" once the batch was stopped or timed out.
    nlohmann::json priv = nlohmann::json::object();
    std::optional<batch::Plan> plan;  // priv["plan"], parsed at its first use
    bool dirty = false;
  };
  Result<Loaded> load(const std::string& batch_id) REQUIRES(mu_);
  Result<void> save(Loaded& b) REQUIRES(mu_);
  void start_download_source(Loaded& b) REQUIRES(mu_);
  Result<std::string> queue_build(Loaded& b, const std::string& identifier) REQUIRES(mu_);
  // Follows the in-flight groups' stored builds; the batch timeout.
  void reconcile(Loaded& b) REQUIRES(mu_);
  // `plan`: a DOWNLOAD_SOURCE that succeeded is planned from its batchspec (not at recovery).
  void member_ended(Loaded& b, const std::string& identifier, const store::BuildRow& row,
                    bool plan = true) REQUIRES(mu_);
  void load_batchspec(Loaded& b, const std::string& build_id) REQUIRES(mu_);
  Result<const batch::Plan*> plan_of(Loaded& b) REQUIRES(mu_);
  void stop_members(Loaded& b, const std::vector<std::string>& identifiers) REQUIRES(mu_);
  // Releases ready members, or combines and finishes a batch whose members are done.
  void advance(Loaded& b) REQUIRES(mu_);
  void combine(Loaded& b) REQUIRES(mu_);
  // The batch's one step for tick(): start, follow, advance, save.
  void step(const std::string& batch_id) REQUIRES(mu_);
  double now() const;

  BatchCoordinatorOptions options_;
  store::Store& store_;
  const Clock& clock_;
  StopRunning stop_running_;
  Mutex mu_;
  // build id -> the batchspec its worker left ({"text", "path"}), until its end is handled.
  std::map<std::string, nlohmann::json> batchspecs_ GUARDED_BY(mu_);
  // The batches as last loaded or saved, parsed: load() reuses one whose stored JSON and
  // request are still the same text, which saves parsing a large batch at every member's end
  // and every tick. The store stays the truth: any other text is parsed afresh.
  std::map<std::string, Loaded> parsed_ GUARDED_BY(mu_);
};

}  // namespace kiln::server
