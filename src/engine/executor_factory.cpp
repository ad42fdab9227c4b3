#include "engine/executor_factory.h"

#include <cctype>

#include "exec/compute.h"
#include "exec/process_executor.h"
#include "executors/docker_executor.h"
#include "executors/sandbox_executor.h"
#include "image/store.h"
#include "sandbox/cgroup.h"

namespace kiln::engine {

std::filesystem::path image_dir_of(const BuildRequest& req) {
  return req.image_dir.empty() ? image::default_image_dir() : req.image_dir;
}

Result<std::unique_ptr<exec::Executor>> make_executor(const BuildRequest& req) {
  if (req.executor_name == "process") return std::make_unique<exec::ProcessExecutor>();
  auto limits = exec::compute_limits(req.compute_type);
  if (!limits) return fail(ErrorCode::kInvalidArgument, "unknown compute type " + req.compute_type);
  if (req.executor_name == "sandbox") {
    executors::SandboxExecutorOptions o;
    o.privileged = req.privileged_mode;
    o.image_dir = image_dir_of(req);
    o.network = req.network_mode.empty() ? "host" : req.network_mode;
    o.limits = *limits;
    o.compute_type = req.compute_type;
    return std::make_unique<executors::SandboxExecutor>(std::move(o));
  }
  if (req.executor_name == "docker") {
    executors::DockerExecutorOptions o;
    o.image_dir = image_dir_of(req);
    o.network = req.network_mode.empty() ? "bridge" : req.network_mode;
    if (o.network != "bridge" && o.network != "none" && o.network != "host")
      return fail(ErrorCode::kInvalidArgument,
                  "network must be bridge, none or host, not " + o.network);
    o.privileged = req.privileged_mode;
    o.limits = *limits;
    o.compute_type = req.compute_type;
    // CodeBuild keeps Docker's layers only for privileged builds, whose inner daemon uses them.
    if (req.cache.type == "LOCAL" && req.cache.has_mode("LOCAL_DOCKER_LAYER_CACHE") &&
        req.privileged_mode && !req.cache.local_root.empty()) {
      const std::string ns =
          req.cache.namespace_name.empty() ? req.identity.project : req.cache.namespace_name;
      std::string name = "kiln-docker-layers-";
      for (char c : ns) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      o.layer_cache_volume = name;
      o.layer_cache_lock = req.cache.local_root / "docker" / (name + ".lock");
    }
    return std::make_unique<executors::DockerExecutor>(std::move(o));
  }
  return fail(ErrorCode::kInvalidArgument,
              "unknown executor " + req.executor_name + " (process, sandbox or docker)");
}

std::vector<std::string> sweep_leftovers(const std::string& executor_name) {
  std::vector<std::string> lines;
  if (executor_name == "sandbox") {
    auto n = sandbox::sweep_leftover_cgroups();
    if (!n)
      lines.push_back("could not remove leftover sandbox cgroups: " + n.error().describe());
    else if (*n > 0)
      lines.push_back("removed " + std::to_string(*n) + " leftover sandbox cgroup(s)");
  }
  if (executor_name == "docker") {
    auto n = executors::sweep_leftover_containers();
    if (!n)
      lines.push_back("could not remove leftover containers: " + n.error().describe());
    else if (*n > 0)
      lines.push_back("removed " + std::to_string(*n) + " leftover container(s)");
  }
  return lines;
}

}  // namespace kiln::engine
