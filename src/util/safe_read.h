// Reading a file whose name someone else chose (a buildspec named by a StartBuild caller or a
// source tree, `kiln lint -b`): regular files only, never more than a cap, and never blocking.
//
// A FIFO, a character device (/dev/zero, /dev/tty) or a directory is refused before any read,
// so neither a hang nor an unbounded allocation is possible; the file is opened O_NONBLOCK for
// the same reason (opening a FIFO for reading otherwise waits for a writer). A regular file
// larger than the cap is refused from its size, and a file that grows while it is read (or
// that reports size 0, as /proc files do) is refused once the cap is passed.
//
// read_file_beneath() resolves `rel` beneath `root` with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_MAGICLINKS) (https://man7.org/linux/man-pages/man2/openat2.2.html): `..` above
// `root`, an absolute path, and a symlink whose target leaves `root` all fail; symlinks that
// stay inside are followed. Where openat2 is missing (ENOSYS, or EPERM from a seccomp filter
// that does not know it) RootedPath resolves the path under the same rules and the result is
// opened with O_NOFOLLOW.
//
// Errors (the message names `shown`, or the path):
//   kNotFound         the file, or a folder on the way, does not exist
//   kPathEscape       the path leaves `root` (read_file_beneath only)
//   kInvalidArgument  not a regular file ("is a directory", "is a FIFO", "is a device"), or
//                     larger than `max_bytes` ("is larger than 1 MiB")
//   kIo               any other failed syscall
// Thread safety: no shared state beyond a flag remembering that openat2 is unavailable.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "util/error.h"

namespace kiln {

// `path` as the caller gave it; a symlink as the last component is followed.
[[nodiscard]] Result<std::string> read_regular_file(const std::filesystem::path& path,
                                                    std::uint64_t max_bytes);

// `rel` (relative, '/'-separated) beneath the directory `root`. `shown` names the file in
// messages (e.g. the path as the build sees it); "" = root / rel.
[[nodiscard]] Result<std::string> read_file_beneath(const std::filesystem::path& root,
                                                    std::string_view rel, std::uint64_t max_bytes,
                                                    const std::string& shown = "");

// "1 MiB", "512 KiB", "300 bytes": for the messages above and the documents that cite them.
std::string size_text(std::uint64_t bytes);

}  // namespace kiln
