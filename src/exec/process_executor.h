// Runs build commands as processes on the host (docs/reference/codebuild-semantics.md §2;
// docs/executors.md).
//
// Each command runs in a fresh shell (/bin/sh, or bash for env.shell bash) from a script written
// to the scratch folder; the shell starts from the CommandRequest's ShellState (cwd and the
// complete environment) and the state it leaves is captured into CommandResult::state. See
// shell_script.h for the script and for what does and does not carry over.
//
// Process hygiene: every shell is its own process group and a child subreaper, stdin is
// /dev/null, stdout and stderr share one pipe, no descriptor of ours is inherited, signals are at
// their defaults. The executor process itself is made a child subreaper by prepare(), so daemons
// of the build re-parent to it rather than to init. Processes are tracked by scanning /proc (see
// process_tree.h): a timeout or cancellation kills the command's whole tree, daemons included;
// background processes a command leaves running (`nohup x &`) keep running across commands, as in
// CodeBuild, and are killed by shutdown().
//
// CODEBUILD_LAST_EXIT is not set here: the engine knows every exit status and owns the state.
//
// Thread safety: one thread calls prepare(), run() and shutdown(); CancelToken::cancel() may be
// called from anywhere. The destructor calls shutdown().
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "exec/executor.h"
#include "exec/process_tree.h"
#include "exec/shell_script.h"
#include "exec/spawn.h"
#include "util/unique_fd.h"

namespace kiln::exec {

struct ProcessExecutorOptions {
  std::chrono::milliseconds kill_grace{2000};        // SIGTERM -> SIGKILL
  std::chrono::milliseconds scan_interval{250};      // /proc rescans while a command runs
  std::size_t tail_bytes = 8192;                     // CommandResult::tail
  std::size_t read_chunk = std::size_t{128} * 1024;  // one read() of output
};

class ProcessExecutor final : public Executor {
 public:
  explicit ProcessExecutor(ProcessExecutorOptions options = {});
  ~ProcessExecutor() override;
  ProcessExecutor(const ProcessExecutor&) = delete;
  ProcessExecutor& operator=(const ProcessExecutor&) = delete;

  // Checks the workspace, creates `scratch` (mode 0700), the output pipe, and makes this process
  // a subreaper. Returns the workspace as the initial cwd.
  [[nodiscard]] Result<std::filesystem::path> prepare(const PrepareRequest& req) override;

  [[nodiscard]] Result<CommandResult> run(const CommandRequest& req, const OutputFn& out,
                                          const CancelToken& cancel) override;

  // Kills every process of the build (SIGTERM, kill_grace, SIGKILL), removes the scratch folder.
  void shutdown() override;

 private:
  // Where a user's scripts and state files live: the scratch folder for the executor's own
  // user, or a folder owned by the run-as user inside it (which must be able to write there).
  struct RunDir {
    ScriptFiles files;
    UniqueFd ready_fd;  // FIFOs of the exit handshake, opened O_RDWR so opens never block
    UniqueFd ack_fd;
  };
  [[nodiscard]] Result<RunDir*> run_dir_for(const std::optional<UserIds>& user);
  // The shell's argv for `script`: `-c` and the text, or the path of a file holding it.
  [[nodiscard]] Result<std::vector<std::string>> shell_argv(const RunDir& dir,
                                                            const std::string& shell,
                                                            const std::string& script,
                                                            const std::optional<UserIds>& user);

  struct Outcome;
  [[nodiscard]] Result<Outcome> supervise(pid_t shell, int pidfd, RunDir& dir,
                                          const CommandRequest& req, const OutputFn& out,
                                          const CancelToken& cancel, std::string& tail,
                                          std::string& state);
  // Reads what the output pipe holds now (up to `limit` bytes), passing it on.
  void read_output(const OutputFn& out, std::string& tail, std::size_t limit);
  // Records the shell's descendants (and the members of process group `group`, if not 0), the
  // build's background processes, and reaps their zombies.
  void rescan(ProcessSet& command, pid_t shell, pid_t group = 0);
  void close_fds();

  ProcessExecutorOptions options_;
  bool prepared_ = false;
  bool subreaper_ = false;
  std::filesystem::path workspace_;
  std::filesystem::path scratch_;
  UniqueFd out_r_;  // build output pipe; the write end is kept so background writers never
  UniqueFd out_w_;  // hit EOF/EPIPE between commands
  UniqueFd devnull_;
  std::map<uid_t, RunDir> run_dirs_;
  ProcessSet background_;  // processes left running by finished commands
  std::size_t buf_size_;
  std::unique_ptr<char[]> buf_;
};

}  // namespace kiln::exec
