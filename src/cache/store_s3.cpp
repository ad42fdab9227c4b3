// s3_cache_store: cache objects under a bucket + key prefix (CodeBuild's cache `location`).
//
// An object "ns/ver/keys/k.tar.zst" is s3://<bucket>/<prefix>/ns/ver/keys/k.tar.zst. A PUT is
// atomic in S3 (a reader sees the old object or the new one), multipart uploads included, so
// put() needs no temp object. Deadlines: every call is one or a few requests, each bounded by
// the client's S3Config::timeout_ms; archive_cache checks its own budget between calls.
#include <string>
#include <vector>

#include "cache/build_cache.h"
#include "cache/internal.h"

namespace kiln::cache {

namespace fs = std::filesystem;

namespace {

class S3Store final : public CacheStore {
 public:
  S3Store(net::S3Client& client, net::S3Location prefix)
      : client_(client), prefix_(std::move(prefix)) {
    if (!prefix_.key.empty() && prefix_.key.back() != '/') prefix_.key += '/';
  }

  Result<std::optional<CacheObject>> find(const std::string& name) override {
    if (auto ok = detail::check_object_name(name); !ok) return fail(std::move(ok.error()));
    auto info = client_.head(at(name));
    if (!info) return fail(std::move(info.error()).with("while looking up " + shown(name)));
    if (!*info) return std::optional<CacheObject>();
    return CacheObject{name, (*info)->size, (*info)->last_modified};
  }

  Result<std::vector<CacheObject>> list(const std::string& prefix) override {
    auto listed = client_.list(prefix_.bucket, prefix_.key + prefix);
    if (!listed) return fail(std::move(listed.error()).with("while listing " + shown(prefix)));
    std::vector<CacheObject> out;
    for (net::ObjectInfo& o : *listed) {
      if (o.key.size() <= prefix_.key.size()) continue;
      std::string name = o.key.substr(prefix_.key.size());
      // Objects another tool put there with names kiln would refuse are not kiln's.
      if (!detail::check_object_name(name)) continue;
      out.push_back(CacheObject{std::move(name), o.size, o.last_modified});
    }
    return out;
  }

  Result<void> fetch(const std::string& name, const fs::path& dest) override {
    if (auto ok = detail::check_object_name(name); !ok) return fail(std::move(ok.error()));
    auto got = client_.get_to_file(at(name), dest);
    if (!got) return fail(std::move(got.error()).with("while downloading " + shown(name)));
    return {};
  }

  Result<void> put(const std::string& name, const fs::path& file) override {
    if (auto ok = detail::check_object_name(name); !ok) return fail(std::move(ok.error()));
    net::PutOptions options;
    options.content_type = "application/zstd";
    auto put = client_.put_file(at(name), file, options);
    if (!put) return fail(std::move(put.error()).with("while uploading " + shown(name)));
    return {};
  }

  Result<void> remove(const std::string& name) override {
    if (auto ok = detail::check_object_name(name); !ok) return fail(std::move(ok.error()));
    auto r = client_.remove(at(name));
    if (!r) return fail(std::move(r.error()).with("while removing " + shown(name)));
    return {};
  }

  std::string describe() const override {
    std::string key = prefix_.key;
    if (!key.empty()) key.pop_back();  // the '/' added above
    return "s3://" + prefix_.bucket + (key.empty() ? "" : "/" + key);
  }

 private:
  net::S3Location at(const std::string& name) const {
    return net::S3Location{prefix_.bucket, prefix_.key + name};
  }
  std::string shown(const std::string& name) const {
    return "s3://" + prefix_.bucket + "/" + prefix_.key + name;
  }

  net::S3Client& client_;
  net::S3Location prefix_;
};

}  // namespace

std::unique_ptr<CacheStore> s3_cache_store(net::S3Client& client, net::S3Location prefix) {
  return std::make_unique<S3Store>(client, std::move(prefix));
}

}  // namespace kiln::cache
