// linked_cache: LOCAL_CUSTOM_CACHE (docs/reference/codebuild-semantics.md §6.1), folders on this
// host that persist between builds of a project and are symlinked into each build's workspace.
//
// Layout: <root>/<encode_key(namespace)>/<encode_key(dir)> per cached folder, created on first
// use, and <root>/<encode_key(namespace)>.lock, flock'ed from restore() until save() or the
// object's destruction. A build that finds the lock held (a concurrent build of the project)
// goes on without the cache, as CodeBuild's best-effort local cache does.
//
// Each `cache.paths` entry names the folder given by its longest leading part without glob
// characters (`node_modules/**/*` -> node_modules); "Only directories can be specified for
// caching", so an entry without such a part, or naming a file, is skipped with a log line.
// What the source copy had at that path is removed and replaced by the link: cached items
// override source items, as CodeBuild's user guide says (the API reference says the opposite;
// §6.1 notes the conflict).
//
// `action` does not apply: a link is live, so there is nothing to restore or save separately.
//
// Escapes: the folder path must stay inside the workspace lexically (no `..`, absolute paths
// only under CODEBUILD_SRC_DIR), and no existing component of it may be a symlink (except a
// link this cache made, in a reused workspace), so the link can never be placed through one.
//
// The namespace folder's top level is kiln's: container executors mount only the per-path
// folders (CacheRequest::visible_folders), and whatever is found there that is not a real
// folder (a symlink to / that a process build put in place of a cached folder) is removed,
// never followed, before the folders are listed, linked or saved (docs/security.md).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <string>
#include <system_error>
#include <vector>

#include "artifacts/env_tree.h"
#include "cache/build_cache.h"
#include "cache/internal.h"
#include "util/files.h"
#include "util/string.h"
#include "workspace/workspace.h"

namespace kiln::cache {

namespace fs = std::filesystem;

namespace {

using Outcome = CacheReport::Outcome;

// The folder a path names, or "" when it has no wildcard-free leading part. nullopt when it
// climbs with `..`.
std::optional<std::string> leading_dir(const std::string& pattern) {
  std::string dir;
  for (const std::string_view part : split(pattern, '/', SplitMode::kSkipEmpty)) {
    if (part == ".") continue;
    if (part.find_first_of("*?[\\") != std::string_view::npos) break;
    if (part == "..") return std::nullopt;
    if (!dir.empty()) dir += '/';
    dir += part;
  }
  return dir;
}

// Removes every entry at the top of `ns_dir` that is not a real folder; never follows one.
void drop_non_folders(const fs::path& ns_dir, logs::LogSink* log) {
  std::error_code ec;
  for (fs::directory_iterator it(ns_dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code st;
    if (it->symlink_status(st).type() == fs::file_type::directory) continue;
    std::error_code rm;
    fs::remove(it->path(), rm);  // a symlink itself, not its target
    if (log != nullptr)
      log->agent_line("Removed " + it->path().filename().string() +
                      " from the cache: not a folder kiln made");
  }
}

// Opens `dir` beneath `workspace` as a folder, no symlink on the way; kiln's fd then names
// that exact folder whatever the build's processes rename meanwhile.
Result<UniqueFd> open_folder_beneath(const fs::path& workspace, const std::string& dir) {
  auto root = open_directory(workspace);
  if (!root) return fail(std::move(root.error()));
  return open_beneath(root->get(), dir, O_RDONLY | O_DIRECTORY);
}

class LinkedCache final : public BuildCache {
 public:
  explicit LinkedCache(fs::path root) : root_(std::move(root)) {}

  CacheReport restore(const CacheRequest& req, logs::LogSink& log) override {
    try {
      auto r = do_restore(req, log);
      if (r) return *r;
      return failed("restore", r.error().describe(), log);
    } catch (const std::exception& e) {
      return failed("restore", e.what(), log);
    }
  }

  CacheReport save(const CacheRequest& req, logs::LogSink& log) override {
    CacheReport report;
    if (!lock_) {
      report.detail = "no cached folders were linked";
      return report;
    }
    drop_non_folders(ns_dir_, &log);
    for (const std::string& dir : pending_) fill_new_folder(req, dir, log);
    for (const std::string& abs : absolute_) save_absolute(req, abs, log);
    lock_.reset();  // the links stay; another build may use the folders now
    report.outcome = Outcome::kSaved;
    report.files = linked_;
    log.agent_line("Cache saved: " + std::to_string(linked_) + " linked folder(s) kept in " +
                   ns_dir_.string());
    return report;
  }

 private:
  CacheReport failed(const char* what, const std::string& detail, logs::LogSink& log) {
    lock_.reset();
    CacheReport report;
    report.outcome = Outcome::kFailed;
    report.detail = detail;
    log.agent_line(std::string("Cache ") + what + " failed: " + detail);
    return report;
  }

  Result<CacheReport> do_restore(const CacheRequest& req, logs::LogSink& log);
  Result<bool> link_one(const CacheRequest& req, const std::string& dir, logs::LogSink& log);
  void fill_new_folder(const CacheRequest& req, const std::string& dir, logs::LogSink& log);
  // An absolute path outside CODEBUILD_SRC_DIR is the environment's own: its folder here is
  // copied into the environment at restore and refreshed from it at save (docs/cache.md).
  // Returns "hit", "miss" (a folder new to the namespace) or "" (skipped).
  Result<std::string> restore_absolute(const CacheRequest& req, const std::string& pattern,
                                       logs::LogSink& log);
  void save_absolute(const CacheRequest& req, const std::string& abs, logs::LogSink& log);

  fs::path root_;
  // Folders created for paths new to the namespace under an isolating executor: not linked in
  // this build (its environment cannot see them), filled from the workspace at save.
  std::vector<std::string> pending_;
  std::vector<std::string> absolute_;  // the environment's folders to save, "/root/.m2"
  fs::path ns_dir_;
  UniqueFd lock_;
  std::uint64_t linked_ = 0;
};

Result<CacheReport> LinkedCache::do_restore(const CacheRequest& req, logs::LogSink& log) {
  CacheReport report;
  if (req.spec.paths.empty()) {
    report.detail = "no paths specified to be cached";
    log.agent_line("Skip cache due to: " + report.detail);
    return report;
  }
  const detail::Budget budget(req.timeout);
  const std::string ns = encode_key(req.namespace_name.empty() ? "default" : req.namespace_name);
  ns_dir_ = linked_cache_dir(root_, req.namespace_name);
  std::error_code ec;
  fs::create_directories(ns_dir_, ec);
  if (ec) return fail(ErrorCode::kIo, "create " + ns_dir_.string() + ": " + ec.message());
  const fs::path lock_path = root_ / (ns + ".lock");
  auto lock = try_lock_file(lock_path);
  if (!lock) return fail(std::move(lock.error()));
  if (!*lock) {
    report.detail = "the local cache is in use by another build of this project";
    log.agent_line("Skip cache due to: " + report.detail);
    return report;
  }
  lock_ = std::move(*lock);
  // Last use, for evict_folders(): the folder's mtime.
  fs::last_write_time(ns_dir_, fs::file_time_type::clock::now(), ec);
  drop_non_folders(ns_dir_, &log);

  bool reused = false;
  std::string shown;
  for (const std::string& p : req.spec.paths) {
    auto rel = detail::workspace_relative(p, req.build_src_dir);
    if (!rel && req.open_environment_root) {
      auto done = restore_absolute(req, p, log);
      if (!done) return fail(std::move(done.error()));
      if (!done->empty()) {
        reused = reused || *done == "hit";
        shown += (shown.empty() ? "" : ", ") + p;
        ++linked_;
      }
      continue;
    }
    if (!rel) {
      log.agent_line("Skipping cache path " + p +
                     ": absolute paths outside CODEBUILD_SRC_DIR are not cached here");
      continue;
    }
    auto dir = leading_dir(*rel);
    if (!dir) {
      log.agent_line("Skipping cache path " + p + ": it leaves the workspace");
      continue;
    }
    if (dir->empty()) {
      log.agent_line("Skipping cache path " + p +
                     ": Only directories can be specified for caching");
      continue;
    }
    const fs::path cached = ns_dir_ / encode_key(*dir);
    const bool existed = fs::is_directory(fs::symlink_status(cached, ec));
    if (req.visible_folders && std::find(req.visible_folders->begin(), req.visible_folders->end(),
                                         cached) == req.visible_folders->end()) {
      // The environment was made before this folder existed, so it cannot see it: it is
      // filled at save, and linked from the next build on.
      fs::create_directory(cached, ec);
      if (ec) return fail(ErrorCode::kIo, "create " + cached.string() + ": " + ec.message());
      log.agent_line("Cache folder for " + *dir +
                     " created: it is filled when this build succeeds and used from the next");
      pending_.push_back(*dir);
      continue;
    }
    auto done = link_one(req, *dir, log);
    if (!done) return fail(std::move(done.error()));
    if (!*done) continue;
    reused = reused || existed;
    shown += (shown.empty() ? "" : ", ") + *dir;
    ++linked_;
  }
  report.files = linked_;
  report.seconds = budget.elapsed();
  if (linked_ == 0 && (!pending_.empty() || !absolute_.empty())) {
    report.outcome = Outcome::kMiss;
    report.detail = "cache folders created on first use";
    return report;
  }
  if (linked_ == 0) {
    report.outcome = Outcome::kSkipped;
    report.detail = "no folder to link";
    lock_.reset();
    return report;
  }
  report.outcome = reused ? Outcome::kHit : Outcome::kMiss;
  if (!reused) report.detail = "cache folders created on first use";
  log.agent_line(std::string(reused ? "Cache hit" : "Cache miss") + ": linked " + shown + " in " +
                 detail::human_seconds(report.seconds) + " from " + ns_dir_.string());
  return report;
}

// Links one folder. False (and a log line) when the path is refused.
Result<bool> LinkedCache::link_one(const CacheRequest& req, const std::string& dir,
                                   logs::LogSink& log) {
  const fs::path cached = ns_dir_ / encode_key(dir);
  // No existing component may be a symlink: the link would be placed (or the old content
  // removed) wherever it points.
  fs::path at = req.workspace;
  std::string walked;
  struct stat st {};
  for (const fs::path& part : fs::path(dir)) {
    at /= part;
    walked += (walked.empty() ? "" : "/") + part.string();
    if (::lstat(at.c_str(), &st) != 0) {
      if (errno == ENOENT) break;
      return fail(errno_error(ErrorCode::kIo, "stat " + at.string()));
    }
    const bool last = walked == dir;
    if (S_ISLNK(st.st_mode)) {
      std::error_code ec;
      if (last && fs::read_symlink(at, ec) == cached && !ec) break;  // ours, from a reused tree
      log.agent_line("Skipping cache path " + dir + ": " + walked + " is a symlink");
      return false;
    }
    if (!last && !S_ISDIR(st.st_mode)) {
      log.agent_line("Skipping cache path " + dir + ": " + walked + " is not a folder");
      return false;
    }
    if (last && !S_ISDIR(st.st_mode)) {
      log.agent_line("Skipping cache path " + dir +
                     ": Only directories can be specified for caching");
      return false;
    }
  }
  std::error_code ec;
  if (fs::exists(fs::symlink_status(cached, ec)) &&
      !fs::is_directory(fs::symlink_status(cached, ec))) {
    // Not a folder kiln made (a symlink a build left in its place): removed, never followed.
    fs::remove(cached, ec);
    if (ec) return fail(ErrorCode::kIo, "remove " + cached.string() + ": " + ec.message());
  }
  fs::create_directory(cached, ec);
  if (ec) return fail(ErrorCode::kIo, "create " + cached.string() + ": " + ec.message());
  const fs::path target = req.workspace / dir;
  fs::remove_all(target, ec);  // does not follow a symlink; components were checked above
  if (ec) return fail(ErrorCode::kIo, "remove " + target.string() + ": " + ec.message());
  const std::size_t slash = dir.rfind('/');
  if (slash != std::string::npos) {
    auto made = make_dirs_beneath(req.workspace, dir.substr(0, slash));
    if (!made) return fail(std::move(made.error()));
  }
  if (::symlink(cached.c_str(), target.c_str()) != 0) {
    return fail(errno_error(ErrorCode::kIo, "symlink " + target.string()));
  }
  return true;
}

Result<std::string> LinkedCache::restore_absolute(const CacheRequest& req,
                                                  const std::string& pattern, logs::LogSink& log) {
  const std::string abs = artifacts::split_at_wildcard(pattern).first;
  if (abs == "/") {
    log.agent_line("Skipping cache path " + pattern + ": it names the whole file system");
    return std::string();
  }
  if (std::find(absolute_.begin(), absolute_.end(), abs) != absolute_.end()) return std::string();
  absolute_.push_back(abs);
  const fs::path cached = ns_dir_ / encode_key(abs);
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(cached, ec)) || fs::is_empty(cached, ec))
    return std::string("miss");
  auto root = req.open_environment_root();
  if (!root) {
    log.agent_line("Skipping cache path " + pattern + ": " + root.error().message());
    absolute_.pop_back();
    return std::string();
  }
  auto copied = artifacts::copy_in(cached, root->get(), abs);
  if (!copied) return fail(std::move(copied.error()).with("while restoring " + abs));
  return std::string("hit");
}

// Replaces the folder for `abs` with a copy of what the environment has there now.
void LinkedCache::save_absolute(const CacheRequest& req, const std::string& abs,
                                logs::LogSink& log) {
  const fs::path cached = ns_dir_ / encode_key(abs);
  auto suffix = random_suffix();
  auto root = req.open_environment_root();
  if (!suffix || !root) {
    log.agent_line("Cache folder for " + abs +
                   " not saved: " + (!suffix ? suffix.error() : root.error()).describe());
    return;
  }
  const fs::path fresh = ns_dir_ / (".new-" + *suffix);
  auto copied = artifacts::copy_out(root->get(), abs, fresh);
  std::error_code ec;
  if (!copied) {
    fs::remove_all(fresh, ec);
    if (copied.error().code() != ErrorCode::kNotFound)
      log.agent_line("Cache folder for " + abs + " not saved: " + copied.error().describe());
    return;
  }
  fs::permissions(fresh,
                  fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                      fs::perms::others_read | fs::perms::others_exec,
                  ec);
  fs::remove_all(cached, ec);  // never follows a symlink
  fs::rename(fresh, cached, ec);
  if (ec) {
    fs::remove_all(fresh, ec);
    log.agent_line("Cache folder for " + abs + " not saved: " + ec.message());
    return;
  }
  log.agent_line("Cache saved: " + abs + " copied into " + cached.string() + " (" +
                 std::to_string(copied->files) + " files)");
}

// Copies what the build left at `dir` into the new, empty folder for it. A copy, not a move:
// in place, the workspace is the user's own folder.
void LinkedCache::fill_new_folder(const CacheRequest& req, const std::string& dir,
                                  logs::LogSink& log) {
  const fs::path cached = ns_dir_ / encode_key(dir);
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(cached, ec)) || !fs::is_empty(cached, ec)) return;
  auto from = open_folder_beneath(req.workspace, dir);
  if (!from) {
    log.agent_line("Cache folder for " + dir + " left empty: " + from.error().message());
    return;
  }
  fs::remove(cached, ec);  // copy_tree makes its destination
  auto copied = workspace::copy_tree("/proc/self/fd/" + std::to_string(from->get()), cached);
  if (!copied) {
    fs::remove_all(cached, ec);
    fs::create_directory(cached, ec);
    log.agent_line("Cache folder for " + dir + " left empty: " + copied.error().describe());
    return;
  }
  log.agent_line("Cache saved: " + dir + " copied into " + cached.string() + " (" +
                 std::to_string(copied->files) + " files)");
}

}  // namespace

std::vector<fs::path> linked_cache_folders(const fs::path& root,
                                           const std::string& namespace_name) {
  const fs::path ns_dir = linked_cache_dir(root, namespace_name);
  drop_non_folders(ns_dir, nullptr);
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(ns_dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code st;
    if (it->symlink_status(st).type() == fs::file_type::directory) out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::unique_ptr<BuildCache> linked_cache(fs::path root) {
  return std::make_unique<LinkedCache>(std::move(root));
}

fs::path linked_cache_dir(const fs::path& root, const std::string& namespace_name) {
  return root / encode_key(namespace_name.empty() ? "default" : namespace_name);
}

}  // namespace kiln::cache
