#include "sandbox/cgroup_fs.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <system_error>
#include <thread>

#include "util/files.h"
#include "util/string.h"
#include "util/unique_fd.h"

namespace kiln::sandbox::cgroupfs {
namespace fs = std::filesystem;
namespace {

using namespace std::chrono_literals;

// mountinfo escapes space, tab, newline and backslash in paths as \ooo.
std::string unescape_octal(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const std::string_view oct = s.substr(i + 1, 3);
      if (std::all_of(oct.begin(), oct.end(), [](char c) { return c >= '0' && c <= '7'; })) {
        out += static_cast<char>((oct[0] - '0') * 64 + (oct[1] - '0') * 8 + (oct[2] - '0'));
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

unsigned controllers_in(std::string_view list, char sep) {
  unsigned bits = 0;
  for (std::string_view word : split(list, sep, SplitMode::kSkipEmpty)) {
    if (word == "memory") bits |= kMemory;
    if (word == "cpu") bits |= kCpu;
    if (word == "pids") bits |= kPids;
  }
  return bits;
}

// Every pid in `dir` and below it. A cgroup that vanishes meanwhile simply has none.
std::vector<pid_t> tree_pids(const fs::path& dir) {
  std::vector<pid_t> out;
  if (auto pids = read_procs(dir)) out = std::move(*pids);
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec)) continue;
    const std::vector<pid_t> sub = tree_pids(it->path());
    out.insert(out.end(), sub.begin(), sub.end());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Signals through pidfds, re-reading the membership after opening them: a pid that exited and
// was reused between the first read and the signal is then not in the cgroup and is spared.
void signal_members(const fs::path& dir, const std::vector<pid_t>& seen) {
  std::vector<std::pair<pid_t, UniqueFd>> handles;
  for (pid_t pid : seen) {
    const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd >= 0) {
      handles.emplace_back(pid, UniqueFd(fd));
    } else if (errno == ENOSYS) {
      ::kill(pid, SIGKILL);  // kernels before 5.3: the small reuse race is accepted
    }
  }
  const std::vector<pid_t> still = tree_pids(dir);
  for (const auto& [pid, fd] : handles) {
    if (std::binary_search(still.begin(), still.end(), pid)) {
      ::syscall(SYS_pidfd_send_signal, fd.get(), SIGKILL, nullptr, 0);
    }
  }
}

}  // namespace

const char* controller_name(Controller c) {
  switch (c) {
    case kMemory: return "memory";
    case kCpu: return "cpu";
    case kPids: return "pids";
  }
  return "?";
}

unsigned parse_controllers(std::string_view list) {
  return controllers_in(list, ' ') | controllers_in(list, '\n');
}

bool machine_has_swap() {
  auto text = read_file("/proc/meminfo");
  if (!text) return true;  // unknown: assume the worst, so the warning is not lost
  const std::size_t at = text->find("SwapTotal:");
  return at == std::string::npos || std::strtoull(text->c_str() + at + 10, nullptr, 10) > 0;
}

Layout parse_mountinfo(std::string_view text) {
  std::vector<Hierarchy> v1;
  unsigned v1_seen = 0;
  std::optional<fs::path> v2;
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);) {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS
    const std::vector<std::string_view> f = split(line, ' ', SplitMode::kSkipEmpty);
    const auto sep = std::find(f.begin(), f.end(), std::string_view("-"));
    if (f.size() < 5 || sep == f.end() || f.end() - sep < 4) continue;
    const std::string_view fstype = *(sep + 1);
    const fs::path mount = unescape_octal(f[4]);
    if (fstype == "cgroup2") {
      if (!v2) v2 = mount;
    } else if (fstype == "cgroup") {
      // A hierarchy bind-mounted twice (containers do this) counts once.
      const unsigned bits = controllers_in(*(sep + 3), ',') & ~v1_seen;
      if (bits == 0) continue;
      v1_seen |= bits;
      v1.push_back({mount, bits});
    }
  }
  if (!v1.empty()) return {Mode::kV1, std::move(v1)};
  if (v2) return {Mode::kV2, {{*v2, 0}}};
  return {};
}

Layout detect_layout() {
  auto text = read_file("/proc/self/mountinfo");
  if (!text) return {};
  Layout layout = parse_mountinfo(*text);
  if (layout.mode == Mode::kV2) {
    Hierarchy& h = layout.hierarchies.front();
    if (auto list = read_file(h.mount / "cgroup.controllers")) {
      h.controllers = parse_controllers(*list);
    }
  }
  return layout;
}

Result<std::vector<pid_t>> read_procs(const fs::path& dir) {
  auto text = read_file(dir / "cgroup.procs");
  if (!text) return fail(std::move(text.error()));
  std::vector<pid_t> pids;
  std::istringstream in(*text);
  for (long pid; in >> pid;) pids.push_back(static_cast<pid_t>(pid));
  std::sort(pids.begin(), pids.end());
  return pids;
}

Result<void> write_control(const fs::path& file, std::string_view value) {
  UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return fail(errno_error(ErrorCode::kIo, "open " + file.string()));
  ssize_t n;
  do {
    n = ::write(fd.get(), value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(value.size())) {
    if (n >= 0) errno = EIO;
    return fail(
        errno_error(ErrorCode::kIo, "write \"" + std::string(value) + "\" to " + file.string()));
  }
  return {};
}

bool kill_members(const fs::path& dir) {
  std::error_code ec;
  const bool has_kill = fs::exists(dir / "cgroup.kill", ec);
  // 400 rounds of 5 ms: SIGKILL is not refused, so only a fork storm or a process stuck in the
  // kernel (uninterruptible I/O) outlasts this.
  for (int round = 0; round < 400; ++round) {
    const std::vector<pid_t> pids = tree_pids(dir);
    if (pids.empty()) return true;
    if (!has_kill) {
      signal_members(dir, pids);
    } else if (round % 20 == 0) {
      (void)write_control(dir / "cgroup.kill", "1");  // the kernel kills the subtree atomically
    }
    std::this_thread::sleep_for(5ms);
  }
  return tree_pids(dir).empty();
}

Result<void> remove_cgroup_dir(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return {};
  kill_members(dir);
  std::vector<fs::path> subs;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec)) subs.push_back(it->path());
  }
  for (const fs::path& sub : subs) {
    if (auto r = remove_cgroup_dir(sub); !r) return r;
  }
  // A killed process is removed from its cgroup when it has finished exiting, not when the
  // signal is sent, so rmdir can see EBUSY for a moment.
  for (int attempt = 0;; ++attempt) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return {};
    if (errno != EBUSY || attempt >= 100) break;
    std::this_thread::sleep_for(10ms);
  }
  return fail(errno_error(ErrorCode::kIo, "rmdir " + dir.string()));
}

}  // namespace kiln::sandbox::cgroupfs
