// Runs queued builds (docs/server.md): in submission order, at most `max_running` at once, each
// in its own `kiln worker` process, which is the build's supervisor. Records from the worker go
// into the store as phases change (server/worker_protocol.h); the build's reports are taken in
// before its final record (server/report_ingest.h). Also enforces the queued timeout,
// turns StopBuild into a signal to the worker, and at start ends the builds a dead server left
// running.
//
// Ownership: borrows the store, the clock and the process starter (options.starter; the real
// one is owned when it is unset). Thread safety: wake(), stop() and shutdown() may be called
// from any thread; one scheduling thread plus one reader thread per running build. mu_ guards
// the state they share (checked by Clang's -Wthread-safety, util/thread_annotations.h).
//
// Failures: a build that cannot be launched ends FAULT; a worker that dies without its final
// record ends its build FAILED; a store error on the way is written to the server's log (stderr)
// with the build's id, and the scheduler goes on with the next build.
#pragma once

#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/data_layout.h"
#include "api/service.h"
#include "server/batch_coordinator.h"
#include "server/process_starter.h"
#include "server/report_ingest.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/thread_annotations.h"
#include "util/unique_fd.h"

namespace kiln::server {

struct SchedulerOptions {
  api::DataLayout data;
  std::filesystem::path kiln_binary;  // started as `kiln worker`
  unsigned max_running = 2;
  std::string build_user;  // passed to every worker: process builds run as this user; "" = ours
  std::chrono::milliseconds tick{200};  // queued-timeout checks
  ProcessStarter* starter = nullptr;    // unset: make_process_starter(); tests pass a fake
  IngestOptions reports;                // how builds' reports are taken in (report_ingest.h)
};

class Scheduler final : public api::BuildControl {
 public:
  Scheduler(SchedulerOptions options, store::Store& store, const Clock& clock);
  ~Scheduler() override;
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Ends, as FAILED, every build the store says is running: its server died under it; then
  // every unfinished build batch (BatchCoordinator::recover). Call before start().
  [[nodiscard]] Result<int> recover();
  void start();

  void wake() override EXCLUDES(mu_);
  bool stop(const std::string& build_id) override EXCLUDES(mu_);
  // Build batches: server/batch_coordinator.h, run from the scheduling loop.
  bool stop_batch(const std::string& batch_id) override EXCLUDES(mu_);
  Result<void> retry_batch(const std::string& batch_id, bool failed_only) override EXCLUDES(mu_);

  // Stops taking builds, stops the running ones and waits for their workers. They end STOPPED,
  // with the context "Build was stopped because the Kiln server shut down".
  void shutdown() EXCLUDES(mu_);

 private:
  struct Running {
    pid_t pid = -1;
    std::thread reader;
  };
  void loop() EXCLUDES(mu_);
  void schedule_once() EXCLUDES(mu_);
  void expire_queued();
  Result<void> launch(const store::BuildRow& row) EXCLUDES(mu_);
  void follow(const std::string& id, pid_t pid, UniqueFd output, double launched) EXCLUDES(mu_);
  // The worker's output, line by line, into the store; true when its final record was stored.
  bool follow_records(const std::string& id, int output, double launched) EXCLUDES(mu_);
  // `reports`: the ARNs of the build's reports stored so far; set by the first complete record
  // (the worker sends more than one: the last phase change, then its final record).
  void record(const std::string& id, nlohmann::json build, double launched, bool final_line,
              std::optional<std::vector<std::string>>& reports) EXCLUDES(mu_);
  // Stores the reports the build's worker left (report_ingest.h), once, and keeps in a complete
  // record's reportArns only those stored.
  void take_reports(const std::string& id, nlohmann::json& build,
                    std::optional<std::vector<std::string>>& reports);
  // Ends the build whose stored Build JSON is `stored` (at its current phase, with the context
  // `code`, `message`) and stores it done.
  [[nodiscard]] Result<void> end_stored_build(const std::string& id, const std::string& stored,
                                              const std::string& status, const std::string& code,
                                              const std::string& message);
  // Removes the build's folder and request file, logging what cannot be removed.
  void remove_build_files(const std::string& id);
  double now() const;
  // Rewords the BUILD_STOPPED contexts of a build the server's shutdown stopped.
  static void say_server_shut_down(nlohmann::json& build);

  SchedulerOptions options_;
  store::Store& store_;
  const Clock& clock_;
  std::unique_ptr<ProcessStarter> own_starter_;  // when options_.starter is unset
  ProcessStarter& starter_;
  BatchCoordinator batches_;  // calls stop(); called without mu_ held
  Mutex mu_;
  std::condition_variable_any cv_;
  bool woken_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::map<std::string, Running> running_ GUARDED_BY(mu_);
  std::vector<std::thread> finished_ GUARDED_BY(mu_);  // readers that are done, joined by loop
  std::thread thread_;  // the scheduling loop: started by start(), joined by shutdown()
};

}  // namespace kiln::server
