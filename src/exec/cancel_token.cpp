#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <stdexcept>

#include "exec/executor.h"

namespace kiln::exec {

CancelToken::CancelToken() {
  int fds[2];
  // Constructed once per build at start-up; failing to get two fds means the process is out of
  // descriptors, which no caller can recover from.
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe2 failed");
  read_fd_ = fds[0];
  write_fd_ = fds[1];
}

CancelToken::~CancelToken() {
  ::close(read_fd_);
  ::close(write_fd_);
}

void CancelToken::cancel() noexcept {
  const char b = 1;
  // Non-blocking; a full pipe already means "cancelled". The byte is never read, so the pipe
  // stays readable and every poller sees the cancellation.
  [[maybe_unused]] auto n = ::write(write_fd_, &b, 1);
}

bool CancelToken::cancelled() const noexcept {
  pollfd p{read_fd_, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

}  // namespace kiln::exec
