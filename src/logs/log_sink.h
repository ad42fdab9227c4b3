// Where a build's log goes. The engine writes two kinds of text: agent lines (the
// "[Container] 2024/01/02 03:04:05.123456 Entering phase BUILD" lines, formatted by the engine's
// ContainerLog; CodeBuild's agent, not kiln-agent) and raw command output. `kiln run` writes to
// its terminal with FdSink; a server build's `kiln worker` writes the build's log file and its
// time index with TimedFileSink (time_index.h), which the server's API reads. Both receive text
// already masked (secrets::MaskingSink sits in front).
// Thread safety: called from the engine's thread only.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::logs {

class LogSink {
 public:
  virtual ~LogSink() = default;
  virtual void agent_line(std::string_view line) = 0;  // a full line, no trailing newline
  virtual void output(std::string_view chunk) = 0;     // raw bytes, may split lines
  virtual void flush() {}
};

// Writes all of `s` to `fd`, retrying on EINTR and short writes. False on any other error, which
// ends the write.
bool write_all(int fd, std::string_view s);

// Writes to every child sink in order.
class TeeSink final : public LogSink {
 public:
  void add(LogSink* sink) { sinks_.push_back(sink); }
  void agent_line(std::string_view line) override {
    for (auto* s : sinks_) s->agent_line(line);
  }
  void output(std::string_view chunk) override {
    for (auto* s : sinks_) s->output(chunk);
  }
  void flush() override {
    for (auto* s : sinks_) s->flush();
  }

 private:
  std::vector<LogSink*> sinks_;  // not owned
};

// Keeps everything in memory; for tests.
class MemorySink final : public LogSink {
 public:
  void agent_line(std::string_view line) override {
    text_ += line;
    text_ += '\n';
  }
  void output(std::string_view chunk) override { text_ += chunk; }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// Buffered writes to a file descriptor (stdout, or a log file). Does not own the fd.
class FdSink final : public LogSink {
 public:
  explicit FdSink(int fd, std::size_t buffer = 1 << 16) : fd_(fd), cap_(buffer) {}
  ~FdSink() override { flush(); }
  void agent_line(std::string_view line) override;
  void output(std::string_view chunk) override;
  void flush() override;

 private:
  void append(std::string_view s);
  int fd_;
  std::size_t cap_;
  std::string buf_;
};

}  // namespace kiln::logs
