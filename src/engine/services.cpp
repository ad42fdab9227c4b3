#include "engine/services.h"

#include "artifacts/local_uploader.h"

namespace kiln::engine {

namespace {

// Stands in for a cache that could not be set up (no S3 credentials, a bad location): the
// build logs why and goes on without it, as with any other cache failure.
class UnavailableCache final : public cache::BuildCache {
 public:
  explicit UnavailableCache(std::string why) : why_(std::move(why)) {}
  cache::CacheReport restore(const cache::CacheRequest&, logs::LogSink& log) override {
    return report(log, "restore");
  }
  cache::CacheReport save(const cache::CacheRequest&, logs::LogSink& log) override {
    return report(log, "save");
  }

 private:
  cache::CacheReport report(logs::LogSink& log, const char* what) const {
    log.agent_line(std::string("Cache ") + what + " failed: " + why_);
    cache::CacheReport r;
    r.outcome = cache::CacheReport::Outcome::kFailed;
    r.detail = why_;
    return r;
  }
  std::string why_;
};

}  // namespace

BuildServices::BuildServices(const BuildRequest& req, BuildServicesOptions options)
    : options_(std::move(options)) {
  auto provider = [this] { return s3(); };
  if (req.s3_artifacts.empty()) {
    uploader_ = std::make_unique<artifacts::LocalArtifactUploader>();
  } else {
    artifacts::S3UploadSettings settings;
    settings.targets = req.s3_artifacts;
    settings.build_uuid = req.identity.uuid;
    settings.build_arn =
        build_arn(req.identity.region, req.identity.account, req.identity.build_id());
    settings.encryption_key = req.encryption_key;
    settings.default_secondary = req.s3_default_secondary;
    uploader_ = std::make_unique<artifacts::S3ArtifactUploader>(provider, std::move(settings));
  }
  sources_ = source::make_source_fetcher(provider);

  const CacheSettings& c = req.cache;
  if (c.type == "S3") {
    auto where = net::parse_s3_location(c.location);
    auto client = where ? s3() : Result<net::S3Client*>(tl::unexpected(where.error()));
    if (!client) {
      cache_ = std::make_unique<UnavailableCache>("S3 cache " + c.location + ": " +
                                                  client.error().message());
    } else {
      cache_store_ = cache::s3_cache_store(**client, *where);
      cache_ =
          cache::archive_cache(*cache_store_, c.max_bytes, std::chrono::seconds(c.max_age_seconds));
    }
  } else if (c.type == "LOCAL" && !c.local_root.empty()) {
    // The server's limits apply to all LOCAL caches on this host, trimmed as each build starts;
    // a failure only leaves more cached than asked (the next build tries again).
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    for (const char* kind : {"custom", "git"}) {
      (void)cache::evict_folders(c.local_root / kind, c.max_bytes,
                                 std::chrono::seconds(c.max_age_seconds), now);
    }
    if (c.has_mode("LOCAL_CUSTOM_CACHE")) cache_ = cache::linked_cache(c.local_root / "custom");
  }
}

BuildServices::~BuildServices() = default;

Result<net::S3Client*> BuildServices::s3() {
  if (s3_) return s3_.get();
  net::S3Config config;
  if (options_.s3) {
    config = *options_.s3;
  } else {
    auto from_env = net::s3_config_from_env();
    if (!from_env) return tl::unexpected(std::move(from_env.error()));
    config = std::move(*from_env);
  }
  if (!http_) http_ = net::make_curl_client();
  s3_ = std::make_unique<net::S3Client>(*http_, std::move(config));
  return s3_.get();
}

}  // namespace kiln::engine
