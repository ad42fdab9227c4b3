// kiln run's source, artifact and cache flags, turned into the request's settings:
//   -s DIR | GIT-URL | s3://bucket/key.zip      the primary source (LOCAL, GIT or S3)
//   --secondary-source ID=DIR|GIT-URL|s3://...  secondary sources
//   --source-version REF, --secondary-source-version ID=REF, --git-clone-depth N,
//   --git-submodules                            as StartBuild's overrides
//   -a DIR | s3://bucket[/path]                 artifacts to a folder, or to S3
//   --cache NO_CACHE|LOCAL|S3, --cache-location bucket/prefix, --cache-mode MODE...,
//   --cache-dir DIR (LOCAL caches and git mirrors; default $XDG_CACHE_HOME/kiln or ~/.cache/kiln)
// Errors are usage errors (exit 2) naming the flag.
#pragma once

#include "engine/engine.h"
#include "run_options.h"
#include "util/error.h"

namespace kiln::app {

[[nodiscard]] Result<void> apply_run_sources(const RunOptions& o, engine::BuildRequest& req);

}  // namespace kiln::app
