#include "sandbox/launch.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "exec/spawn.h"
#include "sandbox/cgroup.h"
#include "util/unique_fd.h"

namespace kiln::sandbox {
namespace {

// Where the child failed, reported through the error pipe.
enum class Stage : int {
  kSignals,
  kSetsid,
  kDeathSignal,
  kCgroup,
  kNetns,
  kLoopback,
  kUnshare,
  kPrivate,
  kOverlay,
  kStdio,
  kFds,
  kExec
};

const char* stage_name(Stage s) {
  switch (s) {
    case Stage::kSignals: return "reset signals";
    case Stage::kSetsid: return "setsid";
    case Stage::kDeathSignal: return "prctl(PR_SET_PDEATHSIG)";
    case Stage::kCgroup: return "join cgroup";
    case Stage::kNetns: return "unshare(CLONE_NEWNET)";
    case Stage::kLoopback: return "bring up lo";
    case Stage::kUnshare: return "unshare(CLONE_NEWNS)";
    case Stage::kPrivate: return "make mounts private";
    case Stage::kOverlay: return "mount overlay";
    case Stage::kStdio: return "dup2";
    case Stage::kFds: return "close_range";
    case Stage::kExec: return "execve";
  }
  return "?";
}

struct ChildFailure {
  Stage stage;
  int err;
};

// Everything the child reads, built before the fork: after it, only async-signal-safe calls.
struct ChildPlan {
  const char* program;
  char* const* argv;
  char* const* envp;
  int stdin_fd;
  int output_fd;
  int error_fd;
  pid_t parent;
  const int* cgroup_fds;
  std::size_t ncgroup_fds;
  const int* keep_fds;  // the args memfd and the pass fds: close-on-exec cleared
  std::size_t nkeep_fds;
  bool new_netns;              // SandboxSpec::Network::kPrivate
  const char* overlay_target;  // null: bwrap mounts the overlay itself
  const char* overlay_options;
  int max_fd;
};

[[noreturn]] void child_fail(const ChildPlan& p, Stage stage, int err) noexcept {
  const ChildFailure f{stage, err};
  [[maybe_unused]] auto n = ::write(p.error_fd, &f, sizeof f);
  ::_exit(127);
}

[[noreturn]] void child_main(const ChildPlan& p) noexcept {
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction sa {};
    sa.sa_handler = SIG_DFL;
    ::sigemptyset(&sa.sa_mask);
    ::sigaction(sig, &sa, nullptr);  // EINVAL for SIGKILL, SIGSTOP and glibc's own: expected
  }
  sigset_t empty;
  ::sigemptyset(&empty);
  if (::sigprocmask(SIG_SETMASK, &empty, nullptr) != 0) child_fail(p, Stage::kSignals, errno);
  if (::setsid() < 0) child_fail(p, Stage::kSetsid, errno);
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) child_fail(p, Stage::kDeathSignal, errno);
  if (::getppid() != p.parent) ::_exit(127);  // the parent died before the prctl: no one waits
  if (const int err = join_cgroup_fds(p.cgroup_fds, p.ncgroup_fds); err != 0) {
    child_fail(p, Stage::kCgroup, err);
  }
  if (p.new_netns) {
    if (::unshare(CLONE_NEWNET) != 0) child_fail(p, Stage::kNetns, errno);
    // Bringing lo up makes the kernel give it 127.0.0.1/8 and ::1 (what bwrap's
    // --unshare-net does over netlink).
    const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, "lo", 3);
    ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
    if (s < 0 || ::ioctl(s, SIOCSIFFLAGS, &ifr) != 0) child_fail(p, Stage::kLoopback, errno);
    ::close(s);
  }
  if (p.overlay_target != nullptr) {
    if (::unshare(CLONE_NEWNS) != 0) child_fail(p, Stage::kUnshare, errno);
    // Private first, or the overlay would propagate into the host's mount namespace.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      child_fail(p, Stage::kPrivate, errno);
    }
    if (::mount("overlay", p.overlay_target, "overlay", 0, p.overlay_options) != 0) {
      child_fail(p, Stage::kOverlay, errno);
    }
  }
  if (::dup2(p.stdin_fd, 0) < 0 || ::dup2(p.output_fd, 1) < 0 || ::dup2(p.output_fd, 2) < 0) {
    child_fail(p, Stage::kStdio, errno);
  }
  auto kept = [&p](int fd) {
    return std::find(p.keep_fds, p.keep_fds + p.nkeep_fds, fd) != p.keep_fds + p.nkeep_fds;
  };
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    if (errno != ENOSYS && errno != EINVAL) child_fail(p, Stage::kFds, errno);
    for (int fd = 3; fd < p.max_fd; ++fd) {
      if (fd != p.error_fd && !kept(fd)) ::close(fd);
    }
  }
  for (std::size_t i = 0; i < p.nkeep_fds; ++i) {
    if (::fcntl(p.keep_fds[i], F_SETFD, 0) != 0) child_fail(p, Stage::kFds, errno);
  }
  ::execve(p.program, p.argv, p.envp);
  child_fail(p, Stage::kExec, errno);
}

// `options`, NUL-terminated each, in a memfd at offset 0.
Result<UniqueFd> args_memfd(const std::vector<std::string>& options) {
  UniqueFd fd(exec::move_above_stdio(::memfd_create("kiln-bwrap-args", MFD_CLOEXEC)));
  if (!fd) return fail(errno_error(ErrorCode::kProcess, "memfd_create"));
  std::string data;
  for (const std::string& o : options) data.append(o).push_back('\0');
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(errno_error(ErrorCode::kProcess, "write the bwrap arguments"));
    done += static_cast<std::size_t>(n);
  }
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) return fail(errno_error(ErrorCode::kProcess, "lseek"));
  return fd;
}

}  // namespace

Result<pid_t> launch_sandbox(const LaunchRequest& req) {
  const SandboxSpec& spec = req.spec;
  if (auto r = check_spec(spec); !r) return fail(std::move(r.error()));
  const bool premount = spec.overlay_mounter == OverlayMounter::kLauncher;
  const bool new_netns = spec.network == SandboxSpec::Network::kPrivate;
  if (new_netns && ::geteuid() != 0) {
    return fail(ErrorCode::kPermission,
                "a sandbox's private network needs root; without root use --network none");
  }
  if (premount && ::geteuid() != 0) {
    return fail(ErrorCode::kPermission,
                "mounting the sandbox's overlay needs root; without root use bubblewrap >= 0.9");
  }
  for (int fd : req.pass_fds) {
    if (fd <= 2) return fail(ErrorCode::kInvalidArgument, "sandbox pass fds must be above 2");
  }
  for (const std::filesystem::path* dir : {&spec.rootfs, &spec.upper, &spec.work, &spec.merged}) {
    if (dir == &spec.merged && !premount) continue;
    std::error_code ec;
    if (!std::filesystem::is_directory(*dir, ec)) {
      return fail(ErrorCode::kNotFound, "sandbox directory does not exist: " + dir->string());
    }
  }

  // bwrap reads only options from --args: "--" and the command stay on the command line.
  const std::vector<std::string> full = bwrap_argv(spec);
  const auto command_start = full.end() - static_cast<std::ptrdiff_t>(spec.command.size() + 1);
  auto args = args_memfd({full.begin() + 1, command_start});
  if (!args) return fail(std::move(args.error()));
  std::vector<std::string> argv_s = {"bwrap", "--args", std::to_string(args->get())};
  argv_s.insert(argv_s.end(), command_start, full.end());
  std::vector<char*> argv;
  for (std::string& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  char* envp[] = {nullptr};  // bwrap needs none, and --clearenv sets the command's
  std::vector<int> keep = req.pass_fds;
  keep.push_back(args->get());
  const std::string options = "lowerdir=" + spec.rootfs.string() +
                              ",upperdir=" + spec.upper.string() + ",workdir=" + spec.work.string();
  const std::string target = spec.merged.string();

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return fail(errno_error(ErrorCode::kProcess, "pipe2"));
  UniqueFd err_r(exec::move_above_stdio(pipe_fds[0]));
  UniqueFd err_w(exec::move_above_stdio(pipe_fds[1]));
  if (!err_r || !err_w) return fail(errno_error(ErrorCode::kProcess, "fcntl(F_DUPFD_CLOEXEC)"));
  rlimit nofile{};
  const bool have_limit =
      ::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY;
  const ChildPlan plan{
      req.bwrap.c_str(),
      argv.data(),
      envp,
      req.stdin_fd,
      req.output_fd,
      err_w.get(),
      ::getpid(),
      req.cgroup_procs_fds.data(),
      req.cgroup_procs_fds.size(),
      keep.data(),
      keep.size(),
      new_netns,
      premount ? target.c_str() : nullptr,
      options.c_str(),
      have_limit ? static_cast<int>(std::min<rlim_t>(nofile.rlim_cur, 1 << 20)) : 65536};

  // fork, not spawn's vfork: once per build the page-table copy does not matter, and the child
  // changes its namespaces, which is simpler to reason about in a process of its own. Signals
  // stay blocked until the child has reset the handlers it inherited.
  sigset_t all, old;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  const pid_t pid = ::fork();
  if (pid == 0) child_main(plan);
  const int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  err_w.reset();
  if (pid < 0) {
    errno = fork_errno;
    return fail(errno_error(ErrorCode::kProcess, "fork"));
  }

  ChildFailure failure{};
  ssize_t n;
  do {
    n = ::read(err_r.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n == 0) return pid;  // execve closed the pipe: bwrap runs
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (n != static_cast<ssize_t>(sizeof failure)) {
    return fail(ErrorCode::kProcess, "start bwrap: the child failed before exec");
  }
  errno = failure.err;
  return fail(errno_error(ErrorCode::kProcess,
                          std::string(stage_name(failure.stage)) + " (start " + req.bwrap + ")"));
}

}  // namespace kiln::sandbox
