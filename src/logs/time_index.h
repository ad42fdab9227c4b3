// When each part of a build's log was read: the sidecar that gives CloudWatch Logs events their
// own timestamps (docs/server.md, "Logs are files"). The worker's TimedFileSink appends to it as
// it writes the log; the API's log reads (api/log_events.h) read it.
//
// Format of `<uuid>.times` beside `<uuid>.log`: text lines "<offset> <epoch-ms>\n", offsets
// increasing. A line says that the log's bytes from <offset> on were read at <epoch-ms>, until
// the next line's offset. A log line's timestamp is that of its first byte.
//
// Bounded: a line is written only when a chunk of output arrives at least kResolutionMs after
// the last line's time, so the index grows by at most 100 lines (about 2 KB) a second however
// the build prints, and a log line's timestamp is at most kResolutionMs earlier than the moment
// it was read.
// Crash-safe: each line is appended with one write() before the bytes it describes, so a crash
// leaves at most a torn last line (ignored) or a line past the log's end (never used). A log
// without an index (written before Kiln kept one, or by `kiln run`) is read as before: each
// line takes the time of the last `[Container]` stamp (api/log_events.h).
// Thread safety: none; a reader and the writer may work on one file at once (append-only).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "logs/log_sink.h"
#include "util/clock.h"

namespace kiln::logs {

inline constexpr std::int64_t kResolutionMs = 10;

// The index beside `log` ("x/uuid.log" -> "x/uuid.times").
std::filesystem::path time_index_path(const std::filesystem::path& log);

// Writes the log to `log_fd` and the index to `index_fd`, whose current sizes must be those of
// a log and its index that belong together (both empty for a new build). Does not own the fds.
// Write errors end that write silently, as FdSink's do: the log is best effort, the record is
// the source of truth.
class TimedFileSink final : public LogSink {
 public:
  TimedFileSink(int log_fd, int index_fd, const Clock& clock);
  void agent_line(std::string_view line) override;
  void output(std::string_view chunk) override;

 private:
  void stamp();  // before bytes are written at offset_
  int log_fd_;
  int index_fd_;
  const Clock& clock_;
  std::uint64_t offset_ = 0;
  std::int64_t last_ms_ = INT64_MIN;
  std::string line_;  // reused
};

// Reads an index forwards, in blocks. time_at() must be called with offsets that do not decrease.
class TimeIndexReader {
 public:
  // Nothing when the index does not exist or cannot be opened.
  static std::optional<TimeIndexReader> open(const std::filesystem::path& index);
  TimeIndexReader(TimeIndexReader&&) noexcept;
  TimeIndexReader& operator=(TimeIndexReader&&) = delete;
  ~TimeIndexReader();

  // The time of the log byte at `offset`, or -1 when the index has no entry at or before it.
  std::int64_t time_at(std::uint64_t offset);

 private:
  explicit TimeIndexReader(int fd) : fd_(fd) {}
  bool next_entry();  // loads the entry after current_ into ahead_
  int fd_;
  std::uint64_t file_at_ = 0;
  std::string buf_;
  std::size_t buf_at_ = 0;
  bool has_ahead_ = false;
  std::uint64_t ahead_offset_ = 0;
  std::int64_t ahead_ms_ = -1;
  std::int64_t current_ms_ = -1;
};

// The first and last times of an index (a log's first and last events), read without reading
// the whole file. Nothing if there is no index or it has no entry.
struct TimeBounds {
  std::int64_t first_ms = 0;
  std::int64_t last_ms = 0;
};
std::optional<TimeBounds> read_time_bounds(const std::filesystem::path& index);

}  // namespace kiln::logs
