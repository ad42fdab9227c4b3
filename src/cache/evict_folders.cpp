// evict_folders(): LOCAL caches on this host, one unit per folder under a root (build_cache.h).
#include <algorithm>
#include <chrono>
#include <vector>

#include "cache/build_cache.h"
#include "util/unique_fd.h"

namespace kiln::cache {

namespace fs = std::filesystem;

namespace {

struct Unit {
  fs::path path;
  std::uint64_t bytes = 0;
  double used = 0;  // epoch seconds: the folder's mtime, touched at each use
};

std::uint64_t folder_bytes(const fs::path& dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec),
       end;
       !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) total += it->file_size(ec);
  }
  return total;
}

double mtime_of(const fs::path& p) {
  std::error_code ec;
  const auto t = fs::last_write_time(p, ec);
  if (ec) return 0;
  const auto sys = std::chrono::file_clock::to_sys(t);
  return std::chrono::duration<double>(sys.time_since_epoch()).count();
}

// Removes `u` unless a build holds its lock; true when removed.
Result<bool> remove_unless_locked(const Unit& u) {
  auto lock = try_lock_file(u.path.string() + ".lock");
  if (!lock) return fail(std::move(lock.error()));
  if (!*lock) return false;  // in use: kept
  std::error_code ec;
  fs::remove_all(u.path, ec);
  if (ec) return fail(ErrorCode::kIo, "remove " + u.path.string() + ": " + ec.message());
  return true;
}

}  // namespace

Result<std::size_t> evict_folders(const fs::path& root, std::uint64_t max_bytes,
                                  std::chrono::seconds max_age, double now) {
  if (max_bytes == 0 && max_age.count() == 0) return 0;
  std::vector<Unit> units;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec) || it->is_symlink(ec)) continue;
    units.push_back({it->path(), folder_bytes(it->path()), mtime_of(it->path())});
  }
  if (ec && ec != std::errc::no_such_file_or_directory)
    return fail(ErrorCode::kIo, "list " + root.string() + ": " + ec.message());
  std::size_t removed = 0;
  std::vector<Unit> kept;
  const auto age_limit = static_cast<double>(max_age.count());
  for (Unit& u : units) {
    bool gone = false;
    if (age_limit > 0 && now - u.used > age_limit) {
      auto r = remove_unless_locked(u);
      if (!r) return fail(std::move(r.error()));
      gone = *r;
    }
    if (gone)
      ++removed;
    else
      kept.push_back(std::move(u));
  }
  if (max_bytes == 0) return removed;
  std::uint64_t total = 0;
  for (const Unit& u : kept) total += u.bytes;
  std::sort(kept.begin(), kept.end(), [](const Unit& a, const Unit& b) {
    return a.used != b.used ? a.used < b.used : a.path < b.path;
  });
  for (const Unit& u : kept) {
    if (total <= max_bytes) break;
    auto r = remove_unless_locked(u);
    if (!r) return fail(std::move(r.error()));
    if (*r) {
      total -= u.bytes;
      ++removed;
    }
  }
  return removed;
}

}  // namespace kiln::cache
