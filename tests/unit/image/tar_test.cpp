// write_tar and extract_tar (image/tar.h) on a small tree with every kind of entry a root file
// system has: the tar is read back with libarchive and compared entry by entry, and unpacked
// again to the same tree.
#include "image/tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <string>

namespace kiln::image {
namespace {

namespace fs = std::filesystem;

struct Entry {
  mode_t mode = 0;  // type and permissions
  uid_t uid = 0;
  gid_t gid = 0;
  std::string data;      // file contents
  std::string symlink;   // symlink target
  std::string hardlink;  // the first name of a hard-linked file
  dev_t rdev = 0;
  time_t mtime = 0;
};

void write(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

std::map<std::string, Entry> read_tar(const fs::path& tar) {
  std::map<std::string, Entry> out;
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_filename(a, tar.c_str(), 10240), ARCHIVE_OK);
  archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    Entry x;
    x.mode = archive_entry_mode(e);
    x.uid = static_cast<uid_t>(archive_entry_uid(e));
    x.gid = static_cast<gid_t>(archive_entry_gid(e));
    x.mtime = archive_entry_mtime(e);
    const char* uname = archive_entry_uname(e);
    EXPECT_TRUE(uname == nullptr || *uname == '\0') << "owner names would be the host's";
    if (const char* s = archive_entry_symlink(e)) x.symlink = s;
    if (const char* h = archive_entry_hardlink(e)) x.hardlink = h;
    x.rdev = archive_entry_rdev(e);
    char buf[4096];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) x.data.append(buf, n);
    out[archive_entry_pathname(e)] = x;
  }
  archive_read_free(a);
  return out;
}

class TarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kiln-tar-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    tree_ = dir_ / "rootfs";
    fs::create_directories(tree_ / "usr/bin");
    fs::create_directories(tree_ / "etc");
    fs::create_directories(tree_ / "dev");
    write(tree_ / "usr/bin/dash", "#!dash\n");
    ::chmod((tree_ / "usr/bin/dash").c_str(), 0755);
    fs::create_symlink("usr/bin", tree_ / "bin");                  // merged /usr
    fs::create_symlink("/etc/hostname-outside", tree_ / "etc/x");  // absolute, dangling
    write(tree_ / "usr/bin/perl", "perl");
    fs::create_hard_link(tree_ / "usr/bin/perl", tree_ / "usr/bin/perl5");
    write(tree_ / "etc/shadow", "root:*:");
    ::chmod((tree_ / "etc/shadow").c_str(), 0640);
    ::chown((tree_ / "etc/shadow").c_str(), 0, 42);
    write(tree_ / "usr/bin/passwd", "suid");
    ::chown((tree_ / "usr/bin/passwd").c_str(), 0, 0);
    ::chmod((tree_ / "usr/bin/passwd").c_str(), 04755);
    ASSERT_EQ(::mkfifo((tree_ / "dev/initctl").c_str(), 0600), 0);
    devices_ = ::mknod((tree_ / "dev/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0;
  }
  void TearDown() override {
    if (!HasFailure())
      fs::remove_all(dir_);
    else
      std::fprintf(stderr, "test folder kept at %s\n", dir_.c_str());
  }

  fs::path dir_;
  fs::path tree_;
  bool devices_ = false;
};

TEST_F(TarTest, HoldsEveryKindOfEntryWithOwnersAndModes) {
  auto stats = write_tar(tree_, dir_ / "image.tar");
  ASSERT_TRUE(stats) << stats.error().describe();
  EXPECT_EQ(stats->bytes, fs::file_size(dir_ / "image.tar"));
  const auto t = read_tar(dir_ / "image.tar");
  EXPECT_EQ(stats->entries, t.size());

  ASSERT_TRUE(t.count("./"));
  EXPECT_TRUE(S_ISDIR(t.at("./").mode));
  ASSERT_TRUE(t.count("./usr/bin/"));
  EXPECT_TRUE(S_ISDIR(t.at("./usr/bin/").mode));
  EXPECT_EQ(t.at("./usr/bin/dash").data, "#!dash\n");
  EXPECT_EQ(t.at("./usr/bin/dash").mode, S_IFREG | 0755);
  EXPECT_TRUE(S_ISLNK(t.at("./bin").mode));
  EXPECT_EQ(t.at("./bin").symlink, "usr/bin");
  EXPECT_EQ(t.at("./etc/x").symlink, "/etc/hostname-outside");  // stored, never followed
  EXPECT_EQ(t.at("./etc/shadow").mode, S_IFREG | 0640);
  EXPECT_EQ(t.at("./etc/shadow").gid, 42u);
  EXPECT_EQ(t.at("./usr/bin/passwd").mode, S_IFREG | 04755);
  EXPECT_TRUE(S_ISFIFO(t.at("./dev/initctl").mode));
  // Sorted walk: perl comes first, perl5 links to it and holds no data of its own.
  EXPECT_EQ(t.at("./usr/bin/perl").data, "perl");
  EXPECT_EQ(t.at("./usr/bin/perl5").hardlink, "./usr/bin/perl");
  EXPECT_EQ(t.at("./usr/bin/perl5").data, "");
  if (devices_) {
    EXPECT_TRUE(S_ISCHR(t.at("./dev/null").mode));
    EXPECT_EQ(t.at("./dev/null").rdev, makedev(1, 3));
  }
  struct stat st {};
  ASSERT_EQ(::lstat((tree_ / "usr/bin/dash").c_str(), &st), 0);
  EXPECT_EQ(t.at("./usr/bin/dash").mtime, st.st_mtim.tv_sec);
}

TEST_F(TarTest, TheSameTreeGivesTheSameTar) {
  ASSERT_TRUE(write_tar(tree_, dir_ / "a.tar"));
  ASSERT_TRUE(write_tar(tree_, dir_ / "b.tar"));
  std::ifstream a(dir_ / "a.tar", std::ios::binary), b(dir_ / "b.tar", std::ios::binary);
  EXPECT_TRUE(std::equal(std::istreambuf_iterator<char>(a), {}, std::istreambuf_iterator<char>(b)));
}

TEST_F(TarTest, ExtractRestoresTheTree) {
  ASSERT_TRUE(write_tar(tree_, dir_ / "image.tar"));
  fs::create_directory(dir_ / "out");
  auto stats = extract_tar(dir_ / "image.tar", dir_ / "out");
  ASSERT_TRUE(stats) << stats.error().describe();
  ASSERT_TRUE(write_tar(dir_ / "out", dir_ / "again.tar"));
  auto first = read_tar(dir_ / "image.tar");
  auto second = read_tar(dir_ / "again.tar");
  if (::geteuid() != 0) {  // owners and devices are root's to make
    first.erase("./dev/null");
    for (auto& [name, e] : first) e.uid = e.gid = 0;
    for (auto& [name, e] : second) e.uid = e.gid = 0;
  }
  ASSERT_EQ(first.size(), second.size());
  for (const auto& [name, e] : first) {
    ASSERT_TRUE(second.count(name)) << name;
    const Entry& g = second.at(name);
    EXPECT_EQ(g.mode, e.mode) << name;
    EXPECT_EQ(g.uid, e.uid) << name;
    EXPECT_EQ(g.gid, e.gid) << name;
    EXPECT_EQ(g.data, e.data) << name;
    EXPECT_EQ(g.symlink, e.symlink) << name;
    EXPECT_EQ(g.hardlink, e.hardlink) << name;
    EXPECT_EQ(g.mtime, e.mtime) << name;
  }
  struct stat a {
  }, b{};
  ASSERT_EQ(::stat((dir_ / "out/usr/bin/perl").c_str(), &a), 0);
  ASSERT_EQ(::stat((dir_ / "out/usr/bin/perl5").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
}

// A tar made by hand: each entry is a one-byte file, or a symlink when it names a target.
fs::path hostile_tar(const fs::path& dir,
                     const std::vector<std::pair<std::string, std::string>>& entries) {
  const fs::path tar = dir / "hostile.tar";
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open_filename(a, tar.c_str());
  for (const auto& [name, link] : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    if (!link.empty()) {
      archive_entry_set_filetype(e, AE_IFLNK);
      archive_entry_set_symlink(e, link.c_str());
    } else {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_size(e, 1);
    }
    archive_entry_set_perm(e, 0644);
    archive_write_header(a, e);
    if (link.empty()) archive_write_data(a, "x", 1);
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return tar;
}

TEST_F(TarTest, ExtractRefusesEntriesLeavingTheTree) {
  fs::create_directory(dir_ / "out");
  for (const auto& entries : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {{"../escaped", ""}},
           {{"./a/../../escaped", ""}},
           {{"/abs", ""}},
           {{"./link", dir_.string()}, {"./link/escaped", ""}},
       }) {
    auto r = extract_tar(hostile_tar(dir_, entries), dir_ / "out");
    ASSERT_FALSE(r) << entries.back().first;
    EXPECT_EQ(r.error().code(), ErrorCode::kPathEscape) << r.error().describe();
  }
  EXPECT_FALSE(fs::exists(dir_ / "escaped"));
}

}  // namespace
}  // namespace kiln::image
