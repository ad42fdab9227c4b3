// One pass over a directory tree that matches every path against all include and exclude
// patterns at once (glob.h NFA states carried from parent to child), pruning directories that
// no include pattern can reach or that an exclude pattern covers entirely.
//
// What is reported: regular files, and symlinks according to the policy below. Directories,
// fifos, sockets and devices are never reported themselves.
//
// Symlinks (docs/artifacts.md "Symlinks"):
//   keep_symlinks (enable-symlinks: yes): a matching link is reported as a link, never
//     followed, if its target resolves inside the source root (dangling is fine).
//   otherwise: the link is followed if its target resolves inside the source root; a file is
//     reported with the link's path and the target's content, a directory is walked under the
//     link's path (a link back to one of its own ancestors is skipped).
//   A link whose target leaves the root is never followed nor kept: it is skipped, with a note.
//
// Thread safety: none needed; a walk owns everything it touches.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "artifacts/glob.h"
#include "util/error.h"

namespace kiln::artifacts {

struct WalkHit {
  std::string rel;          // path relative to the walked base, through link names as met
  std::string source_rel;   // relative to the source root, symlink-free (the link itself if kept)
  bool is_symlink = false;  // kept as a symlink
  std::string link_target;  // readlink text, when is_symlink
};

struct WalkResult {
  std::vector<WalkHit> hits;             // sorted by rel
  std::vector<std::size_t> per_pattern;  // hits per include pattern, same order as `include`
  std::vector<std::string> notes;        // agent log lines about skipped symlinks
};

struct WalkSpec {
  std::filesystem::path root;  // canonical source root; nothing outside it is read
  std::string base_rel;        // the base directory, relative to root, symlink-free
  const std::vector<Glob>* include = nullptr;
  const std::vector<Glob>* exclude = nullptr;
  bool keep_symlinks = false;
  // A directory that is never entered, by identity: the output directory when it lies inside
  // the source (kiln run --in-place), so old artifacts are not packed into new ones.
  std::optional<std::pair<dev_t, ino_t>> skip_dir;
};

// Errors: kIo when a directory cannot be read (permission denied is an error, not a skip, so an
// artifact is never silently incomplete); kPathEscape if the tree changes under the walk.
[[nodiscard]] Result<WalkResult> walk_tree(const WalkSpec& spec);

// Directories under `root` whose path relative to root matches `pattern` (base-directory
// globs). Symlinked directories count when they resolve inside root. Sorted.
struct DirMatch {
  std::string shown;     // the matched path as met ("my-build-1")
  std::string resolved;  // symlink-free, relative to root
};
[[nodiscard]] Result<std::vector<DirMatch>> match_directories(const std::filesystem::path& root,
                                                              const Glob& pattern);

}  // namespace kiln::artifacts
