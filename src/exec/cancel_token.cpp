#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "exec/executor.h"

namespace kiln::exec {

Result<CancelToken> CancelToken::create() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
    return fail(errno_error(ErrorCode::kProcess, "pipe2 for a cancel token"));
  return CancelToken(UniqueFd(fds[0]), UniqueFd(fds[1]));
}

void CancelToken::cancel() noexcept {
  const char b = 1;
  // Non-blocking; a full pipe already means "cancelled". The byte is never read, so the pipe
  // stays readable and every poller sees the cancellation.
  [[maybe_unused]] auto n = ::write(write_fd_.get(), &b, 1);
}

bool CancelToken::cancelled() const noexcept {
  pollfd p{read_fd_.get(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

}  // namespace kiln::exec
