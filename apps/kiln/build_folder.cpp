#include "build_folder.h"

#include <stdlib.h>

#include <string>

namespace kiln::app {

namespace fs = std::filesystem;

Result<BuildFolder> BuildFolder::make() {
  std::error_code ec;
  // temp_directory_path() honours TMPDIR.
  std::string root = (fs::temp_directory_path(ec) / "kiln-build-XXXXXX").string();
  if (ec || !::mkdtemp(root.data()))
    return fail(ErrorCode::kIo, "cannot create a build folder in " + root);
  auto lock = try_lock_file(root + ".lock");
  if (!lock) {
    fs::remove_all(root, ec);
    return tl::unexpected(std::move(lock.error()));
  }
  return BuildFolder(fs::path(root), std::move(*lock));
}

void BuildFolder::release(bool keep) {
  if (path_.empty()) return;
  std::error_code ec;
  if (!keep) fs::remove_all(path_, ec);
  fs::remove(fs::path(path_.string() + ".lock"), ec);
  lock_.reset();
  path_.clear();
}

// A folder without a lock file is a run that is just starting: left alone.
void sweep_build_folders() {
  std::error_code ec;
  const fs::path tmp = fs::temp_directory_path(ec);
  if (ec) return;
  for (const auto& e : fs::directory_iterator(tmp, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("kiln-build-", 0) != 0 || e.path().extension() != ".lock") continue;
    auto lock = try_lock_file(e.path());
    if (!lock || !*lock) continue;
    std::error_code rm;
    fs::remove_all(fs::path(e.path()).replace_extension(), rm);
    if (!rm) fs::remove(e.path(), rm);
  }
}

}  // namespace kiln::app
