// A minimal root filesystem tar for the Docker tests, which have no registry to pull from:
// the host's /bin/sh (dash) and the shared libraries ldd lists for it, at the same paths, plus
// a FIFO /wait.fifo. `sh -c 'read x < /wait.fifo'` then waits forever without burning a CPU,
// since dash has no sleep builtin and nothing ever opens the FIFO for writing.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace kiln::docker::testing {

// The absolute paths in `ldd /bin/sh`'s output (the loader and each library).
inline std::vector<std::string> shell_libraries() {
  std::vector<std::string> out;
  std::unique_ptr<FILE, int (*)(FILE*)> p(::popen("ldd /bin/sh", "r"), ::pclose);
  if (!p) return out;
  std::string text;
  char buf[4096];
  while (const std::size_t n = std::fread(buf, 1, sizeof buf, p.get())) text.append(buf, n);
  std::istringstream words(text);
  for (std::string w; words >> w;)
    if (w.starts_with("/")) out.push_back(w);
  return out;
}

// Writes the tar to `tar`; returns "" or what went wrong.
inline std::string write_rootfs_tar(const std::filesystem::path& tar) {
  std::unique_ptr<archive, int (*)(archive*)> a(archive_write_new(), archive_write_free);
  archive_write_set_format_pax_restricted(a.get());
  if (archive_write_open_filename(a.get(), tar.c_str()) != ARCHIVE_OK)
    return archive_error_string(a.get());
  std::set<std::string> dirs;
  const auto add = [&](const std::string& name, mode_t type, int perm,
                       const std::string& data) -> std::string {
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(),
                                                               archive_entry_free);
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), type);
    archive_entry_set_perm(e.get(), perm);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(data.size()));
    if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK) return archive_error_string(a.get());
    if (!data.empty() &&
        archive_write_data(a.get(), data.data(), data.size()) != static_cast<ssize_t>(data.size()))
      return archive_error_string(a.get());
    return "";
  };
  std::vector<std::string> files = shell_libraries();
  files.insert(files.begin(), "/bin/sh");
  for (const auto& file : files) {
    // Parents first; each once (a tar may repeat them, but need not).
    const std::filesystem::path rel = std::filesystem::path(file).relative_path();
    std::filesystem::path dir;
    for (auto it = rel.begin(); std::next(it) != rel.end(); ++it) {
      dir /= *it;
      if (dirs.insert(dir.string()).second) {
        if (auto err = add(dir.string(), AE_IFDIR, 0755, ""); !err.empty()) return err;
      }
    }
    std::ifstream in(file, std::ios::binary);  // follows /bin/sh -> dash
    if (!in) return "cannot read " + file;
    std::ostringstream data;
    data << in.rdbuf();
    if (auto err = add(rel.string(), AE_IFREG, 0755, data.str()); !err.empty()) return err;
  }
  if (auto err = add("wait.fifo", AE_IFIFO, 0644, ""); !err.empty()) return err;
  if (archive_write_close(a.get()) != ARCHIVE_OK) return archive_error_string(a.get());
  return "";
}

}  // namespace kiln::docker::testing
