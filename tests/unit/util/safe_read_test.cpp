#include "util/safe_read.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>

#include "util/escape.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

class SafeReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kiln-sr-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    top_ = fs::canonical(tmpl);
    root_ = top_ / "src";
    fs::create_directories(root_ / "ci");
    std::ofstream(root_ / "buildspec.yml") << "version: 0.2\n";
    std::ofstream(top_ / "outside.txt") << "root:secret-hash:19000:0:99999:7:::\n";
  }
  void TearDown() override {
    if (HasFailure()) return;  // keep the tree to look at
    fs::remove_all(top_);
  }

  fs::path top_;
  fs::path root_;
};

TEST_F(SafeReadTest, ReadsARegularFileBeneathTheRoot) {
  auto text = read_file_beneath(root_, "buildspec.yml", 1024);
  ASSERT_TRUE(text) << text.error().message();
  EXPECT_EQ(*text, "version: 0.2\n");
}

TEST_F(SafeReadTest, FollowsASymlinkThatStaysInside) {
  fs::create_symlink("../buildspec.yml", root_ / "ci/buildspec.yml");
  auto text = read_file_beneath(root_, "ci/buildspec.yml", 1024);
  ASSERT_TRUE(text) << text.error().message();
  EXPECT_EQ(*text, "version: 0.2\n");
}

TEST_F(SafeReadTest, RefusesEveryWayOut) {
  fs::create_symlink("/etc/shadow", root_ / "abs.yml");
  fs::create_symlink("../outside.txt", root_ / "rel.yml");
  fs::create_symlink(top_, root_ / "ci/up");
  for (const char* rel : {"abs.yml", "rel.yml", "../outside.txt", "ci/up/outside.txt",
                          "/etc/shadow", "ci/../../outside.txt"}) {
    auto text = read_file_beneath(root_, rel, 1024, "shown.yml");
    ASSERT_FALSE(text) << rel;
    EXPECT_EQ(text.error().code(), ErrorCode::kPathEscape) << rel;
    EXPECT_EQ(text.error().message(), "shown.yml: the path leaves the source directory") << rel;
  }
  // A magic link beneath the root would reach anything: refused too.
  fs::create_symlink("/proc/self/root/etc/passwd", root_ / "magic.yml");
  EXPECT_FALSE(read_file_beneath(root_, "magic.yml", 1024));
}

TEST_F(SafeReadTest, RefusesWhatIsNotARegularFile) {
  ASSERT_EQ(::mkfifo((root_ / "fifo.yml").c_str(), 0600), 0);
  fs::create_symlink("/dev/zero", top_ / "zero");
  // A FIFO must fail at once, not wait for a writer: run it with a deadline.
  auto fifo = std::async(std::launch::async,
                         [&] { return read_file_beneath(root_, "fifo.yml", 1024, "fifo.yml"); });
  ASSERT_EQ(fifo.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  auto r = fifo.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message(), "fifo.yml: is a FIFO");

  auto dev = read_regular_file("/dev/zero", 1024);
  ASSERT_FALSE(dev);
  EXPECT_EQ(dev.error().message(), "/dev/zero: is a device");
  auto dir = read_file_beneath(root_, "ci", 1024, "ci");
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error().message(), "ci: is a directory");
  auto missing = read_file_beneath(root_, "nope.yml", 1024);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST_F(SafeReadTest, CapsTheSize) {
  std::ofstream(root_ / "big.yml") << std::string(2048, 'x');
  auto big = read_file_beneath(root_, "big.yml", 1024, "big.yml");
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().message(), "big.yml: is larger than 1 KiB, the limit");
  EXPECT_TRUE(read_file_beneath(root_, "big.yml", 2048));
  // /proc files say size 0 and are regular: the cap holds while reading.
  auto proc = read_regular_file("/proc/self/maps", 16);
  ASSERT_FALSE(proc);
  EXPECT_EQ(proc.error().message(), "/proc/self/maps: is larger than 16 bytes, the limit");
  EXPECT_EQ(size_text(std::uint64_t{1} << 20), "1 MiB");
}

TEST(EscapeControlTest, EscapesWhatATerminalWouldActOn) {
  EXPECT_EQ(escape_control("plain text, ünïcödé\ttab"), "plain text, ünïcödé\ttab");
  EXPECT_EQ(escape_control("a\x1b]0;title\x07z"), "a\\x1b]0;title\\x07z");
  EXPECT_EQ(escape_control("a\rb\x7f"), "a\\x0db\\x7f");
  EXPECT_EQ(escape_control("line\nforged"), "line\\x0aforged");
  EXPECT_EQ(escape_control("line\nkept", KeepNewlines::kYes), "line\nkept");
  EXPECT_EQ(escape_control("c1 \xc2\x9b"
                           "31m"),
            "c1 \\xc2\\x9b31m");
  EXPECT_EQ(escape_control("\xc2\xa0nbsp"), "\xc2\xa0nbsp");  // not a control
}

}  // namespace
}  // namespace kiln
