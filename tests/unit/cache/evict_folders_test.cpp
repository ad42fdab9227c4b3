// evict_folders(): the LOCAL caches' eviction by age and size, oldest first, never a folder
// whose lock a build holds.
#include <fcntl.h>
#include <sys/file.h>

#include <chrono>

#include "cache/build_cache.h"
#include "cache_test_util.h"
#include "util/unique_fd.h"

namespace kiln::cache {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::write;

class EvictFoldersTest : public ::testing::Test {
 protected:
  // A unit of `bytes` bytes last used `age` seconds before kNow.
  void unit(const std::string& name, std::size_t bytes, int age) {
    write(tmp_.root() / name / "sub" / "f", std::string(bytes, 'x'));
    const auto when = std::chrono::file_clock::from_sys(
        std::chrono::system_clock::time_point(std::chrono::seconds(kNow - age)));
    fs::last_write_time(tmp_.root() / name, when);
  }
  bool has(const std::string& name) const { return fs::exists(tmp_.root() / name); }

  static constexpr long long kNow = 2'000'000'000;
  TempDir tmp_;
};

TEST_F(EvictFoldersTest, RemovesWhatIsTooOldThenTheOldestUntilItFits) {
  unit("stale", 10, 900);
  unit("old", 400, 300);
  unit("mid", 400, 200);
  unit("new", 400, 100);
  auto r = evict_folders(tmp_.root(), 800, std::chrono::seconds(600), kNow);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(*r, 2U);
  EXPECT_FALSE(has("stale"));  // age
  EXPECT_FALSE(has("old"));    // size: 1200 > 800, oldest first
  EXPECT_TRUE(has("mid"));
  EXPECT_TRUE(has("new"));
}

TEST_F(EvictFoldersTest, NoLimitsRemoveNothing) {
  unit("a", 10, 1'000'000);
  auto r = evict_folders(tmp_.root(), 0, std::chrono::seconds(0), kNow);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 0U);
  EXPECT_TRUE(has("a"));
}

TEST_F(EvictFoldersTest, AFolderInUseIsKept) {
  unit("busy", 10, 900);
  const std::string lock_path = (tmp_.root() / "busy.lock").string();
  UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  ASSERT_TRUE(lock);
  ASSERT_EQ(::flock(lock.get(), LOCK_EX), 0);
  auto r = evict_folders(tmp_.root(), 1, std::chrono::seconds(60), kNow);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 0U);
  EXPECT_TRUE(has("busy"));
  lock.reset();
  r = evict_folders(tmp_.root(), 1, std::chrono::seconds(60), kNow);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 1U);
  EXPECT_FALSE(has("busy"));
}

TEST_F(EvictFoldersTest, AMissingRootIsEmpty) {
  auto r = evict_folders(tmp_.root() / "none", 1, std::chrono::seconds(1), kNow);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(*r, 0U);
}

}  // namespace
}  // namespace kiln::cache
