// The wire between kiln and its agent inside a sandbox or a container (docs/executors.md).
//
// The container executors do not re-implement command execution: they start `kiln-agent` inside
// the build's environment, and the agent runs each command with the ProcessExecutor, exactly as
// the process executor does on the host. Shell state, background processes, timeouts, process
// trees and run-as therefore behave the same under every executor by construction.
//
// One stream socket carries frames: a type byte, a 4-byte big-endian length, the payload.
//   host -> agent: kPrepare (JSON), kCommand (JSON), kCancel (empty), kShutdown (empty)
//   agent -> host: kOutput (raw bytes), kResult (JSON), kError (JSON), kReady (JSON), kDone
// One request is in flight at a time; kCancel may arrive while a command runs.
//
// Thread safety: a FrameReader or FrameWriter is used from one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "exec/executor.h"
#include "util/error.h"

namespace kiln::exec::agent {

enum class FrameType : char {
  kPrepare = 'P',
  kCommand = 'C',
  kCancel = 'X',
  kShutdown = 'S',
  kOutput = 'O',
  kResult = 'R',
  kError = 'E',
  kReady = 'Y',
  kDone = 'D',
};

// Payloads above this are a protocol error: no legitimate frame comes near it (output is sent
// in read-sized chunks, a shell state is an environment).
constexpr std::uint32_t kMaxFrame = 64u << 20;

struct Frame {
  FrameType type = FrameType::kDone;
  std::string payload;
};

// Writes one frame completely (retrying on EINTR and short writes). kIo if the peer is gone.
[[nodiscard]] Result<void> write_frame(int fd, FrameType type, std::string_view payload);

// Reads frames from a blocking or non-blocking socket.
class FrameReader {
 public:
  explicit FrameReader(int fd) : fd_(fd) {}
  // Reads what the socket holds now (one read()); false when the peer closed or failed.
  [[nodiscard]] bool fill();
  // Pops a complete frame, if one has arrived. kParse for an oversized frame.
  [[nodiscard]] Result<std::optional<Frame>> next();
  // Blocks until a whole frame has arrived; kIo if the peer closes first, kTimeout after
  // `timeout_ms` without a frame (-1 = no limit).
  [[nodiscard]] Result<Frame> read_blocking(int timeout_ms = -1);

 private:
  int fd_;
  std::string buf_;
};

// --- payloads ------------------------------------------------------------------------------

std::string encode_prepare(const PrepareRequest& req);
[[nodiscard]] Result<PrepareRequest> decode_prepare(std::string_view json);

// The deadline travels as the time left, since the two ends may not share a steady clock.
std::string encode_command(const CommandRequest& req, std::chrono::steady_clock::time_point now);
[[nodiscard]] Result<CommandRequest> decode_command(std::string_view json,
                                                    std::chrono::steady_clock::time_point now);

std::string encode_result(const CommandResult& result);
[[nodiscard]] Result<CommandResult> decode_result(std::string_view json);

std::string encode_error(const Error& error);
Error decode_error(std::string_view json);

std::string encode_path(const std::filesystem::path& path);
[[nodiscard]] Result<std::filesystem::path> decode_path(std::string_view json);

}  // namespace kiln::exec::agent
