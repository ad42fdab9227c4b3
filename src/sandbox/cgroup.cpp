#include "sandbox/cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <sstream>
#include <system_error>
#include <utility>

#include "sandbox/cgroup_fs.h"
#include "util/files.h"

namespace kiln::sandbox {
namespace fs = std::filesystem;
using cgroupfs::Controller;

namespace {

constexpr const char* kParent = "kiln";
// 100 ms, the kernel's default period; the quota is the share of it.
constexpr std::uint64_t kCpuPeriodUs = 100000;

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

bool valid_name(const std::string& name) {
  return !name.empty() && name.size() <= 240 && name != "." && name != ".." &&
         std::all_of(name.begin(), name.end(), name_char);
}

bool path_exists(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

// "key N" lines, as in memory.events and memory.oom_control.
std::optional<std::uint64_t> keyed_value(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string k;
  std::uint64_t v;
  while (in >> k >> v) {
    if (k == key) return v;
  }
  return std::nullopt;
}

// Enables `bits` for the children of `dir` (v2). Failures are returned as text for a warning:
// inside a container the root may hold processes, which forbids it (EBUSY).
std::string enable_controllers(const fs::path& dir, unsigned bits) {
  std::string problems;
  for (Controller c : {cgroupfs::kMemory, cgroupfs::kCpu, cgroupfs::kPids}) {
    if ((bits & c) == 0) continue;
    auto r = cgroupfs::write_control(dir / "cgroup.subtree_control",
                                     std::string("+") + cgroupfs::controller_name(c));
    if (!r) problems += (problems.empty() ? "" : "; ") + r.error().message();
  }
  return problems;
}

}  // namespace

Result<Cgroup> Cgroup::create(const std::string& name, const CgroupLimits& limits) {
  return create(name, limits, cgroupfs::detect_layout());
}

Result<Cgroup> Cgroup::create(const std::string& name, const CgroupLimits& limits,
                              const cgroupfs::Layout& layout) {
  const std::string what = "create cgroup " + std::string(kParent) + "/" + name;
  if (!valid_name(name)) {
    return fail(ErrorCode::kInvalidArgument,
                "invalid cgroup name \"" + name + "\": use letters, digits, '_', '.' and '-'");
  }
  if (layout.mode == cgroupfs::Mode::kNone) {
    return fail(Error(ErrorCode::kNotFound, "no cgroup hierarchy is mounted").with(what));
  }

  Cgroup cg;
  cg.name_ = name;
  cg.v2_ = layout.mode == cgroupfs::Mode::kV2;
  std::string enable_problems;
  for (const cgroupfs::Hierarchy& h : layout.hierarchies) {
    const fs::path parent = h.mount / kParent;
    if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) {
      return fail(errno_error(ErrorCode::kIo, "mkdir " + parent.string()).with(what));
    }
    if (cg.v2_) {
      for (const fs::path& level : {h.mount, parent}) {
        const std::string problems = enable_controllers(level, h.controllers);
        if (problems.empty()) continue;
        enable_problems += (enable_problems.empty() ? "" : "; ") + problems;
      }
    }
    const fs::path dir = parent / name;
    if (::mkdir(dir.c_str(), 0755) != 0) {
      const ErrorCode code = errno == EEXIST ? ErrorCode::kAlreadyExists : ErrorCode::kIo;
      return fail(errno_error(code, "mkdir " + dir.string()).with(what));
    }
    // Recorded at once, so that an early return below removes it (the destructor).
    cg.dirs_.push_back({dir, h.controllers, UniqueFd()});
    Dir& d = cg.dirs_.back();
    if (cg.v2_) {
      // What the parents' subtree_control really passed down.
      d.controllers =
          cgroupfs::parse_controllers(read_file(dir / "cgroup.controllers").value_or(""));
    }
    d.procs = UniqueFd(::open((dir / "cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
    if (!d.procs) {
      return fail(
          errno_error(ErrorCode::kIo, "open " + (dir / "cgroup.procs").string()).with(what));
    }
  }

  unsigned present = 0;
  for (const Dir& d : cg.dirs_) present |= d.controllers;
  const std::pair<Controller, bool> wanted[] = {{cgroupfs::kMemory, limits.memory_bytes != 0},
                                                {cgroupfs::kCpu, limits.cpu_millis != 0},
                                                {cgroupfs::kPids, limits.pids != 0}};
  for (const auto& [c, want] : wanted) {
    if (want && (present & c) == 0) {
      const std::string n = cgroupfs::controller_name(c);
      cg.warnings_.push_back("no " + n + " controller: " + n + " limit not applied" +
                             (enable_problems.empty() ? "" : " (" + enable_problems + ")"));
    }
  }

  // A control file that is missing although its controller is present is a kernel without that
  // feature: a warning, like a missing controller. A write that fails is an error.
  struct Setting {
    const Dir* dir;  // null: no limit asked for, or no controller
    const char* file;
    std::string value;
    const char* if_missing;
    bool swap = false;  // a swap limit: no loss on a machine without swap
  };
  const Dir* mem = limits.memory_bytes ? cg.dir_with(cgroupfs::kMemory) : nullptr;
  const Dir* cpu = limits.cpu_millis ? cg.dir_with(cgroupfs::kCpu) : nullptr;
  const Dir* pids = limits.pids ? cg.dir_with(cgroupfs::kPids) : nullptr;
  const std::string bytes = std::to_string(limits.memory_bytes);
  const std::string quota =
      std::to_string(std::max<std::uint64_t>(1000, std::uint64_t{limits.cpu_millis} * 100));
  const std::string period = std::to_string(kCpuPeriodUs);
  std::vector<Setting> settings;
  if (cg.v2_) {
    settings = {{mem, "memory.max", bytes, "memory not limited"},
                {mem, "memory.swap.max", "0", "the build may use swap", true},
                {cpu, "cpu.max", quota + " " + period, "CPU not limited"}};
  } else {
    // memsw is memory plus swap and may not be set below the memory limit: memory goes first.
    settings = {{mem, "memory.limit_in_bytes", bytes, "memory not limited"},
                {mem, "memory.memsw.limit_in_bytes", bytes,
                 "the build may use swap (boot with swapaccount=1)", true},
                {cpu, "cpu.cfs_period_us", period, "CPU not limited"},
                {cpu, "cpu.cfs_quota_us", quota, "CPU not limited"}};
  }
  settings.push_back({pids, "pids.max", std::to_string(limits.pids), "process count not limited"});
  // The parent of every build (the same directory for all of them): rewritten on each create,
  // which is idempotent, so a changed pid_max takes effect with the next build.
  std::optional<Dir> parent;
  if (const Dir* d = cg.dir_with(cgroupfs::kPids); d && limits.all_builds_pids != 0) {
    parent = Dir{d->path.parent_path(), cgroupfs::kPids, UniqueFd()};
    settings.push_back({&*parent, "pids.max", std::to_string(limits.all_builds_pids),
                        "builds together not limited"});
  }
  for (const Setting& s : settings) {
    if (s.dir == nullptr) continue;
    const fs::path path = s.dir->path / s.file;
    if (!path_exists(path)) {
      if (s.swap && !cgroupfs::machine_has_swap()) continue;
      cg.warnings_.push_back(path.string() + " is missing: " + s.if_missing);
      continue;
    }
    if (auto r = cgroupfs::write_control(path, s.value); !r) {
      return fail(std::move(r.error()).with(what));
    }
  }
  return cg;
}

std::uint64_t host_pid_max() {
  const auto text = read_file("/proc/sys/kernel/pid_max");
  std::uint64_t v = 0;
  if (text) {
    std::istringstream in(*text);
    in >> v;
  }
  return v >= 1024 ? v : 32768;
}

std::uint64_t all_builds_pids(std::uint64_t pid_max) {
  const std::uint64_t reserve = std::max<std::uint64_t>(pid_max / 4, 1024);
  return pid_max > 2 * reserve ? pid_max - reserve : pid_max / 2;
}

std::uint32_t build_pids(std::uint64_t pid_max, unsigned max_builds, std::uint32_t compute_pids) {
  const std::uint64_t share = all_builds_pids(pid_max) / std::max(1u, max_builds);
  const std::uint64_t capped =
      compute_pids == 0 ? share : std::min<std::uint64_t>(compute_pids, share);
  return static_cast<std::uint32_t>(std::clamp<std::uint64_t>(capped, 64, UINT32_MAX));
}

std::string Cgroup::cgroup_mode() {
  switch (cgroupfs::detect_layout().mode) {
    case cgroupfs::Mode::kV2: return "v2";
    case cgroupfs::Mode::kV1: return "v1";
    case cgroupfs::Mode::kNone: break;
  }
  return "none";
}

Cgroup::Cgroup(Cgroup&& other) noexcept
    : name_(std::move(other.name_)),
      v2_(other.v2_),
      dirs_(std::exchange(other.dirs_, {})),
      warnings_(std::move(other.warnings_)) {}

Cgroup& Cgroup::operator=(Cgroup&& other) noexcept {
  if (this != &other) {
    (void)remove();
    name_ = std::move(other.name_);
    v2_ = other.v2_;
    dirs_ = std::exchange(other.dirs_, {});
    warnings_ = std::move(other.warnings_);
  }
  return *this;
}

Cgroup::~Cgroup() {
  (void)remove();
}

std::vector<fs::path> Cgroup::dirs() const {
  std::vector<fs::path> out;
  for (const Dir& d : dirs_) out.push_back(d.path);
  return out;
}

const Cgroup::Dir* Cgroup::dir_with(unsigned controller) const {
  for (const Dir& d : dirs_) {
    if (d.controllers & controller) return &d;
  }
  return nullptr;
}

std::vector<int> Cgroup::procs_fds() const {
  std::vector<int> fds;
  for (const Dir& d : dirs_) {
    if (d.procs) fds.push_back(d.procs.get());
  }
  return fds;
}

Result<std::uint64_t> Cgroup::oom_kills() const {
  const Dir* d = dir_with(cgroupfs::kMemory);
  if (d == nullptr) {
    return fail(ErrorCode::kNotFound, "cgroup " + name_ + " has no memory controller");
  }
  const fs::path file = d->path / (v2_ ? "memory.events" : "memory.oom_control");
  auto text = read_file(file);
  if (!text) return fail(std::move(text.error()));
  if (auto n = keyed_value(*text, "oom_kill")) return *n;
  if (v2_) return fail(ErrorCode::kNotFound, file.string() + " has no oom_kill count");
  // v1 before Linux 4.13: no count. Never reaching the limit still proves there was no kill.
  auto failcnt = read_file(d->path / "memory.failcnt");
  if (failcnt && std::strtoull(failcnt->c_str(), nullptr, 10) == 0) return 0;
  return fail(ErrorCode::kNotFound,
              "the kernel does not count OOM kills and cgroup " + name_ + " reached its limit");
}

Result<std::vector<pid_t>> Cgroup::pids() const {
  std::vector<pid_t> all;
  for (const Dir& d : dirs_) {
    auto pids = cgroupfs::read_procs(d.path);
    if (!pids) return fail(std::move(pids.error()).with("list the processes of cgroup " + name_));
    all.insert(all.end(), pids->begin(), pids->end());
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

void Cgroup::kill_all() {
  for (const Dir& d : dirs_) cgroupfs::kill_members(d.path);
}

Result<void> Cgroup::remove() {
  kill_all();
  std::vector<Dir> kept;
  std::optional<Error> first;
  for (Dir& d : dirs_) {
    d.procs.reset();
    auto r = cgroupfs::remove_cgroup_dir(d.path);
    if (r) continue;
    if (!first) first = std::move(r.error());
    kept.push_back(std::move(d));
  }
  dirs_ = std::move(kept);
  if (first) return fail(std::move(*first).with("remove cgroup " + name_));
  return {};
}

int join_cgroup_fds(const int* fds, std::size_t count) noexcept {
  for (std::size_t i = 0; i < count; ++i) {
    ssize_t n;
    do {
      n = ::write(fds[i], "0", 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) return n < 0 ? errno : EIO;
  }
  return 0;
}

std::string owned_name(const std::string& build_tag) {
  std::string name = std::to_string(::getpid()) + "-";
  for (char c : build_tag.substr(0, 200)) name += name_char(c) ? c : '_';
  return name;
}

Result<std::size_t> sweep_leftover_cgroups() {
  const cgroupfs::Layout layout = cgroupfs::detect_layout();
  // Grouped by name: one build's directories in several hierarchies are one leftover.
  std::map<std::string, std::vector<fs::path>> leftovers;
  for (const cgroupfs::Hierarchy& h : layout.hierarchies) {
    std::error_code ec;
    for (fs::directory_iterator it(h.mount / kParent, ec), end; !ec && it != end;
         it.increment(ec)) {
      if (it->is_directory(ec)) leftovers[it->path().filename().string()].push_back(it->path());
    }
  }
  std::size_t removed = 0;
  std::optional<Error> first;
  for (const auto& [name, dirs] : leftovers) {
    const std::size_t dash = name.find('-');
    if (dash == 0 || dash == std::string::npos || dash > 9 ||
        !std::all_of(name.begin(), name.begin() + dash,
                     [](char c) { return c >= '0' && c <= '9'; })) {
      continue;  // not a name from owned_name()
    }
    const pid_t owner = static_cast<pid_t>(std::stol(name.substr(0, dash)));
    // EPERM means alive too: only ESRCH proves the owner is gone.
    if (owner <= 1 || ::kill(owner, 0) == 0 || errno != ESRCH) continue;
    bool ok = true;
    for (const fs::path& dir : dirs) {
      auto r = cgroupfs::remove_cgroup_dir(dir);
      if (!r && !first) first = std::move(r.error()).with("sweep leftover cgroup " + name);
      ok = ok && r.has_value();
    }
    if (ok) ++removed;
  }
  if (first) return fail(std::move(*first));
  return removed;
}

}  // namespace kiln::sandbox
