// Small file helpers shared by every layer. All return Result and name the path on failure.
#pragma once

#include <filesystem>
#include <string>

#include "util/error.h"

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

}  // namespace kiln
