#include "util/unique_fd.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

namespace kiln {

void UniqueFd::reset() {
  if (fd_ >= 0) ::close(fd_);  // result ignored on purpose: see close()
  fd_ = -1;
}

Result<void> UniqueFd::close(const std::string& what) {
  const int fd = std::exchange(fd_, -1);
  if (fd >= 0 && ::close(fd) != 0) return fail(errno_error(ErrorCode::kIo, "close " + what));
  return {};
}

Result<UniqueFd> try_lock_file(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return fail(errno_error(ErrorCode::kIo, "open " + path.string()));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return fd;
  if (errno != EWOULDBLOCK) return fail(errno_error(ErrorCode::kIo, "flock " + path.string()));
  return UniqueFd();
}

}  // namespace kiln
