#include "exec/agent_protocol.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

namespace kiln::exec::agent {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kHeader = 5;

// Paths, environments and output need not be UTF-8; invalid bytes become U+FFFD rather than
// an exception.
std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<json> parse(std::string_view text, const char* what) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail(ErrorCode::kParse, std::string("agent protocol: malformed ") + what);
  return j;
}

json state_json(const ShellState& s) {
  return {{"cwd", s.cwd.string()}, {"env", s.env}};
}

ShellState state_of(const json& j) {
  ShellState s;
  s.cwd = j.value("cwd", std::string());
  if (auto it = j.find("env"); it != j.end() && it->is_object()) {
    for (const auto& [k, v] : it->items())
      if (v.is_string()) s.env[k] = v.get<std::string>();
  }
  return s;
}

}  // namespace

Result<void> write_frame(int fd, FrameType type, std::string_view payload) {
  if (payload.size() > kMaxFrame) return fail(ErrorCode::kInternal, "agent frame too large");
  char header[kHeader];
  header[0] = static_cast<char>(type);
  const auto n = static_cast<std::uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) header[1 + i] = static_cast<char>((n >> (24 - 8 * i)) & 0xff);
  // Small frames go in one write, so a frame is rarely split across the peer's reads.
  std::string one;
  std::string_view rest;
  if (payload.size() <= 4096) {
    one.assign(header, kHeader);
    one.append(payload);
    rest = one;
  }
  auto send_all = [fd](std::string_view data) -> Result<void> {
    while (!data.empty()) {
      const ssize_t w = ::write(fd, data.data(), data.size());
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
          pollfd p{fd, POLLOUT, 0};
          (void)::poll(&p, 1, 1000);
          continue;
        }
        return fail(errno_error(ErrorCode::kIo, "agent socket write"));
      }
      data.remove_prefix(static_cast<std::size_t>(w));
    }
    return {};
  };
  if (!rest.empty()) return send_all(rest);
  if (auto r = send_all(std::string_view(header, kHeader)); !r) return r;
  return send_all(payload);
}

bool FrameReader::fill() {
  char chunk[65536];
  for (;;) {
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n > 0) {
      buf_.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

Result<std::optional<Frame>> FrameReader::next() {
  if (buf_.size() < kHeader) return std::optional<Frame>();
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(buf_[1 + i]);
  if (n > kMaxFrame) return fail(ErrorCode::kParse, "agent protocol: oversized frame");
  if (buf_.size() < kHeader + n) return std::optional<Frame>();
  Frame f{static_cast<FrameType>(buf_[0]), buf_.substr(kHeader, n)};
  buf_.erase(0, kHeader + n);
  return std::optional<Frame>(std::move(f));
}

Result<Frame> FrameReader::read_blocking(int timeout_ms) {
  for (;;) {
    auto f = next();
    if (!f) return fail(f.error());
    if (*f) return std::move(**f);
    pollfd p{fd_, POLLIN, 0};
    const int n = ::poll(&p, 1, timeout_ms);
    if (n < 0 && errno != EINTR) return fail(errno_error(ErrorCode::kIo, "agent socket poll"));
    if (n == 0) return fail(ErrorCode::kTimeout, "no answer from the agent");
    if (n > 0 && !fill()) return fail(ErrorCode::kIo, "agent connection closed");
  }
}

std::string encode_prepare(const PrepareRequest& req) {
  return dump(json{{"buildId", req.build_id},
                   {"workspace", req.workspace.string()},
                   {"scratch", req.scratch.string()},
                   {"image", req.image}});
}

Result<PrepareRequest> decode_prepare(std::string_view text) {
  auto j = parse(text, "prepare request");
  if (!j) return fail(j.error());
  PrepareRequest r;
  r.build_id = j->value("buildId", std::string());
  r.workspace = j->value("workspace", std::string());
  r.scratch = j->value("scratch", std::string());
  r.image = j->value("image", std::string());
  return r;
}

std::string encode_command(const CommandRequest& req, Clock::time_point now) {
  json j{{"text", req.text}, {"shell", req.shell}, {"state", state_json(req.state)}};
  if (req.run_as) j["runAs"] = *req.run_as;
  if (req.deadline != Clock::time_point::max()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(req.deadline - now);
    j["timeoutMs"] = std::max<std::int64_t>(0, left.count());
  }
  return dump(j);
}

Result<CommandRequest> decode_command(std::string_view text, Clock::time_point now) {
  auto j = parse(text, "command request");
  if (!j) return fail(j.error());
  CommandRequest r;
  r.text = j->value("text", std::string());
  r.shell = j->value("shell", std::string("sh"));
  if (auto it = j->find("state"); it != j->end() && it->is_object()) r.state = state_of(*it);
  if (auto it = j->find("runAs"); it != j->end() && it->is_string())
    r.run_as = it->get<std::string>();
  if (auto it = j->find("timeoutMs"); it != j->end() && it->is_number_integer())
    r.deadline = now + std::chrono::milliseconds(it->get<std::int64_t>());
  return r;
}

std::string encode_result(const CommandResult& r) {
  return dump(json{{"end", static_cast<int>(r.end)},
                   {"exitCode", r.exit_code},
                   {"state", state_json(r.state)},
                   {"tail", r.tail},
                   {"diagnosis", r.diagnosis}});
}

Result<CommandResult> decode_result(std::string_view text) {
  auto j = parse(text, "command result");
  if (!j) return fail(j.error());
  CommandResult r;
  const int end = j->value("end", 0);
  if (end < 0 || end > static_cast<int>(CommandResult::End::kCancelled))
    return fail(ErrorCode::kParse, "agent protocol: unknown command end");
  r.end = static_cast<CommandResult::End>(end);
  r.exit_code = j->value("exitCode", 0);
  if (auto it = j->find("state"); it != j->end() && it->is_object()) r.state = state_of(*it);
  r.tail = j->value("tail", std::string());
  r.diagnosis = j->value("diagnosis", std::string());
  return r;
}

std::string encode_error(const Error& e) {
  return dump(json{{"code", static_cast<int>(e.code())}, {"message", e.describe()}});
}

Error decode_error(std::string_view text) {
  auto j = parse(text, "error");
  if (!j) return j.error();
  const int code = j->value("code", static_cast<int>(ErrorCode::kInternal));
  const bool known = code >= 0 && code <= static_cast<int>(ErrorCode::kInternal);
  return Error(known ? static_cast<ErrorCode>(code) : ErrorCode::kInternal,
               j->value("message", std::string("agent error")));
}

std::string encode_path(const std::filesystem::path& path) {
  return dump(json{{"path", path.string()}});
}

Result<std::filesystem::path> decode_path(std::string_view text) {
  auto j = parse(text, "path");
  if (!j) return fail(j.error());
  return std::filesystem::path(j->value("path", std::string()));
}

}  // namespace kiln::exec::agent
