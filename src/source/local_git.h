// Reads the commit a local git checkout is at, for CODEBUILD_RESOLVED_SOURCE_VERSION
// (docs/reference/codebuild-semantics.md §4.1). Reads .git directly (HEAD, loose refs, packed-refs,
// and the `gitdir:` file of worktrees and submodules) instead of starting a git process: it is on
// the path of every build, and git may not be installed.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace kiln::source {

struct GitHead {
  std::string commit;  // 40 hex digits
  std::string branch;  // "main" when HEAD is a branch; empty when detached
};

// nullopt when `dir` is not the top of a git checkout or HEAD cannot be resolved.
std::optional<GitHead> read_git_head(const std::filesystem::path& dir);

}  // namespace kiln::source
