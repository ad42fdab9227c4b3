#include <unistd.h>

#include <cerrno>

#include "logs/log_sink.h"

namespace kiln::logs {

// A closed terminal (EPIPE) or full disk must not stop the build, so errors end the write
// silently: the log is best effort here and the record is the source of truth.
bool write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    s.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void FdSink::append(std::string_view s) {
  if (buf_.size() + s.size() > cap_) flush();
  if (s.size() >= cap_) {
    write_all(fd_, s);
    return;
  }
  buf_.append(s);
}

void FdSink::agent_line(std::string_view line) {
  append(line);
  append("\n");
  flush();  // agent lines are rare and people watch them live
}

void FdSink::output(std::string_view chunk) {
  append(chunk);
  flush();  // the executor already reads in large chunks; keep the log live
}

void FdSink::flush() {
  write_all(fd_, buf_);
  buf_.clear();
}

}  // namespace kiln::logs
