#include "server/worker_protocol.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>

#include "engine/record_json.h"
#include "util/json_text.h"

namespace kiln::server {
namespace {

constexpr std::string_view kRequest = "--request";
constexpr std::string_view kLog = "--log";
constexpr std::string_view kSecrets = "--secrets";
constexpr std::string_view kKeys = "--keys";
constexpr std::string_view kBuildUser = "--build-user";
constexpr std::string_view kParent = "--parent";
constexpr std::array<std::string_view, 6> kFlags = {kRequest, kLog,       kSecrets,
                                                    kKeys,    kBuildUser, kParent};

Error bad_flag(std::string_view flag, const std::string& why) {
  return Error(ErrorCode::kInvalidArgument, "kiln worker: " + std::string(flag) + ": " + why);
}

}  // namespace

std::vector<std::string> worker_argv(const std::filesystem::path& kiln_binary,
                                     const WorkerArgs& args) {
  std::vector<std::string> argv = {
      kiln_binary.string(), "worker",          std::string(kRequest), args.request.string(),
      std::string(kLog),    args.log.string(), std::string(kSecrets), args.secrets.string()};
  if (!args.keys.empty()) {
    argv.emplace_back(kKeys);
    argv.push_back(args.keys.string());
  }
  if (!args.build_user.empty()) {
    argv.emplace_back(kBuildUser);
    argv.push_back(args.build_user);
  }
  if (args.parent != 0) {
    argv.emplace_back(kParent);
    argv.push_back(std::to_string(args.parent));
  }
  return argv;
}

Result<WorkerArgs> parse_worker_args(const std::vector<std::string>& args) {
  WorkerArgs out;
  bool have_request = false;
  bool have_log = false;
  bool have_secrets = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view flag = args[i];
    std::optional<std::string> value;
    if (const auto eq = flag.find('='); flag.starts_with("--") && eq != std::string_view::npos) {
      value = std::string(flag.substr(eq + 1));
      flag = flag.substr(0, eq);
    }
    if (std::find(kFlags.begin(), kFlags.end(), flag) == kFlags.end())
      return fail(bad_flag(flag, "unknown flag"));
    if (!value) {
      if (i + 1 == args.size()) return fail(bad_flag(flag, "expects a value"));
      value = args[++i];
    }
    if (flag == kRequest) {
      out.request = *value;
      have_request = true;
    } else if (flag == kLog) {
      out.log = *value;
      have_log = true;
    } else if (flag == kSecrets) {
      out.secrets = *value;
      have_secrets = true;
    } else if (flag == kKeys) {
      out.keys = *value;
    } else if (flag == kBuildUser) {
      out.build_user = *value;
    } else if (flag == kParent) {
      const char* end = value->data() + value->size();
      const auto [at, ec] = std::from_chars(value->data(), end, out.parent);
      if (ec != std::errc() || at != end || out.parent < 0)
        return fail(bad_flag(flag, "not a process id: '" + *value + "'"));
    }
  }
  if (!have_request) return fail(bad_flag(kRequest, "required"));
  if (!have_log) return fail(bad_flag(kLog, "required"));
  if (!have_secrets) return fail(bad_flag(kSecrets, "required"));
  return out;
}

std::string record_line(const nlohmann::json& build) {
  return json_text(build) + "\n";
}

Result<void> write_record(int fd, const nlohmann::json& build) {
  const std::string line = record_line(build);
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errno_error(ErrorCode::kIo, "write the build record"));
    if (n == 0) return fail(ErrorCode::kIo, "write the build record: nothing written");
    done += static_cast<std::size_t>(n);
  }
  return {};
}

WorkerLine parse_worker_line(std::string_view line) {
  WorkerLine out;
  auto build = nlohmann::json::parse(line, nullptr, false);
  if (build.is_discarded() || !build.is_object() || !build.contains("id")) {
    out.text = std::string(line);
    return out;
  }
  out.final = engine::build_complete(build);
  out.record = std::move(build);
  return out;
}

Result<std::optional<WorkerLine>> RecordReader::next() {
  char chunk[65536];
  while (true) {
    if (const auto nl = buf_.find('\n'); nl != std::string::npos) {
      WorkerLine line = parse_worker_line(std::string_view(buf_).substr(0, nl));
      buf_.erase(0, nl + 1);
      return line;
    }
    if (eof_) {
      if (buf_.empty()) return std::optional<WorkerLine>();
      WorkerLine line = parse_worker_line(buf_);
      buf_.clear();
      return line;
    }
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errno_error(ErrorCode::kIo, "read the worker's output"));
    if (n == 0) eof_ = true;
    buf_.append(chunk, static_cast<std::size_t>(n));
  }
}

}  // namespace kiln::server
