#include "exec/spawn.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/unique_fd.h"

namespace kiln::exec {
namespace {

// Sanitizer runtimes keep shadow state for the stack and poison it from instrumented code, and a
// child sharing our memory would write into the parent's shadow. Sanitized builds fork instead.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kShareMemory = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kShareMemory = false;
#else
constexpr bool kShareMemory = true;
#endif
#else
constexpr bool kShareMemory = true;
#endif

// Where the child failed, reported through the error pipe.
enum class Stage : int { kSignals, kSetpgid, kSubreaper, kStdio, kFds, kGroups, kGid, kUid, kExec };

const char* stage_name(Stage s) {
  switch (s) {
    case Stage::kSignals: return "reset signals";
    case Stage::kSetpgid: return "setpgid";
    case Stage::kSubreaper: return "prctl(PR_SET_CHILD_SUBREAPER)";
    case Stage::kStdio: return "dup2";
    case Stage::kFds: return "close_range";
    case Stage::kGroups: return "setgroups";
    case Stage::kGid: return "setgid";
    case Stage::kUid: return "setuid";
    case Stage::kExec: return "execve";
  }
  return "?";
}

struct ChildFailure {
  Stage stage;
  int err;
};

// Everything the child reads, prepared by the parent so the child never allocates.
struct ChildPlan {
  const char* program;
  char* const* argv;
  char* const* envp;
  int stdin_fd;
  int output_fd;
  int error_fd;  // write end of the close-on-exec error pipe
  bool subreaper;
  bool change_user;
  uid_t uid;
  gid_t gid;
  const gid_t* groups;
  std::size_t ngroups;
  int max_fd;  // for the close() loop when close_range is missing
};

[[noreturn]] void child_fail(const ChildPlan& p, Stage stage) noexcept {
  const ChildFailure f{stage, errno};
  // Async-signal-safe; if the parent is gone there is no one to tell.
  [[maybe_unused]] auto n = ::write(p.error_fd, &f, sizeof f);
  ::_exit(127);
}

// Runs in the child, which shares our memory until execve (CLONE_VM | CLONE_VFORK): it only
// reads the plan and makes async-signal-safe calls, and never returns.
[[noreturn]] void child_main(const ChildPlan& p) noexcept {
  // Handlers are reset by execve but ignored signals are not, and the CLI ignores or handles
  // some; the build must see defaults. The mask was blocked by the parent around the clone.
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction sa {};
    sa.sa_handler = SIG_DFL;
    ::sigemptyset(&sa.sa_mask);
    ::sigaction(sig, &sa, nullptr);  // EINVAL for SIGKILL, SIGSTOP and glibc's own: expected
  }
  sigset_t empty;
  ::sigemptyset(&empty);
  if (::sigprocmask(SIG_SETMASK, &empty, nullptr) != 0) child_fail(p, Stage::kSignals);

  if (::setpgid(0, 0) != 0) child_fail(p, Stage::kSetpgid);
  if (p.subreaper && ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    child_fail(p, Stage::kSubreaper);
  }
  if (::dup2(p.stdin_fd, 0) < 0 || ::dup2(p.output_fd, 1) < 0 || ::dup2(p.output_fd, 2) < 0) {
    child_fail(p, Stage::kStdio);
  }
  // Mark every other fd close-on-exec rather than closing it, so the error pipe stays usable
  // until execve succeeds.
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    if (errno != ENOSYS && errno != EINVAL) child_fail(p, Stage::kFds);
    for (int fd = 3; fd < p.max_fd; ++fd) {
      if (fd != p.error_fd) ::close(fd);
    }
  }
  if (p.change_user) {
    // Groups first: after setuid we no longer may change them.
    if (::setgroups(p.ngroups, p.groups) != 0) child_fail(p, Stage::kGroups);
    if (::setgid(p.gid) != 0) child_fail(p, Stage::kGid);
    if (::setuid(p.uid) != 0) child_fail(p, Stage::kUid);
  }
  ::execve(p.program, p.argv, p.envp);
  child_fail(p, Stage::kExec);
}

int child_entry(void* plan) {
  child_main(*static_cast<const ChildPlan*>(plan));
}

// The child's stack while it shares our address space: a guard page below catches an overflow.
class ChildStack {
 public:
  static constexpr std::size_t kSize = std::size_t{256} * 1024;
  ChildStack() {
    void* m = ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (m == MAP_FAILED) return;
    base_ = static_cast<char*>(m);
    ::mprotect(base_, 4096, PROT_NONE);
  }
  ~ChildStack() {
    if (base_ != nullptr) ::munmap(base_, kSize);
  }
  ChildStack(const ChildStack&) = delete;
  ChildStack& operator=(const ChildStack&) = delete;
  void* top() const { return base_ == nullptr ? nullptr : base_ + kSize; }

 private:
  char* base_ = nullptr;
};

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

Result<UserIds> lookup_user_in_files(const std::string& name, const std::string& passwd_file,
                                     const std::string& group_file) {
  using File = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;
  const auto open_db = [](const std::string& path) -> Result<File> {
    File f(std::fopen(path.c_str(), "re"), &std::fclose);
    if (!f) return fail(errno_error(ErrorCode::kIo, "open " + path));
    return f;
  };
  std::vector<char> buf(16384);
  auto users = open_db(passwd_file);
  if (!users) return fail(std::move(users.error()));
  std::optional<UserIds> ids;
  for (;;) {
    passwd pw{};
    passwd* got = nullptr;
    const int rc = ::fgetpwent_r(users->get(), &pw, buf.data(), buf.size(), &got);
    if (rc == ERANGE) {
      buf.resize(buf.size() * 2);  // the entry is read again with the larger buffer
      continue;
    }
    if (rc == ENOENT || got == nullptr) break;  // the end of the file
    if (rc != 0)
      return fail(Error(ErrorCode::kIo, "read " + passwd_file + ": " + std::strerror(rc)));
    if (name == pw.pw_name) {
      ids = UserIds{name, pw.pw_uid, pw.pw_gid, {pw.pw_gid}};
      break;
    }
  }
  if (!ids) return fail(ErrorCode::kNotFound, "run-as user does not exist: " + name);
  auto groups = open_db(group_file);
  if (!groups) return fail(std::move(groups.error()));
  for (;;) {
    group gr{};
    group* got = nullptr;
    const int rc = ::fgetgrent_r(groups->get(), &gr, buf.data(), buf.size(), &got);
    if (rc == ERANGE) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (rc == ENOENT || got == nullptr) break;
    if (rc != 0)
      return fail(Error(ErrorCode::kIo, "read " + group_file + ": " + std::strerror(rc)));
    if (gr.gr_gid == ids->gid) continue;  // already there, as getgrouplist puts it
    for (char** m = gr.gr_mem; m != nullptr && *m != nullptr; ++m) {
      if (name == *m) {
        ids->groups.push_back(gr.gr_gid);
        break;
      }
    }
  }
  return std::move(*ids);
}

#ifdef KILN_USERS_FROM_FILES
Result<UserIds> lookup_user(const std::string& name) {
  return lookup_user_in_files(name, "/etc/passwd", "/etc/group");
}
#else
Result<UserIds> lookup_user(const std::string& name) {
  long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(size > 0 ? static_cast<std::size_t>(size) : 16384);
  passwd pw{};
  passwd* found = nullptr;
  int rc;
  while ((rc = ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found)) == ERANGE) {
    buf.resize(buf.size() * 2);
  }
  if (rc != 0) {
    errno = rc;
    return fail(errno_error(ErrorCode::kProcess, "look up user " + name));
  }
  if (found == nullptr) return fail(ErrorCode::kNotFound, "run-as user does not exist: " + name);

  UserIds ids{name, pw.pw_uid, pw.pw_gid, {}};
  int n = 16;
  ids.groups.resize(static_cast<std::size_t>(n));
  while (::getgrouplist(name.c_str(), pw.pw_gid, ids.groups.data(), &n) < 0) {
    ids.groups.resize(static_cast<std::size_t>(n) + 1);  // n now holds the size needed
    n = static_cast<int>(ids.groups.size());
  }
  ids.groups.resize(static_cast<std::size_t>(n));
  return ids;
}
#endif

int move_above_stdio(int fd) {
  if (fd > 2) return fd;
  const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  return moved;
}

Result<pid_t> spawn_process(const SpawnRequest& req) {
  if (req.program.empty() || req.argv.empty()) {
    return fail(ErrorCode::kInvalidArgument, "spawn: empty program or argv");
  }
  const std::vector<char*> argv = c_strings(req.argv);
  const std::vector<char*> envp = c_strings(req.env);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return fail(errno_error(ErrorCode::kProcess, "pipe2"));
  UniqueFd err_r(move_above_stdio(pipe_fds[0]));
  UniqueFd err_w(move_above_stdio(pipe_fds[1]));
  if (!err_r || !err_w) return fail(errno_error(ErrorCode::kProcess, "fcntl(F_DUPFD_CLOEXEC)"));

  rlimit nofile{};
  const bool have_limit =
      ::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY;
  const ChildPlan plan{
      req.program.c_str(),
      argv.data(),
      envp.data(),
      req.stdin_fd,
      req.output_fd,
      err_w.get(),
      req.subreaper,
      req.user.has_value(),
      req.user ? req.user->uid : 0,
      req.user ? req.user->gid : 0,
      req.user ? req.user->groups.data() : nullptr,
      req.user ? req.user->groups.size() : 0,
      have_limit ? static_cast<int>(std::min<rlim_t>(nofile.rlim_cur, 1 << 20)) : 65536};

  // vfork semantics instead of fork(): copying the page tables of a large process costs
  // milliseconds per command (most on a paravirtualized VM), and we exec at once anyway. This
  // thread is suspended until the child execs or exits; other threads run on.
  ChildStack stack;
  if (stack.top() == nullptr)
    return fail(errno_error(ErrorCode::kProcess, "mmap the child's stack"));
  // Block every signal across the clone so no handler of ours runs in the child, on our
  // memory, before it resets them (a SIGINT handler would cancel the build from inside it).
  sigset_t all, old;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid;
  if constexpr (kShareMemory) {
    pid = ::clone(child_entry, stack.top(), CLONE_VM | CLONE_VFORK | SIGCHLD,
                  const_cast<ChildPlan*>(&plan));
  } else {
    pid = ::fork();
    if (pid == 0) child_main(plan);
  }
  const int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  err_w.reset();  // the child's copy alone keeps the pipe open until its exec
  if (pid < 0) {
    errno = fork_errno;
    return fail(errno_error(ErrorCode::kProcess, "clone"));
  }

  ChildFailure failure{};
  ssize_t n;
  do {
    n = ::read(err_r.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  err_r.reset();
  if (n == 0) return pid;  // EOF: execve closed the pipe, the program runs

  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (n != static_cast<ssize_t>(sizeof failure)) {
    return fail(ErrorCode::kProcess, "spawn " + req.program + ": child failed before exec");
  }
  errno = failure.err;
  return fail(
      errno_error(ErrorCode::kProcess, std::string(stage_name(failure.stage)) + " " + req.program));
}

int open_pidfd(pid_t pid) {
  // The pid is our unreaped child, so it cannot have been recycled: no race.
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

}  // namespace kiln::exec
