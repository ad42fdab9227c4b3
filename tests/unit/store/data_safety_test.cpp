// docs/security.md finding 12 in the store: a damaged kiln.db is refused at open (quick_check), a
// new database file is private, and backup_database copies a live database consistently.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <string>

#include "store/backup.h"
#include "store/store.h"

namespace kiln::store {
namespace {

namespace fs = std::filesystem;

class DataSafetyTest : public ::testing::Test {
 protected:
  DataSafetyTest() {
    std::string tmpl = (fs::temp_directory_path() / "kiln-store-safety-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    dir_ = tmpl;
  }
  ~DataSafetyTest() override {
    if (HasFailure()) {
      std::cerr << "test data left in " << dir_ << "\n";
      return;
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path file() const { return dir_ / "kiln.db"; }

  static void add_projects(Store& s, int n) {
    for (int i = 0; i < n; ++i) {
      const std::string name = "project-" + std::to_string(i);
      ASSERT_TRUE(s.create_project({name, 1.0 * i, 1.0 * i, std::string(400, 'x')}));
    }
  }

  fs::path dir_;
};

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

TEST_F(DataSafetyTest, NewDatabaseIsPrivate) {
  const mode_t old = ::umask(022);
  {
    auto s = open_sqlite(file());
    ASSERT_TRUE(s) << s.error().describe();
    add_projects(**s, 1);
    EXPECT_EQ(mode_of(file()), 0600U);
    EXPECT_EQ(mode_of(file().string() + "-wal"), 0600U);
  }
  ::umask(old);
}

TEST_F(DataSafetyTest, DamagedPagesAreRefusedAtOpenNamingTheFile) {
  {
    auto s = open_sqlite(file());
    ASSERT_TRUE(s) << s.error().describe();
    add_projects(**s, 200);  // about 25 pages of 4 KiB
  }
  // Random-looking bytes over pages 3 to 6, as a disk or a careless copy might leave them.
  const int fd = ::open(file().c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  std::string junk(4 * 4096, '\0');
  unsigned x = 12345;
  for (char& c : junk) c = static_cast<char>((x = x * 1103515245 + 12345) >> 16);
  ASSERT_EQ(::pwrite(fd, junk.data(), junk.size(), 2 * 4096), static_cast<ssize_t>(junk.size()));
  ::close(fd);

  ::testing::internal::CaptureStderr();
  auto s = open_sqlite(file());
  ::testing::internal::GetCapturedStderr();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kIo);
  const std::string m = s.error().describe();
  EXPECT_NE(m.find("cannot use " + file().string()), std::string::npos) << m;
  EXPECT_NE(m.find("Kiln leaves it untouched"), std::string::npos) << m;
}

TEST_F(DataSafetyTest, BackupOfAnOpenDatabaseOpensWithItsRows) {
  auto s = open_sqlite(file());
  ASSERT_TRUE(s) << s.error().describe();
  add_projects(**s, 30);
  const fs::path copy = dir_ / "copy.db";
  // The store stays open, its last commits still in the WAL.
  ASSERT_TRUE(backup_database(file(), copy));
  EXPECT_EQ(mode_of(copy), 0600U);
  EXPECT_FALSE(fs::exists(copy.string() + "-wal"));
  auto c = open_sqlite(copy);
  ASSERT_TRUE(c) << c.error().describe();
  auto rows = (*c)->get_projects({"project-0", "project-29"});
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->size(), 2U);
}

TEST_F(DataSafetyTest, BackupNeverWritesOverAFile) {
  auto s = open_sqlite(file());
  ASSERT_TRUE(s);
  const fs::path copy = dir_ / "copy.db";
  ASSERT_TRUE(backup_database(file(), copy));
  auto again = backup_database(file(), copy);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().describe(), "create " + copy.string() + ": File exists");
  auto missing = backup_database(dir_ / "nope.db", dir_ / "other.db");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(dir_ / "other.db"));
}

}  // namespace
}  // namespace kiln::store
