// build_image (builder.h): mmdebstrap into a staging folder, the tar, then the store's commit.
#include "image/builder.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "exec/process_tree.h"
#include "exec/spawn.h"
#include "image/tar.h"
#include "util/unique_fd.h"

namespace kiln::image {
namespace fs = std::filesystem;

namespace {

constexpr const char* kMergedUsrHooks = "/usr/share/mmdebstrap/hooks/merged-usr";

// dpkg path filters of Debian's slim images: nothing a build reads, most of a minbase's size.
constexpr const char* kTrim[] = {
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",  // licences stay with the binaries
    "path-exclude=/usr/share/man/*",           "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/groff/*",         "path-exclude=/usr/share/lintian/*",
    "path-exclude=/usr/share/locale/*",        "path-include=/usr/share/locale/locale.alias",
};

bool valid_package(const std::string& p) {
  if (p.empty() || !std::isalnum(static_cast<unsigned char>(p.front()))) return false;
  return std::all_of(p.begin(), p.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("+.-:=_").find(c) != std::string_view::npos;
  });
}

// An executable `name`: a path as given, else the first in $PATH (then the sbin folders, which a
// user's PATH often lacks).
std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  const char* env = std::getenv("PATH");
  std::string path = env != nullptr ? env : "";
  path += ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t colon = path.find(':', start);
    if (colon == std::string::npos) colon = path.size();
    const std::string dir = path.substr(start, colon - start);
    start = colon + 1;
    if (dir.empty() || dir.front() != '/') continue;
    const std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::vector<std::string> child_environment() {
  std::vector<std::string> env = {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "LC_ALL=C.UTF-8"};  // apt's messages in English, as matched
  for (const char* name : {"HOME", "TMPDIR", "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY",
                           "HTTPS_PROXY", "NO_PROXY"}) {
    if (const char* v = std::getenv(name)) env.push_back(std::string(name) + "=" + v);
  }
  return env;
}

struct RunOutcome {
  int exit_code = 0;
  std::string first_error;  // the first "E: " line
};

// Runs the program with its output going line by line to `log`. The process group gets SIGTERM
// on cancel, so mmdebstrap can unmount what it mounted in the chroot; the rest is killed.
Result<RunOutcome> run_logged(const std::string& program, const std::vector<std::string>& argv,
                              const LogFn& log, const exec::CancelToken* cancel) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail(errno_error(ErrorCode::kProcess, "pipe2"));
  UniqueFd out_r(exec::move_above_stdio(fds[0]));
  UniqueFd out_w(exec::move_above_stdio(fds[1]));
  UniqueFd devnull(exec::move_above_stdio(::open("/dev/null", O_RDONLY | O_CLOEXEC)));
  if (!out_r || !out_w || !devnull)
    return fail(errno_error(ErrorCode::kProcess, "set up " + program + "'s output pipe"));
  exec::SpawnRequest req;
  req.program = program;
  req.argv = argv;
  req.env = child_environment();
  req.stdin_fd = devnull.get();
  req.output_fd = out_w.get();
  auto pid = exec::spawn_process(req);
  if (!pid) return fail(std::move(pid.error()).with("starting " + program));
  out_w.reset();

  RunOutcome outcome;
  std::string pending;
  auto emit = [&](std::string line) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (outcome.first_error.empty() && line.starts_with("E: ")) outcome.first_error = line;
    log(line);
  };
  bool cancelled = false;
  std::optional<Error> broken;  // poll failed: stop the program as if cancelled
  while (true) {
    pollfd pfds[2] = {{out_r.get(), POLLIN, 0}, {cancel != nullptr ? cancel->fd() : -1, POLLIN, 0}};
    const int n = ::poll(pfds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) broken = errno_error(ErrorCode::kProcess, "poll");
    if (broken || (pfds[1].revents & POLLIN) != 0) {
      cancelled = true;
      break;
    }
    char buf[8192];
    const ssize_t got = ::read(out_r.get(), buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;  // every writer gone: the program and what it started have exited
    pending.append(buf, static_cast<std::size_t>(got));
    for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
      emit(pending.substr(0, nl));
      pending.erase(0, nl + 1);
    }
  }
  int status = 0;
  if (cancelled) {
    ::kill(-*pid, SIGTERM);
    exec::kill_tree(*pid, exec::KillOptions{.grace = std::chrono::seconds(10)});
    while (::waitpid(*pid, &status, WNOHANG) < 0 && errno == EINTR) {  // kill_tree may reap it
    }
    if (broken) return fail(std::move(*broken));
    return fail(ErrorCode::kCancelled, program + " was cancelled");
  }
  if (!pending.empty()) emit(pending);
  while (::waitpid(*pid, &status, 0) < 0) {
    if (errno != EINTR) return fail(errno_error(ErrorCode::kProcess, "waitpid " + program));
  }
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return outcome;
}

std::string megabytes(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return buf;
}

}  // namespace

Result<BuildPlan> plan_build(const BuildOptions& options) {
  BuildPlan plan;
  if (const CuratedImage* c = find_curated(options.name)) {
    plan.packages = all_packages(*c);
    plan.runtimes = c->runtimes;
  } else if (options.packages.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                options.name +
                    " is not a curated image (kiln/minimal, kiln/standard, "
                    "kiln/docker): name its packages with --packages");
  }
  for (const auto& p : options.packages) {
    if (!valid_package(p))
      return fail(ErrorCode::kInvalidArgument, "invalid Debian package name '" + p + "'");
    if (std::find(plan.packages.begin(), plan.packages.end(), p) == plan.packages.end())
      plan.packages.push_back(p);
  }
  return plan;
}

std::vector<std::string> mmdebstrap_argv(const BuildOptions& options, bool root_mode,
                                         const std::vector<std::string>& packages,
                                         const fs::path& target) {
  std::vector<std::string> argv = {"mmdebstrap", "--variant=minbase"};
  argv.push_back(root_mode ? "--mode=root" : "--mode=unshare");
  argv.push_back(root_mode ? "--format=directory" : "--format=tar");
  // Package indexes without translations: a faster `apt-get update`, now and in builds.
  argv.push_back("--aptopt=Acquire::Languages \"none\"");
  if (options.trim) {
    for (const char* opt : kTrim) argv.push_back(std::string("--dpkgopt=") + opt);
    // update-alternatives (OpenJDK's, for one) links man pages into man1 and fails without it.
    argv.push_back("--essential-hook=mkdir -p \"$1/usr/share/man/man1\"");
    std::error_code ec;
    if (fs::is_directory(kMergedUsrHooks, ec))
      argv.push_back(std::string("--hook-dir=") + kMergedUsrHooks);
  }
  if (!packages.empty()) {
    std::string include = "--include=";
    for (std::size_t i = 0; i < packages.size(); ++i) include += (i ? "," : "") + packages[i];
    argv.push_back(include);
  }
  argv.push_back("--");
  argv.push_back(options.suite);
  argv.push_back(target.string());
  if (!options.mirror.empty()) argv.push_back(options.mirror);
  return argv;
}

Result<ImageEntry> build_image(ImageStore& store, const BuildOptions& options, const LogFn& log,
                               const exec::CancelToken* cancel) {
  const auto started = std::chrono::steady_clock::now();
  auto plan = plan_build(options);
  if (!plan) return fail(std::move(plan.error()));
  const std::string program =
      find_program(options.mmdebstrap.empty() ? "mmdebstrap" : options.mmdebstrap);
  if (program.empty()) {
    return fail(ErrorCode::kNotFound,
                "mmdebstrap was not found on PATH: install mmdebstrap (apt-get install "
                "mmdebstrap) to build images");
  }
  const bool root_mode = options.mode == BuildOptions::Mode::kAuto
                             ? ::geteuid() == 0
                             : options.mode == BuildOptions::Mode::kRoot;
  auto staging = store.begin(options.name);
  if (!staging) return fail(std::move(staging.error()));

  const fs::path target = root_mode ? staging->rootfs() : staging->tar();
  const auto argv = mmdebstrap_argv(options, root_mode, plan->packages, target);
  std::string shown;
  for (const auto& a : argv) shown += (shown.empty() ? "" : " ") + a;
  log("Building " + staging->name() + " from Debian " + options.suite + " with " +
      std::to_string(plan->packages.size()) + " packages beyond minbase");
  log("Running " + shown);
  auto run = run_logged(program, argv, log, cancel);
  if (!run) return fail(std::move(run.error()));
  if (run->exit_code != 0) {
    std::string msg = "mmdebstrap failed with exit status " + std::to_string(run->exit_code);
    if (!run->first_error.empty()) msg += ": " + run->first_error;
    return fail(ErrorCode::kProcess, msg);
  }

  const auto tar_started = std::chrono::steady_clock::now();
  TarStats tar;
  if (root_mode) {
    log("Writing " + staging->tar().string());
    auto t = write_tar(staging->rootfs(), staging->tar());
    if (!t) return fail(std::move(t.error()));
    tar = *t;
  } else {
    log("Unpacking " + staging->rootfs().string());
    std::error_code ec;
    fs::create_directory(staging->rootfs(), ec);
    if (ec)
      return fail(ErrorCode::kIo, "create " + staging->rootfs().string() + ": " + ec.message());
    auto t = extract_tar(staging->tar(), staging->rootfs());
    if (!t) return fail(std::move(t.error()));
    tar = *t;
  }
  const auto tar_done = std::chrono::steady_clock::now();
  auto bytes = tree_bytes(staging->rootfs());
  if (!bytes) return fail(std::move(bytes.error()));

  ImageEntry entry;
  entry.suite = options.suite;
  entry.packages = plan->packages;
  for (const auto& r : plan->runtimes) entry.runtimes.emplace_back(r.name, r.version);
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char when[32];
  struct tm utc {};
  ::gmtime_r(&now, &utc);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
  entry.built_at = when;
  entry.rootfs_bytes = *bytes;
  entry.tar_bytes = tar.bytes;
  entry.build_seconds = std::chrono::duration<double>(tar_done - started).count();
  const std::string name = staging->name();
  auto stored = store.commit(std::move(*staging), std::move(entry));
  if (!stored) return fail(std::move(stored.error()));
  char secs[64];
  std::snprintf(secs, sizeof secs, "%.1f s (mmdebstrap %.1f s, tar %.1f s)", stored->build_seconds,
                std::chrono::duration<double>(tar_started - started).count(),
                std::chrono::duration<double>(tar_done - tar_started).count());
  log("Built " + name + " in " + secs + ": rootfs " + megabytes(stored->rootfs_bytes) + ", tar " +
      megabytes(stored->tar_bytes) + ", " + std::to_string(tar.entries) + " entries");
  return stored;
}

}  // namespace kiln::image
