// ImageStore (image/store.h): names, whole images only (staging, commit, replace, remove),
// stale staging folders, and remove_tree's refusal to reach into a mount.
#include "image/store.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "util/files.h"
#include "util/unique_fd.h"

namespace kiln::image {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> leaves(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

class ImageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kiln-store-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!HasFailure())
      fs::remove_all(dir_);
    else
      std::fprintf(stderr, "test folder kept at %s\n", dir_.c_str());
  }

  // Stages an image whose rootfs holds one file saying `content`, and commits it.
  Result<ImageEntry> put(ImageStore& store, const std::string& name, const std::string& content) {
    auto s = store.begin(name);
    if (!s) return fail(std::move(s.error()));
    fs::create_directories(s->rootfs());
    std::ofstream(s->rootfs() / "marker") << content;
    std::ofstream(s->tar()) << "tar";
    ImageEntry e;
    e.suite = "bookworm";
    e.packages = {"git", "curl"};
    e.runtimes = {{"python", "3.11"}, {"nodejs", "18"}};
    e.built_at = "2025-05-20T10:11:12Z";
    e.rootfs_bytes = 1234;
    e.tar_bytes = 5678;
    e.build_seconds = 12.5;
    return store.commit(std::move(*s), e);
  }

  fs::path dir_;
};

TEST(FolderName, DockerRepositoryPathsOnly) {
  EXPECT_EQ(ImageStore::folder_name("kiln/minimal").value(), "kiln_minimal");
  EXPECT_EQ(ImageStore::folder_name("kiln/minimal:latest").value(), "kiln_minimal");
  EXPECT_EQ(ImageStore::folder_name("team/tools-1.2/img").value(), "team_tools-1.2_img");
  EXPECT_EQ(ImageStore::folder_name("my_image").value(), "my_image");
  for (const char* bad : {"", "/kiln", "kiln/", "kiln//x", "Kiln/x", "../x", "kiln/..", ".hidden",
                          "a..b", "kiln/x:1.0", "host:5000/x", "a b", "x-", "-x"}) {
    auto r = ImageStore::folder_name(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(DefaultImageDir, EnvironmentDecides) {
  const char* saved[3] = {getenv("KILN_IMAGE_DIR"), getenv("XDG_DATA_HOME"), getenv("HOME")};
  std::string keep[3];
  for (int i = 0; i < 3; ++i) keep[i] = saved[i] ? saved[i] : "";
  setenv("KILN_IMAGE_DIR", "/srv/images", 1);
  setenv("XDG_DATA_HOME", "/xdg", 1);
  setenv("HOME", "/home/u", 1);
  EXPECT_EQ(default_image_dir(), "/srv/images");
  unsetenv("KILN_IMAGE_DIR");
  EXPECT_EQ(default_image_dir(), "/xdg/kiln/images");
  setenv("XDG_DATA_HOME", "", 1);
  EXPECT_EQ(default_image_dir(), "/home/u/.local/share/kiln/images");
  const char* names[3] = {"KILN_IMAGE_DIR", "XDG_DATA_HOME", "HOME"};
  for (int i = 0; i < 3; ++i) {
    if (saved[i] != nullptr)
      setenv(names[i], keep[i].c_str(), 1);
    else
      unsetenv(names[i]);
  }
}

TEST_F(ImageStoreTest, AnImageAppearsOnlyWhenCommitted) {
  ImageStore store(dir_ / "images");
  EXPECT_TRUE(store.list().value().empty());  // no root yet: an empty store
  auto staging = store.begin("kiln/minimal");
  ASSERT_TRUE(staging) << staging.error().describe();
  EXPECT_EQ(staging->dir().parent_path(), dir_ / "images");
  EXPECT_TRUE(staging->dir().filename().string().starts_with(".kiln_minimal.tmp-" +
                                                             std::to_string(::getpid()) + "-"));
  fs::create_directories(staging->rootfs() / "bin");
  std::ofstream(staging->dir() / "image.json") << R"({"name": "kiln/minimal"})";  // half done
  EXPECT_TRUE(store.list().value().empty());
  EXPECT_FALSE(store.find("kiln/minimal").value());

  ImageEntry e;
  e.rootfs_bytes = 10;
  auto done = store.commit(std::move(*staging), e);
  ASSERT_TRUE(done) << done.error().describe();
  EXPECT_EQ(done->name, "kiln/minimal");
  EXPECT_EQ(done->dir, dir_ / "images/kiln_minimal");
  EXPECT_EQ(done->rootfs, dir_ / "images/kiln_minimal/rootfs");
  EXPECT_EQ(done->tar, dir_ / "images/kiln_minimal/image.tar");
  EXPECT_TRUE(fs::is_directory(done->rootfs / "bin"));
  EXPECT_FALSE(fs::exists(done->dir / ".lock"));
  EXPECT_EQ(leaves(dir_ / "images"), std::vector<std::string>{"kiln_minimal"});
}

TEST_F(ImageStoreTest, MetadataRoundTrips) {
  ImageStore store(dir_);
  ASSERT_TRUE(put(store, "kiln/standard", "one"));
  auto found = store.find("kiln/standard:latest");
  ASSERT_TRUE(found && *found);
  const ImageEntry& e = **found;
  EXPECT_EQ(e.name, "kiln/standard");
  EXPECT_EQ(e.suite, "bookworm");
  EXPECT_EQ(e.packages, (std::vector<std::string>{"git", "curl"}));
  // Runtimes come back by name (image.json keeps them as an object).
  EXPECT_EQ(e.runtimes, (std::vector<std::pair<std::string, std::string>>{{"nodejs", "18"},
                                                                          {"python", "3.11"}}));
  EXPECT_EQ(e.built_at, "2025-05-20T10:11:12Z");
  EXPECT_EQ(e.rootfs_bytes, 1234u);
  EXPECT_EQ(e.tar_bytes, 5678u);
  EXPECT_DOUBLE_EQ(e.build_seconds, 12.5);
  auto text = read_file(dir_ / "kiln_standard/image.json");
  ASSERT_TRUE(text);
  EXPECT_NE(text->find("\"built_at\": \"2025-05-20T10:11:12Z\""), std::string::npos) << *text;
}

TEST_F(ImageStoreTest, ARebuildReplacesTheOldImageWhole) {
  ImageStore store(dir_);
  ASSERT_TRUE(put(store, "kiln/minimal", "old"));
  std::ofstream(dir_ / "kiln_minimal/rootfs/only-in-old") << "x";
  ASSERT_TRUE(put(store, "kiln/minimal", "new"));
  EXPECT_EQ(read_file(dir_ / "kiln_minimal/rootfs/marker").value(), "new");
  EXPECT_FALSE(fs::exists(dir_ / "kiln_minimal/rootfs/only-in-old"));
  EXPECT_EQ(leaves(dir_), std::vector<std::string>{"kiln_minimal"});  // the old one is gone
}

TEST_F(ImageStoreTest, AnAbandonedBuildLeavesNothing) {
  ImageStore store(dir_);
  ASSERT_TRUE(put(store, "kiln/minimal", "kept"));
  {
    auto staging = store.begin("kiln/minimal");
    ASSERT_TRUE(staging);
    fs::create_directories(staging->rootfs() / "usr");
  }
  EXPECT_EQ(leaves(dir_), std::vector<std::string>{"kiln_minimal"});
  EXPECT_EQ(read_file(dir_ / "kiln_minimal/rootfs/marker").value(), "kept");
}

TEST_F(ImageStoreTest, StagingOfDeadProcessesIsDeletedByTheNextBuild) {
  ImageStore store(dir_);
  // pid 2^22 + 1 is above any pid_max, so no process has it.
  fs::create_directories(dir_ / ".kiln_minimal.tmp-4194305-abcdef/rootfs");
  // A dead pid whose lock is held: a builder in another pid namespace, still at work.
  fs::create_directories(dir_ / ".kiln_docker.tmp-4194305-abcdef");
  auto held = try_lock_file(dir_ / ".kiln_docker.tmp-4194305-abcdef/.lock");
  ASSERT_TRUE(held && *held);
  const std::string mine = ".other.tmp-" + std::to_string(::getpid()) + "-abcdef";
  fs::create_directories(dir_ / mine);
  auto staging = store.begin("kiln/standard");
  ASSERT_TRUE(staging);
  EXPECT_FALSE(fs::exists(dir_ / ".kiln_minimal.tmp-4194305-abcdef"));
  EXPECT_TRUE(fs::exists(dir_ / mine));  // a live process's build is left alone
  EXPECT_TRUE(fs::exists(dir_ / ".kiln_docker.tmp-4194305-abcdef"));
}

TEST_F(ImageStoreTest, ListSortsAndSkipsBrokenImages) {
  ImageStore store(dir_);
  ASSERT_TRUE(put(store, "kiln/standard", "s"));
  ASSERT_TRUE(put(store, "kiln/minimal", "m"));
  ASSERT_TRUE(put(store, "team/app", "a"));
  fs::create_directories(dir_ / "broken");
  std::ofstream(dir_ / "broken/image.json") << "{not json";
  fs::create_directories(dir_ / "no-metadata/rootfs");
  auto all = store.list();
  ASSERT_TRUE(all);
  std::vector<std::string> names;
  for (const auto& e : *all) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"kiln/minimal", "kiln/standard", "team/app"}));
  auto broken = store.find("broken");
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code(), ErrorCode::kParse);
}

TEST_F(ImageStoreTest, RemoveDeletesTheImage) {
  ImageStore store(dir_);
  ASSERT_TRUE(put(store, "kiln/minimal", "m"));
  ASSERT_TRUE(store.remove("kiln/minimal"));
  EXPECT_TRUE(leaves(dir_).empty());
  auto again = store.remove("kiln/minimal");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store.remove("Bad Name").error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(ImageStoreTest, NamesSharingAFolderDoNotMix) {
  ImageStore store(dir_);
  ASSERT_TRUE(put(store, "team/app", "a"));
  EXPECT_FALSE(store.find("team_app").value());
  auto other = store.begin("team_app");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(store.remove("team_app").error().code(), ErrorCode::kNotFound);
}

TEST_F(ImageStoreTest, RemoveTreeRefusesToReachIntoAMount) {
  fs::create_directories(dir_ / "rootfs/proc");
  if (::mount("tmpfs", (dir_ / "rootfs/proc").c_str(), "tmpfs", 0, "size=1m") != 0)
    GTEST_SKIP() << "cannot mount here: " << std::strerror(errno);
  std::ofstream(dir_ / "rootfs/proc/inside") << "host data";
  auto r = remove_tree(dir_ / "rootfs");
  ::umount((dir_ / "rootfs/proc").c_str());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kIo);
  EXPECT_NE(r.error().message().find("is mounted inside it"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir_ / "rootfs/proc"));
  EXPECT_TRUE(remove_tree(dir_ / "rootfs"));
  EXPECT_FALSE(fs::exists(dir_ / "rootfs"));
  EXPECT_TRUE(remove_tree(dir_ / "never-was"));
}

TEST_F(ImageStoreTest, TreeBytesCountsHardLinksOnce) {
  fs::create_directories(dir_ / "t/d");
  std::ofstream(dir_ / "t/a") << "12345";
  std::ofstream(dir_ / "t/d/b") << "123";
  fs::create_hard_link(dir_ / "t/a", dir_ / "t/d/a2");
  fs::create_symlink("a", dir_ / "t/l");  // a one-byte target
  EXPECT_EQ(tree_bytes(dir_ / "t").value(), 5u + 3u + 1u);
}

}  // namespace
}  // namespace kiln::image
