// Writes a FileList as a zip (libarchive) or as a plain folder (Packaging::kNone).
//
// Zip layout (docs/artifacts.md "Zip format"): one entry per FileList entry in FileList order
// (sorted by archive path), no directory entries, deflate at the given level; each entry keeps
// its file's permission bits (mode & 0777) and mtime (DOS time plus the UT extra field);
// symlink entries hold the link text. Names are UTF-8 with the language-encoding flag.
//
// Sources are opened beneath FileList::root with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS),
// so a tree that changed since collection (a file swapped for a symlink to /etc/shadow) fails
// the write instead of leaking the target. A file that shrinks while it is read is an error; one
// that grows is archived with the size it had when opened.
//
// Both writers are atomic: a zip is written to a temp file and renamed (output_file.h); a folder
// is assembled in a temp directory beside `dest` and renamed over it (replacing an old one).
// On error nothing is left at `dest` that was not there before.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "artifacts/collect.h"
#include "util/error.h"

namespace kiln::artifacts {

struct ZipOptions {
  int compression_level = 6;          // zlib level; 6 is Info-ZIP zip's default
  std::size_t buffer_size = 1 << 20;  // read and output block size
};

struct WriteResult {
  std::filesystem::path location;  // `dest`
  std::string sha256;              // hex, of the zip; empty for folders
  std::string md5;                 // hex, of the zip; empty for folders
  std::size_t file_count = 0;      // entries written (files and symlinks)
  std::uint64_t bytes = 0;         // size of the zip; total content bytes for folders
};

// `dest`'s parent directory must exist.
[[nodiscard]] Result<WriteResult> write_zip(const FileList& files,
                                            const std::filesystem::path& dest,
                                            const ZipOptions& options = {});

[[nodiscard]] Result<WriteResult> write_folder(const FileList& files,
                                               const std::filesystem::path& dest);

}  // namespace kiln::artifacts
