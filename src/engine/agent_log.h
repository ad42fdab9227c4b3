// Writes the agent's own log lines in CodeBuild's format (codebuild-semantics §3.6):
//   [Container] 2024/01/02 03:04:05.123456 Entering phase BUILD
// Timestamps are UTC, with microseconds, as CodeBuild has printed them since about 2023.
#pragma once

#include <string>
#include <string_view>

#include "logs/log_sink.h"
#include "util/clock.h"

namespace kiln::engine {

class AgentLog {
 public:
  AgentLog(logs::LogSink& sink, const Clock& clock) : sink_(sink), clock_(clock) {}

  void line(std::string_view text);
  logs::LogSink& sink() { return sink_; }

  // Output written by commands goes straight to the sink; we remember whether it ended in a
  // newline so the next agent line starts on a line of its own.
  void output(std::string_view chunk);

 private:
  logs::LogSink& sink_;
  const Clock& clock_;
  bool at_line_start_ = true;
};

// A LogSink whose agent lines get the "[Container] <ts>" prefix: what lower layers (artifact
// upload, caches) write to.
class AgentLineSink final : public logs::LogSink {
 public:
  explicit AgentLineSink(AgentLog& log) : log_(log) {}
  void agent_line(std::string_view line) override { log_.line(line); }
  void output(std::string_view chunk) override { log_.output(chunk); }

 private:
  AgentLog& log_;
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
