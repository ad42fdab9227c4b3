#include "artifacts/env_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "util/files.h"

namespace kiln::artifacts {

namespace {

namespace fs = std::filesystem;

// Two fds per level are open while copying: a deeper tree is refused rather than running kiln
// out of descriptors or stack.
constexpr int kMaxDepth = 200;

bool not_found(int err) {
  return err == ENOENT || err == ENOTDIR;
}

// Kiln copies as root in the host's namespaces, with rights the build does not have inside its
// environment. On the kernel's own file systems those rights matter: /proc/kcore (host memory) is
// readable and /proc/sys/kernel/core_pattern (a host-wide command) writable by root, whatever
// namespace the mount was made in. So nothing on them is copied, in either direction, wherever
// they are mounted (a privileged container can mount procfs anywhere).
Result<void> refuse_kernel_fs(int fd, const std::string& shown) {
  struct statfs fs_info;
  if (::fstatfs(fd, &fs_info) != 0) return fail(errno_error(ErrorCode::kIo, "statfs " + shown));
  switch (static_cast<unsigned long>(fs_info.f_type)) {
    case PROC_SUPER_MAGIC:
    case SYSFS_MAGIC:
    case DEBUGFS_MAGIC:
    case TRACEFS_MAGIC:
    case SECURITYFS_MAGIC:
    case SELINUX_MAGIC:
    case SMACK_MAGIC:
    case CGROUP_SUPER_MAGIC:
    case CGROUP2_SUPER_MAGIC:
    case BPF_FS_MAGIC:
    case PSTOREFS_MAGIC:
    case EFIVARFS_MAGIC:
    case BINFMTFS_MAGIC:
    case DEVPTS_SUPER_MAGIC:
    case NSFS_MAGIC:
      return fail(ErrorCode::kPermission,
                  shown +
                      " is on one of the kernel's own file systems (such as /proc or /sys); "
                      "kiln does not copy from or into them");
    default: return {};
  }
}

// The names in the folder `dir` (read through a fresh fd, so `dir` keeps its position).
Result<std::vector<std::string>> names_in(int dir, const std::string& shown) {
  UniqueFd own(::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!own) return fail(errno_error(ErrorCode::kIo, "open " + shown));
  DIR* d = ::fdopendir(own.get());
  if (d == nullptr) return fail(errno_error(ErrorCode::kIo, "opendir " + shown));
  own.release();
  std::vector<std::string> names;
  Result<std::vector<std::string>> out;
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(d);
    if (e == nullptr) {
      if (errno != 0) out = fail(errno_error(ErrorCode::kIo, "readdir " + shown));
      break;
    }
    const std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(d);
  if (!out) return out;
  return names;
}

// Copies the first `size` bytes of `in` to `out`, leaving holes as holes: a build's sparse
// terabyte file must not fill the host's disk with zeros before the zip compresses them away.
// Returns the bytes of data copied.
Result<std::uint64_t> copy_sparse(int in, int out, off_t size, const std::string& shown) {
  if (::ftruncate(out, size) != 0)
    return fail(errno_error(ErrorCode::kIo, "size the copy of " + shown));
  std::uint64_t total = 0;
  std::vector<char> buf;
  for (off_t pos = 0; pos < size;) {
    off_t data = ::lseek(in, pos, SEEK_DATA);
    if (data < 0 && errno == ENXIO) break;  // only a hole is left
    if (data < 0) data = pos;               // no SEEK_DATA here: copy everything
    off_t end = ::lseek(in, data, SEEK_HOLE);
    if (end < 0 || end > size) end = size;
    for (off_t at = data; at < end;) {
      const auto want = static_cast<std::size_t>(end - at);
      off_t in_off = at, out_off = at;
      ssize_t n = ::copy_file_range(in, &in_off, out, &out_off, want, 0);
      if (n < 0 && errno != EINTR) {
        // Across file systems on older kernels, or refused: through a buffer.
        if (buf.empty()) buf.resize(std::size_t{1} << 20);
        n = ::pread(in, buf.data(), std::min(want, buf.size()), at);
        if (n > 0 && ::pwrite(out, buf.data(), static_cast<std::size_t>(n), at) != n)
          return fail(errno_error(ErrorCode::kIo, "write the copy of " + shown));
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(errno_error(ErrorCode::kIo, "read " + shown));
      if (n == 0) return total;  // shrank meanwhile: the rest stays a hole
      at += n;
      total += static_cast<std::uint64_t>(n);
    }
    pos = end;
  }
  return total;
}

Result<void> copy_file_at(int from_dir, int to_dir, const std::string& name,
                          const std::string& shown, TreeCopy& stats) {
  // O_NONBLOCK: a regular file swapped for a fifo after the lstat must not block the copy.
  UniqueFd in(::openat(from_dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!in) {
    if (errno == ELOOP || not_found(errno)) return {};  // changed under us: as if absent
    return fail(errno_error(ErrorCode::kIo, "open " + shown));
  }
  struct stat st;
  if (::fstat(in.get(), &st) != 0) return fail(errno_error(ErrorCode::kIo, "stat " + shown));
  if (!S_ISREG(st.st_mode)) return {};
  if (auto r = refuse_kernel_fs(in.get(), shown); !r) return r;
  if (auto r = refuse_kernel_fs(to_dir, shown); !r) return r;
  UniqueFd out(
      ::openat(to_dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) return fail(errno_error(ErrorCode::kIo, "create the copy of " + shown));
  auto n = copy_sparse(in.get(), out.get(), st.st_size, shown);
  if (!n) return fail(std::move(n.error()));
  const timespec times[2] = {st.st_atim, st.st_mtim};
  if (::fchmod(out.get(), st.st_mode & 0777) != 0 || ::futimens(out.get(), times) != 0)
    return fail(errno_error(ErrorCode::kIo, "set mode and mtime of the copy of " + shown));
  ++stats.files;
  stats.bytes += *n;
  return {};
}

Result<void> copy_link_at(int from_dir, int to_dir, const std::string& name,
                          const std::string& shown, TreeCopy& stats) {
  auto text = read_link_at(from_dir, name.c_str(), shown);
  if (!text) return fail(std::move(text.error()));
  if (::symlinkat(text->c_str(), to_dir, name.c_str()) != 0)
    return fail(errno_error(ErrorCode::kIo, "create the copy of " + shown));
  ++stats.files;
  return {};
}

Result<void> copy_dir(int from, int to, const std::string& shown, int depth, TreeCopy& stats) {
  if (depth > kMaxDepth)
    return fail(ErrorCode::kIo, shown + ": folders nested deeper than " +
                                    std::to_string(kMaxDepth) + " levels are not copied");
  if (auto r = refuse_kernel_fs(from, shown.empty() ? "/" : shown); !r) return r;
  auto names = names_in(from, shown);
  if (!names) return fail(std::move(names.error()));
  for (const std::string& name : *names) {
    const std::string child = shown + "/" + name;
    struct stat st;
    if (::fstatat(from, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (not_found(errno)) continue;
      return fail(errno_error(ErrorCode::kIo, "stat " + child));
    }
    Result<void> r;
    if (S_ISREG(st.st_mode)) {
      r = copy_file_at(from, to, name, child, stats);
    } else if (S_ISLNK(st.st_mode)) {
      r = copy_link_at(from, to, name, child, stats);
    } else if (S_ISDIR(st.st_mode)) {
      UniqueFd sub(::openat(from, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) {
        if (errno == ELOOP || not_found(errno)) continue;
        return fail(errno_error(ErrorCode::kIo, "open " + child));
      }
      if (::mkdirat(to, name.c_str(), 0700) != 0)
        return fail(errno_error(ErrorCode::kIo, "create the copy of " + child));
      UniqueFd dsub(::openat(to, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!dsub) return fail(errno_error(ErrorCode::kIo, "open the copy of " + child));
      r = copy_dir(sub.get(), dsub.get(), child, depth + 1, stats);
      // Owner bits stay: kiln must be able to read and remove its own copy.
      if (r && ::fchmod(dsub.get(), (st.st_mode & 0777) | 0700) != 0)
        r = fail(errno_error(ErrorCode::kIo, "set the mode of the copy of " + child));
    }  // fifos, sockets and devices have no content to keep
    if (!r) return r;
  }
  return {};
}

// Removes `name` in `dir` whatever it is, without following symlinks.
Result<void> remove_at(int dir, const std::string& name, const std::string& shown, int depth) {
  if (::unlinkat(dir, name.c_str(), 0) == 0 || errno == ENOENT) return {};
  if (errno != EISDIR && errno != EPERM)
    return fail(errno_error(ErrorCode::kIo, "remove " + shown));
  if (depth > kMaxDepth) return fail(ErrorCode::kIo, shown + ": nested too deep to remove");
  UniqueFd sub(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!sub) return fail(errno_error(ErrorCode::kIo, "open " + shown));
  auto names = names_in(sub.get(), shown);
  if (!names) return fail(std::move(names.error()));
  for (const std::string& n : *names)
    if (auto r = remove_at(sub.get(), n, shown + "/" + n, depth + 1); !r) return r;
  if (::unlinkat(dir, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return fail(errno_error(ErrorCode::kIo, "remove " + shown));
  return {};
}

Result<void> merge_dir(int from, int to, const std::string& shown, int depth, TreeCopy& stats) {
  if (depth > kMaxDepth) return fail(ErrorCode::kIo, shown + ": nested too deep to restore");
  if (auto r = refuse_kernel_fs(to, shown); !r) return r;
  auto names = names_in(from, shown);
  if (!names) return fail(std::move(names.error()));
  for (const std::string& name : *names) {
    const std::string child = shown + "/" + name;
    struct stat st;
    if (::fstatat(from, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return fail(errno_error(ErrorCode::kIo, "stat " + child));
    struct stat there;
    const bool exists = ::fstatat(to, name.c_str(), &there, AT_SYMLINK_NOFOLLOW) == 0;
    if (S_ISDIR(st.st_mode)) {
      if (exists && !S_ISDIR(there.st_mode)) {
        if (auto r = remove_at(to, name, child, depth); !r) return r;
      }
      if (::mkdirat(to, name.c_str(), st.st_mode & 0777) != 0 && errno != EEXIST)
        return fail(errno_error(ErrorCode::kIo, "create " + child));
      UniqueFd sub(::openat(from, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd dsub(::openat(to, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub || !dsub) return fail(errno_error(ErrorCode::kIo, "open " + child));
      if (auto r = merge_dir(sub.get(), dsub.get(), child, depth + 1, stats); !r) return r;
      continue;
    }
    if (exists) {
      if (auto r = remove_at(to, name, child, depth); !r) return r;
    }
    // O_EXCL and symlinkat never follow a link someone put back at the name meanwhile.
    Result<void> r = S_ISREG(st.st_mode)   ? copy_file_at(from, to, name, child, stats)
                     : S_ISLNK(st.st_mode) ? copy_link_at(from, to, name, child, stats)
                                           : Result<void>{};
    if (!r) return r;
  }
  return {};
}

// The folder `abs` inside the environment, made with its missing parents.
Result<UniqueFd> make_dir_in_root(int env_root, const fs::path& abs) {
  auto fd = open_in_root(env_root, abs.string(), O_RDONLY | O_DIRECTORY);
  if (fd || fd.error().code() != ErrorCode::kNotFound || !abs.has_relative_path()) return fd;
  const fs::path norm = abs.lexically_normal();
  const std::string name = norm.filename().string();
  if (name.empty() || name == "..") return fd;
  auto parent = make_dir_in_root(env_root, norm.parent_path());
  if (!parent) return parent;
  if (::mkdirat(parent->get(), name.c_str(), 0755) != 0 && errno != EEXIST)
    return fail(errno_error(ErrorCode::kIo, "create " + norm.string()));
  UniqueFd dir(
      ::openat(parent->get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) return fail(errno_error(ErrorCode::kIo, "open " + norm.string()));
  return dir;
}

}  // namespace

Result<UniqueFd> open_in_root(int env_root, const std::string& abs, int flags) {
  if (abs.empty() || abs.front() != '/')
    return fail(ErrorCode::kInvalidArgument, "not an absolute path: " + abs);
  std::string rel = abs.substr(
      abs.find_first_not_of('/') == std::string::npos ? abs.size() : abs.find_first_not_of('/'));
  if (rel.empty()) rel = ".";
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  long fd;
  int tries = 0;
  do {
    fd = ::syscall(SYS_openat2, env_root, rel.c_str(), &how, sizeof how);
  } while (fd < 0 && (errno == EAGAIN || errno == EINTR) && ++tries < 100);  // concurrent renames
  if (fd < 0) {
    if (not_found(errno)) return fail(errno_error(ErrorCode::kNotFound, abs));
    if (errno == ENOSYS)
      return fail(ErrorCode::kIo,
                  abs + ": absolute paths in the build's environment need openat2 (Linux 5.6)");
    return fail(errno_error(ErrorCode::kIo, "open " + abs));
  }
  return UniqueFd(static_cast<int>(fd));
}

std::pair<std::string, std::string> split_at_wildcard(const std::string& abs) {
  std::string prefix;
  std::string rest;
  for (const auto& part : fs::path(abs).lexically_normal().relative_path()) {
    const std::string p = part.string();
    if (p.empty()) continue;
    if (rest.empty() && p.find_first_of("*?[") == std::string::npos) {
      prefix += "/" + p;
    } else {
      rest += (rest.empty() ? "" : "/") + p;
    }
  }
  return {prefix.empty() ? "/" : prefix, rest};
}

Result<TreeCopy> copy_out(int env_root, const std::string& abs, const fs::path& dest,
                          bool files_too) {
  auto from = open_in_root(env_root, abs, O_RDONLY | O_DIRECTORY);
  if (!from && from.error().code() == ErrorCode::kNotFound && files_too) {
    // Not a folder: the file or symlink itself, read beside it in its (in-root) parent.
    const fs::path p = fs::path(abs).lexically_normal();
    const std::string name = p.filename().string();
    if (name.empty() || name == "..") return fail(std::move(from.error()));
    auto parent = open_in_root(env_root, p.parent_path().string(), O_RDONLY | O_DIRECTORY);
    if (!parent) return fail(std::move(parent.error()));
    if (auto r = refuse_kernel_fs(parent->get(), abs); !r) return fail(std::move(r.error()));
    UniqueFd to(::open(dest.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!to) return fail(errno_error(ErrorCode::kIo, "open " + dest.parent_path().string()));
    struct stat st;
    if (::fstatat(parent->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return fail(errno_error(not_found(errno) ? ErrorCode::kNotFound : ErrorCode::kIo, abs));
    if (dest.filename() != name)
      return fail(ErrorCode::kInvalidArgument, "the copy of " + abs + " must be named " + name);
    TreeCopy stats;
    Result<void> r = S_ISREG(st.st_mode)   ? copy_file_at(parent->get(), to.get(), name, abs, stats)
                     : S_ISLNK(st.st_mode) ? copy_link_at(parent->get(), to.get(), name, abs, stats)
                                           : fail(ErrorCode::kNotFound, abs + ": not a file");
    if (!r) return fail(std::move(r.error()));
    return stats;
  }
  if (!from) return fail(std::move(from.error()));
  if (::mkdir(dest.c_str(), 0700) != 0)
    return fail(errno_error(ErrorCode::kIo, "create " + dest.string()));
  UniqueFd to(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!to) return fail(errno_error(ErrorCode::kIo, "open " + dest.string()));
  TreeCopy stats;
  auto r = copy_dir(from->get(), to.get(), abs == "/" ? "" : abs, 0, stats);
  if (!r) return fail(std::move(r.error()));
  return stats;
}

Result<TreeCopy> copy_in(const fs::path& src, int env_root, const std::string& abs) {
  if (abs.empty() || abs.front() != '/')
    return fail(ErrorCode::kInvalidArgument, "not an absolute path: " + abs);
  struct stat st;
  if (::lstat(src.c_str(), &st) != 0)
    return fail(errno_error(ErrorCode::kIo, "stat " + src.string()));
  if (!S_ISDIR(st.st_mode)) {
    const fs::path p = fs::path(abs).lexically_normal();
    const std::string name = p.filename().string();
    if (name.empty() || name == "..")
      return fail(ErrorCode::kInvalidArgument, "no file name: " + abs);
    if (src.filename() != name)
      return fail(ErrorCode::kInvalidArgument, src.string() + " must be named " + name);
    UniqueFd from(::open(src.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!from) return fail(errno_error(ErrorCode::kIo, "open " + src.parent_path().string()));
    auto to = make_dir_in_root(env_root, p.parent_path());
    if (!to) return fail(std::move(to.error()));
    if (auto r = refuse_kernel_fs(to->get(), abs); !r) return fail(std::move(r.error()));
    struct stat there;
    if (::fstatat(to->get(), name.c_str(), &there, AT_SYMLINK_NOFOLLOW) == 0) {
      if (auto r = remove_at(to->get(), name, abs, 0); !r) return fail(std::move(r.error()));
    }
    TreeCopy stats;
    Result<void> r = S_ISREG(st.st_mode)   ? copy_file_at(from.get(), to->get(), name, abs, stats)
                     : S_ISLNK(st.st_mode) ? copy_link_at(from.get(), to->get(), name, abs, stats)
                                           : Result<void>{};
    if (!r) return fail(std::move(r.error()));
    return stats;
  }
  UniqueFd from(::open(src.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!from) return fail(errno_error(ErrorCode::kIo, "open " + src.string()));
  auto to = make_dir_in_root(env_root, abs);
  if (!to) return fail(std::move(to.error()));
  TreeCopy stats;
  auto r = merge_dir(from.get(), to->get(), abs, 0, stats);
  if (!r) return fail(std::move(r.error()));
  return stats;
}

}  // namespace kiln::artifacts
