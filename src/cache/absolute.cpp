// Absolute cache.paths outside CODEBUILD_SRC_DIR, copied between the build's environment and
// a mirror folder on the host that the archive packs (internal.h, docs/cache.md).
#include <sys/stat.h>

#include <algorithm>
#include <system_error>

#include "artifacts/env_tree.h"
#include "cache/internal.h"

namespace kiln::cache::detail {

namespace fs = std::filesystem;

namespace {

bool inside(const std::string& path, const std::string& unit) {
  return path == unit || (path.size() > unit.size() && path.compare(0, unit.size(), unit) == 0 &&
                          path[unit.size()] == '/');
}

}  // namespace

AbsolutePaths absolute_units(const std::vector<std::string>& patterns, logs::LogSink& log) {
  AbsolutePaths out;
  std::vector<std::string> units;
  for (const std::string& p : patterns) {
    auto [unit, rest] = artifacts::split_at_wildcard(p);
    if (unit == "/") {
      log.agent_line("Skipping cache path " + p + ": it names the whole file system");
      continue;
    }
    out.patterns.push_back(p);
    units.push_back(unit);
  }
  // Outermost first: a unit inside another is copied with it.
  std::sort(units.begin(), units.end(),
            [](const std::string& a, const std::string& b) { return a.size() < b.size(); });
  for (const std::string& u : units) {
    bool covered = false;
    for (const std::string& kept : out.units) covered = covered || inside(u, kept);
    if (!covered) out.units.push_back(u);
  }
  return out;
}

Result<std::vector<std::string>> mirror_absolute(const AbsolutePaths& paths, int env_root,
                                                 const fs::path& mirror) {
  for (const std::string& unit : paths.units) {
    const fs::path dest = mirror / fs::path(unit).relative_path();
    std::error_code ec;
    fs::create_directories(dest.parent_path(), ec);
    if (ec)
      return fail(ErrorCode::kIo, "create " + dest.parent_path().string() + ": " + ec.message());
    auto copied = artifacts::copy_out(env_root, unit, dest, /*files_too=*/true);
    if (!copied && copied.error().code() != ErrorCode::kNotFound) {
      return fail(std::move(copied.error())
                      .with("while copying " + unit + " from the build's environment"));
    }
  }
  std::vector<std::string> rel;
  for (const std::string& p : paths.patterns)
    rel.push_back(fs::path(p).lexically_normal().relative_path().string());
  return rel;
}

Result<void> restore_absolute(const AbsolutePaths& paths, const fs::path& mirror, int env_root) {
  for (const std::string& unit : paths.units) {
    const fs::path src = mirror / fs::path(unit).relative_path();
    struct stat st {};
    if (::lstat(src.c_str(), &st) != 0) continue;  // not in this archive
    auto r = artifacts::copy_in(src, env_root, unit);
    if (!r) return fail(std::move(r.error()).with("while restoring " + unit));
  }
  return {};
}

}  // namespace kiln::cache::detail
