// archive_cache: §6.2's key, fallback-keys and action over a CacheStore (build_cache.h).
//
// Object names, all under <encode_key(namespace)>/<cache_version(paths)>/:
//   default.tar.zst            no key: restored and overwritten by every save ("automatically
//                              store and update")
//   keys/<encode_key(k)>.tar.zst  with a key: written once, never replaced ("a unique cache
//                              copy that will not be updated once created")
// A fallback key is a prefix search over keys/<encode_key(fallback)>; the newest match wins.
// Since encode_key maps bytes one by one, a prefix of a key encodes to a prefix of its name.
#include <algorithm>
#include <exception>
#include <string>
#include <system_error>

#include "cache/build_cache.h"
#include "cache/internal.h"
#include "util/files.h"
#include "util/string.h"

namespace kiln::cache {

namespace fs = std::filesystem;

namespace {

using Outcome = CacheReport::Outcome;

constexpr char kSuffix[] = ".tar.zst";

class ArchiveCache final : public BuildCache {
 public:
  ArchiveCache(CacheStore& store, std::uint64_t max_bytes, std::chrono::seconds max_age)
      : store_(store), max_bytes_(max_bytes), max_age_(max_age) {}

  CacheReport restore(const CacheRequest& req, logs::LogSink& log) override {
    return guarded("restore", log, [&] { return do_restore(req, log); });
  }
  CacheReport save(const CacheRequest& req, logs::LogSink& log) override {
    return guarded("save", log, [&] { return do_save(req, log); });
  }

 private:
  // Nothing here may fail a build: every Error and every exception becomes kFailed.
  template <typename F>
  CacheReport guarded(const char* what, logs::LogSink& log, F body) {
    Result<CacheReport> r = fail(ErrorCode::kInternal, "no result");
    try {
      r = body();
    } catch (const std::exception& e) {
      r = fail(ErrorCode::kInternal, e.what());
    }
    if (r) return *r;
    CacheReport report;
    report.outcome = Outcome::kFailed;
    report.detail = r.error().describe();
    log.agent_line(std::string("Cache ") + what + " failed: " + report.detail + " (" +
                   store_.describe() + ")");
    return report;
  }

  static std::string prefix_of(const CacheRequest& req) {
    const std::string ns = req.namespace_name.empty() ? "default" : req.namespace_name;
    return encode_key(ns) + "/" + cache_version(req.spec.paths) + "/";
  }
  static std::string key_name(const std::string& prefix, const std::string& key) {
    return prefix + "keys/" + encode_key(key) + kSuffix;
  }
  static std::optional<CacheReport> skipped(const CacheRequest& req, const char* other_action,
                                            logs::LogSink& log) {
    CacheReport r;
    if (req.spec.paths.empty()) {
      r.detail = "no paths specified to be cached";
    } else if (req.spec.action && *req.spec.action == other_action) {
      r.detail = std::string("action is ") + other_action;
    } else {
      return std::nullopt;
    }
    log.agent_line("Skip cache due to: " + r.detail);
    return r;
  }
  static Result<void> check(const detail::Budget& budget, const char* step) {
    if (!budget.expired()) return {};
    return fail(ErrorCode::kTimeout,
                std::string("timed out after ") + detail::human_seconds(budget.elapsed()) +
                    " (limit " + std::to_string(budget.timeout().count() / 1000) + " s) " + step);
  }
  static fs::path temp_in(const fs::path& scratch, const char* what) {
    auto suffix = random_suffix();
    return scratch / (std::string(what) + "-" + (suffix ? *suffix : "0") + kSuffix);
  }

  Result<CacheReport> do_restore(const CacheRequest& req, logs::LogSink& log);
  Result<CacheReport> do_save(const CacheRequest& req, logs::LogSink& log);

  CacheStore& store_;
  std::uint64_t max_bytes_;
  std::chrono::seconds max_age_;
};

Result<CacheReport> ArchiveCache::do_restore(const CacheRequest& req, logs::LogSink& log) {
  if (auto s = skipped(req, "save", log)) return *s;
  const detail::Budget budget(req.timeout);
  const std::string prefix = prefix_of(req);
  std::optional<CacheObject> found;
  std::string via;  // "(fallback npm-)" when a fallback key matched
  CacheReport report;
  const std::optional<std::string>& key = req.spec.key;
  if (!key) {
    auto f = store_.find(prefix + "default.tar.zst");
    if (!f) return fail(std::move(f.error()));
    found = std::move(*f);
  } else {
    auto f = store_.find(key_name(prefix, *key));
    if (!f) return fail(std::move(f.error()));
    found = std::move(*f);
    report.key = *key;
    // Fallback keys in order, each a prefix search; the newest object of the first that
    // matches anything wins.
    for (std::size_t i = 0; !found && i < req.spec.fallback_keys.size(); ++i) {
      auto c = check(budget, "searching the fallback keys");
      if (!c) return fail(std::move(c.error()));
      const std::string& fb = req.spec.fallback_keys[i];
      auto listed = store_.list(prefix + "keys/" + encode_key(fb));
      if (!listed) return fail(std::move(listed.error()));
      std::erase_if(*listed, [](const CacheObject& o) {
        return o.name.size() < sizeof kSuffix ||
               o.name.compare(o.name.size() - (sizeof kSuffix - 1), sizeof kSuffix - 1, kSuffix) !=
                   0;
      });
      if (listed->empty()) continue;
      found = *std::max_element(
          listed->begin(), listed->end(), [](const CacheObject& a, const CacheObject& b) {
            return a.modified != b.modified ? a.modified < b.modified : a.name < b.name;
          });
      const std::string leaf = found->name.substr(prefix.size() + 5);  // after "keys/"
      // encode_key's inverse, for the log; a malformed escape is kept as written.
      report.key = percent_decode(leaf.substr(0, leaf.size() - (sizeof kSuffix - 1)));
      via = " (fallback " + fb + ")";
    }
  }
  const std::string shown_key = key ? "key " + report.key + via : "no key";
  if (!found) {
    report.outcome = Outcome::kMiss;
    report.key.clear();
    report.seconds = budget.elapsed();
    report.detail = key ? "no cache for key " + *key +
                              (req.spec.fallback_keys.empty() ? "" : " or its fallback keys")
                        : "no cache saved yet";
    log.agent_line("Cache miss: " + report.detail + " in " + detail::human_seconds(report.seconds) +
                   " at " + store_.describe());
    return report;
  }
  auto c = check(budget, "before downloading");
  if (!c) return fail(std::move(c.error()));
  const fs::path archive = temp_in(req.scratch, "restore");
  const detail::RemoveOnExit cleanup{archive};
  auto fetched = store_.fetch(found->name, archive);
  if (!fetched) return fail(std::move(fetched.error()).with("while downloading " + found->name));
  c = check(budget, "after downloading");
  if (!c) return fail(std::move(c.error()));
  std::vector<std::string> absolute;
  for (const std::string& p : req.spec.paths)
    if (!detail::workspace_relative(p, req.build_src_dir)) absolute.push_back(p);
  const auto restore_absolute = [&](const fs::path& mirror) -> Result<void> {
    if (absolute.empty() || !req.open_environment_root) return {};
    const auto units = detail::absolute_units(absolute, log);
    auto root = req.open_environment_root();
    if (!root) {
      for (const std::string& p : absolute)
        log.agent_line("Skipping cache path " + p + ": " + root.error().message());
      return {};
    }
    return detail::restore_absolute(units, mirror, root->get());
  };
  auto unpacked = unpack_into(archive, req.workspace, req.scratch, restore_absolute);
  if (!unpacked) return fail(std::move(unpacked.error()).with("from " + found->name));
  report.outcome = Outcome::kHit;
  report.bytes = unpacked->bytes_in;
  report.files = unpacked->files;
  report.seconds = budget.elapsed();
  log.agent_line("Cache hit: " + shown_key + ", " + detail::human_bytes(report.bytes) + " (" +
                 std::to_string(report.files) + " files) in " +
                 detail::human_seconds(report.seconds) + " from " + store_.describe());
  return report;
}

Result<CacheReport> ArchiveCache::do_save(const CacheRequest& req, logs::LogSink& log) {
  if (auto s = skipped(req, "restore", log)) return *s;
  const detail::Budget budget(req.timeout);
  const std::string prefix = prefix_of(req);
  CacheReport report;
  std::string name = prefix + "default.tar.zst";
  if (req.spec.key) {
    report.key = *req.spec.key;
    name = key_name(prefix, *req.spec.key);
    auto existing = store_.find(name);
    if (!existing) return fail(std::move(existing.error()));
    if (*existing) {
      report.outcome = Outcome::kNotSaved;
      report.detail = "a cache for key " + *req.spec.key + " already exists and is not updated";
      log.agent_line("Cache not saved: " + report.detail + " (" + store_.describe() + ")");
      return report;
    }
  }
  std::vector<std::string> paths;
  std::vector<std::string> absolute;
  for (const std::string& p : req.spec.paths) {
    auto rel = detail::workspace_relative(p, req.build_src_dir);
    if (rel) {
      paths.push_back(*rel);
    } else if (req.open_environment_root && !req.private_scratch.empty()) {
      absolute.push_back(p);
    } else {
      log.agent_line("Skipping cache path " + p +
                     ": absolute paths outside CODEBUILD_SRC_DIR are not cached here");
    }
  }
  std::vector<PackTree> trees{PackTree{req.workspace, paths, ""}};
  auto suffix = random_suffix();
  if (!suffix) return fail(std::move(suffix.error()));
  const fs::path mirror = req.private_scratch / ("cache-absolute-" + *suffix);
  struct RemoveMirror {
    fs::path dir;
    ~RemoveMirror() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } remove_mirror{mirror};
  auto root = absolute.empty() ? Result<UniqueFd>(UniqueFd()) : req.open_environment_root();
  if (!root) {
    // The workspace's paths are still cached.
    for (const std::string& p : absolute)
      log.agent_line("Skipping cache path " + p + ": " + root.error().message());
    absolute.clear();
  }
  if (!absolute.empty()) {
    const auto units = detail::absolute_units(absolute, log);
    std::error_code ec;
    fs::create_directory(mirror, ec);
    if (ec) return fail(ErrorCode::kIo, "create " + mirror.string() + ": " + ec.message());
    auto patterns = detail::mirror_absolute(units, root->get(), mirror);
    if (!patterns) return fail(std::move(patterns.error()));
    trees.push_back(PackTree{mirror, std::move(*patterns), kAbsoluteFolder});
  }
  const fs::path archive = temp_in(req.scratch, "save");
  const detail::RemoveOnExit cleanup{archive};
  auto packed = pack_trees(trees, archive, log);
  if (!packed) return fail(std::move(packed.error()));
  if (packed->files == 0) {
    report.outcome = Outcome::kNotSaved;
    report.detail = "no files matched the cache paths";
    log.agent_line("Cache not saved: " + report.detail);
    return report;
  }
  auto c = check(budget, "before uploading");
  if (!c) return fail(std::move(c.error()));
  auto put = store_.put(name, archive);
  if (!put) return fail(std::move(put.error()).with("while uploading " + name));
  report.outcome = Outcome::kSaved;
  report.bytes = packed->bytes_out;
  report.files = packed->files;
  report.seconds = budget.elapsed();
  log.agent_line("Cache saved: " + (report.key.empty() ? "no key" : "key " + report.key) + ", " +
                 detail::human_bytes(report.bytes) + " (" + std::to_string(report.files) +
                 " files) in " + detail::human_seconds(report.seconds) + " to " +
                 store_.describe());
  if (max_bytes_ != 0 || max_age_.count() != 0) {
    const std::string ns = prefix.substr(0, prefix.find('/') + 1);
    auto evicted = evict(store_, ns, max_bytes_, max_age_, detail::epoch_now());
    if (!evicted) {
      log.agent_line("Cache eviction failed: " + evicted.error().describe());
    } else if (*evicted > 0) {
      log.agent_line("Cache eviction removed " + std::to_string(*evicted) + " old object(s)");
    }
  }
  return report;
}

}  // namespace

std::unique_ptr<BuildCache> archive_cache(CacheStore& store, std::uint64_t max_bytes,
                                          std::chrono::seconds max_age) {
  return std::make_unique<ArchiveCache>(store, max_bytes, max_age);
}

}  // namespace kiln::cache
