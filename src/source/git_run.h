// Private to source/: running one `git` process for git_clone (git_source.cpp) and telling what
// its output means.
//
// Every command gets the same exact environment and `-c` options (GitSession), its output in
// one pipe, and is killed with everything it started when the clone is cancelled or runs out of
// time. A git that exits non-zero is not an Error here: the caller decides whether to fall back
// (a fetch by commit id the server refuses) or to classify the failure (classify_git_failure).
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "exec/executor.h"
#include "util/error.h"

namespace kiln::source {

struct GitOutput {
  int exit_code = 0;   // 128 + the signal's number when git died of a signal
  std::string output;  // stdout and stderr interleaved (the last 256 KiB)
  bool ok() const { return exit_code == 0; }
};

// What every git command of one clone shares. Not thread-safe; one clone uses one session.
class GitSession {
 public:
  struct Options {
    std::string git_program;
    std::filesystem::path home;  // an empty folder owned by this clone
    std::string credential_url;  // "https://host[:port]" the token is offered to; "" = none
    std::string username;
    std::string token;
    bool insecure_ssl = false;
    long timeout_ms = 0;
  };
  GitSession(Options options, const exec::CancelToken& cancel);

  // Runs `git -C dir <config...> <args...>`. An Error only when git could not be started, was
  // cancelled (kCancelled) or ran out of the clone's time (kTimeout); it is killed then.
  [[nodiscard]] Result<GitOutput> run(const std::filesystem::path& dir,
                                      const std::vector<std::string>& args,
                                      const std::vector<std::string>& extra_config = {});

  // `text` with the token replaced by "****", for anything shown to users.
  std::string mask(std::string text) const;

 private:
  std::vector<std::string> environment() const;

  Options options_;
  const exec::CancelToken& cancel_;
  std::chrono::steady_clock::time_point deadline_;
};

// A folder made with mkdtemp (a template ending in XXXXXX), removed with its contents when the
// object goes: git's HOME for one clone.
class ScratchDir {
 public:
  [[nodiscard]] static Result<ScratchDir> create(const std::filesystem::path& pattern);
  ScratchDir(ScratchDir&& other) noexcept;
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ScratchDir& operator=(ScratchDir&&) = delete;
  ~ScratchDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  explicit ScratchDir(std::filesystem::path p) : path_(std::move(p)) {}
  std::filesystem::path path_;
};

// What a failed git command's output says went wrong.
enum class GitFailure { kRepository, kAuthentication, kReference, kOther };
GitFailure kind_of_failure(const GitOutput& out);

// The Error for a failed git command, from its output: "repository not found" (kNotFound),
// "authentication required" (kInvalidArgument until util/error.h has kPermission), "reference
// not found" (kNotFound), or git's last non-empty line (kProcess), masked by `session`.
Error classify_git_failure(const GitOutput& out, const GitSession& session);

// The URL without "user:password@", for logs and for the clone's configuration.
std::string strip_userinfo(std::string_view url);

// The userinfo of an http(s) URL, percent-decoded: {user, password}; empty when absent.
std::pair<std::string, std::string> http_userinfo(std::string_view url);

// "scheme://host[:port]" of an http(s) URL; "" for other transports.
std::string http_origin(std::string_view url);

}  // namespace kiln::source
