// Writes the build log's own lines, CodeBuild's `[Container]` lines
// (docs/reference/codebuild-semantics.md §3.6):
//   [Container] 2024/01/02 03:04:05.123456 Entering phase BUILD
// Timestamps are UTC, with microseconds, as CodeBuild has printed them since about 2023.
// CodeBuild's log calls these the agent's lines (LogSink::agent_line); they have nothing to do
// with kiln-agent, the program the sandbox and docker executors run commands with.
#pragma once

#include <string>
#include <string_view>

#include "logs/log_sink.h"
#include "util/clock.h"

namespace kiln::engine {

class ContainerLog {
 public:
  ContainerLog(logs::LogSink& sink, const Clock& clock) : sink_(sink), clock_(clock) {}

  void line(std::string_view text);

  // Output written by commands goes straight to the sink; we remember whether it ended in a
  // newline so the next [Container] line starts on a line of its own.
  void output(std::string_view chunk);

 private:
  logs::LogSink& sink_;
  const Clock& clock_;
  bool at_line_start_ = true;
};

// A LogSink whose agent lines get the "[Container] <ts>" prefix: what lower layers (artifact
// upload, caches) write to.
class ContainerLineSink final : public logs::LogSink {
 public:
  explicit ContainerLineSink(ContainerLog& log) : log_(log) {}
  void agent_line(std::string_view line) override { log_.line(line); }
  void output(std::string_view chunk) override { log_.output(chunk); }

 private:
  ContainerLog& log_;
};

// A LogSink decorator for the end of the chain, after the masker: agent lines quote buildspec
// text (commands, keys, paths), so their control characters are escaped (util/escape.h; line
// feeds stay, for multi-line commands) and a buildspec cannot send escape sequences to the
// terminal of `kiln run` or of whoever reads the log. Command output passes unchanged, as in
// CodeBuild. Does not own `inner`.
class EscapingSink final : public logs::LogSink {
 public:
  explicit EscapingSink(logs::LogSink& inner) : inner_(inner) {}
  void agent_line(std::string_view line) override;
  void output(std::string_view chunk) override { inner_.output(chunk); }
  void flush() override { inner_.flush(); }

 private:
  logs::LogSink& inner_;
};

std::string format_timestamp(std::chrono::system_clock::time_point t);

}  // namespace kiln::engine
