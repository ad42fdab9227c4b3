#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>
#include <string>
#include <vector>

#include "cache/build_cache.h"
#include "cache_test_util.h"
#include "logs/log_sink.h"

namespace kiln::cache {
namespace {

namespace fs = std::filesystem;
using Outcome = CacheReport::Outcome;
using testing::listing;
using testing::slurp;
using testing::TempDir;
using testing::write;

class ArchiveCacheTest : public ::testing::Test {
 protected:
  // One build: a fresh workspace (with `content` in deps/dep.txt when not empty).
  CacheRequest build(const std::string& content, std::optional<std::string> key = std::nullopt,
                     std::vector<std::string> fallback = {},
                     std::vector<std::string> paths = {"deps/**/*"}) {
    const std::string n = std::to_string(++builds_);
    CacheRequest req;
    req.spec.present = true;
    req.spec.key = std::move(key);
    req.spec.fallback_keys = std::move(fallback);
    req.spec.paths = std::move(paths);
    req.namespace_name = "proj";
    req.workspace = tmp_.dir("ws" + n);
    req.build_src_dir = "/codebuild/output/src1/src";
    req.scratch = tmp_.dir("scratch" + n);
    if (!content.empty()) write(req.workspace / "deps/dep.txt", content);
    return req;
  }
  CacheReport save(const std::string& content, std::optional<std::string> key = std::nullopt) {
    return cache_->save(build(content, std::move(key)), log_);
  }
  // Restores into a fresh workspace; returns deps/dep.txt ("" when absent).
  std::string restored(std::optional<std::string> key, std::vector<std::string> fallback = {},
                       CacheReport* report = nullptr) {
    CacheRequest req = build("", std::move(key), std::move(fallback));
    CacheReport r = cache_->restore(req, log_);
    if (report) *report = r;
    const fs::path f = req.workspace / "deps/dep.txt";
    return fs::exists(f) ? slurp(f) : "";
  }
  // Sets the object's mtime, to order "newest" matches without sleeping.
  void set_age(const std::string& key, double t) {
    const std::string name =
        "proj/" + cache_version({"deps/**/*"}) + "/keys/" + encode_key(key) + ".tar.zst";
    const struct timespec times[2] = {{0, UTIME_OMIT}, {static_cast<time_t>(t), 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (store_root_ / name).c_str(), times, 0), 0) << name;
  }

  TempDir tmp_;
  fs::path store_root_ = tmp_.dir("store");
  std::unique_ptr<CacheStore> store_ = local_cache_store(store_root_);
  std::unique_ptr<BuildCache> cache_ = archive_cache(*store_);
  logs::MemorySink log_;
  int builds_ = 0;
};

TEST_F(ArchiveCacheTest, WithoutAKeyTheDefaultCacheIsRestoredAndOverwritten) {
  CacheReport r;
  EXPECT_EQ(restored(std::nullopt, {}, &r), "");
  EXPECT_EQ(r.outcome, Outcome::kMiss);
  EXPECT_EQ(save("one").outcome, Outcome::kSaved);
  EXPECT_EQ(restored(std::nullopt, {}, &r), "one");
  EXPECT_EQ(r.outcome, Outcome::kHit);
  EXPECT_EQ(r.files, 1U);
  EXPECT_GT(r.bytes, 0U);
  EXPECT_EQ(save("two").outcome, Outcome::kSaved);  // "automatically store and update"
  EXPECT_EQ(restored(std::nullopt), "two");
  EXPECT_TRUE(fs::exists(store_root_ / "proj" / cache_version({"deps/**/*"}) / "default.tar.zst"));
  EXPECT_NE(log_.text().find("Cache hit: no key, "), std::string::npos) << log_.text();
  EXPECT_NE(log_.text().find(" from " + store_root_.string()), std::string::npos);
}

TEST_F(ArchiveCacheTest, AKeyIsAnExactMatchAndIsNeverOverwritten) {
  EXPECT_EQ(save("v1", "npm-1").outcome, Outcome::kSaved);
  CacheReport second = save("v2", "npm-1");
  EXPECT_EQ(second.outcome, Outcome::kNotSaved);
  EXPECT_EQ(second.detail, "a cache for key npm-1 already exists and is not updated");
  CacheReport r;
  EXPECT_EQ(restored("npm-1", {}, &r), "v1");
  EXPECT_EQ(r.outcome, Outcome::kHit);
  EXPECT_EQ(r.key, "npm-1");
  EXPECT_EQ(restored("npm-"), "");  // exact, not a prefix
  EXPECT_EQ(restored("npm-10"), "");
  EXPECT_EQ(restored(std::nullopt), "");  // the default cache is separate
  EXPECT_NE(log_.text().find("Cache hit: key npm-1, "), std::string::npos) << log_.text();
}

TEST_F(ArchiveCacheTest, FallbackKeysArePrefixSearchesAndTheNewestMatchWins) {
  save("old", "npm-aaa");
  save("new", "npm-bbb");
  save("yarn", "yarn-1");
  set_age("npm-aaa", 1'700'000'200);  // newer by mtime, although saved first
  set_age("npm-bbb", 1'700'000'100);
  CacheReport r;
  EXPECT_EQ(restored("npm-zzz", {"npm-"}, &r), "old");
  EXPECT_EQ(r.outcome, Outcome::kHit);
  EXPECT_EQ(r.key, "npm-aaa");
  EXPECT_NE(log_.text().find("Cache hit: key npm-aaa (fallback npm-), "), std::string::npos)
      << log_.text();
  // In order: the first fallback that matches anything wins, even if a later one is newer.
  set_age("yarn-1", 1'700'000'900);
  EXPECT_EQ(restored("x", {"nothing-", "npm-b", "yarn-"}, &r), "new");
  EXPECT_EQ(r.key, "npm-bbb");
  EXPECT_EQ(restored("x", {"yarn-", "npm-"}), "yarn");
  // The primary key still wins over any fallback.
  EXPECT_EQ(restored("yarn-1", {"npm-"}), "yarn");
  // Nothing matches.
  EXPECT_EQ(restored("x", {"pip-"}, &r), "");
  EXPECT_EQ(r.outcome, Outcome::kMiss);
  EXPECT_EQ(r.detail, "no cache for key x or its fallback keys");
}

TEST_F(ArchiveCacheTest, FallbackKeysAreIgnoredWithoutAKey) {
  save("keyed", "npm-1");
  CacheReport r;
  EXPECT_EQ(restored(std::nullopt, {"npm-"}, &r), "");
  EXPECT_EQ(r.outcome, Outcome::kMiss);
}

TEST_F(ArchiveCacheTest, AKeyWithSlashesCannotReachAnotherFolder) {
  EXPECT_EQ(save("evil", "../../default").outcome, Outcome::kSaved);
  EXPECT_EQ(restored(std::nullopt), "");
  EXPECT_EQ(restored("../../default"), "evil");
  for (const auto& [name, kind] : listing(store_root_)) {
    EXPECT_EQ(name.rfind("proj", 0), 0U) << name;
  }
}

TEST_F(ArchiveCacheTest, ActionRestoreSkipsTheSaveAndActionSaveSkipsTheRestore) {
  CacheRequest req = build("content", "k");
  req.spec.action = "restore";
  CacheReport r = cache_->save(req, log_);
  EXPECT_EQ(r.outcome, Outcome::kSkipped);
  EXPECT_EQ(restored("k"), "");
  req.spec.action = "save";
  EXPECT_EQ(cache_->save(req, log_).outcome, Outcome::kSaved);
  CacheRequest other = build("", "k");
  other.spec.action = "save";
  r = cache_->restore(other, log_);
  EXPECT_EQ(r.outcome, Outcome::kSkipped);
  EXPECT_FALSE(fs::exists(other.workspace / "deps"));
  EXPECT_EQ(restored("k"), "content");
}

TEST_F(ArchiveCacheTest, NoPathsIsSkippedWithCodeBuildsWords) {
  CacheRequest req = build("x", std::nullopt, {}, {});
  EXPECT_EQ(cache_->restore(req, log_).outcome, Outcome::kSkipped);
  CacheReport r = cache_->save(req, log_);
  EXPECT_EQ(r.outcome, Outcome::kSkipped);
  EXPECT_EQ(r.detail, "no paths specified to be cached");
  EXPECT_NE(log_.text().find("Skip cache due to: no paths specified to be cached\n"),
            std::string::npos);
  EXPECT_TRUE(listing(store_root_).empty());
}

TEST_F(ArchiveCacheTest, ASaveThatSelectsNothingIsNotSaved) {
  CacheReport r = save("");
  EXPECT_EQ(r.outcome, Outcome::kNotSaved);
  EXPECT_EQ(r.detail, "no files matched the cache paths");
  EXPECT_TRUE(listing(store_root_).empty());
}

TEST_F(ArchiveCacheTest, DifferentPathListsAreDifferentVersions) {
  CacheRequest a = build("deps", "k");
  write(a.workspace / "more/x", "x");
  a.spec.paths = {"deps/**/*", "more/**/*"};
  EXPECT_EQ(cache_->save(a, log_).outcome, Outcome::kSaved);
  EXPECT_EQ(restored("k"), "");  // same key, other paths: a different cache
  EXPECT_EQ(save("mine", "k").outcome, Outcome::kSaved);
  EXPECT_EQ(restored("k"), "mine");
}

TEST_F(ArchiveCacheTest, AbsolutePathsUnderTheSourceDirAreCached) {
  CacheRequest req =
      build("abs", std::nullopt, {}, {"/codebuild/output/src1/src/deps/**/*", "/root/.m2/**/*"});
  EXPECT_EQ(cache_->save(req, log_).outcome, Outcome::kSaved);
  EXPECT_NE(log_.text().find("Skipping cache path /root/.m2/**/*: absolute paths outside"),
            std::string::npos);
  CacheRequest again = build("", std::nullopt, {}, req.spec.paths);
  EXPECT_EQ(cache_->restore(again, log_).outcome, Outcome::kHit);
  EXPECT_EQ(slurp(again.workspace / "deps/dep.txt"), "abs");
}

TEST_F(ArchiveCacheTest, ACorruptArchiveFailsAndLeavesTheWorkspaceUntouched) {
  save("good");
  const fs::path object = store_root_ / "proj" / cache_version({"deps/**/*"}) / "default.tar.zst";
  write(object, "this is not zstd at all");
  CacheRequest req = build("source");
  const auto before = listing(req.workspace);
  CacheReport r = cache_->restore(req, log_);
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_NE(r.detail.find("while extracting the cache"), std::string::npos) << r.detail;
  EXPECT_EQ(listing(req.workspace), before);
  EXPECT_TRUE(fs::is_empty(req.scratch));
  EXPECT_NE(log_.text().find("Cache restore failed: "), std::string::npos);
}

TEST_F(ArchiveCacheTest, ATruncatedArchiveFails) {
  CacheRequest big = build("");
  write(big.workspace / "deps/noise", std::string(1 << 20, 'n') + "tail");
  ASSERT_EQ(cache_->save(big, log_).outcome, Outcome::kSaved);
  const fs::path object = store_root_ / "proj" / cache_version({"deps/**/*"}) / "default.tar.zst";
  fs::resize_file(object, fs::file_size(object) - 8);
  CacheReport r;
  EXPECT_EQ(restored(std::nullopt, {}, &r), "");
  EXPECT_EQ(r.outcome, Outcome::kFailed);
}

TEST_F(ArchiveCacheTest, AnUnreachableStoreFailsWithoutThrowing) {
  write(tmp_.root() / "blocker", "a file where the store's folder should be");
  auto store = local_cache_store(tmp_.root() / "blocker");
  auto cache = archive_cache(*store);
  CacheRequest req = build("x");
  EXPECT_EQ(cache->save(req, log_).outcome, Outcome::kFailed);
  EXPECT_EQ(cache->restore(req, log_).outcome, Outcome::kMiss);
}

TEST_F(ArchiveCacheTest, ATimeoutFails) {
  save("x");
  CacheRequest req = build("");
  req.timeout = std::chrono::milliseconds(-1);
  CacheReport r = cache_->restore(req, log_);
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_NE(r.detail.find("timed out"), std::string::npos) << r.detail;
  EXPECT_FALSE(fs::exists(req.workspace / "deps"));
}

TEST_F(ArchiveCacheTest, EvictsTheNamespaceAfterASave) {
  auto cache = archive_cache(*store_, 1, {});  // 1 byte: only the newest object... is too big
  CacheRequest req = build("x", "k1");
  EXPECT_EQ(cache->save(req, log_).outcome, Outcome::kSaved);
  EXPECT_TRUE(listing(store_root_ / "proj").size() <= 2U);  // the version folder and keys/
  EXPECT_NE(log_.text().find("Cache eviction removed 1 old object(s)"), std::string::npos);
}

}  // namespace
}  // namespace kiln::cache
