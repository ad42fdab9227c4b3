// The scheduler's one side effect on processes, behind a narrow interface so the scheduler is
// tested without starting `kiln worker` (ninja's CommandRunner / FakeCommandRunner): start a
// process whose stdout and stderr come back through a pipe, signal it, reap it.
//
// Ownership: the caller owns each started process and must wait() for it exactly once; it owns
// the returned read end of the pipe. Thread safety: every member may be called from any thread,
// for different processes at once.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "util/error.h"
#include "util/unique_fd.h"

namespace kiln::server {

struct StartedProcess {
  pid_t pid = -1;
  UniqueFd output;  // the read end of the process's stdout and stderr
};

class ProcessStarter {
 public:
  virtual ~ProcessStarter() = default;
  // Starts argv[0] with `argv`, stdin from /dev/null, stdout and stderr into one pipe. kProcess
  // when it cannot be started (nothing is left running then).
  [[nodiscard]] virtual Result<StartedProcess> start(const std::vector<std::string>& argv) = 0;
  // Sends `sig` to the process. kProcess when it cannot be (the process is already reaped).
  [[nodiscard]] virtual Result<void> signal(pid_t pid, int sig) = 0;
  // Blocks until the process ends, reaps it: its waitpid status. kProcess when waitpid fails.
  [[nodiscard]] virtual Result<int> wait(pid_t pid) = 0;
};

// The real one: exec::spawn_process (its own process group, no inherited fds) with the server's
// environment, kill(2) and waitpid(2).
std::unique_ptr<ProcessStarter> make_process_starter();

// "exit status 3", "signal 9": a waitpid status in words, for build contexts and the log.
std::string describe_wait_status(int status);

}  // namespace kiln::server
