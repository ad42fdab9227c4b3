// One cgroup per sandboxed build: its memory, CPU and process-count limits, its OOM-kill count,
// and a kill of everything the build started.
//
// Why a cgroup: rlimits apply per process and a build forks freely, and a process group or
// session is left by `setsid`; a cgroup limits and lists the whole tree, and nothing leaves it
// without privileges the sandbox does not have.
//
// Where. Each build gets kiln/<name> directly under the hierarchy root: on v2 the cgroup2 mount,
// on v1 each of the memory, cpu and pids mounts. Not under the cgroup Kiln itself runs in: under
// systemd that is a leaf holding processes (v2 forbids controllers below it), and on v1 it may be
// memory-limited itself, which would make Kiln's own limit a cap on every build. A hybrid machine
// (v1 controllers plus an empty cgroup2 at /sys/fs/cgroup/unified, as here) is treated as v1,
// because that is where its controllers are.
//
// Joining. The child writes "0" to every procs_fds() entry between fork and exec, so the build's
// first instruction already runs limited; moving a pid from outside after exec would race with
// the build's first forks. join_cgroup_fds() does that and is async-signal-safe.
//
// Crash cleanup. A name from owned_name() starts with the owner's pid, and
// sweep_leftover_cgroups() (run at start-up) removes the cgroups of owners that have died.
//
// Needs root, or write access to the hierarchy roots. A limit whose controller is missing is a
// warning, not an error: a build without a memory limit is better than no build.
//
// Thread safety: a Cgroup is used from one thread at a time; different Cgroups are independent.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "util/error.h"
#include "util/unique_fd.h"

namespace kiln::sandbox {

namespace cgroupfs {
struct Layout;
}

// 0 = no limit.
struct CgroupLimits {
  std::uint64_t memory_bytes = 0;  // also the memory+swap limit: a build does not swap
  std::uint32_t cpu_millis = 0;    // 1000 = one CPU; at least 10 (the kernel's 1 ms quota)
  std::uint32_t pids = 0;          // processes and threads
  // pids.max of the shared kiln/ parent: all builds together (all_builds_pids()); 0: untouched.
  std::uint64_t all_builds_pids = 0;
};

// Process-count budgets. Each build's pids.max alone is not enough: two builds of 16,384 on a host
// whose pid_max is 32,768 could take every pid the host has. So the kiln/ parent caps the sum at
// all_builds_pids(): pid_max less a quarter (at least 1,024 pids) kept for the host. A build gets
// build_pids(): its compute type's figure, or its share of the budget if that is smaller
// (max_builds 0, unknown, counts as 1: the parent's cap still holds the sum).
std::uint64_t host_pid_max();  // /proc/sys/kernel/pid_max; 32,768 if unreadable
std::uint64_t all_builds_pids(std::uint64_t pid_max);
std::uint32_t build_pids(std::uint64_t pid_max, unsigned max_builds, std::uint32_t compute_pids);

class Cgroup {
 public:
  // Creates kiln/<name> in every hierarchy and applies `limits`. `name` must match
  // [A-Za-z0-9_.-]+ (kInvalidArgument otherwise); kAlreadyExists if it exists; kNotFound if no
  // cgroup hierarchy is mounted; kIo with the path if a directory or a limit cannot be written.
  // Nothing is left behind on failure.
  [[nodiscard]] static Result<Cgroup> create(const std::string& name, const CgroupLimits& limits);
  // The same in a given layout (cgroup_fs.h) instead of this machine's: lets the tests drive the
  // v2 code on a hybrid machine's controller-less cgroup2 hierarchy.
  [[nodiscard]] static Result<Cgroup> create(const std::string& name, const CgroupLimits& limits,
                                             const cgroupfs::Layout& layout);

  // "v2", "v1" (also hybrid machines) or "none": for logs and docs.
  static std::string cgroup_mode();

  Cgroup(Cgroup&& other) noexcept;
  Cgroup& operator=(Cgroup&& other) noexcept;
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;
  // remove(), ignoring its result.
  ~Cgroup();

  const std::string& name() const { return name_; }
  // One directory per hierarchy (v2: one). Empty after remove().
  std::vector<std::filesystem::path> dirs() const;
  // Limits that could not be applied, and why ("no pids controller: pids limit not applied").
  const std::vector<std::string>& warnings() const { return warnings_; }

  // The cgroup.procs files, open O_WRONLY | O_CLOEXEC and owned by this object: valid until
  // remove(). A forked child passes them to join_cgroup_fds().
  std::vector<int> procs_fds() const;

  // OOM kills in this cgroup so far (v2 memory.events, v1 memory.oom_control). kNotFound without
  // a memory controller, or when the kernel does not count them (v1 before 4.13) and the limit
  // was hit: then a kill cannot be told from reclaim.
  [[nodiscard]] Result<std::uint64_t> oom_kills() const;

  // The processes in the cgroup, sorted (the union over the hierarchies).
  [[nodiscard]] Result<std::vector<pid_t>> pids() const;

  // SIGKILLs every member: cgroup.kill on v2, otherwise kill() per pid until the cgroup is empty
  // (at most about two seconds). Zombies left for their parent to reap do not count as members.
  void kill_all();

  // kill_all(), then removes the directories (retrying while the kernel still reports them
  // busy). Idempotent. On failure the directories that remain are kept for another try.
  [[nodiscard]] Result<void> remove();

 private:
  struct Dir {
    std::filesystem::path path;
    unsigned controllers = 0;  // cgroupfs::Controller bits
    UniqueFd procs;
  };
  Cgroup() = default;
  const Dir* dir_with(unsigned controller) const;

  std::string name_;
  bool v2_ = false;
  std::vector<Dir> dirs_;
  std::vector<std::string> warnings_;
};

// Writes "0" to each fd, which moves the calling process into that cgroup. Async-signal-safe, for
// a child between fork and exec. Returns 0, or the errno of the first write that failed.
int join_cgroup_fds(const int* fds, std::size_t count) noexcept;

// "<our pid>-<build_tag>", with every character of the tag outside [A-Za-z0-9_.-] replaced by
// '_' and the tag cut to 200 characters: a valid Cgroup::create name that sweep can attribute.
std::string owned_name(const std::string& build_tag);

// Removes every kiln/<pid>-* cgroup, in every hierarchy, whose owner pid no longer exists,
// killing its processes first. Cgroups of live owners and names of any other form are never
// touched. Returns the number of names removed; an error names the first that could not be.
[[nodiscard]] Result<std::size_t> sweep_leftover_cgroups();

}  // namespace kiln::sandbox
