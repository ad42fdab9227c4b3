// Symlinks in artifact collection: followed (default) or kept (enable-symlinks), and never
// followed nor kept when they lead out of the source directory.
#include <gtest/gtest.h>

#include "artifacts/collect.h"
#include "artifacts/temp_tree.h"

namespace kiln::artifacts {
namespace {

using kiln::testing::TempTree;

class SymlinkTest : public ::testing::Test {
 protected:
  SymlinkTest() {
    src_ = t_.path("src");
    t_.file("src/real/data.txt", "data");
    t_.file("outside/secret.txt", "secret");
  }

  Collected run(bool keep, std::vector<std::string> files = {"**/*"}) {
    spec::ArtifactSpec s;
    s.files = std::move(files);
    s.enable_symlinks = keep;
    CollectContext ctx{src_, {}, nullptr, {}};
    auto r = collect(s, ctx, log_);
    EXPECT_TRUE(r) << r.error().describe();
    return r ? std::move(*r) : Collected{};
  }

  const Entry* find(const Collected& c, const std::string& path) {
    for (const Entry& e : c.files.entries) {
      if (e.archive_path == path) return &e;
    }
    return nullptr;
  }

  TempTree t_;
  std::filesystem::path src_;
  logs::MemorySink log_;
};

TEST_F(SymlinkTest, LinkToFileInsideStoresTheTargetsContent) {
  t_.link("src/alias.txt", "real/data.txt");
  Collected c = run(false);
  const Entry* e = find(c, "alias.txt");
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(e->is_symlink);
  EXPECT_EQ(e->source_rel, "real/data.txt");
  EXPECT_EQ(e->source, src_ / "real/data.txt");
}

TEST_F(SymlinkTest, LinkToDirectoryInsideIsWalkedUnderTheLinkName) {
  t_.link("src/view", "real");
  Collected c = run(false);
  ASSERT_NE(find(c, "view/data.txt"), nullptr);
  ASSERT_NE(find(c, "real/data.txt"), nullptr);
  EXPECT_EQ(find(c, "view/data.txt")->source_rel, "real/data.txt");
}

TEST_F(SymlinkTest, AbsoluteLinkOutsideIsNeverFollowed) {
  t_.link("src/etc", "/etc");
  t_.link("src/passwd", "/etc/passwd");
  Collected c = run(false);
  for (const Entry& e : c.files.entries) {
    EXPECT_EQ(e.source.string().rfind(src_.string(), 0), 0U) << e.source;
  }
  EXPECT_EQ(find(c, "passwd"), nullptr);
  EXPECT_NE(log_.text().find("Skipping symbolic link etc: its target is outside the source "
                             "directory\n"),
            std::string::npos)
      << log_.text();
  EXPECT_NE(log_.text().find("Skipping symbolic link passwd: its target is outside the source "
                             "directory\n"),
            std::string::npos);
}

TEST_F(SymlinkTest, RelativeLinkClimbingOutIsNeverFollowed) {
  t_.link("src/leak.txt", "../outside/secret.txt");
  t_.link("src/real/leakdir", "../../outside");
  Collected c = run(false);
  ASSERT_FALSE(c.failure);
  EXPECT_EQ(c.files.entries.size(), 1U);  // real/data.txt only
  EXPECT_EQ(find(c, "leak.txt"), nullptr);
  EXPECT_EQ(find(c, "real/leakdir/secret.txt"), nullptr);
}

TEST_F(SymlinkTest, OnlyEscapingLinksMatchedIsNoMatch) {
  t_.link("src/leak.txt", "../outside/secret.txt");
  Collected c = run(false, {"leak.txt"});
  ASSERT_TRUE(c.failure);
  EXPECT_EQ(c.failure->message, "no matching artifact paths found");
  EXPECT_NE(log_.text().find("Expanding leak.txt\nSkipping invalid file path leak.txt\n"),
            std::string::npos);
}

TEST_F(SymlinkTest, PatternThroughEscapingDirectoryLinkFindsNothing) {
  t_.link("src/etc", "/etc");
  Collected c = run(false, {"etc/passwd", "real/data.txt"});
  ASSERT_FALSE(c.failure);
  EXPECT_EQ(c.files.entries.size(), 1U);
  EXPECT_NE(log_.text().find("Skipping invalid file path etc/passwd"), std::string::npos);
}

TEST_F(SymlinkTest, DanglingLinkIsSkippedWhenFollowing) {
  t_.link("src/dangling", "nope.txt");
  Collected c = run(false);
  EXPECT_EQ(find(c, "dangling"), nullptr);
  EXPECT_NE(log_.text().find("Skipping symbolic link dangling: its target does not exist\n"),
            std::string::npos);
}

TEST_F(SymlinkTest, LinkLoopsAreSkipped) {
  t_.link("src/real/back", "..");  // a directory containing itself
  t_.link("src/l1", "l2");
  t_.link("src/l2", "l1");
  Collected c = run(false);
  ASSERT_FALSE(c.failure);
  EXPECT_NE(find(c, "real/data.txt"), nullptr);
  EXPECT_NE(log_.text().find("Skipping symbolic link real/back: it points to a directory that "
                             "contains it\n"),
            std::string::npos)
      << log_.text();
  EXPECT_NE(log_.text().find("Skipping symbolic link l1: too many levels of symbolic links\n"),
            std::string::npos);
}

TEST_F(SymlinkTest, EnableSymlinksKeepsInternalLinksAsLinks) {
  t_.link("src/alias.txt", "real/data.txt");
  t_.link("src/view", "real");
  t_.link("src/dangling", "real/not-yet");
  Collected c = run(true);
  const Entry* file_link = find(c, "alias.txt");
  ASSERT_NE(file_link, nullptr);
  EXPECT_TRUE(file_link->is_symlink);
  EXPECT_EQ(file_link->link_target, "real/data.txt");
  EXPECT_EQ(file_link->source, src_ / "alias.txt");
  const Entry* dir_link = find(c, "view");
  ASSERT_NE(dir_link, nullptr);
  EXPECT_TRUE(dir_link->is_symlink);
  EXPECT_EQ(find(c, "view/data.txt"), nullptr);  // links are not followed
  ASSERT_NE(find(c, "dangling"), nullptr);
  EXPECT_TRUE(find(c, "dangling")->is_symlink);
}

TEST_F(SymlinkTest, EnableSymlinksDropsLinksThatLeaveTheSource) {
  t_.link("src/etc", "/etc");
  t_.link("src/leak.txt", "../outside/secret.txt");
  Collected c = run(true);
  EXPECT_EQ(find(c, "etc"), nullptr);
  EXPECT_EQ(find(c, "leak.txt"), nullptr);
  EXPECT_NE(log_.text().find("Skipping symbolic link leak.txt: its target is outside the source "
                             "directory\n"),
            std::string::npos);
}

TEST_F(SymlinkTest, LinksOutsideTheBaseButInsideTheSourceAreFine) {
  t_.file("src/README.md", "readme");
  t_.link("src/dist/README.md", "../README.md");
  spec::ArtifactSpec s;
  s.files = {"**/*"};
  s.base_directory = "dist";
  CollectContext ctx{src_, {}, nullptr, {}};
  auto r = collect(s, ctx, log_);
  ASSERT_TRUE(r);
  ASSERT_FALSE(r->failure);
  ASSERT_EQ(r->files.entries.size(), 1U);
  EXPECT_EQ(r->files.entries[0].archive_path, "README.md");
  EXPECT_EQ(r->files.entries[0].source_rel, "README.md");
}

TEST_F(SymlinkTest, BaseDirectoryThroughAnInternalLinkIsAllowed) {
  t_.link("src/current", "real");
  spec::ArtifactSpec s;
  s.files = {"*"};
  s.base_directory = "current";
  CollectContext ctx{src_, {}, nullptr, {}};
  auto r = collect(s, ctx, log_);
  ASSERT_TRUE(r);
  ASSERT_FALSE(r->failure);
  ASSERT_EQ(r->files.entries.size(), 1U);
  EXPECT_EQ(r->files.entries[0].archive_path, "data.txt");
}

}  // namespace
}  // namespace kiln::artifacts
