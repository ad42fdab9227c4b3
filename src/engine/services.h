// The real collaborators of one build, chosen from its request: where artifacts go (a local
// folder or S3), how sources arrive (folder copy, git, S3 zip), and which cache it uses. `kiln
// run` and `kiln worker` both build their EngineDeps from it, so the two never diverge.
//
// The S3 client (and with it libcurl) is made only when the build needs S3, from the SDKs'
// environment (net::s3_config_from_env: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, the usual
// credentials and region), unless `BuildServicesOptions::s3` gives a configuration.
// Thread safety: one BuildServices per build, used from the engine's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "engine/engine.h"
#include "net/http_client.h"
#include "net/s3_client.h"

namespace kiln::engine {

// How BuildServices makes its collaborators (unrelated to api::ServiceOptions, the server's).
struct BuildServicesOptions {
  std::optional<net::S3Config> s3;  // unset: from the environment, at first use
};

class BuildServices {
 public:
  BuildServices(const BuildRequest& req, BuildServicesOptions options);
  ~BuildServices();
  BuildServices(const BuildServices&) = delete;
  BuildServices& operator=(const BuildServices&) = delete;

  artifacts::ArtifactUploader& uploader() { return *uploader_; }
  source::SourceFetcher& sources() { return *sources_; }
  cache::BuildCache* cache() { return cache_.get(); }  // null: no cache

  // The S3 client, made on first use.
  Result<net::S3Client*> s3();

 private:
  BuildServicesOptions options_;
  std::unique_ptr<net::HttpClient> http_;
  std::unique_ptr<net::S3Client> s3_;
  std::unique_ptr<artifacts::ArtifactUploader> uploader_;
  std::unique_ptr<source::SourceFetcher> sources_;
  std::unique_ptr<cache::CacheStore> cache_store_;
  std::unique_ptr<cache::BuildCache> cache_;
};

}  // namespace kiln::engine
