// The protocol between `kiln server` and the `kiln worker` process it starts for each build
// (docs/server.md): both ends use this module, the scheduler (server/scheduler.cpp) and the
// worker command (apps/kiln/cmd_worker.cpp), so they cannot drift apart.
//
// Command line: `kiln worker --request FILE --log FILE --secrets DIR [--keys FILE]
// [--build-user NAME] [--parent PID]`, built by worker_argv() and read back by
// parse_worker_args(). The request file is engine::request_to_json's; the log is appended as the
// build prints.
//
// Output: the worker's stdout and stderr are one pipe to the server. At every phase change the
// worker writes one line, the Build JSON (engine::to_json) of its record; the line whose Build is
// complete (buildComplete) is the last. Any other line is the worker's own message (an error
// before the build could start), which the server logs. The worker stops the build (STOPPED)
// on SIGTERM and dies with the server (PR_SET_PDEATHSIG).
//
// Exit status (in the scheme of apps/kiln/main.cpp): kWorkerOk once the final record is written,
// whatever the build's status; kWorkerCannotStart when the request, the log or the executor
// cannot be used; kWorkerBadCommandLine; kWorkerOrphaned when the server that started it is
// already gone. Only kWorkerOk follows records; the scheduler ends the build of any other.
//
// Thread safety: free functions are pure or touch only their fd; a RecordReader is used by one
// thread.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/error.h"

namespace kiln::server {

inline constexpr int kWorkerOk = 0;
inline constexpr int kWorkerCannotStart = 1;
inline constexpr int kWorkerBadCommandLine = 2;
inline constexpr int kWorkerOrphaned = 3;

// The worker's command line, after `kiln worker`.
struct WorkerArgs {
  std::filesystem::path request;  // the build request (required)
  std::filesystem::path log;      // the build log, appended (required)
  std::filesystem::path secrets;  // the server's secret store folder (required)
  std::filesystem::path keys;     // the server's keys.json: the project key's policy
  std::string build_user;         // process builds run as this user; "" = the worker's own
  pid_t parent = 0;               // the server's pid; 0 = do not check

  bool operator==(const WorkerArgs&) const = default;
};

// {kiln_binary, "worker", flags...}: a complete argv, argv[0] included.
std::vector<std::string> worker_argv(const std::filesystem::path& kiln_binary,
                                     const WorkerArgs& args);

// Reads the flags that follow `kiln worker` (`--flag value` or `--flag=value`). kInvalidArgument
// naming the flag: an unknown one, one without its value, a required one missing, a --parent
// that is not a pid.
[[nodiscard]] Result<WorkerArgs> parse_worker_args(const std::vector<std::string>& args);

// One line of the worker's output: the Build JSON and its newline.
std::string record_line(const nlohmann::json& build);

// Writes record_line(build) to `fd` whole (retrying short writes and EINTR). kIo when the
// server's end is gone.
[[nodiscard]] Result<void> write_record(int fd, const nlohmann::json& build);

// A line read back from the worker.
struct WorkerLine {
  std::optional<nlohmann::json> record;  // a Build: a JSON object with an "id"
  bool final = false;                    // the record is complete: the last one
  std::string text;                      // otherwise the line as the worker wrote it
};

// Parses one line (without its newline).
WorkerLine parse_worker_line(std::string_view line);

// Splits the worker's output into lines. Borrows `fd`; next() blocks on it.
class RecordReader {
 public:
  explicit RecordReader(int fd) : fd_(fd) {}

  // The next line; nullopt at the end of the output (the worker closed it or exited), where an
  // unterminated last piece is returned first as a line. kIo when the read fails.
  [[nodiscard]] Result<std::optional<WorkerLine>> next();

 private:
  int fd_;
  std::string buf_;
  bool eof_ = false;
};

}  // namespace kiln::server
