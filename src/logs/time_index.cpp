#include "logs/time_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <utility>

namespace kiln::logs {
namespace {

constexpr std::size_t kBlock = std::size_t{64} * 1024;
// The longest well-formed entry: two 20-digit numbers, a space and a newline.
constexpr std::size_t kMaxEntry = 42;

std::uint64_t size_of(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

long pread_some(int fd, char* buf, std::size_t cap, std::uint64_t at) {
  for (;;) {
    const ssize_t n = ::pread(fd, buf, cap, static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    return static_cast<long>(n);
  }
}

// "<offset> <ms>" without its newline; false if it is not one.
bool parse_entry(std::string_view line, std::uint64_t& offset, std::int64_t& ms) {
  const auto sp = line.find(' ');
  if (sp == std::string_view::npos) return false;
  const auto r1 = std::from_chars(line.data(), line.data() + sp, offset);
  const auto r2 = std::from_chars(line.data() + sp + 1, line.data() + line.size(), ms);
  return r1.ec == std::errc() && r1.ptr == line.data() + sp && r2.ec == std::errc() &&
         r2.ptr == line.data() + line.size() && ms >= 0;
}

}  // namespace

std::filesystem::path time_index_path(const std::filesystem::path& log) {
  std::filesystem::path p = log;
  return p.replace_extension(".times");
}

TimedFileSink::TimedFileSink(int log_fd, int index_fd, const Clock& clock)
    : log_fd_(log_fd), index_fd_(index_fd), clock_(clock), offset_(size_of(log_fd)) {}

void TimedFileSink::stamp() {
  const std::int64_t now = to_epoch_millis(clock_.now());
  if (last_ms_ != INT64_MIN && now - last_ms_ < kResolutionMs && now >= last_ms_) return;
  last_ms_ = now;
  line_ = std::to_string(offset_);
  line_ += ' ';
  line_ += std::to_string(now);
  line_ += '\n';
  static_cast<void>(write_all(index_fd_, line_));  // best effort, as the log itself
}

void TimedFileSink::agent_line(std::string_view line) {
  stamp();
  line_.assign(line);
  line_ += '\n';
  static_cast<void>(write_all(log_fd_, line_));
  offset_ = size_of(log_fd_);
}

void TimedFileSink::output(std::string_view chunk) {
  if (chunk.empty()) return;
  stamp();
  // The file's size, not a count: a failed write may have written part of the chunk.
  static_cast<void>(write_all(log_fd_, chunk));
  offset_ = size_of(log_fd_);
}

std::optional<TimeIndexReader> TimeIndexReader::open(const std::filesystem::path& index) {
  const int fd = ::open(index.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  return TimeIndexReader(fd);
}

TimeIndexReader::TimeIndexReader(TimeIndexReader&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)),
      file_at_(o.file_at_),
      buf_(std::move(o.buf_)),
      buf_at_(o.buf_at_),
      has_ahead_(o.has_ahead_),
      ahead_offset_(o.ahead_offset_),
      ahead_ms_(o.ahead_ms_),
      current_ms_(o.current_ms_) {}

TimeIndexReader::~TimeIndexReader() {
  if (fd_ >= 0) ::close(fd_);
}

bool TimeIndexReader::next_entry() {
  for (;;) {
    const auto nl = buf_.find('\n', buf_at_);
    if (nl == std::string::npos) {
      // Keep the unfinished line and read on; at the end of the file it is a torn last entry.
      buf_.erase(0, buf_at_);
      buf_at_ = 0;
      if (buf_.size() > kMaxEntry) return false;  // not an index
      const std::size_t had = buf_.size();
      buf_.resize(had + kBlock);
      const long n = pread_some(fd_, buf_.data() + had, kBlock, file_at_);
      buf_.resize(had + static_cast<std::size_t>(std::max(n, 0L)));
      if (n <= 0) return false;
      file_at_ += static_cast<std::uint64_t>(n);
      continue;
    }
    const std::string_view line(buf_.data() + buf_at_, nl - buf_at_);
    buf_at_ = nl + 1;
    if (parse_entry(line, ahead_offset_, ahead_ms_)) return true;
  }
}

std::int64_t TimeIndexReader::time_at(std::uint64_t offset) {
  for (;;) {
    if (!has_ahead_) {
      has_ahead_ = next_entry();
      if (!has_ahead_) return current_ms_;
    }
    if (ahead_offset_ > offset) return current_ms_;
    current_ms_ = ahead_ms_;
    has_ahead_ = false;
  }
}

std::optional<TimeBounds> read_time_bounds(const std::filesystem::path& index) {
  auto reader = TimeIndexReader::open(index);
  if (!reader) return std::nullopt;
  TimeBounds b;
  b.first_ms = reader->time_at(0);
  if (b.first_ms < 0) {
    // The first entry may start past offset 0 (a log appended to): take it whatever its offset.
    b.first_ms = reader->time_at(UINT64_MAX);
    if (b.first_ms < 0) return std::nullopt;
  }
  // The last entry: read the file's tail, not all of it.
  const int fd = ::open(index.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  const std::uint64_t size = size_of(fd);
  const std::uint64_t from = size > 2 * kMaxEntry ? size - 2 * kMaxEntry : 0;
  std::string tail(static_cast<std::size_t>(size - from), '\0');
  const long n = pread_some(fd, tail.data(), tail.size(), from);
  ::close(fd);
  tail.resize(static_cast<std::size_t>(std::max(n, 0L)));
  b.last_ms = b.first_ms;
  // Entries end with '\n'; a torn one at the end has none and is skipped.
  std::size_t end = tail.rfind('\n');
  while (end != std::string::npos && end > 0) {
    const std::size_t start = tail.rfind('\n', end - 1);
    const std::size_t s = start == std::string::npos ? 0 : start + 1;
    std::uint64_t off = 0;
    std::int64_t ms = 0;
    if (start != std::string::npos || from == 0) {
      if (parse_entry(std::string_view(tail).substr(s, end - s), off, ms)) {
        b.last_ms = ms;
        break;
      }
    }
    if (start == std::string::npos) break;
    end = start;
  }
  return b;
}

}  // namespace kiln::logs
