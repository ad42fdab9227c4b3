// Runs queued builds (docs/server.md): in submission order, at most `max_running` at once, each
// in its own `kiln worker` process, which is the build's supervisor. Records from the worker go
// into the store as phases change. Also enforces the queued timeout, turns StopBuild into a
// signal to the worker, and at start ends the builds a dead server left running.
//
// Ownership: borrows the store and the clock. Thread safety: wake(), stop() and shutdown() may
// be called from any thread; one scheduling thread plus one reader thread per running build.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/data_layout.h"
#include "api/service.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/error.h"

namespace kiln::server {

struct SchedulerOptions {
  api::DataLayout data;
  std::filesystem::path kiln_binary;  // started as `kiln worker`
  unsigned max_running = 2;
  std::string build_user;  // passed to every worker: process builds run as this user; "" = ours
  std::chrono::milliseconds tick{200};  // queued-timeout checks
};

class Scheduler final : public api::BuildControl {
 public:
  Scheduler(SchedulerOptions options, store::Store& store, const Clock& clock);
  ~Scheduler() override;
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Ends, as FAILED, every build the store says is running: its server died under it.
  [[nodiscard]] Result<int> recover();
  void start();

  void wake() override;
  bool stop(const std::string& build_id) override;

  // Stops taking builds, stops the running ones and waits for their workers. They end STOPPED,
  // with the context "Build was stopped because the Kiln server shut down".
  void shutdown();

 private:
  struct Running {
    pid_t pid = -1;
    std::thread reader;
  };
  void loop();
  void schedule_once();
  void expire_queued();
  Result<void> launch(const store::BuildRow& row);
  void follow(std::string id, pid_t pid, int fd, double launched);
  void record(const std::string& id, nlohmann::json build, double launched, bool final_line);
  double now() const;
  // Rewords the BUILD_STOPPED contexts of a build the server's shutdown stopped.
  static void say_server_shut_down(nlohmann::json& build);

  SchedulerOptions options_;
  store::Store& store_;
  const Clock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;
  bool stopping_ = false;
  std::map<std::string, Running> running_;
  std::vector<std::thread> finished_;  // readers that are done, joined by the loop
  std::thread thread_;
};

}  // namespace kiln::server
