#include "util/files.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "util/string.h"

namespace kiln {

Result<std::string> read_file(const std::filesystem::path& path, FollowSymlinks follow) {
  const int flags = O_RDONLY | O_CLOEXEC | (follow == FollowSymlinks::kNo ? O_NOFOLLOW : 0);
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) return fail(errno_error(ErrorCode::kNotFound, "open " + path.string()));
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      auto e = errno_error(ErrorCode::kIo, "read " + path.string());
      ::close(fd);
      return fail(std::move(e));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

Result<void> write_file_atomic(const std::filesystem::path& path, const std::string& content,
                               int mode) {
  // Unique per process and call, and created fresh (O_EXCL): a stale temp file left by a crash
  // could have looser permissions than `mode`, and a secret must never pass through it.
  static std::atomic<unsigned> counter{0};
  const std::string tmp = path.string() + ".tmp." + std::to_string(::getpid()) + "." +
                          std::to_string(counter.fetch_add(1));
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return fail(errno_error(ErrorCode::kIo, "create " + tmp));
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      auto e = errno_error(ErrorCode::kIo, "write " + tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return fail(std::move(e));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    auto e = errno_error(ErrorCode::kIo, "fsync " + tmp);
    ::unlink(tmp.c_str());
    return fail(std::move(e));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto e = errno_error(ErrorCode::kIo, "rename " + tmp + " to " + path.string());
    ::unlink(tmp.c_str());
    return fail(std::move(e));
  }
  return {};
}

std::string make_uuid() {
  unsigned char b[16];
  std::size_t got = 0;
  while (got < sizeof b) {
    const ssize_t n = ::getrandom(b + got, sizeof b - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) std::abort();  // the kernel's RNG failing leaves nothing sane to do
    got += static_cast<std::size_t>(n);
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

// ---- fd-relative helpers ----

namespace {

// Set once openat2 has failed with ENOSYS (old kernel) or EPERM (a seccomp filter that does not
// know it, as some container runtimes ship); later calls go straight to the fallback.
std::atomic<bool> g_no_openat2{false};

Error open_error(const std::string& rel) {
  const int e = errno;
  if (e == ELOOP || e == EXDEV) {
    return Error(ErrorCode::kPathEscape, "path changed while it was being read (symlink): " + rel);
  }
  if (e == ENOENT) return Error(ErrorCode::kNotFound, "no such file or directory: " + rel);
  errno = e;
  return errno_error(ErrorCode::kIo, "open " + rel);
}

Result<UniqueFd> open_by_components(int root_fd, std::string_view rel, int flags) {
  std::vector<std::string> parts;
  for (const std::string_view comp : split(rel, '/', SplitMode::kSkipEmpty)) {
    if (comp == "..") {
      errno = EXDEV;
      return fail(open_error(std::string(rel)));
    }
    if (comp != ".") parts.emplace_back(comp);
  }
  if (parts.empty()) {
    int fd = ::openat(root_fd, ".", flags | O_CLOEXEC);
    if (fd < 0) return fail(open_error(std::string(rel)));
    return UniqueFd(fd);
  }
  UniqueFd dir;
  int at = root_fd;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const bool last = i + 1 == parts.size();
    const int f =
        last ? flags | O_CLOEXEC | O_NOFOLLOW : O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW;
    int fd = ::openat(at, parts[i].c_str(), f);
    if (fd < 0) return fail(open_error(std::string(rel)));
    dir = UniqueFd(fd);
    at = fd;
  }
  return dir;
}

}  // namespace

Result<UniqueFd> open_directory(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail(errno_error(ErrorCode::kIo, "open " + path.string()));
  return UniqueFd(fd);
}

Result<UniqueFd> open_beneath(int root_fd, std::string_view rel, int flags) {
  flags |= O_CLOEXEC | O_NOFOLLOW;
  if (!g_no_openat2.load(std::memory_order_relaxed)) {
    struct open_how how = {};
    how.flags = static_cast<std::uint64_t>(flags);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    const std::string path = rel.empty() ? std::string(".") : std::string(rel);
    long fd;
    do {
      fd = ::syscall(SYS_openat2, root_fd, path.c_str(), &how, sizeof how);
    } while (fd < 0 && errno == EAGAIN);  // RESOLVE_* retry on concurrent rename
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    if (errno != ENOSYS && errno != EPERM) return fail(open_error(path));
    g_no_openat2.store(true, std::memory_order_relaxed);
  }
  return open_by_components(root_fd, rel, flags);
}

Result<struct stat> lstat_at(int dir_fd, const char* name, const std::string& shown) {
  struct stat st;
  if (::fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return fail(errno_error(ErrorCode::kIo, "stat " + shown));
  }
  return st;
}

Result<std::string> read_link_at(int dir_fd, const char* name, const std::string& shown) {
  std::string buf(256, '\0');
  for (;;) {
    ssize_t n = ::readlinkat(dir_fd, name, buf.data(), buf.size());
    if (n < 0) return fail(errno_error(ErrorCode::kIo, "readlink " + shown));
    if (static_cast<std::size_t>(n) < buf.size()) {
      buf.resize(static_cast<std::size_t>(n));
      return buf;
    }
    buf.resize(buf.size() * 2);
  }
}

Result<void> make_dirs_beneath(const std::filesystem::path& root, std::string_view rel) {
  auto dir = open_directory(root);
  if (!dir) return fail(std::move(dir.error()));
  std::size_t start = 0;
  while (start < rel.size()) {
    std::size_t slash = rel.find('/', start);
    if (slash == std::string_view::npos) slash = rel.size();
    const std::string comp(rel.substr(start, slash - start));
    start = slash + 1;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..")
      return fail(ErrorCode::kPathEscape, "path escapes its root: " + std::string(rel));
    if (::mkdirat(dir->get(), comp.c_str(), 0777) != 0 && errno != EEXIST) {
      return fail(errno_error(ErrorCode::kIo, "mkdir " + (root / rel.substr(0, slash)).string()));
    }
    int fd = ::openat(dir->get(), comp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      return fail(errno == ELOOP
                      ? Error(ErrorCode::kPathEscape, "symlink in output path: " + std::string(rel))
                      : errno_error(ErrorCode::kIo, "open " + comp));
    }
    *dir = UniqueFd(fd);
  }
  return {};
}

Result<void> fsync_directory(const std::filesystem::path& dir) {
  auto fd = open_directory(dir);
  if (!fd) return fail(std::move(fd.error()));
  if (::fsync(fd->get()) != 0) return fail(errno_error(ErrorCode::kIo, "fsync " + dir.string()));
  return fd->close(dir.string());
}

Result<std::string> random_suffix() {
  unsigned char rnd[6];
  if (::getrandom(rnd, sizeof rnd, 0) != static_cast<ssize_t>(sizeof rnd)) {
    return fail(errno_error(ErrorCode::kIo, "getrandom"));
  }
  return to_hex(std::span<const std::uint8_t>(rnd));
}

}  // namespace kiln
