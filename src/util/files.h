// Small file helpers shared by every layer. All return Result and name the path on failure.
//
// The fd-relative ones (open_beneath and below) serve the artifact writers and the cache, which
// walk trees a build wrote. Every fd is opened O_CLOEXEC; every path a user influenced is opened
// relative to a root fd without following symlinks, so a tree that changes between collection
// and writing cannot redirect a read or a write outside its root.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "util/error.h"
#include "util/unique_fd.h"

namespace kiln {

// kNoFollow refuses a symlink as the last component (O_NOFOLLOW): for files in folders a build
// can write to, so a build cannot point kiln at a file of its choosing.
enum class FollowSymlinks { kYes, kNo };
[[nodiscard]] Result<std::string> read_file(const std::filesystem::path& path,
                                            FollowSymlinks follow = FollowSymlinks::kYes);

// Writes `content` to a temp file beside `path`, fsyncs it, and renames it over `path`, so a
// reader sees the old file or the new one, never a torn one.
[[nodiscard]] Result<void> write_file_atomic(const std::filesystem::path& path,
                                             const std::string& content, int mode = 0644);

// A random (version 4) UUID, from getrandom(2).
std::string make_uuid();

// 12 random hex digits, for temp names.
[[nodiscard]] Result<std::string> random_suffix();

// open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC).
[[nodiscard]] Result<UniqueFd> open_directory(const std::filesystem::path& path);

// Opens `rel` (relative, no symlinks expected in any component) beneath `root_fd`. Uses
// openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS); where the kernel lacks it, opens component by
// component with O_NOFOLLOW. O_CLOEXEC and O_NOFOLLOW are always added to `flags`.
// Errors: kPathEscape when a symlink or `..` is met (the tree changed since it was walked),
// kNotFound, kIo.
[[nodiscard]] Result<UniqueFd> open_beneath(int root_fd, std::string_view rel, int flags);

// fstatat(dir_fd, name, AT_SYMLINK_NOFOLLOW).
[[nodiscard]] Result<struct stat> lstat_at(int dir_fd, const char* name, const std::string& shown);

// readlinkat(dir_fd, name).
[[nodiscard]] Result<std::string> read_link_at(int dir_fd, const char* name,
                                               const std::string& shown);

// Creates every missing directory of `rel` beneath `root` (mode 0777 & ~umask), never following
// a symlink. Existing directories are fine; an existing non-directory is kIo.
[[nodiscard]] Result<void> make_dirs_beneath(const std::filesystem::path& root,
                                             std::string_view rel);

// fsync on a directory, so a rename inside it is durable.
[[nodiscard]] Result<void> fsync_directory(const std::filesystem::path& dir);

}  // namespace kiln
