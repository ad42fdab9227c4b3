#include "server/cache_invalidation.h"

#include "cache/build_cache.h"
#include "net/http_client.h"
#include "net/s3_client.h"
#include "source/fetcher.h"

namespace kiln::server {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

Result<void> invalidate_s3(const std::string& location, const std::string& ns) {
  auto where = net::parse_s3_location(location);
  if (!where) return tl::unexpected(std::move(where.error()));
  auto config = net::s3_config_from_env();
  if (!config) return fail(std::move(config.error()).with("S3 is not configured"));
  auto http = net::make_curl_client();
  net::S3Client client(*http, std::move(*config));
  auto store = cache::s3_cache_store(client, *where);
  auto objects = store->list(ns + "/");
  if (!objects) return fail(std::move(objects.error()).with("listing the cache"));
  for (const auto& o : *objects) {
    if (auto r = store->remove(o.name); !r)
      return fail(std::move(r.error()).with("removing " + o.name));
  }
  return {};
}

}  // namespace

Result<void> invalidate_project_cache(const json& project, const fs::path& cache_dir) {
  const json cache = project.value("cache", json{{"type", "NO_CACHE"}});
  const std::string type = cache.value("type", "NO_CACHE");
  std::string ns = cache.value("cacheNamespace", "");
  if (ns.empty()) ns = project.value("name", "");
  if (type == "S3") return invalidate_s3(cache.value("location", ""), ns);
  if (type != "LOCAL") return {};
  std::error_code ec;
  fs::remove_all(cache_dir / "custom" / cache::encode_key(ns), ec);
  if (ec) return fail(ErrorCode::kIo, "removing the custom cache: " + ec.message());
  std::vector<json> sources{project.value("source", json::object())};
  for (const auto& s : project.value("secondarySources", json::array())) sources.push_back(s);
  for (const auto& s : sources) {
    const std::string url = s.value("location", "");
    if (url.empty()) continue;
    fs::remove_all(cache_dir / "git" / source::mirror_dir_name(url), ec);
    if (ec) return fail(ErrorCode::kIo, "removing the git mirror of " + url + ": " + ec.message());
  }
  return {};
}

}  // namespace kiln::server
