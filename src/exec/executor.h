// The executor interface: where build commands actually run (docs/reference/codebuild-semantics.md
// §2).
//
// One Executor instance serves one build. The engine calls prepare() once, then run() for each
// command in order, then shutdown() exactly once on every exit path. Implementations:
// ProcessExecutor (host, own process group, subreaper) and AgentExecutor here, and its sandbox
// and docker subclasses in executors/. A fake lives in tests/unit/engine/fake_executor.h.
//
// exec/ is the part kiln-agent compiles too (CMakeLists.txt): it may use only util/error and
// util/unique_fd, and no library but nlohmann/json and tl::expected. Executors that need more
// live in executors/.
//
// Shell state: in buildspec 0.2 the working directory and variables set by one command are seen
// by the next (emulated, as CodeBuild does, by capturing state after each command and restoring
// it before the next). In 0.1 each command starts from the initial state. The engine owns the
// state and passes it in; the executor reports the state the command left behind.
//
// Thread safety: run() is called from one thread; CancelToken::cancel() may be called from any
// thread or a signal handler.
#pragma once

#include <fcntl.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/error.h"
#include "util/unique_fd.h"

namespace kiln::exec {

using EnvMap = std::map<std::string, std::string>;

struct ShellState {
  std::filesystem::path cwd;  // as seen by the build (inside the container, for docker)
  EnvMap env;
};

// Async-signal-safe cancellation: cancel() writes one byte to a pipe that run() polls.
// Movable, but a token whose address was handed out (to a signal handler, an executor) must not
// be moved until they are done with it.
class CancelToken {
 public:
  // The token's pipe; an Error (kProcess, naming pipe2) when the process is out of descriptors.
  [[nodiscard]] static Result<CancelToken> create();

  void cancel() noexcept;  // async-signal-safe
  bool cancelled() const noexcept;
  int fd() const noexcept { return read_fd_.get(); }  // readable once cancelled

 private:
  CancelToken(UniqueFd read_fd, UniqueFd write_fd)
      : read_fd_(std::move(read_fd)), write_fd_(std::move(write_fd)) {}

  UniqueFd read_fd_;
  UniqueFd write_fd_;
};

struct PrepareRequest {
  std::string build_id;
  std::filesystem::path workspace;  // host path of the build's source copy
  std::filesystem::path scratch;    // host folder for the executor's own files (scripts, state)
  std::string image;                // ignored by the process executor
  // Host folders a container executor also shows the build, at the same path, read-write: the
  // per-path folders of the project's LOCAL_CUSTOM_CACHE, which the workspace links into (never
  // the namespace folder above them, where a build could plant a symlink: docs/cache.md).
  std::vector<std::filesystem::path> shared_dirs;
  // The build's cancellation, so that a stop or an interrupt also ends slow provisioning (a
  // curated image built on first use takes minutes). Not owned; null = not cancellable.
  const class CancelToken* cancel = nullptr;
};

struct CommandRequest {
  std::string text;                   // one buildspec list item, verbatim
  std::string shell = "sh";           // "sh" or "bash" (env.shell)
  ShellState state;                   // state the command starts from
  std::optional<std::string> run_as;  // Linux user; unset = the executor's default (root)
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

struct CommandResult {
  enum class End { kExited, kSignaled, kTimedOut, kCancelled };
  End end = End::kExited;
  int exit_code = 0;  // exit status, or the signal number when kSignaled
  ShellState state;   // state after the command (unchanged if it could not be captured)
  std::string tail;   // the last few KiB of output, for on-failure RETRY regexes
  // Set by an executor that knows why a command ended abnormally ("the build ran out of memory
  // ..."); the engine adds it to the phase context.
  std::string diagnosis;
};

// Receives command output as it is produced, in chunks that may split lines.
using OutputFn = std::function<void(std::string_view)>;

class Executor {
 public:
  virtual ~Executor() = default;

  // Creates the environment. The returned state's cwd maps `workspace` into the environment.
  // kNotFound means the image cannot be found or pulled (BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE).
  [[nodiscard]] virtual Result<std::filesystem::path> prepare(const PrepareRequest& req) = 0;

  // Lines for the build log about how the environment was made (image pulled, limits), taken
  // once after prepare().
  virtual std::vector<std::string> take_notes() { return {}; }

  // The environment the image itself defines (PATH, HOME, ...), when the executor has an image;
  // nullopt = the caller's BuildRequest::image_env stands.
  virtual std::optional<EnvMap> image_environment() const { return std::nullopt; }

  // Where a host path of the build's folder appears inside the environment (identity on the
  // host).
  virtual std::filesystem::path map_path(const std::filesystem::path& host) const { return host; }

  // The root directory of the build's environment as this host can reach it, for the absolute
  // paths a buildspec names outside the build folder (an absolute base-directory, absolute
  // cache.paths): an O_PATH directory fd. Callers resolve paths beneath it only with openat2
  // RESOLVE_IN_ROOT, so `..` and absolute symlinks stay in the environment (docs/security.md).
  // The default is the host's `/` (the process executor, which isolates nothing); executors
  // that isolate the build override it. Valid between prepare() and shutdown().
  [[nodiscard]] virtual Result<UniqueFd> open_root() const {
    UniqueFd fd(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return fail(errno_error(ErrorCode::kIo, "open /"));
    return fd;
  }

  // Runs one command to completion, deadline or cancellation. A non-zero exit is not an Error;
  // Error means the command could not be run at all (fork failed, script not writable, ...).
  [[nodiscard]] virtual Result<CommandResult> run(const CommandRequest& req, const OutputFn& out,
                                                  const CancelToken& cancel) = 0;

  // Kills every process the build started, including daemons that left the process group,
  // and releases everything prepare() made. Safe to call more than once.
  virtual void shutdown() = 0;
};

}  // namespace kiln::exec
