// Makes the fresh copy of the source tree that a build runs in (docs/reference/design.md §3.1), so
// the user's tree is never changed unless --in-place is given.
//
// Strategies, tried in order for kAuto: reflink (FICLONE; copy-on-write, O(metadata)) per file,
// else an in-kernel copy (copy_file_range) spread over worker threads. kHardlink is opt-in only:
// it is the cheapest, but a build that edits a file in place edits the user's file too.
#pragma once

#include <cstdint>
#include <filesystem>

#include "util/error.h"

namespace kiln::workspace {

enum class CopyMode { kAuto, kReflink, kCopy, kHardlink };

struct CopyStats {
  std::uint64_t files = 0;
  std::uint64_t dirs = 0;
  std::uint64_t symlinks = 0;
  std::uint64_t bytes = 0;
  std::uint64_t reflinked = 0;  // files cloned rather than copied
  std::uint64_t hardlinked = 0;
  std::uint64_t skipped = 0;  // sockets, fifos and devices, which are not copied
};

// Copies the tree at `source` into `dest` (which must not exist; its parent must). Keeps
// modes, mtimes and symlinks (never follows them). Special files (sockets, fifos, devices) are
// skipped. On failure `dest` may be partly written; the caller removes it.
[[nodiscard]] Result<CopyStats> copy_tree(const std::filesystem::path& source,
                                          const std::filesystem::path& dest,
                                          CopyMode mode = CopyMode::kAuto, unsigned threads = 0);

}  // namespace kiln::workspace
