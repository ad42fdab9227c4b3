// The private folder each `kiln run` build runs in ($TMPDIR/kiln-build-XXXXXX), one per member
// of a `kiln run --batch`. While a run lives it holds the flock of `<folder>.lock` beside the
// folder, so a later run can tell the folders of killed runs (kill -9, power loss) from live ones
// and sweep them.
// Thread safety: make_build_folder() and release() may run on any thread, for different folders.
#pragma once

#include <filesystem>

#include "util/error.h"
#include "util/unique_fd.h"

namespace kiln::app {

class BuildFolder {
 public:
  // A new empty folder in $TMPDIR, its lock held.
  [[nodiscard]] static Result<BuildFolder> make();
  const std::filesystem::path& path() const { return path_; }
  // Removes the folder (unless `keep`: it is then the user's, and no sweep takes it) and its
  // lock file.
  void release(bool keep);

 private:
  BuildFolder(std::filesystem::path path, UniqueFd lock)
      : path_(std::move(path)), lock_(std::move(lock)) {}
  std::filesystem::path path_;
  UniqueFd lock_;
};

// Removes the build folders of runs that were killed: those whose lock can be taken.
void sweep_build_folders();

}  // namespace kiln::app
