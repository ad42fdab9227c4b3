#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "cache/build_cache.h"
#include "cache_test_util.h"

namespace kiln::cache {
namespace {

namespace fs = std::filesystem;
using testing::slurp;
using testing::TempDir;
using testing::write;

class LocalStoreTest : public ::testing::Test {
 protected:
  fs::path source(const std::string& content) {
    const fs::path p = tmp_.dir("in") / ("f" + std::to_string(++n_));
    write(p, content);
    return p;
  }
  void put(const std::string& name, const std::string& content) {
    auto r = store_->put(name, source(content));
    ASSERT_TRUE(r) << r.error().describe();
  }
  std::vector<std::string> names(const std::string& prefix) {
    auto r = store_->list(prefix);
    EXPECT_TRUE(r) << r.error().describe();
    std::vector<std::string> out;
    if (r) {
      for (const CacheObject& o : *r) out.push_back(o.name);
    }
    return out;
  }

  TempDir tmp_;
  int n_ = 0;
  std::unique_ptr<CacheStore> store_ = local_cache_store(tmp_.dir("store"));
};

TEST_F(LocalStoreTest, PutFindListFetchRemove) {
  put("ns/v1/default.tar.zst", "default");
  put("ns/v1/keys/npm-a.tar.zst", "aaa");
  put("ns/v1/keys/npm-b.tar.zst", "bb");
  put("ns/v2/keys/npm-a.tar.zst", "other version");

  auto found = store_->find("ns/v1/keys/npm-a.tar.zst");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->size, 3U);
  EXPECT_GT((*found)->modified, 1.6e9);
  auto missing = store_->find("ns/v1/keys/nope.tar.zst");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
  missing = store_->find("nothing/here");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);

  EXPECT_EQ(names("ns/v1/keys/npm-"),
            (std::vector<std::string>{"ns/v1/keys/npm-a.tar.zst", "ns/v1/keys/npm-b.tar.zst"}));
  EXPECT_EQ(names("ns/v1/").size(), 3U);
  EXPECT_EQ(names("ns/").size(), 4U);
  EXPECT_EQ(names("").size(), 4U);
  EXPECT_TRUE(names("zz/").empty());

  const fs::path dest = tmp_.root() / "fetched";
  ASSERT_TRUE(store_->fetch("ns/v1/keys/npm-b.tar.zst", dest));
  EXPECT_EQ(slurp(dest), "bb");
  auto gone = store_->fetch("ns/v1/keys/zzz.tar.zst", tmp_.root() / "x");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), ErrorCode::kNotFound);

  ASSERT_TRUE(store_->remove("ns/v1/keys/npm-b.tar.zst"));
  ASSERT_TRUE(store_->remove("ns/v1/keys/npm-b.tar.zst"));  // already gone is fine
  EXPECT_EQ(names("ns/v1/keys/"), (std::vector<std::string>{"ns/v1/keys/npm-a.tar.zst"}));
  EXPECT_EQ(store_->describe(), (tmp_.root() / "store").string());
}

TEST_F(LocalStoreTest, PutReplacesAtomicallyAndLeavesNoTempFiles) {
  put("ns/v/default.tar.zst", "old");
  const fs::path held = tmp_.root() / "held";
  ASSERT_TRUE(store_->fetch("ns/v/default.tar.zst", held));  // a reader in the middle
  put("ns/v/default.tar.zst", "new content");
  EXPECT_EQ(slurp(tmp_.root() / "store/ns/v/default.tar.zst"), "new content");
  EXPECT_EQ(slurp(held), "old");  // the reader's copy is intact
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(tmp_.root() / "store/ns/v")) {
    files.push_back(e.path().filename());
  }
  EXPECT_EQ(files, (std::vector<std::string>{"default.tar.zst"}));
  // A temp file left by a crash is never listed.
  write(tmp_.root() / "store/ns/v/.~tmp-abc", "partial");
  EXPECT_EQ(names("ns/"), (std::vector<std::string>{"ns/v/default.tar.zst"}));
}

TEST_F(LocalStoreTest, RefusesNamesThatEscapeTheRoot) {
  const fs::path file = source("x");
  for (const std::string bad :
       {"../x", "a/../../x", "/etc/x", "a//b", "a/./b", "", "a/", "ns/.~tmp-1"}) {
    auto r = store_->put(bad, file);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kPathEscape) << bad;
    EXPECT_FALSE(store_->find(bad)) << bad;
    EXPECT_FALSE(store_->fetch(bad, tmp_.root() / "out")) << bad;
    EXPECT_FALSE(store_->remove(bad)) << bad;
  }
  EXPECT_FALSE(store_->list("../"));
  EXPECT_FALSE(fs::exists(tmp_.root() / "x"));
}

TEST_F(LocalStoreTest, EvictsByAgeThenOldestFirstBySize) {
  put("ns/v/keys/a.tar.zst", std::string(100, 'a'));
  put("ns/v/keys/b.tar.zst", std::string(100, 'b'));
  put("ns/v/keys/c.tar.zst", std::string(100, 'c'));
  put("ns/v/default.tar.zst", std::string(100, 'd'));
  put("other/v/default.tar.zst", std::string(100, 'o'));
  // Ages by mtime: a is 10 days old, b 3 days, c 2 days, default 1 day.
  const double now = 1'800'000'000;
  const auto age = [&](const std::string& name, double days) {
    const struct timespec t[2] = {{0, UTIME_OMIT}, {static_cast<time_t>(now - days * 86400), 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (tmp_.root() / "store" / name).c_str(), t, 0), 0);
  };
  age("ns/v/keys/a.tar.zst", 10);
  age("ns/v/keys/b.tar.zst", 3);
  age("ns/v/keys/c.tar.zst", 2);
  age("ns/v/default.tar.zst", 1);
  age("other/v/default.tar.zst", 30);

  auto r = evict(*store_, "ns/", 0, std::chrono::hours(24 * 7), now);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(*r, 1U);  // a; "other/" is another namespace
  r = evict(*store_, "ns/", 250, {}, now);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 1U);  // b, the oldest: 300 -> 200 bytes
  EXPECT_EQ(names("ns/"),
            (std::vector<std::string>{"ns/v/default.tar.zst", "ns/v/keys/c.tar.zst"}));
  r = evict(*store_, "ns/", 0, {}, now);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 0U);  // no limits
  EXPECT_EQ(names("other/").size(), 1U);
}

}  // namespace
}  // namespace kiln::cache
