// Absolute cache.paths outside CODEBUILD_SRC_DIR (docs/cache.md "Absolute paths"): copied out of
// the build's environment at save and back in at restore, for archive and linked caches, with
// a folder standing in for the environment's root. Nothing outside the paths the buildspec
// names is written, and no symlink in the environment is followed to a host file.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <memory>
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

class AbsoluteCacheTest : public ::testing::Test {
 protected:
  // One build in a fresh environment, env<n>/.
  CacheRequest build(std::vector<std::string> paths = {"/root/.m2/**/*"}) {
    const std::string n = std::to_string(++builds_);
    env_ = tmp_.dir("env" + n);
    CacheRequest req;
    req.spec.present = true;
    req.spec.paths = std::move(paths);
    req.namespace_name = "proj";
    req.workspace = tmp_.dir("ws" + n);
    req.build_src_dir = "/codebuild/output/src1/src";
    req.scratch = tmp_.dir("scratch" + n);
    req.private_scratch = tmp_.dir("private" + n);
    const fs::path env = env_;
    req.open_environment_root = [env]() -> Result<UniqueFd> {
      return UniqueFd(::open(env.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    };
    return req;
  }

  TempDir tmp_;
  fs::path env_;
  fs::path secret_ = [this] {
    write(tmp_.dir("host") / "secret.txt", "HOST-SECRET");
    return tmp_.dir("host") / "secret.txt";
  }();
  logs::MemorySink log_;
  int builds_ = 0;
  fs::path store_root_ = tmp_.dir("store");
  std::unique_ptr<CacheStore> store_ = local_cache_store(store_root_);
  std::unique_ptr<BuildCache> cache_ = archive_cache(*store_);
};

TEST_F(AbsoluteCacheTest, ArchiveCacheRoundTripsTheEnvironmentsFolder) {
  CacheRequest first = build({"/root/.m2/**/*", "deps/**/*"});
  write(env_ / "root/.m2/repo/a.jar", "jar");
  write(first.workspace / "deps/d", "dep");
  fs::create_symlink(secret_, env_ / "root/.m2/leak");
  const CacheReport saved = cache_->save(first, log_);
  ASSERT_EQ(saved.outcome, Outcome::kSaved) << log_.text();

  CacheRequest second = build({"/root/.m2/**/*", "deps/**/*"});
  ASSERT_EQ(cache_->restore(second, log_).outcome, Outcome::kHit) << log_.text();
  EXPECT_EQ(slurp(env_ / "root/.m2/repo/a.jar"), "jar");
  EXPECT_EQ(slurp(second.workspace / "deps/d"), "dep");
  // The copies are not restored into the workspace, and the host file never entered the cache.
  EXPECT_FALSE(fs::exists(second.workspace / kAbsoluteFolder));
  EXPECT_FALSE(fs::exists(env_ / "root/.m2/leak"));  // an absolute link is not cached
  EXPECT_NE(log_.text().find("Skipping cache path .kiln-absolute/root/.m2/leak: symlink to " +
                             secret_.string() + " leaves the workspace"),
            std::string::npos)
      << log_.text();
  // Kiln's copy is gone once saved.
  EXPECT_TRUE(fs::is_empty(first.private_scratch));
}

TEST_F(AbsoluteCacheTest, RestoreWritesOnlyThePathsTheBuildspecNames) {
  CacheRequest req = build();
  // A tampered object under this path list's version that also holds /etc/passwd.
  const fs::path mirror = tmp_.dir("mirror");
  write(mirror / "root/.m2/a.jar", "jar");
  write(mirror / "etc/passwd", "owned");
  const fs::path object = store_root_ / "proj" / cache_version(req.spec.paths) / "default.tar.zst";
  fs::create_directories(object.parent_path());
  auto packed =
      pack_trees({PackTree{mirror, {"root/**/*", "etc/**/*"}, kAbsoluteFolder}}, object, log_);
  ASSERT_TRUE(packed) << packed.error().describe();
  ASSERT_EQ(cache_->restore(req, log_).outcome, Outcome::kHit) << log_.text();
  EXPECT_EQ(slurp(env_ / "root/.m2/a.jar"), "jar");
  EXPECT_FALSE(fs::exists(env_ / "etc/passwd"));
}

TEST_F(AbsoluteCacheTest, RestoreReplacesALinkThePreviousContentLeft) {
  CacheRequest first = build({"/root/.cache/pip"});
  write(env_ / "root/.cache/pip/wheel", "whl");
  ASSERT_EQ(cache_->save(first, log_).outcome, Outcome::kSaved) << log_.text();
  CacheRequest second = build({"/root/.cache/pip"});
  // The image has a link where the cached file goes, to a host file's path.
  fs::create_directories(env_ / "root/.cache/pip");
  fs::create_symlink(secret_, env_ / "root/.cache/pip/wheel");
  ASSERT_EQ(cache_->restore(second, log_).outcome, Outcome::kHit) << log_.text();
  EXPECT_EQ(slurp(env_ / "root/.cache/pip/wheel"), "whl");
  EXPECT_EQ(slurp(secret_), "HOST-SECRET");
}

TEST_F(AbsoluteCacheTest, WithoutAnEnvironmentAbsolutePathsAreSkipped) {
  CacheRequest req = build();
  req.open_environment_root = nullptr;
  write(env_ / "root/.m2/a.jar", "jar");
  EXPECT_EQ(cache_->save(req, log_).outcome, Outcome::kNotSaved);
  EXPECT_NE(log_.text().find("Skipping cache path /root/.m2/**/*: absolute paths outside "
                             "CODEBUILD_SRC_DIR are not cached here"),
            std::string::npos);
}

TEST_F(AbsoluteCacheTest, TheWholeFileSystemIsNeverCached) {
  CacheRequest req = build({"/**/*"});
  write(env_ / "etc/x", "x");
  EXPECT_EQ(cache_->save(req, log_).outcome, Outcome::kNotSaved);
  EXPECT_NE(log_.text().find("Skipping cache path /**/*: it names the whole file system"),
            std::string::npos);
}

TEST_F(AbsoluteCacheTest, LinkedCacheCopiesTheFolderBackAndForth) {
  const fs::path root = tmp_.dir("local");
  {
    auto linked = linked_cache(root);
    CacheRequest first = build();
    EXPECT_EQ(linked->restore(first, log_).outcome, Outcome::kMiss) << log_.text();
    write(env_ / "root/.m2/repo/a.jar", "jar");
    fs::create_symlink(secret_, env_ / "root/.m2/leak");
    EXPECT_EQ(linked->save(first, log_).outcome, Outcome::kSaved) << log_.text();
  }
  const fs::path folder = linked_cache_dir(root, "proj") / encode_key("/root/.m2");
  EXPECT_EQ(slurp(folder / "repo/a.jar"), "jar");
  EXPECT_TRUE(fs::is_symlink(folder / "leak"));  // kept as a link, its target never read
  {
    auto linked = linked_cache(root);
    CacheRequest second = build();
    EXPECT_EQ(linked->restore(second, log_).outcome, Outcome::kHit) << log_.text();
    EXPECT_EQ(slurp(env_ / "root/.m2/repo/a.jar"), "jar");
  }
}

}  // namespace
}  // namespace kiln::cache
