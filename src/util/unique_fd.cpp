#include "util/unique_fd.h"

#include <unistd.h>

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

}  // namespace kiln
