// A root file system tree to and from a tar, with libarchive: image.tar is what `docker import`
// loads, and a rootless build gets its rootfs/ out of mmdebstrap's tar (builder.h).
//
// The tar is POSIX pax (ustar where it fits), entries named "./usr/bin/sh" under a "./" entry
// for the root, sorted, with numeric owners only: names would be looked up in the host's
// /etc/passwd, which is not the image's. Kept: modes, owners, mtimes, symlinks, hard links (as
// links to their first path), character and block devices, fifos. Dropped: sockets (tar cannot
// hold them) and extended attributes (no image needs them).
#pragma once

#include <cstdint>
#include <filesystem>

#include "util/error.h"

namespace kiln::image {

struct TarStats {
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;  // the tar file's size
};

// Writes the tree below `root` to `tar_path` (created 0644, replaced if present). Never follows
// a symlink. Errors name the file that could not be read or written.
[[nodiscard]] Result<TarStats> write_tar(const std::filesystem::path& root,
                                         const std::filesystem::path& tar_path);

// Unpacks `tar_path` into the existing folder `dest`. Owners are restored only when running as
// root; device nodes are skipped otherwise (an unprivileged user cannot make them). Entries
// that would land outside `dest` (absolute paths, "..", through a symlink) are refused
// (kPathEscape). Written by Kiln rather than archive_write_disk, whose ACL code would need
// libacl in the static link.
[[nodiscard]] Result<TarStats> extract_tar(const std::filesystem::path& tar_path,
                                           const std::filesystem::path& dest);

}  // namespace kiln::image
