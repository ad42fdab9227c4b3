// The build cache (docs/reference/codebuild-semantics.md §6): restored in DOWNLOAD_SOURCE once the
// source is in place, saved in UPLOAD_ARTIFACTS after the artifacts of a build that succeeded.
// Nothing here fails the build; the cache layer logs each outcome.
#include "engine/build_run.h"

namespace kiln::engine {

std::optional<cache::CacheRequest> BuildRun::cache_request() {
  cache::CacheRequest r;
  r.spec = spec_->cache;
  // `key` and `fallback-keys` may use variables and $(...) (e.g. codebuild-hash-files), expanded
  // once here in the build's shell; the save uses the same key.
  const auto expand_key = [this](std::string& key, const char* what) {
    if (key.find('$') == std::string::npos && key.find('`') == std::string::npos) return true;
    auto k = expand(key);
    if (!k) {
      log_.line(std::string("Skip cache due to: cannot expand ") + what + ": " +
                k.error().message());
      return false;
    }
    key = *k;
    return true;
  };
  if (r.spec.key && !expand_key(*r.spec.key, "the cache key")) return std::nullopt;
  for (auto& f : r.spec.fallback_keys)
    if (!expand_key(f, "a fallback key")) return std::nullopt;
  r.namespace_name =
      req_.cache.namespace_name.empty() ? req_.identity.project : req_.cache.namespace_name;
  r.workspace = workspace_;
  r.build_src_dir = initial_state_.cwd.string();
  r.scratch = req_.build_root / "cache";
  // Absolute paths outside CODEBUILD_SRC_DIR are the environment's own (docs/cache.md).
  r.open_environment_root = [this] { return deps_.executor.open_root(); };
  r.private_scratch = scratch_;
  // A container sees only the LOCAL_CUSTOM_CACHE folders it was given at PROVISIONING.
  if (deps_.executor.map_path(req_.build_root) != req_.build_root)
    r.visible_folders = custom_cache_folders_;
  std::error_code ec;
  std::filesystem::create_directories(r.scratch, ec);
  if (ec) {
    log_.line("Skip cache due to: cannot create " + r.scratch.string() + ": " + ec.message());
    return std::nullopt;
  }
  return r;
}

void BuildRun::restore_cache() {
  if (!spec_->cache.present) {
    log_.line("Cache is not defined in the buildspec");
    log_.line("Skip cache due to: no paths specified to be cached");
    return;
  }
  if (deps_.cache == nullptr) {
    log_.line("Skip cache due to: the project has no cache (type NO_CACHE)");
    return;
  }
  cache_request_ = cache_request();
  if (!cache_request_) return;
  ContainerLineSink sink(log_);
  (void)deps_.cache->restore(*cache_request_, sink);
}

void BuildRun::save_cache() {
  if (deps_.cache == nullptr || !cache_request_) return;
  ContainerLineSink sink(log_);
  (void)deps_.cache->save(*cache_request_, sink);
}

}  // namespace kiln::engine
