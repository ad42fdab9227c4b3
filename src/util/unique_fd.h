// An owned file descriptor, closed when it goes out of scope. Every layer that opens files
// uses it; close(what) is for the writes whose errors surface only at close (NFS, quotas).
#pragma once

#include <filesystem>
#include <string>
#include <utility>

#include "util/error.h"

namespace kiln {

// Owns one file descriptor. close() reports the error; the destructor ignores it (use close()
// where the result matters, e.g. after writing).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  explicit operator bool() const { return fd_ >= 0; }
  void reset();
  [[nodiscard]] Result<void> close(const std::string& what);

 private:
  int fd_ = -1;
};

// Takes the exclusive flock on `path` (created 0600 if missing) without waiting: the fd that
// holds it, an invalid fd when another process holds it, or an Error when it cannot be opened.
[[nodiscard]] Result<UniqueFd> try_lock_file(const std::filesystem::path& path);

}  // namespace kiln
