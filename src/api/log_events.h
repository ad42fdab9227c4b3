// A build's log file as CloudWatch Logs events (codebuild-api §4): one event per line. A line's
// timestamp is its own `[Container] yyyy/mm/dd hh:mm:ss.uuuuuu` stamp (UTC), else that of the
// last stamped line before it, else the file's first stamp (output printed before any agent
// line). Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::api {

struct LogEvent {
  std::int64_t timestamp_ms = 0;
  std::string message;  // the line, without its newline
};

std::vector<LogEvent> split_log(std::string_view text);

// Epoch milliseconds of a line starting "[Container] 2026/11/22 06:42:52.992104 ", or -1.
std::int64_t agent_line_time(std::string_view line);

}  // namespace kiln::api
