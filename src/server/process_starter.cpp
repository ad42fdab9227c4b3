#include "server/process_starter.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "exec/spawn.h"

extern char** environ;

namespace kiln::server {
namespace {

class SpawnProcessStarter final : public ProcessStarter {
 public:
  Result<StartedProcess> start(const std::vector<std::string>& argv) override {
    if (argv.empty()) return fail(ErrorCode::kInvalidArgument, "start a process: empty argv");
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return fail(errno_error(ErrorCode::kProcess, "pipe2"));
    UniqueFd read_end(fds[0]);
    UniqueFd write_end(fds[1]);
    UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!devnull) return fail(errno_error(ErrorCode::kProcess, "open /dev/null"));
    exec::SpawnRequest spawn;
    spawn.program = argv.front();
    spawn.argv = argv;
    for (char** e = environ; e && *e; ++e) spawn.env.emplace_back(*e);
    spawn.stdin_fd = devnull.get();
    spawn.output_fd = write_end.get();
    auto pid = exec::spawn_process(spawn);
    if (!pid) return fail(std::move(pid.error()));
    // Only the child writes now: the reader sees the end of the output when the child exits.
    return StartedProcess{*pid, std::move(read_end)};
  }

  Result<void> signal(pid_t pid, int sig) override {
    if (::kill(pid, sig) != 0)
      return fail(errno_error(ErrorCode::kProcess, "kill " + std::to_string(pid)));
    return {};
  }

  Result<int> wait(pid_t pid) override {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR)
        return fail(errno_error(ErrorCode::kProcess, "waitpid " + std::to_string(pid)));
    }
    return status;
  }
};

}  // namespace

std::unique_ptr<ProcessStarter> make_process_starter() {
  return std::make_unique<SpawnProcessStarter>();
}

std::string describe_wait_status(int status) {
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "exit status " + std::to_string(WEXITSTATUS(status));
}

}  // namespace kiln::server
