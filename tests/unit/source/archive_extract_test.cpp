#include "source/archive_extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace kiln::source {
namespace {

namespace fs = std::filesystem;

struct Item {
  std::string path;
  mode_t type = AE_IFREG;
  std::string content;
  mode_t perm = 0644;
  std::string link;         // symlink target (AE_IFLNK) or hard link target
  std::uint64_t zeros = 0;  // appended after content, streamed
};
Item file(std::string p, std::string c, mode_t perm = 0644) {
  return Item{std::move(p), AE_IFREG, std::move(c), perm, {}, 0};
}
Item dir(std::string p) {
  return Item{std::move(p), AE_IFDIR, {}, 0755, {}, 0};
}
Item symlink(std::string p, std::string target) {
  return Item{std::move(p), AE_IFLNK, {}, 0777, std::move(target), 0};
}

enum class Format { kZip, kTar, kTarGz };

void write_archive(const fs::path& out, Format format, const std::vector<Item>& items) {
  std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(),
                                                            &archive_write_free);
  if (format == Format::kZip) {
    ASSERT_EQ(archive_write_set_format_zip(a.get()), ARCHIVE_OK);
  } else {
    ASSERT_EQ(archive_write_set_format_pax_restricted(a.get()), ARCHIVE_OK);
  }
  if (format == Format::kTarGz) {
    ASSERT_EQ(archive_write_add_filter_gzip(a.get()), ARCHIVE_OK);
  }
  ASSERT_EQ(archive_write_open_filename(a.get(), out.c_str()), ARCHIVE_OK);
  const std::string block(1 << 16, '\0');
  for (const Item& it : items) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(),
                                                                    &archive_entry_free);
    archive_entry_set_pathname(e.get(), it.path.c_str());
    archive_entry_set_filetype(e.get(), it.type);
    archive_entry_set_perm(e.get(), it.perm);
    archive_entry_set_mtime(e.get(), 1700000000, 0);
    if (it.type == AE_IFLNK) archive_entry_set_symlink(e.get(), it.link.c_str());
    if (it.type == AE_IFREG && !it.link.empty()) {
      archive_entry_set_hardlink(e.get(), it.link.c_str());
    } else if (it.type == AE_IFREG) {
      archive_entry_set_size(e.get(), static_cast<la_int64_t>(it.content.size() + it.zeros));
    }
    ASSERT_EQ(archive_write_header(a.get(), e.get()), ARCHIVE_OK) << archive_error_string(a.get());
    if (!it.content.empty()) archive_write_data(a.get(), it.content.data(), it.content.size());
    for (std::uint64_t left = it.zeros; left > 0;) {
      const std::size_t n = left < block.size() ? left : block.size();
      ASSERT_EQ(archive_write_data(a.get(), block.data(), n), static_cast<la_ssize_t>(n));
      left -= n;
    }
  }
  ASSERT_EQ(archive_write_close(a.get()), ARCHIVE_OK);
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool exists_no_follow(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

class ArchiveExtractTest : public ::testing::Test {
 protected:
  ArchiveExtractTest() {
    std::string tmpl = (fs::temp_directory_path() / "kiln-extract-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    root_ = fs::canonical(tmpl);
    dest_ = root_ / "dest";
    fs::create_directory(dest_);
  }
  ~ArchiveExtractTest() override {
    if (HasFailure()) {
      std::cerr << "test data left in " << root_ << "\n";
      return;
    }
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  Result<ExtractStats> extract(const std::vector<Item>& items, Format format = Format::kZip,
                               const ExtractLimits& limits = {}) {
    archive_ = root_ / (format == Format::kZip ? "src.zip" : "src.tar");
    write_archive(archive_, format, items);
    return extract_archive(archive_, dest_, limits);
  }

  // Only dest/ and the archive may exist beside each other in the temp root.
  void expect_nothing_outside() const {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(root_)) names.insert(e.path().filename());
    EXPECT_EQ(names, (std::set<std::string>{"dest", archive_.filename()}));
  }

  void expect_refused(const Result<ExtractStats>& r, ErrorCode code, const std::string& entry,
                      const std::string& reason) const {
    ASSERT_FALSE(r) << "extracted, expected a refusal of " << entry;
    EXPECT_EQ(r.error().code(), code) << r.error().describe();
    EXPECT_EQ(r.error().message().rfind(archive_.string() + ": entry \"" + entry + "\": ", 0), 0U)
        << r.error().message();
    EXPECT_NE(r.error().message().find(reason), std::string::npos) << r.error().message();
    expect_nothing_outside();
  }

  fs::path root_, dest_, archive_;
};

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

// Incompressible, so the default max_ratio does not refuse a small project.
std::string noise(std::size_t n) {
  std::string s(n, '\0');
  std::uint32_t x = 12345;
  for (char& c : s) {
    x = x * 1664525U + 1013904223U;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

const std::vector<Item> kProject = {
    dir("./"),
    file("README.md", "hello\n"),
    file("bin/build.sh", "#!/bin/sh\n", 04775),  // setuid and group-write dropped
    file("src/a/b/deep.txt", noise(200000), 0600),
    dir("empty/"),
    symlink("src/latest", "a/b/deep.txt"),
    symlink("src/a/b/up", "../../../README.md"),
    file("src/../top.txt", "t"),  // stays inside: normalised to top.txt
};

void expect_project(const fs::path& d, const ExtractStats& s) {
  EXPECT_EQ(slurp(d / "README.md"), "hello\n");
  EXPECT_EQ(slurp(d / "src/latest"), noise(200000));
  EXPECT_EQ(slurp(d / "src/a/b/up"), "hello\n");
  EXPECT_EQ(fs::read_symlink(d / "src/latest"), "a/b/deep.txt");
  EXPECT_EQ(slurp(d / "top.txt"), "t");
  EXPECT_EQ(mode_of(d / "bin/build.sh"), 0755U);
  EXPECT_EQ(mode_of(d / "src/a/b/deep.txt"), 0644U);
  EXPECT_EQ(mode_of(d / "src/a"), 0755U);
  EXPECT_TRUE(fs::is_directory(d / "empty"));
  struct stat st {};
  ASSERT_EQ(::lstat((d / "README.md").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1700000000);
  EXPECT_EQ(s.files, 4U);
  EXPECT_EQ(s.dirs, 5U);  // bin src src/a src/a/b empty
  EXPECT_EQ(s.symlinks, 2U);
  EXPECT_EQ(s.bytes, 6U + 10U + 200000U + 1U);
}

TEST_F(ArchiveExtractTest, ZipRoundTrips) {
  auto r = extract(kProject);
  ASSERT_TRUE(r) << r.error().describe();
  expect_project(dest_, *r);
}

TEST_F(ArchiveExtractTest, TarGzRoundTrips) {
  auto r = extract(kProject, Format::kTarGz);
  ASSERT_TRUE(r) << r.error().describe();
  expect_project(dest_, *r);
}

TEST_F(ArchiveExtractTest, RefusesDotDot) {
  expect_refused(extract({file("ok", "x"), file("../evil", "x")}), ErrorCode::kPathEscape,
                 "../evil", "leaves the destination folder");
}

TEST_F(ArchiveExtractTest, RefusesDotDotAfterAName) {
  expect_refused(extract({file("a/../../evil", "x")}), ErrorCode::kPathEscape, "a/../../evil",
                 "leaves the destination folder");
}

TEST_F(ArchiveExtractTest, RefusesAbsolutePath) {
  const std::string abs = (root_ / "abs-evil").string();
  expect_refused(extract({file(abs, "x")}, Format::kTar), ErrorCode::kPathEscape, abs,
                 "absolute paths are refused");
  EXPECT_FALSE(exists_no_follow(abs));
}

TEST_F(ArchiveExtractTest, RefusesSymlinkToAbsolutePath) {
  expect_refused(extract({symlink("etc", "/etc")}), ErrorCode::kPathEscape, "etc",
                 "symlink to the absolute path \"/etc\"");
  EXPECT_FALSE(exists_no_follow(dest_ / "etc"));
}

TEST_F(ArchiveExtractTest, RefusesSymlinkClimbingOut) {
  expect_refused(extract({symlink("a/out", "../../x")}), ErrorCode::kPathEscape, "a/out",
                 "symlink to \"../../x\" leaves the destination folder");
  EXPECT_FALSE(exists_no_follow(dest_ / "a/out"));
}

TEST_F(ArchiveExtractTest, RefusesSymlinkToDestsParent) {
  expect_refused(extract({symlink("up", "..")}, Format::kTar), ErrorCode::kPathEscape, "up",
                 "leaves the destination folder");
}

TEST_F(ArchiveExtractTest, RefusesDotDotAfterANameInSymlinkTarget) {
  // Lexically "l/.." is dest, but the kernel climbs from where l points: dest/.. .
  expect_refused(extract({symlink("l", "."), symlink("m", "l/..")}), ErrorCode::kPathEscape, "m",
                 "has \"..\" after a name");
}

TEST_F(ArchiveExtractTest, RefusesWritingThroughASymlink) {
  fs::create_directory(root_ / "elsewhere");
  auto r = extract({dir("real/"), symlink("inner", "real"), file("inner/file", "x")});
  fs::remove(root_ / "elsewhere");
  expect_refused(r, ErrorCode::kPathEscape, "inner/file",
                 "would be written through the symlink \"inner\"");
  EXPECT_FALSE(exists_no_follow(dest_ / "real/file"));
}

TEST_F(ArchiveExtractTest, RefusesAFolderEntryThatIsASymlink) {
  expect_refused(extract({dir("real/"), symlink("d", "real"), dir("d/")}, Format::kTar),
                 ErrorCode::kPathEscape, "d/", "would be written through the symlink \"d\"");
}

TEST_F(ArchiveExtractTest, RefusesClimbingThroughALinkToDot) {
  expect_refused(extract({symlink("link", "."), file("link/../../x", "x")}), ErrorCode::kPathEscape,
                 "link/../../x", "leaves the destination folder");
}

TEST_F(ArchiveExtractTest, RefusesFifo) {
  expect_refused(extract({Item{"pipe", AE_IFIFO, {}, 0644, {}, 0}}, Format::kTar),
                 ErrorCode::kInvalidArgument, "pipe", "is a fifo");
}

TEST_F(ArchiveExtractTest, RefusesDevice) {
  expect_refused(extract({Item{"null", AE_IFCHR, {}, 0666, {}, 0}}, Format::kTar),
                 ErrorCode::kInvalidArgument, "null", "is a device");
}

TEST_F(ArchiveExtractTest, RefusesHardLinks) {
  expect_refused(extract({file("a", "x"), Item{"b", AE_IFREG, {}, 0644, "a", 0}}, Format::kTar),
                 ErrorCode::kInvalidArgument, "b", "hard links are refused");
}

TEST_F(ArchiveExtractTest, RefusesDuplicateEntries) {
  expect_refused(extract({file("a", "x"), file("./a", "y")}, Format::kTar),
                 ErrorCode::kInvalidArgument, "./a", "appears twice");
  EXPECT_EQ(slurp(dest_ / "a"), "x");
}

TEST_F(ArchiveExtractTest, RefusesAFileInTheWayOfAFolder) {
  expect_refused(extract({file("a", "x"), file("a/b", "y")}), ErrorCode::kInvalidArgument, "a/b",
                 "\"a\" is not a folder");
}

TEST_F(ArchiveExtractTest, EscapesControlCharactersInMessages) {
  expect_refused(extract({file("x\n/../../evil", "x")}), ErrorCode::kPathEscape,
                 "x\\x0a/../../evil", "leaves");
}

TEST_F(ArchiveExtractTest, StopsAZipBombByRatio) {
  auto r = extract({Item{"bomb", AE_IFREG, {}, 0644, {}, 50ULL << 20}}, Format::kZip,
                   ExtractLimits{.max_ratio = 20, .ratio_floor_bytes = 256U << 10});
  const auto cap = 20 * fs::file_size(archive_);
  ASSERT_LT(fs::file_size(archive_), 1U << 20);
  expect_refused(r, ErrorCode::kInvalidArgument, "bomb",
                 "expands past max_ratio (20 x the archive's ");
  // It stopped before the block that would pass the cap, not after the whole entry.
  EXPECT_LE(fs::file_size(dest_ / "bomb"), cap);
}

// A tiny archive of a very compressible file is not a bomb: the ratio is only enforced once
// the decompressed bytes pass ratio_floor_bytes (64 MiB by default).
TEST_F(ArchiveExtractTest, AcceptsATinyArchiveOfACompressibleFile) {
  auto r = extract({file("build.log", std::string(4U << 20, 'a'))});
  ASSERT_TRUE(r) << r.error().describe();
  ASSERT_GT(r->bytes / fs::file_size(archive_), 200U);  // far past the default max_ratio
  EXPECT_EQ(fs::file_size(dest_ / "build.log"), 4U << 20);
}

TEST_F(ArchiveExtractTest, StopsABombOnceItPassesTheRatioFloor) {
  auto r = extract({Item{"bomb", AE_IFREG, {}, 0644, {}, 8ULL << 20}}, Format::kTarGz,
                   ExtractLimits{.max_ratio = 20, .ratio_floor_bytes = 1U << 20});
  ASSERT_LT(20 * fs::file_size(archive_), 1U << 20);  // so the floor is what binds
  expect_refused(r, ErrorCode::kInvalidArgument, "bomb",
                 "expands past max_ratio (20 x the archive's ");
  EXPECT_NE(r.error().message().find("enforced past ratio_floor_bytes = 1048576 bytes"),
            std::string::npos)
      << r.error().message();
  EXPECT_LE(fs::file_size(dest_ / "bomb"), 1U << 20);
}

// With the default limits a real bomb still stops at the 64 MiB floor, not at max_total_bytes.
TEST_F(ArchiveExtractTest, StopsARealBombWithDefaultLimits) {
  auto r = extract({Item{"bomb", AE_IFREG, {}, 0644, {}, 80ULL << 20}}, Format::kTarGz);
  expect_refused(r, ErrorCode::kInvalidArgument, "bomb", "ratio_floor_bytes = 67108864 bytes");
  EXPECT_LE(fs::file_size(dest_ / "bomb"), 64U << 20);
}

TEST_F(ArchiveExtractTest, StopsAtMaxTotalBytesCountingActualBytes) {
  const std::vector<Item> items = {file("a", std::string(60000, 'a')),
                                   file("b", std::string(60000, 'b'))};
  auto r = extract(items, Format::kTar, ExtractLimits{.max_total_bytes = 100000});
  expect_refused(r, ErrorCode::kInvalidArgument, "b", "expands past max_total_bytes (100000");
  EXPECT_LE(fs::file_size(dest_ / "b"), 40000U);
  fs::remove_all(dest_);
  fs::create_directory(dest_);
  r = extract(items, Format::kTar, ExtractLimits{.max_total_bytes = 120000});
  ASSERT_TRUE(r) << r.error().describe();  // exactly at the limit is allowed
  EXPECT_EQ(r->bytes, 120000U);
}

TEST_F(ArchiveExtractTest, StopsAtMaxEntries) {
  const std::vector<Item> items = {dir("./"), file("a", "1"), file("b", "2"), file("c", "3")};
  auto r = extract(items, Format::kZip, ExtractLimits{.max_entries = 3});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message(), archive_.string() + ": more than max_entries (3) entries");
  EXPECT_FALSE(exists_no_follow(dest_ / "c"));
}

TEST_F(ArchiveExtractTest, ReportsATruncatedArchive) {
  archive_ = root_ / "src.tar";
  write_archive(archive_, Format::kTarGz, {file("big", std::string(300000, 'q'))});
  fs::resize_file(archive_, fs::file_size(archive_) / 2);
  auto r = extract_archive(archive_, dest_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << r.error().describe();
  EXPECT_EQ(r.error().message().rfind(archive_.string() + ": entry \"big\": ", 0), 0U)
      << r.error().message();
}

TEST_F(ArchiveExtractTest, ReportsATruncatedZip) {
  archive_ = root_ / "src.zip";
  write_archive(archive_, Format::kZip, {file("a", "x"), file("big", noise(300000))});
  fs::resize_file(archive_, fs::file_size(archive_) / 2);
  auto r = extract_archive(archive_, dest_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << r.error().describe();
  // libarchive's own words follow ("ZIP decompression failed (-5)" in 3.6).
  EXPECT_EQ(r.error().message().rfind(archive_.string() + ": entry \"big\": ", 0), 0U)
      << r.error().message();
}

TEST_F(ArchiveExtractTest, ReportsSomethingThatIsNotAnArchive) {
  archive_ = root_ / "notes.txt";
  std::ofstream(archive_) << "just some text, not an archive\n";
  auto r = extract_archive(archive_, dest_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message(), archive_.string() + ": Unrecognized archive format");
}

TEST_F(ArchiveExtractTest, RequiresAnEmptyDestination) {
  std::ofstream(dest_ / "old") << "x";
  archive_ = root_ / "src.zip";
  write_archive(archive_, Format::kZip, {file("a", "x")});
  auto r = extract_archive(archive_, dest_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message(), "destination " + dest_.string() + " is not an empty folder");
}

TEST_F(ArchiveExtractTest, MissingArchiveIsNotFound) {
  auto r = extract_archive(root_ / "nope.zip", dest_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace kiln::source
