// Test helpers for the artifacts module: a real temporary directory tree (kept and printed when
// the test failed) and a libarchive-based zip reader.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <locale.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace kiln::testing {

namespace fs = std::filesystem;

class TempTree {
 public:
  TempTree() {
    std::string tmpl = (fs::temp_directory_path() / "kiln-art-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    root_ = fs::canonical(tmpl);
  }
  ~TempTree() {
    if (::testing::Test::HasFailure()) {
      std::cerr << "test data left in " << root_ << "\n";
      return;
    }
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;

  const fs::path& root() const { return root_; }
  fs::path path(const std::string& rel) const { return rel.empty() ? root_ : root_ / rel; }

  fs::path file(const std::string& rel, const std::string& content = "x", mode_t mode = 0644) {
    fs::path p = path(rel);
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    ::chmod(p.c_str(), mode);
    return p;
  }
  fs::path dir(const std::string& rel) {
    fs::create_directories(path(rel));
    return path(rel);
  }
  fs::path link(const std::string& rel, const std::string& target) {
    fs::path p = path(rel);
    fs::create_directories(p.parent_path());
    fs::create_symlink(target, p);
    return p;
  }

 private:
  fs::path root_;
};

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct ZipItem {
  std::string path;
  mode_t type = 0;  // AE_IFREG, AE_IFLNK, AE_IFDIR
  mode_t perm = 0;
  time_t mtime = 0;
  std::string content;
  std::string symlink;
};

// Reads every entry of a zip with libarchive; fails the test on a read error.
inline std::vector<ZipItem> read_zip(const fs::path& zip) {
  // libarchive converts UTF-8 names to the locale's charset, which the default C locale cannot
  // hold; read in C.UTF-8, for this thread only, so other tests in the binary are unaffected.
  locale_t utf8 = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
  locale_t previous = utf8 ? ::uselocale(utf8) : static_cast<locale_t>(0);
  struct Restore {
    locale_t utf8, previous;
    ~Restore() {
      if (utf8) {
        ::uselocale(previous);
        ::freelocale(utf8);
      }
    }
  } restore{utf8, previous};
  std::vector<ZipItem> out;
  archive* a = archive_read_new();
  archive_read_support_format_zip(a);
  if (archive_read_open_filename(a, zip.c_str(), 1 << 16) != ARCHIVE_OK) {
    ADD_FAILURE() << "cannot open " << zip << ": " << archive_error_string(a);
    archive_read_free(a);
    return out;
  }
  archive_entry* e;
  // ARCHIVE_WARN: a UTF-8 name that the C locale cannot show; the entry is still fine.
  int rc;
  while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    ZipItem item;
    const char* name = archive_entry_pathname_utf8(e);
    if (name == nullptr) name = archive_entry_pathname(e);
    item.path = name ? name : "<unreadable name>";
    item.type = archive_entry_filetype(e);
    item.perm = archive_entry_perm(e);
    item.mtime = archive_entry_mtime(e);
    if (archive_entry_symlink(e)) item.symlink = archive_entry_symlink(e);
    char buf[8192];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) item.content.append(buf, n);
    if (n < 0) ADD_FAILURE() << "read " << item.path << ": " << archive_error_string(a);
    out.push_back(std::move(item));
  }
  archive_read_free(a);
  return out;
}

inline std::vector<std::string> zip_names(const fs::path& zip) {
  std::vector<std::string> names;
  for (const auto& item : read_zip(zip)) names.push_back(item.path);
  return names;
}

// Runs a shell command and returns its stdout.
inline std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

}  // namespace kiln::testing
