#include "util/rooted_path.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace kiln {
namespace {

namespace fs = std::filesystem;

class RootedPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kiln-rp-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    top_ = fs::canonical(tmpl);
    root_ = top_ / "root";
    fs::create_directories(root_ / "a/b");
    std::ofstream(root_ / "a/b/f.txt") << "x";
    std::ofstream(top_ / "outside.txt") << "secret";
  }
  void TearDown() override {
    if (HasFailure()) return;  // keep the tree to look at
    fs::remove_all(top_);
  }

  fs::path top_;
  fs::path root_;
};

TEST_F(RootedPathTest, ResolvesAndNormalises) {
  auto p = RootedPath::resolve(root_, "./a//b/./f.txt");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->relative(), "a/b/f.txt");
  EXPECT_EQ(p->absolute(), root_ / "a/b/f.txt");
  EXPECT_EQ(p->root(), root_);
  EXPECT_TRUE(p->exists());
}

TEST_F(RootedPathTest, EmptyAndDotNameTheRoot) {
  for (const char* s : {"", ".", "./", "a/.."}) {
    auto p = RootedPath::resolve(root_, s);
    ASSERT_TRUE(p) << s;
    EXPECT_EQ(p->relative(), "") << s;
    EXPECT_EQ(p->absolute(), root_) << s;
  }
}

TEST_F(RootedPathTest, RejectsAbsolutePaths) {
  auto p = RootedPath::resolve(root_, "/etc/passwd");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code(), ErrorCode::kPathEscape);
  EXPECT_EQ(p.error().message(), "absolute path not allowed: /etc/passwd");
}

TEST_F(RootedPathTest, RejectsDotDotAboveTheRoot) {
  for (const char* s : {"..", "../x", "a/../../outside.txt", "a/b/../../../x"}) {
    auto p = RootedPath::resolve(root_, s);
    ASSERT_FALSE(p) << s;
    EXPECT_EQ(p.error().code(), ErrorCode::kPathEscape) << s;
    EXPECT_EQ(p.error().message(), std::string("path escapes its root: ") + s);
  }
  EXPECT_TRUE(RootedPath::resolve(root_, "a/../a/b/f.txt"));
}

TEST_F(RootedPathTest, RejectsSymlinkToAbsoluteOutside) {
  fs::create_symlink("/etc", root_ / "etc");
  auto p = RootedPath::resolve(root_, "etc/passwd");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code(), ErrorCode::kPathEscape);
  EXPECT_EQ(p.error().message(), "path escapes its root: etc/passwd (through symlink etc -> /etc)");
}

TEST_F(RootedPathTest, RejectsRelativeSymlinkThatClimbsOut) {
  fs::create_symlink("../../outside.txt", root_ / "a/leak");
  auto p = RootedPath::resolve(root_, "a/leak");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code(), ErrorCode::kPathEscape);
  EXPECT_NE(p.error().message().find("a/leak -> ../../outside.txt"), std::string::npos);
}

TEST_F(RootedPathTest, FollowsSymlinksThatStayInside) {
  fs::create_symlink("a/b", root_ / "short");
  fs::create_symlink(root_ / "a/b/f.txt", root_ / "abs-inside");
  auto rel = RootedPath::resolve(root_, "short/f.txt");
  ASSERT_TRUE(rel) << rel.error().message();
  EXPECT_EQ(rel->relative(), "a/b/f.txt");
  auto abs = RootedPath::resolve(root_, "abs-inside");
  ASSERT_TRUE(abs) << abs.error().message();
  EXPECT_EQ(abs->relative(), "a/b/f.txt");
}

TEST_F(RootedPathTest, DotDotAfterASymlinkIsPhysical) {
  // Like the kernel: "link/.." is the parent of the link's target, not the link's directory.
  fs::create_directories(root_ / "x/y");
  fs::create_symlink("x/y", root_ / "l");
  auto p = RootedPath::resolve(root_, "l/../z", {.allow_missing = true});
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->relative(), "x/z");
}

TEST_F(RootedPathTest, MissingComponents) {
  auto strict = RootedPath::resolve(root_, "a/nope/x");
  ASSERT_FALSE(strict);
  EXPECT_EQ(strict.error().code(), ErrorCode::kNotFound);
  auto lenient = RootedPath::resolve(root_, "a/nope/x", {.allow_missing = true});
  ASSERT_TRUE(lenient);
  EXPECT_FALSE(lenient->exists());
  EXPECT_EQ(lenient->relative(), "a/nope/x");
  auto climb = RootedPath::resolve(root_, "nope/../../x", {.allow_missing = true});
  ASSERT_FALSE(climb);
  EXPECT_EQ(climb.error().code(), ErrorCode::kPathEscape);
}

TEST_F(RootedPathTest, FinalSymlinkCanBeLeftUnfollowed) {
  fs::create_symlink("/etc/passwd", root_ / "out");
  auto p = RootedPath::resolve(root_, "out", {.allow_missing = false, .follow_final = false});
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->relative(), "out");
  EXPECT_FALSE(RootedPath::resolve(root_, "out"));
}

TEST_F(RootedPathTest, SymlinkLoopIsAnError) {
  fs::create_symlink("loop2", root_ / "loop1");
  fs::create_symlink("loop1", root_ / "loop2");
  auto p = RootedPath::resolve(root_, "loop1");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(RootedPathTest, FileInTheMiddleIsNotADirectory) {
  auto p = RootedPath::resolve(root_, "a/b/f.txt/x");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code(), ErrorCode::kNotFound);
}

TEST_F(RootedPathTest, RootReachedThroughASymlinkIsCanonical) {
  fs::create_symlink(root_, top_ / "alias");
  // A link written with the alias spelling still counts as inside.
  fs::create_symlink(top_ / "alias/a/b", root_ / "via-alias");
  auto p = RootedPath::resolve(top_ / "alias", "via-alias/f.txt");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->root(), root_);
  EXPECT_EQ(p->relative(), "a/b/f.txt");
}

TEST_F(RootedPathTest, MissingRootIsNotFound) {
  auto p = RootedPath::resolve(top_ / "nope", "x");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace kiln
