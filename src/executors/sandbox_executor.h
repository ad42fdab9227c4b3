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
// Networks (docs/executors.md):
//   bridge         the default: a network namespace of its own with outbound access through
//                  slirp4netns (sandbox/netns.h), as a CodeBuild build has; the host's loopback
//                  (the Kiln API, a database on 127.0.0.1) is unreachable and the build's packet
//                  sockets see only its own traffic.
//   host-loopback  bridge, plus 10.0.2.2 reaching the host's 127.0.0.1: an explicit opt-in.
//   host           the host's network, without CAP_NET_RAW and CAP_NET_ADMIN.
//   none           a namespace with only loopback.
//
// Every build also runs under Docker's seccomp profile (sandbox/seccomp.h), with Docker's masked
// and read-only /proc paths (sandbox/bwrap.h), in a cgroup whose pids.max leaves the host room
// (sandbox/cgroup.h, build_pids()).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

#include "exec/agent_executor.h"
#include "exec/compute.h"
#include "sandbox/cgroup.h"
#include "sandbox/netns.h"

namespace kiln::executors {

struct SandboxExecutorOptions {
  std::filesystem::path image_dir;  // the curated image store
  std::string network = "bridge";   // bridge | host-loopback | host | none
  exec::ComputeLimits limits;
  std::string compute_type;  // for messages
  bool privileged = false;   // refused in PROVISIONING: a sandbox cannot run a Docker daemon
  unsigned max_builds = 0;   // builds that may run at once (kiln server --max-builds); 0: one
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
  std::optional<sandbox::UserNet> net_;  // the bridge network's slirp4netns
  std::uint64_t oom_seen_ = 0;
  pid_t pid_ = -1;
  int status_ = 0;
  bool exited_ = false;
  std::filesystem::path overlay_;  // upper, work and merged, hidden from the build
  std::filesystem::path log_;      // bwrap's and the agent's own stderr
  std::optional<exec::EnvMap> image_env_;
};

}  // namespace kiln::executors
