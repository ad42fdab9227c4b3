// A build's log file as CloudWatch Logs events (docs/reference/codebuild-api.md §4): one event per
// line. A line's timestamp is the time the worker read its first byte, from the time index beside
// the log (logs/time_index.h). A log without an index (older servers' builds) is read as before:
// a line takes its own `[Container] yyyy/mm/dd hh:mm:ss.uuuuuu` stamp (UTC), else that of the
// last stamped line before it, else the file's first stamp (output printed before any agent
// line).
//
// A line longer than kMaxEventBytes is split into events of that size, in order: CloudWatch
// Logs refuses events over 256 KiB (its quota counts 26 bytes of overhead per event,
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html), and a
// build that prints a 1 GiB line must not make the server hold 1 GiB to answer for it. Only a
// line's first piece can carry a timestamp. Files are read in blocks: memory stays bounded by
// one block and one event whatever the log's size (docs/server.md).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::api {

inline constexpr std::size_t kMaxEventBytes = std::size_t{256} * 1024 - 26;

struct LogEvent {
  std::int64_t timestamp_ms = 0;
  std::string message;  // the line (or piece of one), without its newline
};

// Every event of `text` (for small texts and tests).
std::vector<LogEvent> split_log(std::string_view text);

// Calls `visit(index, event)` for each event of the log file in order, until it returns false.
// The event is valid during the call only. False when the file cannot be opened or read.
bool for_each_event(const std::filesystem::path& file,
                    const std::function<bool(std::size_t, const LogEvent&)>& visit);

// Epoch milliseconds of a line starting "[Container] 2026/11/22 06:42:52.992104 ", or -1.
std::int64_t agent_line_time(std::string_view line);

}  // namespace kiln::api
