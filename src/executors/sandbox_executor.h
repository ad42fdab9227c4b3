// The sandbox executor (docs/executors.md): each build runs in bubblewrap, without a daemon, on
// an overlay of a curated image's rootfs, in namespaces of its own (mount, pid, ipc, uts, net
// with --network none, user when Kiln is not root) and in a cgroup sized by its compute type.
//
// The build sees the image (read-only below its own writable layer), its build folder and the
// agent; not the host's files, other builds, Kiln's data folder or host processes. Its
// processes die with Kiln (bwrap --die-with-parent, the launcher's parent-death signal), and the
// overlay mount lives only in the sandbox's mount namespace, so a killed Kiln leaves only an
// empty cgroup and the build folder, which the next start removes (sweep_leftover_cgroups(), and
// kiln run's sweep of build folders whose lock nobody holds).
//
// Networks: "host" (the default: the build has the host's network, as a CodeBuild build has a
// network) or "none" (a network namespace with only loopback). There is no bridge: that needs
// a daemon to own the bridge and NAT, which is what the docker executor is for.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

#include "exec/agent_executor.h"
#include "exec/compute.h"
#include "sandbox/cgroup.h"

namespace kiln::executors {

struct SandboxExecutorOptions {
  std::filesystem::path image_dir;  // the curated image store
  std::string network = "host";     // host | none
  exec::ComputeLimits limits;
  std::string compute_type;  // for messages
  bool privileged = false;   // refused in PROVISIONING: a sandbox cannot run a Docker daemon
};

class SandboxExecutor final : public exec::AgentExecutor {
 public:
  explicit SandboxExecutor(SandboxExecutorOptions options);
  ~SandboxExecutor() override;

  std::optional<exec::EnvMap> image_environment() const override { return image_env_; }

 private:
  [[nodiscard]] Result<void> launch(const exec::PrepareRequest& req,
                                    const exec::ContainerLayout& layout) override;
  bool alive() override;
  std::string diagnose() override;
  void destroy() override;

  SandboxExecutorOptions options_;
  std::optional<sandbox::Cgroup> cgroup_;
  std::uint64_t oom_seen_ = 0;
  pid_t pid_ = -1;
  int status_ = 0;
  bool exited_ = false;
  std::filesystem::path overlay_;  // upper, work and merged, hidden from the build
  std::filesystem::path log_;      // bwrap's and the agent's own stderr
  std::optional<exec::EnvMap> image_env_;
};

}  // namespace kiln::executors
