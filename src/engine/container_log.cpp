#include "engine/container_log.h"

#include <ctime>

#include "util/escape.h"

namespace kiln::engine {

std::string format_timestamp(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto us = duration_cast<microseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d/%02d/%02d %02d:%02d:%02d.%06lld", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(us % 1000000));
  return buf;
}

void ContainerLog::line(std::string_view text) {
  if (!at_line_start_) {
    sink_.output("\n");
    at_line_start_ = true;
  }
  std::string l = "[Container] ";
  l += format_timestamp(clock_.now());
  l += ' ';
  l += text;
  sink_.agent_line(l);
}

void EscapingSink::agent_line(std::string_view line) {
  inner_.agent_line(escape_control(line, KeepNewlines::kYes));
}

void ContainerLog::output(std::string_view chunk) {
  if (chunk.empty()) return;
  sink_.output(chunk);
  at_line_start_ = chunk.back() == '\n';
}

}  // namespace kiln::engine
