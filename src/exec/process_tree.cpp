#include "exec/process_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>
#include <string_view>
#include <thread>

#include "util/unique_fd.h"

namespace kiln::exec {
namespace {

// Parses one /proc/<pid>/stat line. comm (field 2) may hold spaces and ')', so the fields are
// counted from the last ')'.
std::optional<ProcInfo> parse_stat(pid_t pid, std::string_view line) {
  const auto close = line.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  ProcInfo info;
  info.pid = pid;
  // Fields after comm, from field 3 (state): state ppid pgrp session tty tpgid flags minflt
  // cminflt majflt cmajflt utime stime cutime cstime priority nice threads itrealvalue starttime.
  std::string_view rest = line.substr(close + 1);
  int field = 3;
  while (!rest.empty() && field <= 22) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    const auto end = rest.find(' ');
    const std::string_view tok = rest.substr(0, end);
    if (tok.empty()) break;
    if (field == 3) info.state = tok.front();
    if (field == 4) std::from_chars(tok.data(), tok.data() + tok.size(), info.ppid);
    if (field == 5) std::from_chars(tok.data(), tok.data() + tok.size(), info.pgid);
    if (field == 20) std::from_chars(tok.data(), tok.data() + tok.size(), info.threads);
    if (field == 22) {
      const auto r = std::from_chars(tok.data(), tok.data() + tok.size(), info.start_time);
      if (r.ec != std::errc()) return std::nullopt;
      return info;
    }
    ++field;
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end);
  }
  return std::nullopt;
}

struct CloseDir {
  void operator()(DIR* d) const { ::closedir(d); }
};
using DirHandle = std::unique_ptr<DIR, CloseDir>;

// A listing of the folder `dir_fd` opens, on a descriptor of its own (closedir closes that one,
// the caller keeps `dir_fd`); null with errno set on failure.
DirHandle open_dir(int dir_fd) {
  UniqueFd listing(::dup(dir_fd));
  if (!listing) return nullptr;
  DIR* d = ::fdopendir(listing.get());
  if (d == nullptr) return nullptr;
  listing.release();  // the DIR owns it now
  return DirHandle(d);
}

std::optional<ProcInfo> read_stat_at(int proc_fd, pid_t pid) {
  char path[32];
  std::snprintf(path, sizeof path, "%d/stat", static_cast<int>(pid));
  const UniqueFd fd(::openat(proc_fd, path, O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;  // exited between readdir and open
  char buf[1024];
  ssize_t n;
  do {
    n = ::read(fd.get(), buf, sizeof buf - 1);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return std::nullopt;
  return parse_stat(pid, std::string_view(buf, static_cast<std::size_t>(n)));
}

// Appends the pids listed in one `children` file; false if it cannot be read.
bool read_children_file(int dir_fd, const char* path, std::vector<pid_t>& out) {
  const UniqueFd fd(::openat(dir_fd, path, O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof buf)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  std::string_view rest(text);
  while (!rest.empty()) {
    const auto end = rest.find(' ');
    pid_t pid = 0;
    const std::string_view tok = rest.substr(0, end);
    if (std::from_chars(tok.data(), tok.data() + tok.size(), pid).ec == std::errc() && pid > 0) {
      out.push_back(pid);
    }
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return true;
}

// Children of every thread of `info.pid` (each thread has its own list).
void read_children(int proc_fd, const ProcInfo& info, std::vector<pid_t>& out) {
  char path[300];  // a dirent name (255) and "/children"
  if (info.threads <= 1) {
    std::snprintf(path, sizeof path, "%d/task/%d/children", info.pid, info.pid);
    read_children_file(proc_fd, path, out);  // gone meanwhile: no children to find
    return;
  }
  std::snprintf(path, sizeof path, "%d/task", info.pid);
  const UniqueFd task_fd(::openat(proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!task_fd) return;
  const DirHandle dir = open_dir(task_fd.get());
  if (!dir) return;
  while (const dirent* e = ::readdir(dir.get())) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    std::snprintf(path, sizeof path, "%s/children", e->d_name);
    read_children_file(task_fd.get(), path, out);
  }
}

bool have_children_files() {
  static const bool have = ::access("/proc/thread-self/children", R_OK) == 0;
  return have;
}

void reap_one(pid_t pid) {
  int status;
  pid_t r;
  do {
    r = ::waitpid(pid, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
}

std::mutex g_subreaper_mu;
int g_subreaper_refs = 0;
int g_subreaper_before = 0;

}  // namespace

Result<ProcTable> ProcTable::scan() {
  const UniqueFd proc_fd(::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!proc_fd) return fail(errno_error(ErrorCode::kProcess, "open /proc"));
  const DirHandle dir = open_dir(proc_fd.get());
  if (!dir) return fail(errno_error(ErrorCode::kProcess, "opendir /proc"));
  ProcTable table;
  while (const dirent* e = ::readdir(dir.get())) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    const auto pid = static_cast<pid_t>(std::strtol(e->d_name, nullptr, 10));
    if (auto info = read_stat_at(proc_fd.get(), pid)) {
      table.children_[info->ppid].push_back(pid);
      table.procs_.emplace(pid, *info);
    }
  }
  return table;
}

Result<ProcTable> ProcTable::scan_below(const std::vector<pid_t>& roots) {
  if (!have_children_files()) return scan();
  const UniqueFd proc_fd(::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!proc_fd) return fail(errno_error(ErrorCode::kProcess, "open /proc"));
  ProcTable table;
  std::vector<pid_t> queue(roots.begin(), roots.end());
  std::vector<pid_t> children;
  while (!queue.empty()) {
    const pid_t pid = queue.back();
    queue.pop_back();
    if (table.procs_.count(pid) != 0) continue;
    const auto info = read_stat_at(proc_fd.get(), pid);
    if (!info) continue;
    table.procs_.emplace(pid, *info);
    children.clear();
    read_children(proc_fd.get(), *info, children);
    for (const pid_t child : children) {
      table.children_[pid].push_back(child);
      queue.push_back(child);
    }
  }
  // A child that exited between the two reads has no entry; drop it from the links so every
  // listed child can be looked up.
  for (auto& [parent, kids] : table.children_) {
    std::erase_if(kids, [&](pid_t k) { return table.procs_.count(k) == 0; });
  }
  return table;
}

std::optional<ProcInfo> ProcTable::read(pid_t pid) {
  const UniqueFd proc_fd(::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!proc_fd) return std::nullopt;
  return read_stat_at(proc_fd.get(), pid);
}

const ProcInfo* ProcTable::find(pid_t pid) const {
  const auto it = procs_.find(pid);
  return it == procs_.end() ? nullptr : &it->second;
}

const std::vector<pid_t>& ProcTable::children(pid_t pid) const {
  static const std::vector<pid_t> kNone;
  const auto it = children_.find(pid);
  return it == children_.end() ? kNone : it->second;
}

std::vector<pid_t> ProcTable::in_group(pid_t pgid) const {
  std::vector<pid_t> out;
  for (const auto& [pid, info] : procs_) {
    if (info.pgid == pgid) out.push_back(pid);
  }
  return out;
}

bool ProcessSet::add(pid_t pid) {
  const auto info = ProcTable::read(pid);
  if (!info) return false;
  add(*info);
  return true;
}

void ProcessSet::add(const ProcInfo& info) {
  members_[info.pid] = Member{info.start_time, info.state == 'Z'};
}

void ProcessSet::remove(pid_t pid) {
  members_.erase(pid);
}

void ProcessSet::merge(const ProcessSet& other) {
  for (const auto& [pid, m] : other.members_) members_[pid] = m;
}

void ProcessSet::update(const ProcTable& table) {
  std::vector<pid_t> queue;
  for (auto it = members_.begin(); it != members_.end();) {
    const ProcInfo* p = table.find(it->first);
    if (p == nullptr || p->start_time != it->second.start_time) {
      it = members_.erase(it);  // exited and reaped, or the pid was recycled
      continue;
    }
    it->second.zombie = p->state == 'Z';
    queue.push_back(it->first);
    ++it;
  }
  // Breadth-first over parent links: anything below a member is the build's.
  while (!queue.empty()) {
    const pid_t pid = queue.back();
    queue.pop_back();
    for (const pid_t child : table.children(pid)) {
      if (members_.count(child) != 0) continue;
      add(*table.find(child));
      queue.push_back(child);
    }
  }
}

std::vector<pid_t> ProcessSet::pids() const {
  std::vector<pid_t> out;
  out.reserve(members_.size());
  for (const auto& [pid, m] : members_) out.push_back(pid);
  return out;
}

std::vector<pid_t> ProcessSet::live() const {
  std::vector<pid_t> out;
  for (const auto& [pid, m] : members_) {
    if (!m.zombie) out.push_back(pid);
  }
  return out;
}

void reap_members(const ProcTable& table, const ProcessSet& set, pid_t keep) {
  const pid_t self = ::getpid();
  for (const pid_t child : table.children(self)) {
    const ProcInfo* p = table.find(child);
    if (child != keep && p->state == 'Z' && set.contains(child)) reap_one(child);
  }
}

KillReport kill_all(ProcessSet& set, const KillOptions& options) {
  using Clock = std::chrono::steady_clock;
  KillReport report;
  const auto term_until = Clock::now() + options.grace;
  const auto give_up = term_until + options.give_up;
  const pid_t self = ::getpid();
  std::set<pid_t> termed;
  std::set<pid_t> killed;
  bool frozen_pass = false;

  while (true) {
    std::vector<pid_t> roots = set.pids();
    roots.push_back(self);  // orphans of dead members were re-parented to us (the subreaper)
    auto table = ProcTable::scan_below(roots);
    if (!table) {
      // Without /proc we can only signal the pids we know.
      for (const pid_t pid : set.live()) ::kill(pid, SIGKILL);
      report.all_gone = false;
      return report;
    }
    set.update(*table);
    reap_members(*table, set);
    std::vector<pid_t> live = set.live();
    std::erase(live, self);  // cannot happen (members are descendants), but never signal ourselves
    if (live.empty()) return report;

    const auto now = Clock::now();
    if (now < term_until) {
      for (const pid_t pid : live) {
        if (!termed.insert(pid).second) continue;
        ::kill(pid, SIGTERM);
        ::kill(pid, SIGCONT);
        ++report.terminated;
      }
    } else if (now > give_up) {
      report.all_gone = false;
      return report;
    } else if (!frozen_pass) {
      // Freeze first, then rescan: a child forked between the scan and the SIGSTOP is found
      // before its parent dies and it is re-parented out of view.
      for (const pid_t pid : live) ::kill(pid, SIGSTOP);
      frozen_pass = true;
      continue;
    } else {
      for (const pid_t pid : live) {
        ::kill(pid, SIGSTOP);  // newly found ones: stop before the kill of their parent lands
      }
      for (const pid_t pid : live) {
        ::kill(pid, SIGKILL);
        if (killed.insert(pid).second) ++report.killed;
      }
      frozen_pass = false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

KillReport kill_tree(pid_t root, const KillOptions& options) {
  ProcessSet set;
  if (!set.add(root)) return {};
  return kill_all(set, options);
}

Result<void> acquire_subreaper() {
  std::lock_guard lock(g_subreaper_mu);
  if (g_subreaper_refs == 0) {
    int before = 0;
    if (::prctl(PR_GET_CHILD_SUBREAPER, &before, 0, 0, 0) != 0) {
      return fail(errno_error(ErrorCode::kProcess, "prctl(PR_GET_CHILD_SUBREAPER)"));
    }
    if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
      return fail(errno_error(ErrorCode::kProcess, "prctl(PR_SET_CHILD_SUBREAPER)"));
    }
    g_subreaper_before = before;
  }
  ++g_subreaper_refs;
  return {};
}

void release_subreaper() {
  std::lock_guard lock(g_subreaper_mu);
  if (g_subreaper_refs == 0) return;
  if (--g_subreaper_refs == 0) {
    // Restoring can only fail for a bad argument; nothing to do about it if it does.
    ::prctl(PR_SET_CHILD_SUBREAPER, g_subreaper_before, 0, 0, 0);
  }
}

}  // namespace kiln::exec
