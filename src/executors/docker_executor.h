// The docker executor (docs/executors.md): each build runs in a container made from its image,
// through the Docker Engine API (docker_client.h), with kiln-agent as the container's command.
//
// - Image: curated names (and the CodeBuild names mapped to them) come from the image store,
//   built with mmdebstrap on first use and loaded with `docker import`; any other image is used
//   if the daemon has it and pulled if not (ImagePull::kMissing), or pulled every time
//   (kAlways, CodeBuild's own behaviour on fresh hosts). A failed pull is kNotFound, which the
//   engine reports as BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE.
// - Limits: the compute type's memory (swap included) and CPUs, and a pids limit.
// - privilegedMode: a privileged container in which the build runs its own Docker daemon (the
//   inner-daemon choice, as on CodeBuild): builds cannot see each other's containers or the
//   host's, at the cost of a privileged container. kiln/docker holds dockerd.
// - Cleanup: every container carries kiln.owner-pid and kiln.boot-id labels; shutdown removes
//   it with its anonymous volumes, and sweep_leftover_containers() removes those whose owner
//   died (kill -9 of kiln) at the next start.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "docker/docker_client.h"
#include "exec/agent_executor.h"
#include "exec/compute.h"
#include "util/unique_fd.h"

namespace kiln::executors {

enum class ImagePull { kMissing, kAlways };

struct DockerExecutorOptions {
  std::string socket;               // "" = DOCKER_HOST or /var/run/docker.sock
  std::filesystem::path image_dir;  // the curated image store
  std::string network = "bridge";   // bridge | none | host
  bool privileged = false;
  exec::ComputeLimits limits;
  std::string compute_type;  // for messages
  ImagePull pull = ImagePull::kMissing;
  // LOCAL_DOCKER_LAYER_CACHE: a named volume kept as the inner daemon's /var/lib/docker between
  // a project's builds, one build at a time (the lock file); "" = none.
  std::string layer_cache_volume;
  std::filesystem::path layer_cache_lock;
};

class DockerExecutor final : public exec::AgentExecutor {
 public:
  explicit DockerExecutor(DockerExecutorOptions options);
  ~DockerExecutor() override;

  std::optional<exec::EnvMap> image_environment() const override { return image_env_; }

 private:
  [[nodiscard]] Result<void> launch(const exec::PrepareRequest& req,
                                    const exec::ContainerLayout& layout) override;
  bool alive() override;
  std::string diagnose() override;
  void destroy() override;

  // The image to run, present in the daemon; kNotFound when it cannot be had.
  [[nodiscard]] Result<std::string> ensure_image(const std::string& requested,
                                                 const exec::CancelToken* cancel);
  std::uint64_t oom_kills() const;

  DockerExecutorOptions options_;
  std::unique_ptr<docker::DockerClient> client_;
  std::string container_;
  int container_pid_ = 0;
  std::uint64_t oom_seen_ = 0;
  std::optional<exec::EnvMap> image_env_;
  UniqueFd layer_cache_lock_;
};

// Removes containers whose kiln.owner-pid is dead (or from an earlier boot). Returns how many.
[[nodiscard]] Result<std::size_t> sweep_leftover_containers(const std::string& socket = "");

}  // namespace kiln::executors
