// Makes the executor a build asks for (BuildRequest::executor_name), for `kiln run` and the
// server's workers alike, so both pick, limit and clean up environments the same way.
//
//   process  the host (exec/process_executor.h)
//   sandbox  bubblewrap + overlay on a curated image's rootfs + cgroups (sandbox/)
//   docker   the Docker Engine API (docker/)
//
// Image names are mapped to curated images here (image/catalog.h), and the compute type to
// limits (exec/compute.h). docs/executors.md.
#pragma once

#include <memory>
#include <string>

#include "engine/engine.h"
#include "exec/executor.h"
#include "util/error.h"

namespace kiln::engine {

// kInvalidArgument for an unknown executor, network mode or compute type.
//
// `build_user` (process executor only; the server sets it when it runs as root, docs/server.md
// "Executors"): commands run as that Linux user unless the buildspec names another run-as user,
// and never as root. Before each command, what root (the worker) wrote in the build's folder
// (the workspace, secondary sources, restored caches, its linked LOCAL_CUSTOM_CACHE folders) is
// handed to that user, so the build can write there and nowhere else in the server's data
// folder. kNotFound if the user does not exist.
[[nodiscard]] Result<std::unique_ptr<exec::Executor>> make_executor(
    const BuildRequest& req, const std::string& build_user = "");

// The name of the user process builds of a root server run as (created by the server with
// `useradd --system` if missing).
inline constexpr const char* kBuildUser = "kiln-build";

// Removes what a killed kiln left behind (sandbox cgroups and folders, containers), found by
// owner: only leftovers of processes that no longer run. Returns log lines saying what went.
std::vector<std::string> sweep_leftovers(const std::string& executor_name);

// The image store of a request: its image_dir, else image::default_image_dir().
std::filesystem::path image_dir_of(const BuildRequest& req);

}  // namespace kiln::engine
