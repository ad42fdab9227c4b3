// Extracts an untrusted archive (an S3 source zip; also tar, tar.gz, tar.bz2, tar.xz, tar.zst)
// into a build's empty source folder, so that nothing outside that folder is ever created or
// changed, whatever the archive holds. The rules are in docs/sources.md "Untrusted archives".
//
// Files are written by kiln itself, not by archive_write_disk: each entry's path is normalised
// lexically, then opened component by component beneath a directory fd with O_NOFOLLOW, so an
// entry can neither climb out with `..` nor be written through a symlink an earlier entry made.
// Symlinks are created only when their target provably stays inside `dest`. Hard links, devices,
// fifos and sockets are refused. Sizes are counted from the bytes actually decompressed, never
// from headers, and extraction stops before the first block that would pass a limit.
//
// `max_ratio` (decompressed bytes / archive size) stops a bomb early, but a small archive of
// one very compressible file (a 10 MB log of repeated lines fits in 20 kB) is legitimate and
// harmless: so the ratio only binds once the decompressed bytes pass `ratio_floor_bytes`.
// The effective byte limit is min(max_total_bytes, max(ratio_floor_bytes, max_ratio x size)).
//
// Errors (messages name the archive and the entry, e.g. `/s/src.zip: entry "../x": ...`):
//   kPathEscape       an entry leaves `dest`: `..` above it, an absolute path, a symlink whose
//                     target leaves it, or an entry that would be written through a symlink
//   kInvalidArgument  a refused entry type (hard link, device, fifo, socket), an empty name, a
//                     duplicate entry, a limit passed, `dest` not empty, or a corrupt, truncated
//                     or unrecognised archive (libarchive's message)
//   kNotFound         `archive` or `dest` does not exist
//   kIo               any other failed syscall (the disk is full, ...)
// On error `dest` holds whatever was extracted so far; the caller removes it.
//
// Thread safety: no shared state; concurrent calls with different `dest` folders are safe.
#pragma once

#include <cstdint>
#include <filesystem>

#include "util/error.h"

namespace kiln::source {

struct ExtractLimits {
  std::uint64_t max_total_bytes = 8ULL << 30;     // sum of decompressed file bytes
  std::uint64_t max_entries = 1'000'000;          // every entry counts, skipped "." ones too
  std::uint64_t max_ratio = 200;                  // decompressed bytes / archive file size
  std::uint64_t ratio_floor_bytes = 64ULL << 20;  // max_ratio applies only past this many bytes
};

struct ExtractStats {
  std::uint64_t files = 0;
  std::uint64_t dirs = 0;  // folders created, whether listed in the archive or implied by a path
  std::uint64_t symlinks = 0;
  std::uint64_t bytes = 0;  // file content written
};

// `dest` must be an existing, empty folder. Files keep only their executable bit (0755 or 0644,
// no setuid, setgid or sticky) and their mtime; folders are 0755.
[[nodiscard]] Result<ExtractStats> extract_archive(const std::filesystem::path& archive,
                                                   const std::filesystem::path& dest,
                                                   const ExtractLimits& limits = {});

}  // namespace kiln::source
