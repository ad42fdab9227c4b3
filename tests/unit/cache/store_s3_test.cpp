// The S3 cache store against a real S3-compatible server, s3rver, which checks Kiln's SigV4
// signatures (started per test suite on a free port; tests/unit/s3_test_server.h), and the
// archive cache over it end to end.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "cache/build_cache.h"
#include "cache_test_util.h"
#include "logs/log_sink.h"
#include "net/http_client.h"
#include "net/s3_client.h"
#include "s3_test_server.h"

namespace kiln::cache {
namespace {

namespace fs = std::filesystem;
using testing::slurp;
using testing::TempDir;
using testing::write;

class S3StoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    s3rver_.start();
    kiln::testing::announce("S3StoreTest", {&s3rver_});
  }
  static void TearDownTestSuite() { s3rver_.stop(); }

  void SetUp() override { KILN_REQUIRE_S3_SERVER(s3rver_); }

  S3StoreTest() {
    net::S3Config config;
    config.endpoint = s3rver_.endpoint();
    config.credentials = {s3rver_.access_key(), s3rver_.secret_key(), ""};
    config.timeout_ms = 20'000;
    client_.emplace(*http_, config);
    bucket_ = "cache-" + std::to_string(++bucket_counter_);
    // CreateBucket: an empty, signed PUT of "/<bucket>".
    net::HttpRequest req;
    req.method = "PUT";
    req.url = config.endpoint + "/" + bucket_;
    req.sigv4_region = "us-east-1";
    req.sigv4_service = "s3";
    req.credentials = config.credentials;
    req.headers.emplace_back("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
    if (s3rver_.running()) {
      auto r = http_->send(req);
      EXPECT_TRUE(r) << r.error().describe();
    }
    store_ = s3_cache_store(*client_, net::S3Location{bucket_, "team/caches"});
  }

  fs::path file(const std::string& content) {
    const fs::path p = tmp_.root() / ("in" + std::to_string(++n_));
    write(p, content);
    return p;
  }

  static inline kiln::testing::S3TestServer s3rver_{kiln::testing::S3TestServer::Kind::kS3rver};
  static inline int bucket_counter_ = 0;
  TempDir tmp_;
  int n_ = 0;
  std::unique_ptr<net::HttpClient> http_ = net::make_curl_client();
  std::optional<net::S3Client> client_;
  std::string bucket_;
  std::unique_ptr<CacheStore> store_;
};

TEST_F(S3StoreTest, PutFindListFetchRemove) {
  ASSERT_TRUE(store_->put("ns/v/keys/npm-a.tar.zst", file("aaa")));
  ASSERT_TRUE(store_->put("ns/v/keys/npm-b.tar.zst", file("bb")));
  ASSERT_TRUE(store_->put("ns/v/default.tar.zst", file("d")));
  auto found = store_->find("ns/v/keys/npm-a.tar.zst");
  ASSERT_TRUE(found) << found.error().describe();
  ASSERT_TRUE(*found);
  EXPECT_EQ((*found)->size, 3U);
  EXPECT_GT((*found)->modified, 1.6e9);
  auto missing = store_->find("ns/v/keys/zzz.tar.zst");
  ASSERT_TRUE(missing) << missing.error().describe();
  EXPECT_FALSE(*missing);
  auto listed = store_->list("ns/v/keys/npm-");
  ASSERT_TRUE(listed) << listed.error().describe();
  ASSERT_EQ(listed->size(), 2U);
  EXPECT_EQ((*listed)[0].name, "ns/v/keys/npm-a.tar.zst");
  const fs::path dest = tmp_.root() / "out";
  ASSERT_TRUE(store_->fetch("ns/v/keys/npm-b.tar.zst", dest));
  EXPECT_EQ(slurp(dest), "bb");
  ASSERT_TRUE(store_->remove("ns/v/keys/npm-b.tar.zst"));
  listed = store_->list("ns/");
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->size(), 2U);
  EXPECT_EQ(store_->describe(), "s3://" + bucket_ + "/team/caches");
  EXPECT_FALSE(store_->put("../x", file("x")));
}

TEST_F(S3StoreTest, ArchiveCacheRoundTripsWithKeysAndFallbacks) {
  auto cache = archive_cache(*store_);
  logs::MemorySink log;
  CacheRequest req;
  req.spec.present = true;
  req.spec.key = "npm-123";
  req.spec.paths = {"node_modules/**/*"};
  req.namespace_name = "proj";
  req.workspace = tmp_.dir("ws1");
  req.scratch = tmp_.dir("scratch1");
  write(req.workspace / "node_modules/x/index.js", "cached");
  EXPECT_EQ(cache->save(req, log).outcome, CacheReport::Outcome::kSaved) << log.text();
  EXPECT_EQ(cache->save(req, log).outcome, CacheReport::Outcome::kNotSaved);

  CacheRequest next = req;
  next.spec.key = "npm-456";
  next.spec.fallback_keys = {"npm-"};
  next.workspace = tmp_.dir("ws2");
  next.scratch = tmp_.dir("scratch2");
  CacheReport r = cache->restore(next, log);
  EXPECT_EQ(r.outcome, CacheReport::Outcome::kHit) << log.text();
  EXPECT_EQ(r.key, "npm-123");
  EXPECT_EQ(slurp(next.workspace / "node_modules/x/index.js"), "cached");
  EXPECT_NE(log.text().find("(fallback npm-)"), std::string::npos);
  EXPECT_NE(log.text().find("from s3://" + bucket_ + "/team/caches"), std::string::npos);
}

TEST_F(S3StoreTest, AnUnreachableEndpointFailsTheRestoreNotTheBuild) {
  net::S3Config config;
  config.endpoint = "http://127.0.0.1:" + std::to_string(kiln::testing::S3TestServer::free_port());
  config.credentials = {"testing", "testing", ""};
  config.connect_timeout_ms = 2'000;
  net::S3Client dead(*http_, config);
  auto store = s3_cache_store(dead, net::S3Location{"b", ""});
  auto cache = archive_cache(*store);
  logs::MemorySink log;
  CacheRequest req;
  req.spec.paths = {"x"};
  req.namespace_name = "p";
  req.workspace = tmp_.dir("ws");
  req.scratch = tmp_.dir("scratch");
  CacheReport r = cache->restore(req, log);
  EXPECT_EQ(r.outcome, CacheReport::Outcome::kFailed);
  EXPECT_NE(log.text().find("Cache restore failed: "), std::string::npos);
}

}  // namespace
}  // namespace kiln::cache
