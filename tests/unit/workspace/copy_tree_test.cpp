// copy_tree against real trees in a temporary folder. A failed test keeps its folder.
#include "workspace/workspace.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

namespace kiln::workspace {
namespace {

namespace fs = std::filesystem;

void write_file(const fs::path& p, const std::string& data, mode_t mode = 0644) {
  std::ofstream(p, std::ios::binary) << data;
  ASSERT_EQ(::chmod(p.c_str(), mode), 0);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Sets atime and mtime without following symlinks; distinct nanoseconds catch truncation.
void set_mtime(const fs::path& p, long sec, long nsec) {
  const timespec t[2] = {{sec, nsec}, {sec, nsec}};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), t, AT_SYMLINK_NOFOLLOW), 0) << p;
}

struct stat lstat_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

// Every entry of `a` has an identical twin in `b` (type, mode, mtime, content or target), and
// the two hold the same number of entries.
void expect_same_tree(const fs::path& a, const fs::path& b) {
  std::size_t count_a = 0, count_b = 0;
  for (const auto& e : fs::recursive_directory_iterator(a)) {
    ++count_a;
    const fs::path rel = e.path().lexically_relative(a);
    const fs::path twin = b / rel;
    const struct stat sa = lstat_of(e.path());
    const struct stat sb = lstat_of(twin);
    EXPECT_EQ(sa.st_mode, sb.st_mode) << rel;
    EXPECT_EQ(sa.st_mtim.tv_sec, sb.st_mtim.tv_sec) << rel;
    EXPECT_EQ(sa.st_mtim.tv_nsec, sb.st_mtim.tv_nsec) << rel;
    if (S_ISLNK(sa.st_mode)) {
      EXPECT_EQ(fs::read_symlink(e.path()), fs::read_symlink(twin)) << rel;
    } else if (S_ISREG(sa.st_mode)) {
      EXPECT_TRUE(read_file(e.path()) == read_file(twin)) << rel;
    }
  }
  for ([[maybe_unused]] const auto& e : fs::recursive_directory_iterator(b)) ++count_b;
  EXPECT_EQ(count_a, count_b);
  const struct stat ra = lstat_of(a), rb = lstat_of(b);
  EXPECT_EQ(ra.st_mode, rb.st_mode);
  EXPECT_EQ(ra.st_mtim.tv_nsec, rb.st_mtim.tv_nsec);
}

class CopyTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kiln-ws-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    src_ = root_ / "src";
    fs::create_directory(src_);
  }
  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "kept test folder " << root_ << "\n";
      return;
    }
    // Read-only folders in the copies must be writable again before they can be removed.
    for (const auto& e : fs::recursive_directory_iterator(root_)) {
      if (e.is_directory() && !e.is_symlink())
        fs::permissions(e.path(), fs::perms::owner_all, fs::perm_options::add);
    }
    fs::remove_all(root_);
  }

  // A tree with every kind of entry and metadata the contract names.
  void make_sample_tree() {
    fs::create_directories(src_ / "a" / "b");
    write_file(src_ / "a" / "b" / "c.txt", "hello\n");
    write_file(src_ / "run.sh", "#!/bin/sh\necho hi\n", 0755);
    write_file(src_ / "read-only.txt", "ro", 0444);
    write_file(src_ / "empty", "");
    std::string big(3 << 20, '\0');
    std::mt19937 rng(42);
    for (auto& ch : big) ch = static_cast<char>(rng());
    write_file(src_ / "a" / "big.bin", big, 0600);
    fs::create_directory(src_ / "sealed");
    write_file(src_ / "sealed" / "inside", "x");
    fs::create_symlink("a/b/c.txt", src_ / "rel-link");
    fs::create_symlink("/etc/hostname", src_ / "abs-link");
    fs::create_symlink("nowhere", src_ / "dangling");
    fs::create_symlink("a", src_ / "dir-link");
    long t = 1600000000;
    for (const auto& e : fs::recursive_directory_iterator(src_))
      set_mtime(e.path(), ++t, 123456789);
    // Folders last: adding their entries above changed their mtimes.
    set_mtime(src_ / "a" / "b", 1500000001, 1);
    set_mtime(src_ / "a", 1500000002, 2);
    set_mtime(src_ / "sealed", 1500000003, 3);
    ASSERT_EQ(::chmod((src_ / "sealed").c_str(), 0555), 0);
    set_mtime(src_, 1500000004, 4);
  }

  fs::path root_, src_;
};

TEST_F(CopyTreeTest, CopiesFilesFoldersSymlinksModesAndMtimes) {
  make_sample_tree();
  auto stats = copy_tree(src_, root_ / "dst");
  ASSERT_TRUE(stats) << stats.error().describe();
  expect_same_tree(src_, root_ / "dst");
  EXPECT_EQ(stats->files, 6u);
  EXPECT_EQ(stats->dirs, 4u);  // the root, a, a/b, sealed
  EXPECT_EQ(stats->symlinks, 4u);
  EXPECT_EQ(stats->bytes, 6u + 18u + 2u + (3u << 20) + 1u);
}

TEST_F(CopyTreeTest, NeverFollowsSymlinks) {
  fs::create_directory(root_ / "outside");
  write_file(root_ / "outside" / "secret", "s");
  fs::create_symlink(root_ / "outside", src_ / "out");
  auto stats = copy_tree(src_, root_ / "dst");
  ASSERT_TRUE(stats) << stats.error().describe();
  EXPECT_TRUE(fs::is_symlink(root_ / "dst" / "out"));
  EXPECT_EQ(fs::read_symlink(root_ / "dst" / "out"), root_ / "outside");
  EXPECT_EQ(stats->files, 0u);
}

TEST_F(CopyTreeTest, CopyModeMakesIndependentFiles) {
  write_file(src_ / "f", "original");
  auto stats = copy_tree(src_, root_ / "dst", CopyMode::kCopy);
  ASSERT_TRUE(stats) << stats.error().describe();
  EXPECT_EQ(stats->reflinked, 0u);
  write_file(root_ / "dst" / "f", "changed");
  EXPECT_EQ(read_file(src_ / "f"), "original");
  EXPECT_NE(lstat_of(src_ / "f").st_ino, lstat_of(root_ / "dst" / "f").st_ino);
}

TEST_F(CopyTreeTest, HardlinkModeLinksFiles) {
  make_sample_tree();
  auto stats = copy_tree(src_, root_ / "dst", CopyMode::kHardlink);
  ASSERT_TRUE(stats) << stats.error().describe();
  EXPECT_EQ(stats->hardlinked, 6u);
  EXPECT_EQ(lstat_of(src_ / "a" / "big.bin").st_ino,
            lstat_of(root_ / "dst" / "a" / "big.bin").st_ino);
  EXPECT_FALSE(fs::is_symlink(root_ / "dst" / "a"));
  expect_same_tree(src_, root_ / "dst");
}

// TMPDIR inside the source folder puts the build's folder inside the tree being copied.
TEST_F(CopyTreeTest, SkipsADestinationInsideTheSource) {
  write_file(src_ / "f", "x");
  fs::create_directories(src_ / "build-root" / "exec");
  write_file(src_ / "build-root" / "exec" / "scratch", "not source");
  auto stats = copy_tree(src_, src_ / "build-root" / "src");
  ASSERT_TRUE(stats) << stats.error().describe();
  EXPECT_EQ(stats->files, 1u);
  EXPECT_EQ(read_file(src_ / "build-root" / "src" / "f"), "x");
  EXPECT_FALSE(fs::exists(src_ / "build-root" / "src" / "build-root"));
}

TEST_F(CopyTreeTest, DestinationMustNotExist) {
  fs::create_directory(root_ / "dst");
  auto stats = copy_tree(src_, root_ / "dst");
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(stats.error().describe().find((root_ / "dst").string()), std::string::npos);
}

TEST_F(CopyTreeTest, ErrorsNameThePath) {
  auto missing = copy_tree(root_ / "no-such-src", root_ / "dst");
  ASSERT_FALSE(missing);
  EXPECT_NE(
      missing.error().describe().find("open source folder " + (root_ / "no-such-src").string()),
      std::string::npos)
      << missing.error().describe();

  auto no_parent = copy_tree(src_, root_ / "no" / "dst");
  ASSERT_FALSE(no_parent);
  EXPECT_NE(no_parent.error().describe().find("create " + (root_ / "no" / "dst").string()),
            std::string::npos)
      << no_parent.error().describe();
}

TEST_F(CopyTreeTest, ReflinkModeFailsWithThePathWhereCloningIsUnsupported) {
  fs::create_directory(src_ / "d");
  write_file(src_ / "d" / "f", "data");
  auto stats = copy_tree(src_, root_ / "dst", CopyMode::kReflink);
  if (stats) {
    EXPECT_EQ(stats->reflinked, 1u);  // a filesystem with reflinks (btrfs, xfs)
    return;
  }
  EXPECT_NE(stats.error().describe().find((src_ / "d" / "f").string()), std::string::npos)
      << stats.error().describe();
}

TEST_F(CopyTreeTest, SkipsFifosAndSockets) {
  write_file(src_ / "f", "x");
  ASSERT_EQ(::mkfifo((src_ / "fifo").c_str(), 0600), 0);
  const int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string sock_path = (src_ / "sock").string();
  ASSERT_LT(sock_path.size(), sizeof addr.sun_path);
  std::copy(sock_path.begin(), sock_path.end(), addr.sun_path);
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  auto stats = copy_tree(src_, root_ / "dst");
  ::close(sock);
  ASSERT_TRUE(stats) << stats.error().describe();
  EXPECT_EQ(stats->skipped, 2u);
  EXPECT_EQ(stats->files, 1u);
  EXPECT_FALSE(fs::exists(fs::symlink_status(root_ / "dst" / "fifo")));
  EXPECT_FALSE(fs::exists(fs::symlink_status(root_ / "dst" / "sock")));
}

TEST_F(CopyTreeTest, ModesSurviveAStrictUmask) {
  write_file(src_ / "tool", "#!/bin/sh\n", 04755);
  write_file(src_ / "shared", "x", 0666);
  write_file(src_ / "private", "x", 0600);
  const mode_t old = ::umask(077);
  auto stats = copy_tree(src_, root_ / "dst");
  ::umask(old);
  ASSERT_TRUE(stats) << stats.error().describe();
  EXPECT_EQ(lstat_of(root_ / "dst" / "tool").st_mode & 07777, 04755u);
  EXPECT_EQ(lstat_of(root_ / "dst" / "shared").st_mode & 07777, 0666u);
  EXPECT_EQ(lstat_of(root_ / "dst" / "private").st_mode & 07777, 0600u);
}

TEST_F(CopyTreeTest, ManyFilesOverManyThreads) {
  for (int d = 0; d < 20; ++d) {
    const fs::path dir = src_ / ("d" + std::to_string(d));
    fs::create_directory(dir);
    for (int f = 0; f < 100; ++f) {
      write_file(dir / ("f" + std::to_string(f)),
                 std::string(static_cast<std::size_t>(f * 37), 'a' + d % 26));
    }
  }
  auto stats = copy_tree(src_, root_ / "dst", CopyMode::kAuto, 4);
  ASSERT_TRUE(stats) << stats.error().describe();
  EXPECT_EQ(stats->files, 2000u);
  EXPECT_EQ(stats->dirs, 21u);
  expect_same_tree(src_, root_ / "dst");
}

}  // namespace
}  // namespace kiln::workspace
