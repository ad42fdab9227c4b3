// A path that a user supplied (buildspec base-directory, artifact name, file pattern prefix),
// resolved under a root directory it may never leave.
//
// Resolution walks the path one component at a time, the way the kernel would, but against the
// root: `..` may not climb above the root, absolute paths are rejected, and every symlink met on
// the way is read and its target resolved under the same rules, so a link to /etc or to
// ../../outside fails instead of being followed. Failures name the user's path and, when a
// symlink was the cause, the link.
//
// Errors:
//   kPathEscape       absolute path, `..` above the root, or a symlink whose target leaves it
//   kNotFound         a component does not exist (unless Options::allow_missing), or a
//                     non-final component is not a directory
//   kInvalidArgument  empty root, NUL byte, or more than 40 symlinks (a loop)
//   kIo               lstat/readlink/realpath failed for another reason
//
// The result is a snapshot: a process that changes the tree afterwards can invalidate it.
// Callers that then open the path should do so relative to root() without following symlinks
// (see artifacts/zip_writer.cpp, which uses openat2 RESOLVE_BENEATH).
// Thread safety: immutable after construction.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "util/error.h"

namespace kiln {

class RootedPath {
 public:
  struct Options {
    // Components that do not exist yet are accepted, lexically, from the first missing one on.
    // For output paths that are about to be created (artifact names with slashes).
    bool allow_missing = false;
    // When false a symlink in the last component is not followed: the result names the link.
    bool follow_final = true;
  };

  // `root` must be an existing directory; it is made canonical (realpath). `user_path` is
  // relative and '/'-separated; "" and "." name the root itself.
  [[nodiscard]] static Result<RootedPath> resolve(const std::filesystem::path& root,
                                                  std::string_view user_path);
  [[nodiscard]] static Result<RootedPath> resolve(const std::filesystem::path& root,
                                                  std::string_view user_path, Options options);

  // The canonical root.
  const std::filesystem::path& root() const { return root_; }
  // The resolved path relative to root(): no `.`/`..`, no symlinks in the components that
  // exist. Empty for the root itself.
  const std::string& relative() const { return relative_; }
  // root() / relative().
  std::filesystem::path absolute() const;
  // False when allow_missing accepted a component that does not exist.
  bool exists() const { return exists_; }

 private:
  RootedPath(std::filesystem::path root, std::string relative, bool exists)
      : root_(std::move(root)), relative_(std::move(relative)), exists_(exists) {}

  std::filesystem::path root_;
  std::string relative_;
  bool exists_ = true;
};

}  // namespace kiln
