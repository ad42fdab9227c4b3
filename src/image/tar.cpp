// write_tar and extract_tar (tar.h). The walk is by directory fd with O_NOFOLLOW, so a symlink
// in the tree is stored as a link and never read through, whatever it points at.
#include "image/tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "util/unique_fd.h"

namespace kiln::image {
namespace fs = std::filesystem;

namespace {

struct WriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct ReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

Error archive_error(archive* a, const std::string& what) {
  const char* msg = archive_error_string(a);
  return Error(ErrorCode::kIo, what + ": " + (msg != nullptr ? msg : "libarchive failed"));
}

class TarWriter {
 public:
  TarWriter(archive* a, std::string root) : a_(a), root_(std::move(root)) {}

  Result<void> add_root(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return fail(errno_error(ErrorCode::kIo, "stat " + root_));
    if (auto r = header("./", st); !r) return r;
    return walk(fd, "./");
  }

  std::uint64_t entries() const { return entries_; }

 private:
  Result<void> header(const std::string& name, const struct stat& st,
                      const std::string& symlink = "", const std::string& hardlink = "") {
    archive_entry* e = entry_.get();
    archive_entry_clear(e);
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_mode(e, st.st_mode);  // type and permission bits, setuid included
    archive_entry_set_uid(e, st.st_uid);
    archive_entry_set_gid(e, st.st_gid);
    archive_entry_set_mtime(e, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) archive_entry_set_rdev(e, st.st_rdev);
    if (!symlink.empty()) archive_entry_set_symlink(e, symlink.c_str());
    if (!hardlink.empty()) {
      archive_entry_set_hardlink(e, hardlink.c_str());
      archive_entry_set_size(e, 0);
    } else if (S_ISREG(st.st_mode)) {
      archive_entry_set_size(e, st.st_size);
    }
    if (archive_write_header(a_, e) < ARCHIVE_WARN) return fail(archive_error(a_, "tar " + name));
    ++entries_;
    return {};
  }

  Result<void> copy_data(int dirfd, const std::string& leaf, const std::string& name) {
    UniqueFd fd(::openat(dirfd, leaf.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return fail(errno_error(ErrorCode::kIo, "open " + root_ + "/" + name));
    while (true) {
      const ssize_t n = ::read(fd.get(), buffer_.data(), buffer_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(errno_error(ErrorCode::kIo, "read " + root_ + "/" + name));
      if (n == 0) return {};
      if (archive_write_data(a_, buffer_.data(), static_cast<std::size_t>(n)) != n)
        return fail(archive_error(a_, "tar " + name));
    }
  }

  Result<void> walk(int dirfd, const std::string& prefix) {
    std::vector<std::string> names;
    {
      const int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
      DIR* d = dup < 0 ? nullptr : ::fdopendir(dup);
      if (d == nullptr) {
        if (dup >= 0) ::close(dup);
        return fail(errno_error(ErrorCode::kIo, "open folder " + root_ + "/" + prefix));
      }
      while (const dirent* de = ::readdir(d)) {
        const std::string n = de->d_name;
        if (n != "." && n != "..") names.push_back(n);
      }
      ::closedir(d);
    }
    std::sort(names.begin(), names.end());  // the same tree gives the same tar
    for (const auto& leaf : names) {
      const std::string name = prefix + leaf;
      struct stat st {};
      if (::fstatat(dirfd, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        return fail(errno_error(ErrorCode::kIo, "stat " + root_ + "/" + name));
      if (S_ISSOCK(st.st_mode)) continue;
      if (S_ISLNK(st.st_mode)) {
        std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
        const ssize_t n = ::readlinkat(dirfd, leaf.c_str(), target.data(), target.size());
        if (n < 0) return fail(errno_error(ErrorCode::kIo, "readlink " + root_ + "/" + name));
        target.resize(static_cast<std::size_t>(n));
        if (auto r = header(name, st, target); !r) return r;
      } else if (S_ISDIR(st.st_mode)) {
        if (auto r = header(name + "/", st); !r) return r;
        UniqueFd sub(
            ::openat(dirfd, leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub) return fail(errno_error(ErrorCode::kIo, "open folder " + root_ + "/" + name));
        if (auto r = walk(sub.get(), name + "/"); !r) return r;
      } else if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
        auto [it, first] = links_.try_emplace({st.st_dev, st.st_ino}, name);
        if (!first) {
          if (auto r = header(name, st, "", it->second); !r) return r;
          continue;
        }
        if (auto r = header(name, st); !r) return r;
        if (auto r = copy_data(dirfd, leaf, name); !r) return r;
      } else {
        if (auto r = header(name, st); !r) return r;
        if (S_ISREG(st.st_mode)) {
          if (auto r = copy_data(dirfd, leaf, name); !r) return r;
        }
      }
    }
    return {};
  }

  archive* a_;
  std::string root_;
  std::unique_ptr<archive_entry, EntryFree> entry_{archive_entry_new()};
  std::map<std::pair<dev_t, ino_t>, std::string> links_;  // hard-linked inode -> first name
  std::vector<char> buffer_ = std::vector<char>(std::size_t{1} << 20);
  std::uint64_t entries_ = 0;
};

// "./a/b" with no empty, "." or ".." component after the leading "./", and not absolute.
bool safe_name(const std::string& name) {
  if (name.empty() || name.front() == '/') return false;
  std::size_t start = name.starts_with("./") ? 2 : 0;
  while (start < name.size()) {
    std::size_t slash = name.find('/', start);
    if (slash == std::string::npos) slash = name.size();
    const std::string_view part = std::string_view(name).substr(start, slash - start);
    if (part == "..") return false;
    start = slash + 1;
  }
  return true;
}

// The path below the tree's root: "./usr/bin/" -> "usr/bin"; "./" -> "".
std::string relative(std::string name) {
  while (name.starts_with("./")) name.erase(0, 2);
  while (!name.empty() && name.back() == '/') name.pop_back();
  return name == "." ? "" : name;
}

// Writes a tar's entries below `dest` by path. Every folder on an entry's way must be a real
// folder (never a symlink, which could lead out), checked once with lstat and then remembered;
// an entry may not replace a folder, so what was checked stays true. Folder times are set last,
// since creating their contents changes them.
class TarExtractor {
 public:
  TarExtractor(archive* in, std::string tar, fs::path dest)
      : in_(in), tar_(std::move(tar)), dest_(std::move(dest)) {}

  Result<void> add(archive_entry* e) {
    const char* raw = archive_entry_pathname(e);
    const std::string name = raw != nullptr ? raw : "";
    if (!safe_name(name)) return escape(name);
    const std::string rel = relative(name);
    const fs::path path = rel.empty() ? dest_ : dest_ / rel;
    const auto type = archive_entry_filetype(e);
    if (!rel.empty()) {
      if (auto r = make_parents(rel); !r) return r;
      if (auto r = clear(path, type == AE_IFDIR); !r) return r;
    }
    if (const char* link = archive_entry_hardlink(e)) {
      if (!safe_name(link)) return escape(name);
      const std::string target = relative(link);
      if (auto r = make_parents(target); !r) return r;
      if (::linkat(AT_FDCWD, (dest_ / target).c_str(), AT_FDCWD, path.c_str(), 0) != 0)
        return fail(errno_error(ErrorCode::kIo, "link " + path.string()));
      ++entries_;
      return {};
    }
    switch (type) {
      case AE_IFDIR:
        if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
          return fail(errno_error(ErrorCode::kIo, "mkdir " + path.string()));
        folders_.insert(rel);
        folder_times_.emplace_back(path, times(e));
        break;
      case AE_IFREG:
        if (auto r = write_file(e, path); !r) return r;
        break;
      case AE_IFLNK:
        if (::symlinkat(archive_entry_symlink(e), AT_FDCWD, path.c_str()) != 0)
          return fail(errno_error(ErrorCode::kIo, "symlink " + path.string()));
        break;
      case AE_IFIFO:
      case AE_IFCHR:
      case AE_IFBLK:
        if (type != AE_IFIFO && !root_) return {};  // mknod needs CAP_MKNOD
        if (::mknod(path.c_str(), type | 0600, archive_entry_rdev(e)) != 0)
          return fail(errno_error(ErrorCode::kIo, "mknod " + path.string()));
        break;
      default: return {};  // sockets and the like: nothing a root file system needs
    }
    if (type != AE_IFREG) {
      if (auto r = set_attributes(e, path, type == AE_IFLNK); !r) return r;
    }
    ++entries_;
    return {};
  }

  Result<void> finish() {
    for (auto it = folder_times_.rbegin(); it != folder_times_.rend(); ++it) {
      if (::utimensat(AT_FDCWD, it->first.c_str(), it->second.data(), AT_SYMLINK_NOFOLLOW) != 0)
        return fail(errno_error(ErrorCode::kIo, "set times of " + it->first.string()));
    }
    return {};
  }

  std::uint64_t entries() const { return entries_; }

 private:
  using Times = std::array<timespec, 2>;

  static Times times(archive_entry* e) {
    const timespec t{archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    return {t, t};
  }

  Result<void> escape(const std::string& name) const {
    return fail(ErrorCode::kPathEscape, tar_ + ": entry \"" + name + "\" leaves the tree");
  }

  // Each folder above `rel` exists and is a folder; missing ones are made (0755).
  Result<void> make_parents(const std::string& rel) {
    for (std::size_t slash = rel.find('/'); slash != std::string::npos;
         slash = rel.find('/', slash + 1)) {
      const std::string folder = rel.substr(0, slash);
      if (folders_.count(folder) != 0) continue;
      const fs::path p = dest_ / folder;
      struct stat st {};
      if (::lstat(p.c_str(), &st) != 0) {
        if (errno != ENOENT || ::mkdir(p.c_str(), 0755) != 0)
          return fail(errno_error(ErrorCode::kIo, "mkdir " + p.string()));
      } else if (!S_ISDIR(st.st_mode)) {
        return fail(
            ErrorCode::kPathEscape,
            tar_ + ": \"" + rel + "\" would be written through the symlink or file " + folder);
      }
      folders_.insert(folder);
    }
    return {};
  }

  // Makes room for a new entry at `path`; a folder stays only for a folder entry.
  Result<void> clear(const fs::path& path, bool for_folder) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return {};
    if (S_ISDIR(st.st_mode)) {
      if (for_folder) return {};
      return fail(ErrorCode::kInvalidArgument,
                  tar_ + ": an entry replaces the folder " + path.string());
    }
    if (::unlink(path.c_str()) != 0)
      return fail(errno_error(ErrorCode::kIo, "unlink " + path.string()));
    return {};
  }

  Result<void> write_file(archive_entry* e, const fs::path& path) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) return fail(errno_error(ErrorCode::kIo, "create " + path.string()));
    const void* block = nullptr;
    std::size_t size = 0;
    la_int64_t offset = 0;
    int r = ARCHIVE_OK;
    while ((r = archive_read_data_block(in_, &block, &size, &offset)) == ARCHIVE_OK) {
      const char* p = static_cast<const char*>(block);
      while (size > 0) {
        const ssize_t n = ::pwrite(fd.get(), p, size, offset);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(errno_error(ErrorCode::kIo, "write " + path.string()));
        p += n;
        size -= static_cast<std::size_t>(n);
        offset += n;
      }
    }
    if (r != ARCHIVE_EOF) return fail(archive_error(in_, "read " + path.string()));
    if (::ftruncate(fd.get(), archive_entry_size(e)) != 0)  // a sparse file's trailing hole
      return fail(errno_error(ErrorCode::kIo, "truncate " + path.string()));
    if (root_ && ::fchown(fd.get(), archive_entry_uid(e), archive_entry_gid(e)) != 0)
      return fail(errno_error(ErrorCode::kIo, "chown " + path.string()));
    const Times t = times(e);
    // After chown, which clears the setuid and setgid bits.
    if (::fchmod(fd.get(), archive_entry_perm(e)) != 0 || ::futimens(fd.get(), t.data()) != 0)
      return fail(errno_error(ErrorCode::kIo, "set mode of " + path.string()));
    return fd.close("close " + path.string());
  }

  Result<void> set_attributes(archive_entry* e, const fs::path& path, bool symlink) {
    if (root_ && ::fchownat(AT_FDCWD, path.c_str(), archive_entry_uid(e), archive_entry_gid(e),
                            AT_SYMLINK_NOFOLLOW) != 0) {
      return fail(errno_error(ErrorCode::kIo, "chown " + path.string()));
    }
    if (!symlink && ::chmod(path.c_str(), archive_entry_perm(e)) != 0)
      return fail(errno_error(ErrorCode::kIo, "chmod " + path.string()));
    if (archive_entry_filetype(e) == AE_IFDIR) return {};  // finish() sets folder times
    const Times t = times(e);
    if (::utimensat(AT_FDCWD, path.c_str(), t.data(), AT_SYMLINK_NOFOLLOW) != 0)
      return fail(errno_error(ErrorCode::kIo, "set times of " + path.string()));
    return {};
  }

  archive* in_;
  std::string tar_;
  fs::path dest_;
  bool root_ = ::geteuid() == 0;
  std::set<std::string> folders_;  // below dest_, checked to be real folders
  std::vector<std::pair<fs::path, Times>> folder_times_;
  std::uint64_t entries_ = 0;
};

}  // namespace

Result<TarStats> write_tar(const fs::path& root, const fs::path& tar_path) {
  UniqueFd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return fail(errno_error(ErrorCode::kIo, "open " + root.string()));
  UniqueFd out(::open(tar_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!out) return fail(errno_error(ErrorCode::kIo, "create " + tar_path.string()));
  std::unique_ptr<archive, WriteFree> a(archive_write_new());
  if (archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(a.get(), 64 << 10) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK ||
      archive_write_open_fd(a.get(), out.get()) != ARCHIVE_OK) {
    return fail(archive_error(a.get(), "open " + tar_path.string()));
  }
  TarWriter writer(a.get(), root.string());
  if (auto r = writer.add_root(dir.get()); !r) return fail(std::move(r.error()));
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    return fail(archive_error(a.get(), "finish " + tar_path.string()));
  if (auto c = out.close("close " + tar_path.string()); !c) return fail(std::move(c.error()));
  std::error_code ec;
  const auto size = fs::file_size(tar_path, ec);
  return TarStats{writer.entries(), ec ? 0 : static_cast<std::uint64_t>(size)};
}

Result<TarStats> extract_tar(const fs::path& tar_path, const fs::path& dest) {
  std::error_code ec;
  if (!fs::is_directory(dest, ec))
    return fail(ErrorCode::kNotFound, "extract into " + dest.string() + ": not a folder");
  std::unique_ptr<archive, ReadFree> in(archive_read_new());
  archive_read_support_format_tar(in.get());
  if (archive_read_open_filename(in.get(), tar_path.c_str(), 1 << 16) != ARCHIVE_OK)
    return fail(archive_error(in.get(), "open " + tar_path.string()));
  TarExtractor extractor(in.get(), tar_path.string(), dest);
  archive_entry* e = nullptr;
  while (true) {
    const int r = archive_read_next_header(in.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return fail(archive_error(in.get(), "read " + tar_path.string()));
    if (auto x = extractor.add(e); !x) return fail(std::move(x.error()));
  }
  if (auto x = extractor.finish(); !x) return fail(std::move(x.error()));
  return TarStats{extractor.entries(), static_cast<std::uint64_t>(fs::file_size(tar_path, ec))};
}

}  // namespace kiln::image
