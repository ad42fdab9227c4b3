#include <fcntl.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cache/build_cache.h"
#include "cache_test_util.h"
#include "logs/log_sink.h"

namespace kiln::cache {
namespace {

namespace fs = std::filesystem;
using Outcome = CacheReport::Outcome;
using testing::slurp;
using testing::TempDir;
using testing::write;

class LinkedCacheTest : public ::testing::Test {
 protected:
  CacheRequest build(std::vector<std::string> paths) {
    const std::string n = std::to_string(++builds_);
    CacheRequest req;
    req.spec.present = true;
    req.spec.paths = std::move(paths);
    req.namespace_name = "my/project";
    req.workspace = tmp_.dir("ws" + n);
    req.build_src_dir = "/codebuild/output/src1/src";
    req.scratch = tmp_.dir("scratch" + n);
    return req;
  }
  bool has(const std::string& line) const { return log_.text().find(line) != std::string::npos; }

  TempDir tmp_;
  fs::path root_ = tmp_.dir("local-cache");
  fs::path ns_dir_ = root_ / "my%2Fproject";
  logs::MemorySink log_;
  int builds_ = 0;
};

TEST_F(LinkedCacheTest, LinksFoldersThatPersistAcrossBuilds) {
  {
    auto cache = linked_cache(root_);
    CacheRequest req = build({"node_modules/**/*", ".m2/**/*", "/codebuild/output/src1/src/a/b"});
    write(req.workspace / "node_modules/from-source.txt", "source");  // replaced by the link
    CacheReport r = cache->restore(req, log_);
    EXPECT_EQ(r.outcome, Outcome::kMiss);  // created on first use
    EXPECT_EQ(r.files, 3U);
    EXPECT_EQ(fs::read_symlink(req.workspace / "node_modules"), ns_dir_ / "node_modules");
    EXPECT_EQ(fs::read_symlink(req.workspace / ".m2"), ns_dir_ / "%2Em2");
    EXPECT_EQ(fs::read_symlink(req.workspace / "a/b"), ns_dir_ / "a%2Fb");
    EXPECT_FALSE(fs::exists(req.workspace / "node_modules/from-source.txt"));
    write(req.workspace / "node_modules/dep/index.js", "cached");  // the build installs
    EXPECT_EQ(cache->save(req, log_).outcome, Outcome::kSaved);
    EXPECT_TRUE(has("Cache miss: linked node_modules, .m2, a/b in "));
  }
  auto cache = linked_cache(root_);
  CacheRequest second = build({"node_modules/**/*"});
  CacheReport r = cache->restore(second, log_);
  EXPECT_EQ(r.outcome, Outcome::kHit);
  EXPECT_EQ(slurp(second.workspace / "node_modules/dep/index.js"), "cached");
  EXPECT_TRUE(has("Cache hit: linked node_modules in "));
}

TEST_F(LinkedCacheTest, AConcurrentBuildGoesOnWithoutTheCache) {
  auto first = linked_cache(root_);
  CacheRequest a = build({"node_modules/**/*"});
  EXPECT_EQ(first->restore(a, log_).outcome, Outcome::kMiss);
  auto second = linked_cache(root_);
  CacheRequest b = build({"node_modules/**/*"});
  CacheReport r = second->restore(b, log_);
  EXPECT_EQ(r.outcome, Outcome::kSkipped);
  EXPECT_EQ(r.detail, "the local cache is in use by another build of this project");
  EXPECT_FALSE(fs::exists(b.workspace / "node_modules"));
  EXPECT_EQ(second->save(b, log_).outcome, Outcome::kSkipped);
  EXPECT_EQ(first->save(a, log_).outcome, Outcome::kSaved);  // releases the lock
  auto third = linked_cache(root_);
  EXPECT_EQ(third->restore(build({"node_modules/**/*"}), log_).outcome, Outcome::kHit);
  third.reset();  // destruction releases it too
  auto fourth = linked_cache(root_);
  EXPECT_EQ(fourth->restore(build({"node_modules/**/*"}), log_).outcome, Outcome::kHit);
}

TEST_F(LinkedCacheTest, SkipsFilesPathsWithoutAFolderAndHostPaths) {
  auto cache = linked_cache(root_);
  CacheRequest req = build({"package-lock.json", "**/*.jar", "/root/.m2/**/*", "deps/**/*"});
  write(req.workspace / "package-lock.json", "{}");
  CacheReport r = cache->restore(req, log_);
  EXPECT_EQ(r.files, 1U);
  EXPECT_EQ(slurp(req.workspace / "package-lock.json"), "{}");
  EXPECT_TRUE(fs::is_symlink(req.workspace / "deps"));
  EXPECT_TRUE(
      has("Skipping cache path package-lock.json: Only directories can be specified "
          "for caching"));
  EXPECT_TRUE(has("Skipping cache path **/*.jar: Only directories can be specified for caching"));
  EXPECT_TRUE(has("Skipping cache path /root/.m2/**/*: absolute paths outside"));
}

TEST_F(LinkedCacheTest, RefusesPathsThatEscapeTheWorkspace) {
  auto cache = linked_cache(root_);
  CacheRequest req = build({"../outside/**/*", "a/../../x", "via/link/deps", "direct"});
  const fs::path outside = tmp_.dir("outside");
  fs::create_symlink(outside, req.workspace / "via");
  fs::create_symlink(outside, req.workspace / "direct");
  CacheReport r = cache->restore(req, log_);
  EXPECT_EQ(r.outcome, Outcome::kSkipped);
  EXPECT_EQ(r.files, 0U);
  EXPECT_TRUE(has("Skipping cache path ../outside/**/*: it leaves the workspace"));
  EXPECT_TRUE(has("Skipping cache path a/../../x: it leaves the workspace"));
  EXPECT_TRUE(has("Skipping cache path via/link/deps: via is a symlink"));
  EXPECT_TRUE(has("Skipping cache path direct: direct is a symlink"));
  EXPECT_TRUE(fs::is_empty(outside));
  EXPECT_FALSE(fs::exists(tmp_.root() / "x"));
}

TEST_F(LinkedCacheTest, NoPathsIsSkipped) {
  auto cache = linked_cache(root_);
  CacheReport r = cache->restore(build({}), log_);
  EXPECT_EQ(r.outcome, Outcome::kSkipped);
  EXPECT_TRUE(has("Skip cache due to: no paths specified to be cached"));
}

}  // namespace
}  // namespace kiln::cache
