// Finding and killing every process a build started (docs/reference/codebuild-semantics.md §2.2
// "Background tasks"; style.md "Process hygiene").
//
// A build's processes are not one process group or session: `setsid`, `nohup ... &` and
// double-forking daemons all leave them. They are tracked instead as a ProcessSet: processes
// named by (pid, start time), so a recycled pid is never mistaken for a member, and grown by
// following parent links in /proc from every member to its descendants. The executor makes its
// shells child subreapers, so an orphan stays below the shell while the shell runs and is seen by
// the next scan.
//
// Nothing here calls waitpid(-1): only tracked pids are reaped, so the children of other modules
// in the same process are left to their owners.
//
// Thread safety: ProcTable and ProcessSet are values with no shared state; use one per thread.
// acquire_subreaper()/release_subreaper() may be called from any thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "util/error.h"

namespace kiln::exec {

struct ProcInfo {
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t pgid = 0;
  char state = '?';  // 'Z' for a zombie
  int threads = 1;
  std::uint64_t start_time = 0;  // clock ticks after boot; with pid, names one process for good
};

// Processes with their parents: all of /proc, or only the subtrees below some roots.
class ProcTable {
 public:
  [[nodiscard]] static Result<ProcTable> scan();
  // The roots and everything below them, read through /proc/<pid>/task/<tid>/children: a few
  // files instead of one per process on the machine. Falls back to scan() on kernels without
  // those files (CONFIG_PROC_CHILDREN).
  [[nodiscard]] static Result<ProcTable> scan_below(const std::vector<pid_t>& roots);
  // Reads /proc/<pid>/stat alone; nullopt when the process is gone.
  static std::optional<ProcInfo> read(pid_t pid);

  const ProcInfo* find(pid_t pid) const;
  const std::vector<pid_t>& children(pid_t pid) const;
  std::vector<pid_t> in_group(pid_t pgid) const;
  std::size_t size() const { return procs_.size(); }

 private:
  std::unordered_map<pid_t, ProcInfo> procs_;
  std::unordered_map<pid_t, std::vector<pid_t>> children_;
};

// A set of processes, each named by pid and start time.
class ProcessSet {
 public:
  // Adds a running process; false if it no longer exists.
  bool add(pid_t pid);
  void add(const ProcInfo& info);
  void remove(pid_t pid);
  void merge(const ProcessSet& other);

  // Drops members that exited (or whose pid now names another process) and adds every
  // descendant of a remaining member.
  void update(const ProcTable& table);

  // Members alive at the last update (zombies excluded).
  std::vector<pid_t> live() const;
  std::vector<pid_t> pids() const;
  bool contains(pid_t pid) const { return members_.count(pid) != 0; }
  bool empty() const { return members_.empty(); }

 private:
  struct Member {
    std::uint64_t start_time = 0;
    bool zombie = false;
  };
  std::map<pid_t, Member> members_;
};

// Reaps members that are zombie children of this process, except `keep` (a shell whose status
// the caller still wants). Each pid is waited for by number, never with -1.
void reap_members(const ProcTable& table, const ProcessSet& set, pid_t keep = 0);

struct KillOptions {
  std::chrono::milliseconds grace{2000};     // between SIGTERM and SIGKILL
  std::chrono::milliseconds give_up{10000};  // stop retrying SIGKILL (a process stuck in D state)
};

struct KillReport {
  std::size_t terminated = 0;  // processes sent SIGTERM
  std::size_t killed = 0;      // processes that needed SIGKILL
  bool all_gone = true;
};

// Kills every member and everything they start meanwhile: SIGTERM (+SIGCONT, so stopped
// processes see it), up to `grace` for them to exit, then SIGSTOP to freeze the rest (a frozen
// process cannot fork, so the set stops growing) and SIGKILL, until no member remains. Reaps the
// members that are children of this process. On return `set` holds what could not be killed.
KillReport kill_all(ProcessSet& set, const KillOptions& options);

// kill_all on `root` and everything below it.
KillReport kill_tree(pid_t root, const KillOptions& options);

// Makes this process a child subreaper (PR_SET_CHILD_SUBREAPER), reference-counted so several
// executors can share it; the last release restores the previous setting.
[[nodiscard]] Result<void> acquire_subreaper();
void release_subreaper();

}  // namespace kiln::exec
