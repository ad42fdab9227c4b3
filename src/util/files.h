// Small file helpers shared by every layer. All return Result and name the path on failure.
#pragma once

#include <filesystem>
#include <string>

#include "util/error.h"

namespace kiln {

[[nodiscard]] Result<std::string> read_file(const std::filesystem::path& path);

// Writes `content` to a temp file beside `path`, fsyncs it, and renames it over `path`, so a
// reader sees the old file or the new one, never a torn one.
[[nodiscard]] Result<void> write_file_atomic(const std::filesystem::path& path,
                                             const std::string& content, int mode = 0644);

// A random (version 4) UUID, from getrandom(2).
std::string make_uuid();

}  // namespace kiln
