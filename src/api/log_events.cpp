#include "api/log_events.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <ctime>

#include "logs/time_index.h"

namespace kiln::api {
namespace {

constexpr std::size_t kBlock = std::size_t{1} << 20;

bool number(std::string_view s, int& out) {
  return std::from_chars(s.data(), s.data() + s.size(), out).ec == std::errc();
}

// Where the bytes come from: `read(buf, cap)` returns how many it put in buf, 0 at the end, or
// -1 on error.
using Reader = std::function<long(char*, std::size_t)>;
// Gets each line or piece of one, whether it starts a line, and the file offset where it starts;
// returns false to stop.
using PieceFn = std::function<bool(std::string_view, bool, std::uint64_t)>;

// Splits the stream into lines, and lines into pieces of at most kMaxEventBytes.
bool scan_pieces(const Reader& read, const PieceFn& on_piece) {
  std::string pending;  // the unfinished piece, shorter than kMaxEventBytes
  std::string buf(kBlock, '\0');
  bool line_start = true;
  std::uint64_t at = 0;     // the file offset of block's first byte
  std::uint64_t start = 0;  // the file offset of pending's first byte
  for (;;) {
    const long n = read(buf.data(), buf.size());
    if (n < 0) return false;
    if (n == 0) break;
    std::string_view block(buf.data(), static_cast<std::size_t>(n));
    while (!block.empty()) {
      if (pending.empty()) start = at;
      const std::size_t nl = block.find('\n');
      const std::size_t take = nl == std::string_view::npos ? block.size() : nl;
      const std::size_t room = kMaxEventBytes - pending.size();
      if (take > room) {  // the line goes on past this piece
        pending.append(block.substr(0, room));
        block.remove_prefix(room);
        at += room;
        if (!on_piece(pending, line_start, start)) return true;
        pending.clear();
        line_start = false;
        continue;
      }
      pending.append(block.substr(0, take));
      if (nl == std::string_view::npos) {
        at += take;
        break;
      }
      block.remove_prefix(nl + 1);
      at += nl + 1;
      if (!on_piece(pending, line_start, start)) return true;
      pending.clear();
      line_start = true;
    }
  }
  if (!pending.empty()) on_piece(pending, line_start, start);
  return true;
}

// With a time index (logs/time_index.h), one pass: each line takes its first byte's time.
// Without one, two passes: the first stamp (lines before it take it), then events.
bool scan_events(const std::function<Reader()>& open, logs::TimeIndexReader* index,
                 const std::function<bool(std::size_t, const LogEvent&)>& visit) {
  std::int64_t first = -1;
  if (index == nullptr &&
      !scan_pieces(open(), [&](std::string_view piece, bool line_start, std::uint64_t) {
        if (line_start) first = agent_line_time(piece);
        return first < 0;
      })) {
    return false;
  }
  std::int64_t last = first;
  std::size_t index_of = 0;
  LogEvent event;
  return scan_pieces(open(), [&](std::string_view piece, bool line_start, std::uint64_t offset) {
    if (line_start) {
      if (const auto t = index ? index->time_at(offset) : agent_line_time(piece); t >= 0) last = t;
    }
    event.timestamp_ms = last < 0 ? 0 : last;
    event.message.assign(piece);
    return visit(index_of++, event);
  });
}

}  // namespace

std::int64_t agent_line_time(std::string_view line) {
  constexpr std::string_view kPrefix = "[Container] ";
  // "[Container] YYYY/MM/DD HH:MM:SS.uuuuuu"
  if (!line.starts_with(kPrefix) || line.size() < kPrefix.size() + 26) return -1;
  const std::string_view t = line.substr(kPrefix.size(), 26);
  if (t[4] != '/' || t[7] != '/' || t[10] != ' ' || t[13] != ':' || t[16] != ':' || t[19] != '.')
    return -1;
  std::tm tm{};
  int us = 0;
  if (!number(t.substr(0, 4), tm.tm_year) || !number(t.substr(5, 2), tm.tm_mon) ||
      !number(t.substr(8, 2), tm.tm_mday) || !number(t.substr(11, 2), tm.tm_hour) ||
      !number(t.substr(14, 2), tm.tm_min) || !number(t.substr(17, 2), tm.tm_sec) ||
      !number(t.substr(20, 6), us)) {
    return -1;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::time_t secs = timegm(&tm);
  return static_cast<std::int64_t>(secs) * 1000 + us / 1000;
}

std::vector<LogEvent> split_log(std::string_view text) {
  std::vector<LogEvent> events;
  std::size_t at = 0;
  auto open_text = [text, &at]() -> Reader {
    at = 0;
    return [text, &at](char* buf, std::size_t cap) -> long {
      const std::size_t n = std::min(cap, text.size() - at);
      text.copy(buf, n, at);
      at += n;
      return static_cast<long>(n);
    };
  };
  scan_events(open_text, nullptr, [&](std::size_t, const LogEvent& e) {
    events.push_back(e);
    return true;
  });
  return events;
}

bool for_each_event(const std::filesystem::path& file,
                    const std::function<bool(std::size_t, const LogEvent&)>& visit) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  off_t offset = 0;
  auto open_file = [fd, &offset]() -> Reader {
    offset = 0;
    return [fd, &offset](char* buf, std::size_t cap) -> long {
      for (;;) {
        const ssize_t n = ::pread(fd, buf, cap, offset);
        if (n < 0 && errno == EINTR) continue;
        if (n > 0) offset += n;
        return static_cast<long>(n);
      }
    };
  };
  auto index = logs::TimeIndexReader::open(logs::time_index_path(file));
  const bool ok = scan_events(open_file, index ? &*index : nullptr, visit);
  ::close(fd);
  return ok;
}

}  // namespace kiln::api
