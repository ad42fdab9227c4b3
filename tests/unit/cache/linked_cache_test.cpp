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

// Attacks on the namespace folder (docs/security.md): container executors mount only the per-path
// folders, and a symlink a build left at the namespace's top level (`<ns>/node_modules -> /`) is
// removed, never followed or kept.

TEST_F(LinkedCacheTest, ASymlinkInPlaceOfACachedFolderIsRemovedNotFollowed) {
  fs::create_directories(ns_dir_);
  const fs::path outside = tmp_.dir("outside");
  write(outside / "keep.txt", "host file");
  fs::create_directory_symlink(outside, ns_dir_ / "node_modules");  // what a build left
  auto cache = linked_cache(root_);
  CacheRequest req = build({"node_modules/**/*"});
  CacheReport r = cache->restore(req, log_);
  EXPECT_EQ(r.outcome, Outcome::kMiss);
  EXPECT_FALSE(fs::is_symlink(ns_dir_ / "node_modules"));
  EXPECT_TRUE(fs::is_directory(ns_dir_ / "node_modules"));
  EXPECT_TRUE(fs::is_empty(ns_dir_ / "node_modules"));
  EXPECT_EQ(slurp(outside / "keep.txt"), "host file");
  EXPECT_TRUE(has("Removed node_modules from the cache: not a folder kiln made"));
}

TEST_F(LinkedCacheTest, SymlinksABuildMadeAreNotKeptAtSave) {
  auto cache = linked_cache(root_);
  CacheRequest req = build({"node_modules/**/*"});
  ASSERT_EQ(cache->restore(req, log_).outcome, Outcome::kMiss);
  // The build (process executor: it sees the host) swaps the folder for a link to /, and adds
  // one beside it.
  fs::remove_all(ns_dir_ / "node_modules");
  fs::create_directory_symlink("/", ns_dir_ / "node_modules");
  fs::create_directory_symlink("/", ns_dir_ / "extra");
  EXPECT_EQ(cache->save(req, log_).outcome, Outcome::kSaved);
  EXPECT_FALSE(fs::exists(fs::symlink_status(ns_dir_ / "node_modules")));
  EXPECT_FALSE(fs::exists(fs::symlink_status(ns_dir_ / "extra")));
}

TEST_F(LinkedCacheTest, OnlyRealPerPathFoldersAreMounted) {
  fs::create_directories(ns_dir_ / "node_modules");
  fs::create_directories(ns_dir_ / "%2Em2");
  fs::create_directory_symlink("/", ns_dir_ / "evil");
  write(ns_dir_ / "file", "x");
  EXPECT_EQ(linked_cache_folders(root_, "my/project"),
            (std::vector<fs::path>{ns_dir_ / "%2Em2", ns_dir_ / "node_modules"}));
  EXPECT_FALSE(fs::exists(fs::symlink_status(ns_dir_ / "evil")));
  EXPECT_FALSE(fs::exists(ns_dir_ / "file"));
  EXPECT_TRUE(linked_cache_folders(root_, "never-used").empty());
}

TEST_F(LinkedCacheTest, AFolderTheEnvironmentCannotSeeIsFilledAtSaveThenLinked) {
  {
    auto cache = linked_cache(root_);
    CacheRequest req = build({"node_modules/**/*"});
    req.visible_folders = linked_cache_folders(root_, "my/project");  // none yet
    write(req.workspace / "node_modules/from-source.txt", "source");
    CacheReport r = cache->restore(req, log_);
    EXPECT_EQ(r.outcome, Outcome::kMiss);
    // Not linked: the build would see a dangling link.
    EXPECT_FALSE(fs::is_symlink(req.workspace / "node_modules"));
    EXPECT_TRUE(
        has("Cache folder for node_modules created: it is filled when this build "
            "succeeds and used from the next"));
    write(req.workspace / "node_modules/dep/index.js", "installed");
    fs::create_symlink("/etc/passwd", req.workspace / "node_modules/link");  // kept as a link
    EXPECT_EQ(cache->save(req, log_).outcome, Outcome::kSaved);
    EXPECT_EQ(slurp(ns_dir_ / "node_modules/dep/index.js"), "installed");
    EXPECT_EQ(fs::read_symlink(ns_dir_ / "node_modules/link"), "/etc/passwd");
    // A copy: the workspace (in place, the user's folder) keeps its files.
    EXPECT_EQ(slurp(req.workspace / "node_modules/dep/index.js"), "installed");
  }
  auto cache = linked_cache(root_);
  CacheRequest next = build({"node_modules/**/*"});
  next.visible_folders = linked_cache_folders(root_, "my/project");
  EXPECT_EQ(cache->restore(next, log_).outcome, Outcome::kHit);
  EXPECT_EQ(fs::read_symlink(next.workspace / "node_modules"), ns_dir_ / "node_modules");
}

TEST_F(LinkedCacheTest, ABuildThatSwappedItsFolderForALinkIsNotCopied) {
  auto cache = linked_cache(root_);
  CacheRequest req = build({"node_modules/**/*"});
  req.visible_folders = std::vector<fs::path>{};
  ASSERT_EQ(cache->restore(req, log_).outcome, Outcome::kMiss);
  const fs::path outside = tmp_.dir("outside");
  write(outside / "secret.txt", "host secret");
  fs::create_directory_symlink(outside, req.workspace / "node_modules");
  EXPECT_EQ(cache->save(req, log_).outcome, Outcome::kSaved);
  EXPECT_TRUE(fs::is_empty(ns_dir_ / "node_modules"));
  EXPECT_TRUE(has("Cache folder for node_modules left empty: "));
}

}  // namespace
}  // namespace kiln::cache
