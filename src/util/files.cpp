#include "util/files.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

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

}  // namespace kiln
