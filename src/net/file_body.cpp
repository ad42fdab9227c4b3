#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "net/http_client.h"

namespace kiln::net {

void body_from_file(HttpRequest& r, int fd, std::uint64_t offset, std::uint64_t size,
                    std::optional<Error>& failure) {
  r.body_size = size;
  r.body_source = [fd, pos = offset, end = offset + size, &failure](
                      char* buf, std::size_t room) mutable -> std::size_t {
    const std::size_t want = std::min<std::uint64_t>(room, end - pos);
    if (want == 0) return 0;
    ssize_t n = 0;
    do {
      n = ::pread(fd, buf, want, static_cast<off_t>(pos));
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
      failure = n < 0 ? errno_error(ErrorCode::kIo, "pread")
                      : Error(ErrorCode::kIo, "the file shrank while it was being sent");
      return HttpRequest::kAbortBody;
    }
    pos += static_cast<std::uint64_t>(n);
    return static_cast<std::size_t>(n);
  };
}

}  // namespace kiln::net
