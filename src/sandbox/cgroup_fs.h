// The cgroup filesystem underneath sandbox::Cgroup: where the hierarchies are mounted, and the
// file operations that creating, emptying and removing a cgroup need. Internal to the sandbox
// layer; split from cgroup.cpp so that the mountinfo parser can be tested on text alone.
//
// The layout is read from /proc/self/mountinfo rather than guessed from /sys/fs/cgroup/<name>:
// controllers may be co-mounted ("cpu,cpuacct"), mounted elsewhere, or missing, and on a hybrid
// machine an empty cgroup2 hierarchy sits beside the v1 controllers.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace kiln::sandbox::cgroupfs {

// The controllers Kiln limits, as bits.
enum Controller : unsigned { kMemory = 1u << 0, kCpu = 1u << 1, kPids = 1u << 2 };
constexpr unsigned kAllControllers = kMemory | kCpu | kPids;
const char* controller_name(Controller c);

// The Controller bits named in a cgroup.controllers list ("cpuset cpu io memory pids").
unsigned parse_controllers(std::string_view list);

// True if the machine has swap configured (/proc/meminfo SwapTotal > 0): without any, a missing
// swap limit is no loss.
bool machine_has_swap();

// kV1 includes hybrid machines: the controllers Kiln needs are on v1 hierarchies there, and the
// cgroup2 hierarchy beside them has none.
enum class Mode { kNone, kV1, kV2 };

struct Hierarchy {
  std::filesystem::path mount;  // the hierarchy's root as this process sees it
  unsigned controllers = 0;     // Controller bits it carries (v2: those in cgroup.controllers)
};

struct Layout {
  Mode mode = Mode::kNone;
  std::vector<Hierarchy> hierarchies;  // v1: one per distinct mount; v2: exactly one
};

// Parses mountinfo text. A v2 hierarchy's controllers cannot be known from the text and are left
// 0; detect_layout() reads them from cgroup.controllers.
Layout parse_mountinfo(std::string_view text);

// The layout of this machine (kNone if /proc/self/mountinfo is unreadable).
Layout detect_layout();

// The pids listed in `dir`/cgroup.procs, sorted.
[[nodiscard]] Result<std::vector<pid_t>> read_procs(const std::filesystem::path& dir);

// Writes `value` to an existing control file with one write(), as the kernel wants.
[[nodiscard]] Result<void> write_control(const std::filesystem::path& file, std::string_view value);

// SIGKILLs every process in `dir` and its sub-cgroups (cgroup.kill where the kernel has it,
// otherwise one kill per pid, repeated because members may fork meanwhile) and waits until they
// have left, for at most about two seconds. True if the cgroup is empty at the end.
bool kill_members(const std::filesystem::path& dir);

// kill_members(), then removes `dir` and any sub-cgroups, retrying on EBUSY for a moment (a
// killed process leaves its cgroup shortly after the signal). Success if `dir` does not exist.
[[nodiscard]] Result<void> remove_cgroup_dir(const std::filesystem::path& dir);

}  // namespace kiln::sandbox::cgroupfs
