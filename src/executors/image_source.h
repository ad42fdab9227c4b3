// Where a container executor's image comes from (docs/images.md): the requested name is mapped to
// a curated image when CodeBuild names one (image/catalog.h), and a curated image missing from
// the store is built there on first use, as a registry image would be pulled.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "exec/executor.h"
#include "image/catalog.h"
#include "image/store.h"
#include "util/error.h"

namespace kiln::executors {

using NoteFn = std::function<void(std::string)>;

// The store's entry for curated `name`, building it if absent. A failed build is kNotFound (the
// image cannot be had: BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE), with the builder's reason; a build
// that `cancel` (may be null) ended is kCancelled.
[[nodiscard]] Result<image::ImageEntry> curated_entry(const std::filesystem::path& store_dir,
                                                      const std::string& name, const NoteFn& note,
                                                      const exec::CancelToken* cancel);

// The environment an image without its own gives a build: CodeBuild's HOME, Debian's PATH.
exec::EnvMap default_image_env();

}  // namespace kiln::executors
