#include "api/log_events.h"

#include <charconv>
#include <ctime>

namespace kiln::api {
namespace {

bool number(std::string_view s, int& out) {
  return std::from_chars(s.data(), s.data() + s.size(), out).ec == std::errc();
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
  std::int64_t last = -1;
  std::size_t first_unstamped = 0;  // events before the first stamp get that stamp
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    const bool complete = end != std::string_view::npos;
    if (!complete) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    if (const auto t = agent_line_time(line); t >= 0) {
      if (last < 0) {
        for (std::size_t i = first_unstamped; i < events.size(); ++i) events[i].timestamp_ms = t;
      }
      last = t;
    }
    events.push_back({last < 0 ? 0 : last, std::string(line)});
    start = end + 1;
  }
  return events;
}

}  // namespace kiln::api
