// A LogSink decorator that masks secrets (docs/secrets.md) before the log reaches the real sinks.
// The engine writes every build log line through one of these once the build's secret values
// are known; the inner sink (terminal, file, store) never sees a registered value.
//
// Command output is masked as a stream (Masker::feed): a few bytes that could begin a secret
// may be held back until more output arrives, and end_output() releases them when a command
// ends. Agent lines are masked whole. flush() does not release held bytes, since the engine may
// flush in the middle of a command's output and a secret could be cut in two.
//
// Ownership: does not own the inner sink, which must outlive this one. Bytes still held when
// the sink is destroyed are dropped, not written: call end_output() first.
// Errors: nothing here fails. Thread safety: as LogSink, the engine's thread only.
#pragma once

#include <string>
#include <string_view>

#include "logs/log_sink.h"
#include "secrets/masker.h"

namespace kiln::secrets {

class MaskingSink final : public logs::LogSink {
 public:
  explicit MaskingSink(logs::LogSink& inner) : inner_(inner) {}

  // Masks `value` from now on. False if it is shorter than kMinSecretLength and so is not
  // masked: the caller should warn.
  [[nodiscard]] bool add_secret(std::string value);

  // Releases any output still held (agent lines come between commands), then writes the line
  // with its secrets masked.
  void agent_line(std::string_view line) override;
  // Masks the chunk as part of the current command's output stream; may hold back a tail.
  void output(std::string_view chunk) override;
  // Flushes the inner sink. Held bytes stay held.
  void flush() override;

  // The current command's output has ended: writes out the held bytes, masked.
  void end_output();

  // Masks a whole string with this sink's secrets (exported variables, report messages).
  [[nodiscard]] std::string mask(std::string_view text) const { return masker_.mask(text); }

  std::size_t held() const { return masker_.held(); }

 private:
  logs::LogSink& inner_;
  Masker masker_;
  std::string buf_;  // reused for every chunk, so output() does not allocate
};

}  // namespace kiln::secrets
