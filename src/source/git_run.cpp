#include "source/git_run.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <system_error>

#include "exec/process_tree.h"
#include "exec/spawn.h"
#include "util/string.h"
#include "util/unique_fd.h"

namespace kiln::source {
namespace {

using Clock = std::chrono::steady_clock;

// Enough for every message git prints on failure; a chatty submodule update keeps its tail.
constexpr std::size_t kMaxOutput = std::size_t{256} * 1024;

// The caller's credential is what is wrong.
constexpr ErrorCode kAuthCode = ErrorCode::kPermission;

// The credential helper git runs (through /bin/sh) when a server asks for a password. It reads
// the token from its environment, which only git's processes get: the token is in no argv, URL
// or file. `store` and `erase` requests are ignored.
constexpr std::string_view kHelper =
    "!f() { test \"$1\" = get || exit 0; echo \"username=$KILN_GIT_USERNAME\"; "
    "echo \"password=$KILN_GIT_TOKEN\"; }; f";

using Fd = kiln::UniqueFd;

// Appends what the pipe holds; false at EOF (every writer gone).
bool read_available(int fd, std::string& out) {
  char buf[16384];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return false;
    if (n < 0) return true;  // EAGAIN: nothing more for now
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > 2 * kMaxOutput) out.erase(0, out.size() - kMaxOutput);
  }
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

// git, its transport helpers and ssh share its process group; a helper that left the group is
// still below git in the process tree. SIGTERM lets git remove its lock files.
void kill_git(pid_t pid) {
  ::kill(-pid, SIGTERM);
  exec::kill_tree(pid, exec::KillOptions{.grace = std::chrono::milliseconds(1000)});
  int status;
  while (::waitpid(pid, &status, WNOHANG) < 0 && errno == EINTR) {
  }
}

std::size_t authority_end(std::string_view url, std::size_t start) {
  const std::size_t end = url.find_first_of("/?#", start);
  return end == std::string_view::npos ? url.size() : end;
}

bool is_http(std::string_view url) {
  const std::string l = to_lower(url.substr(0, 8));
  return l.starts_with("http://") || l.starts_with("https://");
}

}  // namespace

Result<ScratchDir> ScratchDir::create(const std::filesystem::path& pattern) {
  std::string tmpl = pattern.string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    return fail(errno_error(ErrorCode::kIo, "mkdtemp " + tmpl));
  return ScratchDir(tmpl);
}

ScratchDir::ScratchDir(ScratchDir&& other) noexcept : path_(std::move(other.path_)) {
  other.path_.clear();
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);  // best effort: nothing uses it
}

GitSession::GitSession(Options options, const exec::CancelToken& cancel)
    : options_(std::move(options)),
      cancel_(cancel),
      deadline_(Clock::now() + std::chrono::milliseconds(options_.timeout_ms)) {}

std::vector<std::string> GitSession::environment() const {
  std::vector<std::string> env = {
      "PATH=/usr/bin:/bin",
      "HOME=" + options_.home.string(),
      "LANG=C",  // the messages classify_git_failure reads are English
      // No prompt on a terminal: a missing credential fails at once ("could not read
      // Username") instead of hanging. GIT_ASKPASS stays unset so git goes straight to that.
      "GIT_TERMINAL_PROMPT=0",
      "GIT_CONFIG_NOSYSTEM=1",
      // ssh would otherwise ask for a password or a host key on kiln's terminal, if it has one.
      "GIT_SSH_COMMAND=ssh -o BatchMode=yes",
  };
  if (!options_.token.empty()) {
    env.push_back("KILN_GIT_USERNAME=" + options_.username);
    env.push_back("KILN_GIT_TOKEN=" + options_.token);
  }
  return env;
}

Result<GitOutput> GitSession::run(const std::filesystem::path& dir,
                                  const std::vector<std::string>& args,
                                  const std::vector<std::string>& extra_config) {
  if (cancel_.cancelled()) return fail(ErrorCode::kCancelled, "cancelled");
  if (Clock::now() >= deadline_) {
    return fail(ErrorCode::kTimeout,
                "timed out after " + std::to_string(options_.timeout_ms) + " ms");
  }
  exec::SpawnRequest spawn;
  spawn.program = options_.git_program;
  spawn.argv = {"git", "-C", dir.string()};
  auto config = [&](std::string kv) {
    spawn.argv.emplace_back("-c");
    spawn.argv.push_back(std::move(kv));
  };
  config("credential.helper=");  // an empty value drops helpers configured anywhere else
  if (!options_.token.empty() && !options_.credential_url.empty()) {
    // Scoped to the clone's host: a submodule elsewhere never sees the token.
    config("credential." + options_.credential_url + ".helper=" + std::string(kHelper));
  }
  // Only the transports of classify_git_location(): no remote helper (ext::, fd::, ...) may
  // run, whatever a URL, a submodule or a redirect names; file:// only when the user (kiln)
  // gave it, not from a submodule (git's own default since 2.38.1, CVE-2022-39253).
  config("protocol.allow=never");
  for (const char* p : {"https", "http", "git", "ssh"})
    config(std::string("protocol.") + p + ".allow=always");
  config("protocol.file.allow=user");
  if (options_.insecure_ssl) config("http.sslVerify=false");
  config("gc.autoDetach=false");  // an automatic gc in the background would outlive the wait
  for (const auto& kv : extra_config) config(kv);
  spawn.argv.insert(spawn.argv.end(), args.begin(), args.end());
  spawn.env = environment();

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail(errno_error(ErrorCode::kProcess, "pipe2"));
  Fd out_r(exec::move_above_stdio(fds[0]));
  Fd out_w(exec::move_above_stdio(fds[1]));
  Fd devnull(exec::move_above_stdio(::open("/dev/null", O_RDONLY | O_CLOEXEC)));
  if (out_r.get() < 0 || out_w.get() < 0 || devnull.get() < 0 ||
      ::fcntl(out_r.get(), F_SETFL, ::fcntl(out_r.get(), F_GETFL) | O_NONBLOCK) != 0) {
    return fail(errno_error(ErrorCode::kProcess, "set up git's output pipe"));
  }
  spawn.stdin_fd = devnull.get();
  spawn.output_fd = out_w.get();
  auto pid = exec::spawn_process(spawn);
  if (!pid) return fail(std::move(pid.error()).with("starting " + options_.git_program));
  out_w.reset();  // git's children hold the only writers: EOF once they are all gone
  Fd pidfd(exec::open_pidfd(*pid));

  GitOutput result;
  bool reading = true;
  while (true) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
    int wait = static_cast<int>(std::clamp<long long>(left, 0, 60'000));
    if (pidfd.get() < 0) wait = std::min(wait, 10);  // no pidfd: poll waitpid
    pollfd pfds[3] = {{reading ? out_r.get() : -1, POLLIN, 0},
                      {cancel_.fd(), POLLIN, 0},
                      {pidfd.get(), POLLIN, 0}};
    const int n = ::poll(pfds, 3, wait);
    if (n < 0 && errno != EINTR) {
      auto err = errno_error(ErrorCode::kProcess, "poll");
      kill_git(*pid);
      return fail(std::move(err));
    }
    if (n > 0 && pfds[0].revents != 0) reading = read_available(out_r.get(), result.output);
    int status = 0;
    pid_t r;
    do {
      r = ::waitpid(*pid, &status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return fail(errno_error(ErrorCode::kProcess, "waitpid for git"));
    if (r == *pid) {
      if (reading) read_available(out_r.get(), result.output);
      if (result.output.size() > kMaxOutput)
        result.output.erase(0, result.output.size() - kMaxOutput);
      result.exit_code = exit_code(status);
      return result;
    }
    if (n > 0 && (pfds[1].revents & POLLIN) != 0) {
      kill_git(*pid);
      return fail(ErrorCode::kCancelled, "cancelled");
    }
    if (Clock::now() >= deadline_) {
      kill_git(*pid);
      return fail(ErrorCode::kTimeout,
                  "timed out after " + std::to_string(options_.timeout_ms) + " ms");
    }
  }
}

std::string GitSession::mask(std::string text) const {
  const std::string& token = options_.token;
  if (token.empty()) return text;
  for (std::size_t at = text.find(token); at != std::string::npos; at = text.find(token, at + 4)) {
    text.replace(at, token.size(), "****");
  }
  return text;
}

namespace {
std::vector<std::string> nonempty_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find_first_of("\r\n", start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    if (!line.empty()) lines.push_back(std::move(line));
    start = end + 1;
  }
  return lines;
}
}  // namespace

GitFailure kind_of_failure(const GitOutput& out) {
  std::vector<std::string> lines = nonempty_lines(out.output);
  for (auto& line : lines) line = to_lower(line);
  auto any = [&](std::initializer_list<std::string_view> needles) {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
      return std::any_of(needles.begin(), needles.end(),
                         [&](std::string_view n) { return l.find(n) != std::string::npos; });
    });
  };
  // Checked first: GitHub answers 403 and GitLab "HTTP Basic: Access denied" for a repository
  // the credential cannot see, whatever else follows.
  if (any({"authentication failed", "could not read username", "could not read password",
           "terminal prompts disabled", "returned error: 401", "returned error: 403",
           "http basic: access denied", "permission denied (publickey",
           "invalid username or password"})) {
    return GitFailure::kAuthentication;
  }
  if (any({"couldn't find remote ref", "unknown revision", "did not match any"})) {
    return GitFailure::kReference;
  }
  // "repository 'https://...' not found": both words on one line, not any "not found" (a
  // missing ssh program says "ssh: not found").
  const bool repo_missing = any({"does not appear to be a git repository", "repository not found",
                                 "repository not exported", "returned error: 404"}) ||
                            std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
                              return l.find("repository") != std::string::npos &&
                                     l.find("not found") != std::string::npos;
                            });
  return repo_missing ? GitFailure::kRepository : GitFailure::kOther;
}

Error classify_git_failure(const GitOutput& out, const GitSession& session) {
  switch (kind_of_failure(out)) {
    case GitFailure::kAuthentication: return Error(kAuthCode, "authentication required");
    case GitFailure::kReference: return Error(ErrorCode::kNotFound, "reference not found");
    case GitFailure::kRepository: return Error(ErrorCode::kNotFound, "repository not found");
    case GitFailure::kOther: break;
  }
  const std::vector<std::string> lines = nonempty_lines(out.output);
  if (lines.empty()) {
    return Error(ErrorCode::kProcess, "git exited with status " + std::to_string(out.exit_code));
  }
  return Error(ErrorCode::kProcess, session.mask(lines.back()));
}

std::string strip_userinfo(std::string_view url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const std::size_t host = scheme + 3;
  const std::size_t at = url.substr(0, authority_end(url, host)).rfind('@');
  if (at == std::string_view::npos || at < host) return std::string(url);
  return std::string(url.substr(0, host)) + std::string(url.substr(at + 1));
}

std::pair<std::string, std::string> http_userinfo(std::string_view url) {
  if (!is_http(url)) return {};
  const std::size_t host = url.find("://") + 3;
  const std::size_t at = url.substr(0, authority_end(url, host)).rfind('@');
  if (at == std::string_view::npos || at < host) return {};
  const std::string_view info = url.substr(host, at - host);
  const std::size_t colon = info.find(':');
  if (colon == std::string_view::npos) return {percent_decode(info), ""};
  return {percent_decode(info.substr(0, colon)), percent_decode(info.substr(colon + 1))};
}

std::string http_origin(std::string_view url) {
  if (!is_http(url)) return "";
  const std::string clean = strip_userinfo(url);
  const std::size_t host = clean.find("://") + 3;
  return to_lower(clean.substr(0, host)) + clean.substr(host, authority_end(clean, host) - host);
}

}  // namespace kiln::source
