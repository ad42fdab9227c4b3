#include "artifacts/zip_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include "artifacts/temp_tree.h"

namespace kiln::artifacts {
namespace {

using kiln::testing::read_file;
using kiln::testing::read_zip;
using kiln::testing::TempTree;
using kiln::testing::zip_names;

std::string digest_of(const std::filesystem::path& p, const EVP_MD* md) {
  std::string data = read_file(p);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < len; ++i) {
    s += hex[out[i] >> 4];
    s += hex[out[i] & 15];
  }
  return s;
}

void set_mtime(const std::filesystem::path& p, time_t t) {
  struct timespec ts[2] = {{t, 0}, {t, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0);
}

class ZipWriterTest : public ::testing::Test {
 protected:
  ZipWriterTest() {
    src_ = t_.dir("src");
    out_ = t_.dir("out");
  }
  Entry file(const std::string& archive, const std::string& rel) {
    return Entry{archive, src_ / rel, rel, false, {}};
  }
  FileList list(std::vector<Entry> e) { return FileList{src_, std::move(e)}; }

  TempTree t_;
  std::filesystem::path src_, out_;
};

TEST_F(ZipWriterTest, RoundTripsNamesContentsModesAndMtimes) {
  t_.file("src/bin/run.sh", "#!/bin/sh\necho hi\n", 0755);
  t_.file("src/doc/readme.txt", std::string(10000, 'r'), 0640);
  set_mtime(src_ / "bin/run.sh", 1700000000);
  set_mtime(src_ / "doc/readme.txt", 1600000002);
  auto r = write_zip(list({file("bin/run.sh", "bin/run.sh"), file("readme.txt", "doc/readme.txt")}),
                     out_ / "a.zip");
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->file_count, 2U);
  EXPECT_EQ(r->location, out_ / "a.zip");
  auto items = read_zip(out_ / "a.zip");
  ASSERT_EQ(items.size(), 2U);
  EXPECT_EQ(items[0].path, "bin/run.sh");
  EXPECT_EQ(items[0].content, "#!/bin/sh\necho hi\n");
  EXPECT_EQ(items[0].type, static_cast<mode_t>(AE_IFREG));
  EXPECT_EQ(items[0].perm, 0755U);
  EXPECT_EQ(items[0].mtime, 1700000000);
  EXPECT_EQ(items[1].path, "readme.txt");
  EXPECT_EQ(items[1].content, std::string(10000, 'r'));
  EXPECT_EQ(items[1].perm, 0640U);
  EXPECT_EQ(items[1].mtime, 1600000002);
}

TEST_F(ZipWriterTest, HashesMatchTheFileOnDisk) {
  t_.file("src/a", "alpha");
  auto r = write_zip(list({file("a", "a")}), out_ / "h.zip");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->sha256, digest_of(out_ / "h.zip", EVP_sha256()));
  EXPECT_EQ(r->md5, digest_of(out_ / "h.zip", EVP_md5()));
  EXPECT_EQ(r->sha256.size(), 64U);
  EXPECT_EQ(r->md5.size(), 32U);
  EXPECT_EQ(r->bytes, std::filesystem::file_size(out_ / "h.zip"));
}

TEST_F(ZipWriterTest, UnzipCliListsAndVerifiesTheArchive) {
  t_.file("src/dir/one.txt", "one");
  t_.file("src/two.txt", std::string(5000, 't'));
  ASSERT_TRUE(write_zip(list({file("dir/one.txt", "dir/one.txt"), file("two.txt", "two.txt")}),
                        out_ / "cli.zip"));
  std::string listing = kiln::testing::run("unzip -l " + (out_ / "cli.zip").string());
  EXPECT_NE(listing.find("dir/one.txt"), std::string::npos) << listing;
  EXPECT_NE(listing.find("two.txt"), std::string::npos);
  EXPECT_NE(listing.find("2 files"), std::string::npos);
  std::string test = kiln::testing::run("unzip -tq " + (out_ / "cli.zip").string());
  EXPECT_NE(test.find("No errors detected"), std::string::npos) << test;
}

TEST_F(ZipWriterTest, SameInputGivesIdenticalBytes) {
  t_.file("src/a", "same");
  t_.file("src/b/c", "content");
  FileList l = list({file("a", "a"), file("b/c", "b/c")});
  auto one = write_zip(l, out_ / "1.zip");
  auto two = write_zip(l, out_ / "2.zip");
  ASSERT_TRUE(one && two);
  EXPECT_EQ(one->sha256, two->sha256);
}

TEST_F(ZipWriterTest, StreamsFilesLargerThanTheBuffer) {
  std::string big;
  for (long i = 0; i < 300000; ++i) big += std::to_string(i * 7919 % 10007);
  t_.file("src/big.bin", big);
  ZipOptions small;
  small.buffer_size = 64 * 1024;
  auto r = write_zip(list({file("big.bin", "big.bin")}), out_ / "big.zip", small);
  ASSERT_TRUE(r) << r.error().describe();
  auto items = read_zip(out_ / "big.zip");
  ASSERT_EQ(items.size(), 1U);
  EXPECT_EQ(items[0].content, big);
}

TEST_F(ZipWriterTest, EmptyFilesAndUtf8Names) {
  t_.file("src/empty", "");
  t_.file("src/caf\xC3\xA9.txt", "cafe");
  auto r = write_zip(list({file("caf\xC3\xA9.txt", "caf\xC3\xA9.txt"), file("empty", "empty")}),
                     out_ / "u.zip");
  ASSERT_TRUE(r) << r.error().describe();
  auto items = read_zip(out_ / "u.zip");
  ASSERT_EQ(items.size(), 2U);
  EXPECT_EQ(items[0].path, "caf\xC3\xA9.txt");
  EXPECT_EQ(items[1].content, "");
  // unzip prints non-ASCII names as #U00e9 escapes in the POSIX locale (a fresh Debian's
  // default): ask for a UTF-8 one, which Debian's libc always has (C.UTF-8).
  std::string listing = kiln::testing::run("LC_ALL=C.UTF-8 unzip -Z1 " + (out_ / "u.zip").string());
  EXPECT_NE(listing.find("caf\xC3\xA9.txt"), std::string::npos) << listing;
}

TEST_F(ZipWriterTest, SymlinkEntriesHoldTheLinkText) {
  t_.file("src/real.txt", "r");
  t_.link("src/link.txt", "real.txt");
  Entry link{"link.txt", src_ / "link.txt", "link.txt", true, "real.txt"};
  auto r = write_zip(list({link, file("real.txt", "real.txt")}), out_ / "s.zip");
  ASSERT_TRUE(r) << r.error().describe();
  auto items = read_zip(out_ / "s.zip");
  ASSERT_EQ(items.size(), 2U);
  EXPECT_EQ(items[0].type, static_cast<mode_t>(AE_IFLNK));
  EXPECT_EQ(items[0].symlink, "real.txt");
}

TEST_F(ZipWriterTest, FailureLeavesTheOldArtifactAndNoTempFiles) {
  t_.file("src/a", "a");
  t_.file("out/keep.zip", "old artifact");
  auto r = write_zip(list({file("a", "a"), file("gone", "gone")}), out_ / "keep.zip");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(read_file(out_ / "keep.zip"), "old artifact");
  int count = 0;
  for (const auto& e : std::filesystem::directory_iterator(out_)) {
    ++count;
    EXPECT_EQ(e.path().filename(), "keep.zip");
  }
  EXPECT_EQ(count, 1);
}

TEST_F(ZipWriterTest, FileSwappedForAnEscapingSymlinkIsRefused) {
  // Collected as a regular file, then replaced by a link to outside before writing.
  t_.file("outside.txt", "secret");
  t_.link("src/a", "../outside.txt");
  auto r = write_zip(list({file("a", "a")}), out_ / "x.zip");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kPathEscape);
  EXPECT_FALSE(std::filesystem::exists(out_ / "x.zip"));
}

TEST_F(ZipWriterTest, DirectorySwappedForASymlinkIsRefused) {
  t_.file("elsewhere/f", "secret");
  t_.link("src/d", t_.path("elsewhere").string());
  auto r = write_zip(list({file("d/f", "d/f")}), out_ / "y.zip");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kPathEscape);
}

TEST_F(ZipWriterTest, ReplacesAnExistingZip) {
  t_.file("src/a", "new");
  t_.file("out/r.zip", "old");
  ASSERT_TRUE(write_zip(list({file("a", "a")}), out_ / "r.zip"));
  EXPECT_EQ(zip_names(out_ / "r.zip"), std::vector<std::string>{"a"});
}

TEST_F(ZipWriterTest, FolderOutputCopiesFilesModesMtimesAndLinks) {
  t_.file("src/bin/tool", "tool", 0750);
  set_mtime(src_ / "bin/tool", 1500000000);
  t_.link("src/alias", "bin/tool");
  Entry link{"alias", src_ / "alias", "alias", true, "bin/tool"};
  auto r = write_folder(list({link, file("bin/tool", "bin/tool")}), out_ / "folder");
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->file_count, 2U);
  EXPECT_TRUE(r->sha256.empty());
  EXPECT_EQ(read_file(out_ / "folder/bin/tool"), "tool");
  struct stat st;
  ASSERT_EQ(::stat((out_ / "folder/bin/tool").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750U);
  EXPECT_EQ(st.st_mtime, 1500000000);
  EXPECT_EQ(std::filesystem::read_symlink(out_ / "folder/alias"), "bin/tool");
}

TEST_F(ZipWriterTest, FolderOutputReplacesTheOldFolderWhole) {
  t_.file("src/new.txt", "new");
  t_.file("out/folder/old.txt", "old");
  ASSERT_TRUE(write_folder(list({file("new.txt", "new.txt")}), out_ / "folder"));
  EXPECT_TRUE(std::filesystem::exists(out_ / "folder/new.txt"));
  EXPECT_FALSE(std::filesystem::exists(out_ / "folder/old.txt"));
  int count = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(out_)) ++count;
  EXPECT_EQ(count, 1);  // no temp directory left behind
}

TEST_F(ZipWriterTest, FolderOutputFailureLeavesNothing) {
  auto r = write_folder(list({file("missing", "missing")}), out_ / "folder");
  ASSERT_FALSE(r);
  EXPECT_TRUE(std::filesystem::is_empty(out_));
}

}  // namespace
}  // namespace kiln::artifacts
