// The host half of the container executors (sandbox, docker): an Executor that runs each command
// through kiln-agent inside the build's environment (exec/agent_protocol.h, docs/executors.md).
//
// A subclass only makes and destroys the environment: launch() starts it with the agent told to
// connect to a socket kiln listens on, destroy() removes everything. prepare() then waits for
// the agent, and run()/shutdown() are the same for every container executor.
//
// Layout inside the environment (CodeBuild's paths):
//   /codebuild/output/src<N>          the build's folder (BuildRequest::build_root), read-write:
//     src/                            CODEBUILD_SRC_DIR (or the user's folder, in place)
//     src_<id>/                       secondary sources
//     exec/                           hidden: an empty tmpfs over kiln's own files
//   /codebuild/output/tmp             the agent's scripts (inside the image's writable layer)
//   /codebuild/kiln/                  the socket kiln listens on (a short host folder)
//   /codebuild/bin/kiln-agent         the agent, read-only
//
// Thread safety: as Executor.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "exec/executor.h"
#include "util/unique_fd.h"

namespace kiln::exec {

struct Bind {
  std::filesystem::path host;
  std::filesystem::path inside;
  bool read_only = false;
};

// Where the build's host folders appear inside the environment.
struct ContainerLayout {
  std::filesystem::path build_root;           // host
  std::filesystem::path workspace;            // host; outside build_root when in place
  std::filesystem::path scratch;              // host; kiln's own files, hidden from the build
  std::filesystem::path root_inside;          // /codebuild/output/src<N>
  std::filesystem::path agent_host;           // the kiln-agent binary
  std::vector<std::filesystem::path> shared;  // PrepareRequest::shared_dirs

  static ContainerLayout make(const PrepareRequest& req, std::filesystem::path agent);

  std::filesystem::path workspace_inside() const { return root_inside / "src"; }
  std::filesystem::path hidden_inside() const { return root_inside / "exec"; }
  std::filesystem::path ipc_host;  // holds the socket; bound at ipc_inside()
  static std::filesystem::path ipc_inside() { return "/codebuild/kiln"; }
  static std::filesystem::path agent_inside() { return "/codebuild/bin/kiln-agent"; }
  static std::filesystem::path socket_inside() { return "/codebuild/kiln/agent.sock"; }
  static std::filesystem::path agent_scratch_inside() { return "/codebuild/output/tmp"; }

  // The mounts, in order (a later one may sit inside an earlier one); the hidden folder is a
  // tmpfs the executor adds itself.
  std::vector<Bind> binds() const;
  // `host` as the build sees it, or empty if it is not in the environment.
  std::filesystem::path map(const std::filesystem::path& host) const;
};

// kiln-agent beside this executable, or $KILN_AGENT.
[[nodiscard]] Result<std::filesystem::path> find_agent_binary();

class AgentExecutor : public Executor {
 public:
  AgentExecutor();
  ~AgentExecutor() override;
  AgentExecutor(const AgentExecutor&) = delete;
  AgentExecutor& operator=(const AgentExecutor&) = delete;

  [[nodiscard]] Result<std::filesystem::path> prepare(const PrepareRequest& req) final;
  [[nodiscard]] Result<CommandResult> run(const CommandRequest& req, const OutputFn& out,
                                          const CancelToken& cancel) final;
  void shutdown() final;
  std::vector<std::string> take_notes() override;
  std::filesystem::path map_path(const std::filesystem::path& host) const final;
  // The agent's root (/proc/<agent>/root, through the /proc/<agent> folder opened when it
  // connected, so a pid reused after the agent died can never name another process's root):
  // the sandbox's or the container's `/`, mounts inside it included. kProcess once the agent
  // has gone.
  [[nodiscard]] Result<UniqueFd> open_root() const final;

 protected:
  // Starts the environment; its agent must run `agent_inside() --connect socket_inside()`.
  [[nodiscard]] virtual Result<void> launch(const PrepareRequest& req,
                                            const ContainerLayout& layout) = 0;
  // False once the environment has died (checked while waiting for the agent).
  virtual bool alive() = 0;
  // Why the last command ended as it did, if the environment knows ("out of memory ...");
  // called after every command with a non-zero end.
  virtual std::string diagnose() { return {}; }
  // Removes everything launch() made; called once, from shutdown() or a failed prepare().
  virtual void destroy() = 0;

  void note(std::string line) { notes_.push_back(std::move(line)); }
  const ContainerLayout& layout() const { return layout_; }

 private:
  [[nodiscard]] Result<void> accept_agent(std::chrono::milliseconds limit);
  void close_connection();

  ContainerLayout layout_;
  std::vector<std::string> notes_;
  UniqueFd listen_fd_;
  UniqueFd conn_fd_;
  UniqueFd agent_proc_;  // /proc/<the agent's pid, from SO_PEERCRED>
  bool launched_ = false;
  bool shut_down_ = false;
};

}  // namespace kiln::exec
