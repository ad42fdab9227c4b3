// util/files.h: the fd-relative helpers the artifact writers and the cache share.
#include "util/files.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace kiln {
namespace {

namespace fs = std::filesystem;

class FilesAtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kiln-files-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    top_ = fs::canonical(tmpl);
    fs::create_directories(top_ / "root/a");
    std::ofstream(top_ / "root/a/f.txt") << "x";
    std::ofstream(top_ / "outside.txt") << "secret";
    fs::create_symlink("../../outside.txt", top_ / "root/a/link");
  }
  void TearDown() override {
    if (HasFailure()) return;  // keep the tree to look at
    fs::remove_all(top_);
  }

  fs::path top_;
};

TEST_F(FilesAtTest, OpensBeneathTheRoot) {
  auto root = open_directory(top_ / "root");
  ASSERT_TRUE(root) << root.error().describe();
  for (const char* rel : {"a/f.txt", "./a//f.txt", "a/./f.txt"}) {
    auto f = open_beneath(root->get(), rel, O_RDONLY);
    ASSERT_TRUE(f) << rel << ": " << f.error().describe();
    char c = 0;
    EXPECT_EQ(::read(f->get(), &c, 1), 1);
    EXPECT_EQ(c, 'x');
  }
  auto self = open_beneath(root->get(), "", O_RDONLY | O_DIRECTORY);
  EXPECT_TRUE(self);
}

TEST_F(FilesAtTest, RefusesEscapesAndSymlinks) {
  auto root = open_directory(top_ / "root");
  ASSERT_TRUE(root);
  for (const char* rel : {"../outside.txt", "a/../../outside.txt", "a/link"}) {
    auto f = open_beneath(root->get(), rel, O_RDONLY);
    ASSERT_FALSE(f) << rel;
    EXPECT_EQ(f.error().code(), ErrorCode::kPathEscape) << rel;
  }
  auto missing = open_beneath(root->get(), "a/none", O_RDONLY);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST_F(FilesAtTest, MakesDirectoriesBeneathTheRoot) {
  ASSERT_TRUE(make_dirs_beneath(top_ / "root", "x//y/./z"));
  EXPECT_TRUE(fs::is_directory(top_ / "root/x/y/z"));
  EXPECT_TRUE(make_dirs_beneath(top_ / "root", "x/y"));  // existing folders are fine
  auto up = make_dirs_beneath(top_ / "root", "x/../../escaped");
  ASSERT_FALSE(up);
  EXPECT_EQ(up.error().code(), ErrorCode::kPathEscape);
  EXPECT_FALSE(fs::exists(top_ / "escaped"));
  fs::create_directory_symlink(top_, top_ / "root/up");
  EXPECT_FALSE(make_dirs_beneath(top_ / "root", "up/made"));  // never through a symlink
  EXPECT_FALSE(fs::exists(top_ / "made"));
}

TEST_F(FilesAtTest, StatAndReadLinkDoNotFollow) {
  auto dir = open_directory(top_ / "root/a");
  ASSERT_TRUE(dir);
  auto st = lstat_at(dir->get(), "link", "a/link");
  ASSERT_TRUE(st);
  EXPECT_TRUE(S_ISLNK(st->st_mode));
  auto target = read_link_at(dir->get(), "link", "a/link");
  ASSERT_TRUE(target);
  EXPECT_EQ(*target, "../../outside.txt");
  auto none = lstat_at(dir->get(), "none", "a/none");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message().find("a/none"), std::string::npos);
  EXPECT_TRUE(fsync_directory(top_ / "root"));
  EXPECT_FALSE(fsync_directory(top_ / "none"));
}

TEST(RandomSuffix, TwelveLowercaseHexDigits) {
  auto a = random_suffix();
  auto b = random_suffix();
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  EXPECT_EQ(a->size(), 12u);
  EXPECT_EQ(a->find_first_not_of("0123456789abcdef"), std::string::npos) << *a;
  EXPECT_NE(*a, *b);
}

}  // namespace
}  // namespace kiln
