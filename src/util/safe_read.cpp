#include "util/safe_read.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "util/rooted_path.h"
#include "util/unique_fd.h"

namespace kiln {

namespace {

// Set once openat2 has failed with ENOSYS or EPERM; later calls use the fallback directly.
std::atomic<bool> g_no_openat2{false};

constexpr int kOpenFlags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;

Error open_error(const std::string& shown) {
  const int e = errno;
  if (e == ENOENT || e == ENOTDIR) return Error(ErrorCode::kNotFound, shown + ": no such file");
  if (e == EXDEV || e == ELOOP)
    return Error(ErrorCode::kPathEscape, shown + ": the path leaves the source directory");
  errno = e;
  return errno_error(ErrorCode::kIo, "open " + shown);
}

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "is a directory";
  if (S_ISFIFO(mode)) return "is a FIFO";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "is a device";
  if (S_ISSOCK(mode)) return "is a socket";
  return "is not a regular file";
}

Result<std::string> read_open_file(UniqueFd fd, std::uint64_t max_bytes, const std::string& shown) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail(errno_error(ErrorCode::kIo, "stat " + shown));
  if (!S_ISREG(st.st_mode))
    return fail(ErrorCode::kInvalidArgument, shown + ": " + kind_of(st.st_mode));
  const auto too_large = [&] {
    return fail(ErrorCode::kInvalidArgument,
                shown + ": is larger than " + size_text(max_bytes) + ", the limit");
  };
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) return too_large();
  std::string out;
  out.reserve(static_cast<std::size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errno_error(ErrorCode::kIo, "read " + shown));
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_bytes) return too_large();
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace

std::string size_text(std::uint64_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= (1u << 10) && bytes % (1u << 10) == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

Result<std::string> read_regular_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
  const int fd = ::open(path.c_str(), kOpenFlags);
  if (fd < 0) return fail(open_error(path.string()));
  return read_open_file(UniqueFd(fd), max_bytes, path.string());
}

Result<std::string> read_file_beneath(const std::filesystem::path& root, std::string_view rel,
                                      std::uint64_t max_bytes, const std::string& shown_in) {
  const std::string shown = shown_in.empty() ? (root / rel).string() : shown_in;
  if (rel.empty() || rel.find('\0') != std::string_view::npos)
    return fail(ErrorCode::kInvalidArgument, shown + ": not a file name");
  const int dir = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return fail(open_error(root.string()));
  const UniqueFd root_fd(dir);
  const std::string path(rel);
  if (!g_no_openat2.load(std::memory_order_relaxed)) {
    struct open_how how = {};
    how.flags = static_cast<std::uint64_t>(kOpenFlags);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    long fd;
    do {
      fd = ::syscall(SYS_openat2, root_fd.get(), path.c_str(), &how, sizeof how);
    } while (fd < 0 && errno == EAGAIN);  // a rename raced the lookup
    if (fd >= 0) return read_open_file(UniqueFd(static_cast<int>(fd)), max_bytes, shown);
    if (errno != ENOSYS && errno != EPERM) return fail(open_error(shown));
    g_no_openat2.store(true, std::memory_order_relaxed);
  }
  if (!rel.empty() && rel.front() == '/')
    return fail(ErrorCode::kPathEscape, shown + ": the path leaves the source directory");
  auto resolved = RootedPath::resolve(root, rel);
  if (!resolved) {
    auto e = resolved.error();
    return fail(e.code(), shown + ": " + e.message());
  }
  const int fd =
      ::openat(root_fd.get(), resolved->relative().empty() ? "." : resolved->relative().c_str(),
               kOpenFlags | O_NOFOLLOW);
  if (fd < 0) return fail(open_error(shown));
  return read_open_file(UniqueFd(fd), max_bytes, shown);
}

}  // namespace kiln
