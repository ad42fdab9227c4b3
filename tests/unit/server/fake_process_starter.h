// A ProcessStarter that starts nothing: each "process" is a pipe the test writes the worker's
// output into, and it ends when the test says so. The scheduler's reader thread reads and reaps
// it as it would a real `kiln worker`.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "server/process_starter.h"
#include "server/worker_protocol.h"
#include "util/thread_annotations.h"

namespace kiln::server::test {

class FakeProcessStarter final : public ProcessStarter {
 public:
  struct Process {
    std::vector<std::string> argv;
    UniqueFd output;  // the write end: what the "worker" prints
    std::vector<int> signals;
    bool exited = false;
    int status = 0;
  };

  Result<StartedProcess> start(const std::vector<std::string>& argv) override EXCLUDES(mu_) {
    MutexLock lock(mu_);
    if (fail_starts_) return fail(ErrorCode::kProcess, "execve kiln: No such file or directory");
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return fail(errno_error(ErrorCode::kProcess, "pipe2"));
    const pid_t pid = next_pid_++;
    auto& p = processes_[pid];
    p.argv = argv;
    p.output = UniqueFd(fds[1]);
    order_.push_back(pid);
    cv_.notify_all();
    return StartedProcess{pid, UniqueFd(fds[0])};
  }

  Result<void> signal(pid_t pid, int sig) override EXCLUDES(mu_) {
    std::function<void(pid_t, int)> react;
    {
      MutexLock lock(mu_);
      const auto it = processes_.find(pid);
      if (it == processes_.end() || it->second.exited)
        return fail(ErrorCode::kProcess, "kill " + std::to_string(pid) + ": No such process");
      it->second.signals.push_back(sig);
      react = on_signal_;
      cv_.notify_all();
    }
    if (react) react(pid, sig);
    return {};
  }

  Result<int> wait(pid_t pid) override EXCLUDES(mu_) {
    MutexLock lock(mu_);
    cv_.wait(mu_, [&]() REQUIRES(mu_) { return processes_.at(pid).exited; });
    return processes_.at(pid).status;
  }

  // --- the test's side ---

  // Makes every start() fail, as a missing kiln binary would.
  void fail_starts() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    fail_starts_ = true;
  }
  // Called (outside the lock) on every signal sent to a live process.
  void on_signal(std::function<void(pid_t, int)> react) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    on_signal_ = std::move(react);
  }
  // Waits until `n` processes have been started; their pids in start order.
  std::vector<pid_t> started(std::size_t n) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    cv_.wait_for(mu_, std::chrono::seconds(10), [&]() REQUIRES(mu_) { return order_.size() >= n; });
    return order_;
  }
  // Started so far, without waiting.
  std::size_t count() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return order_.size();
  }
  std::vector<std::string> argv(pid_t pid) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return processes_.at(pid).argv;
  }
  std::vector<int> signals(pid_t pid) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return processes_.at(pid).signals;
  }
  // Waits until `pid` has been sent a signal.
  bool signalled(pid_t pid) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return cv_.wait_for(mu_, std::chrono::seconds(10),
                        [&]() REQUIRES(mu_) { return !processes_.at(pid).signals.empty(); });
  }
  // What the worker writes to its stdout: a record (write_record) or any text.
  void print(pid_t pid, const std::string& text) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    const int fd = processes_.at(pid).output.get();
    ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
  void emit(pid_t pid, const nlohmann::json& build) { print(pid, record_line(build)); }
  // The worker ends with waitpid status `status` (e.g. 0, or 9 for "killed by SIGKILL").
  void exit(pid_t pid, int status = 0) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    auto& p = processes_.at(pid);
    p.output.reset();
    p.status = status;
    p.exited = true;
    cv_.notify_all();
  }

 private:
  Mutex mu_;
  std::condition_variable_any cv_;
  pid_t next_pid_ GUARDED_BY(mu_) = 1000;
  bool fail_starts_ GUARDED_BY(mu_) = false;
  std::function<void(pid_t, int)> on_signal_ GUARDED_BY(mu_);
  std::map<pid_t, Process> processes_ GUARDED_BY(mu_);
  std::vector<pid_t> order_ GUARDED_BY(mu_);
};

}  // namespace kiln::server::test
