#include "sandbox/netns.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <sstream>
#include <utility>
#include <vector>

#include "exec/spawn.h"
#include "util/unique_fd.h"

namespace kiln::sandbox {
namespace {

using Clock = std::chrono::steady_clock;

// Waits until `fd` is readable or `deadline`; false on timeout.
Result<bool> wait_readable(int fd, Clock::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return fail(errno_error(ErrorCode::kIo, "poll"));
  }
}

bool loopback_address(const std::string& addr) {
  return addr.rfind("127.", 0) == 0 || addr == "::1" || addr == "0.0.0.0" || addr == "::";
}

}  // namespace

std::optional<std::string> slirp4netns_path() {
  if (const char* env = std::getenv("KILN_SLIRP4NETNS"); env != nullptr && *env != '\0') {
    return env;
  }
  if (::access("/usr/bin/slirp4netns", X_OK) == 0) return "/usr/bin/slirp4netns";
  return std::nullopt;
}

Result<UserNet> UserNet::start(const SlirpOptions& o) {
  if (o.program.empty() || ::access(o.program.c_str(), X_OK) != 0) {
    return fail(ErrorCode::kNotFound,
                "slirp4netns not found: the sandbox's private network needs it (apt-get install "
                "slirp4netns), or use --network none");
  }
  int ready[2], exit_pipe[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return fail(errno_error(ErrorCode::kProcess, "pipe2"));
  UniqueFd ready_r(ready[0]), ready_w(ready[1]);
  if (::pipe2(exit_pipe, O_CLOEXEC) != 0) return fail(errno_error(ErrorCode::kProcess, "pipe2"));
  UniqueFd exit_r(exit_pipe[0]), exit_w(exit_pipe[1]);
  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  UniqueFd log(::open(o.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!devnull || !log) return fail(errno_error(ErrorCode::kIo, "open " + o.log.string()));

  // slirp4netns sees fds 0-2 and 3 (ready) and 4 (exit) only: posix_spawn's dup2 clears
  // close-on-exec on the copies, every other fd of ours is O_CLOEXEC.
  std::vector<std::string> args = {o.program,      "--configure", "--mtu=65520",
                                   "--ready-fd=3", "--exit-fd=4", "--enable-seccomp"};
  if (!o.host_loopback) args.push_back("--disable-host-loopback");
  args.push_back(std::to_string(o.netns_pid));
  args.push_back("tap0");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  char* envp[] = {nullptr};

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  ::posix_spawn_file_actions_init(&fa);
  ::posix_spawnattr_init(&attr);
  ::posix_spawn_file_actions_adddup2(&fa, devnull.get(), 0);
  ::posix_spawn_file_actions_adddup2(&fa, log.get(), 1);
  ::posix_spawn_file_actions_adddup2(&fa, log.get(), 2);
  ::posix_spawn_file_actions_adddup2(&fa, ready_w.get(), 3);
  ::posix_spawn_file_actions_adddup2(&fa, exit_r.get(), 4);
  sigset_t none, all;
  ::sigemptyset(&none);
  ::sigfillset(&all);
  ::posix_spawnattr_setsigmask(&attr, &none);
  ::posix_spawnattr_setsigdefault(&attr, &all);
  // Its own process group: a signal meant for Kiln's terminal does not reach it.
  ::posix_spawnattr_setpgroup(&attr, 0);
  ::posix_spawnattr_setflags(
      &attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, o.program.c_str(), &fa, &attr, argv.data(), envp);
  ::posix_spawn_file_actions_destroy(&fa);
  ::posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    errno = rc;
    return fail(errno_error(ErrorCode::kProcess, "start " + o.program));
  }
  UserNet net;
  net.pid_ = pid;
  net.exit_fd_ = exit_w.release();
  ready_w.reset();

  // slirp4netns writes "1" once tap0 is up and configured; EOF means it exited first.
  auto readable = wait_readable(ready_r.get(), Clock::now() + o.ready_limit);
  if (!readable) return fail(std::move(readable.error()));
  if (!*readable) {
    return fail(ErrorCode::kTimeout, "slirp4netns was not ready within " +
                                         std::to_string(o.ready_limit.count()) + " ms");
  }
  char c = 0;
  ssize_t n;
  do {
    n = ::read(ready_r.get(), &c, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) {
    return fail(ErrorCode::kProcess,
                "slirp4netns failed to set up the sandbox's network (see " + o.log.string() + ")");
  }
  return net;
}

UserNet::UserNet(UserNet&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), exit_fd_(std::exchange(other.exit_fd_, -1)) {}

UserNet& UserNet::operator=(UserNet&& other) noexcept {
  if (this != &other) {
    stop();
    pid_ = std::exchange(other.pid_, -1);
    exit_fd_ = std::exchange(other.exit_fd_, -1);
  }
  return *this;
}

UserNet::~UserNet() {
  stop();
}

void UserNet::stop() {
  if (exit_fd_ >= 0) {
    ::close(exit_fd_);
    exit_fd_ = -1;
  }
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
}

std::string slirp_resolv_conf(const std::string& host_resolv_conf) {
  std::istringstream in(host_resolv_conf);
  std::string line, servers, rest;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key, value;
    words >> key >> value;
    if (key == "nameserver" && !value.empty() && !loopback_address(value)) {
      servers += "nameserver " + value + "\n";
    } else if (key == "search" || key == "domain" || key == "options") {
      rest += line + "\n";
    }
  }
  if (servers.empty()) servers = "nameserver 10.0.2.3\n";
  return servers + rest;
}

}  // namespace kiln::sandbox
