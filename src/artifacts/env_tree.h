// Files at absolute paths of a build's environment (an absolute `base-directory`, absolute
// `cache.paths`), read and written from the host through the environment's root
// (exec::Executor::open_root): the host's `/` under the process executor, the sandbox's or the
// container's own `/` otherwise (docs/executors.md "Absolute paths").
//
// Every path is resolved with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) beneath that
// root, so `..`, absolute symlinks and /proc magic links stay inside the environment, and every
// entry below it is opened relative to its parent's fd with O_NOFOLLOW: a build that swaps a
// folder for a symlink while kiln copies cannot point kiln at a host file (docs/security.md,
// "Absolute paths in the build's environment"). Symlinks are copied as symlinks, never
// followed; what they point at is decided later by whoever reads the copy (the artifact
// collector skips a link that leaves the copied folder).
//
// Errors: kNotFound (the path, or a folder on it, does not exist, or is not a folder),
// kInvalidArgument (not absolute), kIo. Needs openat2 (Linux 5.6); without it, kIo says so.
// Thread safety: none needed; each call owns its fds.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>

#include "util/error.h"
#include "util/unique_fd.h"

namespace kiln::artifacts {

struct TreeCopy {
  std::uint64_t files = 0;  // regular files and symlinks
  std::uint64_t bytes = 0;  // file content copied
};

// Opens `abs` ("/tmp/out") beneath `env_root` with `flags` (O_CLOEXEC added).
[[nodiscard]] Result<UniqueFd> open_in_root(int env_root, const std::string& abs, int flags);

// Copies the folder `abs` of the environment into `dest`, which must not exist (created 0700):
// folders, regular files (content, permission bits, mtime) and symlinks (their text); fifos,
// sockets and devices are left out. With `files_too`, an `abs` that is a regular file or a
// symlink (not a folder) is copied to `dest` as one; otherwise that is kNotFound.
[[nodiscard]] Result<TreeCopy> copy_out(int env_root, const std::string& abs,
                                        const std::filesystem::path& dest, bool files_too = false);

// The reverse, for restoring a cache: copies `src` (kiln's own, trusted: a folder, a file or a
// symlink) into the environment at `abs`, creating its missing folders. Folders merge; anything
// else already at a path (a file, a symlink, a folder where `src` has a file) is replaced,
// never written through: a symlink the build planted at a path is removed, not followed.
[[nodiscard]] Result<TreeCopy> copy_in(const std::filesystem::path& src, int env_root,
                                       const std::string& abs);

// An absolute path split before its first component with a wildcard (`*`, `?`, `[`), after
// lexical normalisation: {"/tmp/a", "b*/c"}; {"/tmp/a/b", ""} when it has none.
[[nodiscard]] std::pair<std::string, std::string> split_at_wildcard(const std::string& abs);

}  // namespace kiln::artifacts
