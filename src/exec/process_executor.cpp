#include "exec/process_executor.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace kiln::exec {
namespace {

using Clock = std::chrono::steady_clock;

// Large enough that a chatty build rarely blocks on us; a pipe of this size is allowed to
// unprivileged users by default (/proc/sys/fs/pipe-max-size).
constexpr int kPipeSize = 1 << 20;

// Under the kernel's limit for one argument (MAX_ARG_STRLEN, 128 KiB); longer scripts go to a
// file.
constexpr std::size_t kMaxScriptArgument = std::size_t{100} * 1024;

Error io_error(const std::string& what) {
  return errno_error(ErrorCode::kIo, what);
}

void drain_fd(int fd) {
  char buf[256];
  while (::read(fd, buf, sizeof buf) > 0) {
  }
}

// Appends what the FIFO holds to `state`; true once the trap's last NUL has arrived.
bool read_state(int fd, std::string& state) {
  char buf[16384];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) state.append(buf, static_cast<std::size_t>(n));
  return std::count(state.begin(), state.end(), '\0') >= kCaptureTerminators;
}

bool unlink_if_present(const std::filesystem::path& p) {
  return ::unlink(p.c_str()) == 0 || errno == ENOENT;
}

// Makes a FIFO owned by `user` and opens it O_RDWR: such an open never blocks, and with our
// reader and writer always present the shell's opens never block either.
Result<UniqueFd> make_fifo(const std::filesystem::path& path, const std::optional<UserIds>& user) {
  if (!unlink_if_present(path)) return fail(io_error("unlink " + path.string()));
  if (::mkfifo(path.c_str(), 0600) != 0) return fail(io_error("mkfifo " + path.string()));
  if (user && ::chown(path.c_str(), user->uid, user->gid) != 0) {
    return fail(io_error("chown " + path.string()));
  }
  UniqueFd fd(move_above_stdio(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC)));
  if (!fd) return fail(io_error("open " + path.string()));
  return fd;
}

// False if the pid was already reaped (by kill_all, or by a waitpid(-1) elsewhere).
bool wait_for(pid_t pid, int& status) {
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return false;
  }
  return true;
}

}  // namespace

struct ProcessExecutor::Outcome {
  CommandResult::End end = CommandResult::End::kExited;
  int status = 0;  // waitpid status when kExited
};

ProcessExecutor::ProcessExecutor(ProcessExecutorOptions options)
    : options_(options),
      buf_size_(std::max<std::size_t>(options.read_chunk, 4096)),
      // Not zeroed: a read only touches the pages it fills, and most commands print little.
      buf_(std::make_unique_for_overwrite<char[]>(buf_size_)) {}

ProcessExecutor::~ProcessExecutor() {
  shutdown();
}

Result<std::filesystem::path> ProcessExecutor::prepare(const PrepareRequest& req) {
  if (prepared_) return fail(ErrorCode::kInternal, "ProcessExecutor::prepare called twice");
  struct stat st {};
  if (::stat(req.workspace.c_str(), &st) != 0) {
    return fail(errno_error(ErrorCode::kNotFound, "workspace " + req.workspace.string()));
  }
  if (!S_ISDIR(st.st_mode)) {
    return fail(ErrorCode::kInvalidArgument,
                "workspace is not a directory: " + req.workspace.string());
  }
  std::error_code ec;
  std::filesystem::create_directories(req.scratch.parent_path(), ec);
  if (::mkdir(req.scratch.c_str(), 0700) != 0) {
    if (errno != EEXIST || ::lstat(req.scratch.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return fail(io_error("create scratch folder " + req.scratch.string()));
    }
  }
  if (::chmod(req.scratch.c_str(), 0700) != 0)
    return fail(io_error("chmod " + req.scratch.string()));

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail(errno_error(ErrorCode::kProcess, "pipe2"));
  out_r_ = UniqueFd(move_above_stdio(fds[0]));
  out_w_ = UniqueFd(move_above_stdio(fds[1]));
  devnull_ = UniqueFd(move_above_stdio(::open("/dev/null", O_RDONLY | O_CLOEXEC)));
  if (!out_r_ || !out_w_ || !devnull_ ||
      ::fcntl(out_r_.get(), F_SETFL, ::fcntl(out_r_.get(), F_GETFL) | O_NONBLOCK) != 0) {
    auto err = errno_error(ErrorCode::kProcess, "set up the output pipe");
    close_fds();
    return fail(std::move(err));
  }
  ::fcntl(out_r_.get(), F_SETPIPE_SZ, kPipeSize);  // best effort: the default 64 KiB also works

  if (auto r = acquire_subreaper(); !r) {
    close_fds();
    return fail(std::move(r.error()));
  }
  subreaper_ = true;
  workspace_ = req.workspace;
  scratch_ = req.scratch;
  prepared_ = true;
  return workspace_;
}

namespace {
// CodeBuild: "run-as grants the specified user read and run permissions". Everything in the
// workspace becomes readable, and folders and executables runnable, by others (a+rX); the
// folders from `top` down to the workspace become traversable. Writing stays the owner's.
Result<void> grant_read_and_run(const std::filesystem::path& workspace,
                                const std::filesystem::path& top) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto add = fs::perm_options::add;
  for (fs::path p = workspace; !p.empty(); p = p.parent_path()) {
    fs::permissions(p, fs::perms::others_exec | fs::perms::group_exec, add, ec);
    if (ec) return fail(ErrorCode::kIo, "chmod " + p.string() + ": " + ec.message());
    if (p == top || p == p.parent_path()) break;
  }
  for (auto it = fs::recursive_directory_iterator(workspace, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const auto st = it->symlink_status(ec);
    if (ec || fs::is_symlink(st)) continue;
    auto perms = fs::perms::others_read | fs::perms::group_read;
    if (fs::is_directory(st) || (st.permissions() & fs::perms::owner_exec) != fs::perms::none)
      perms |= fs::perms::others_exec | fs::perms::group_exec;
    fs::permissions(it->path(), perms, add, ec);
  }
  if (ec)
    return fail(ErrorCode::kIo,
                "grant read and run on " + workspace.string() + ": " + ec.message());
  fs::permissions(workspace, fs::perms::others_read | fs::perms::others_exec, add, ec);
  return {};
}
}  // namespace

Result<ProcessExecutor::RunDir*> ProcessExecutor::run_dir_for(const std::optional<UserIds>& user) {
  const uid_t uid = user ? user->uid : ::geteuid();
  if (auto it = run_dirs_.find(uid); it != run_dirs_.end()) return &it->second;

  std::filesystem::path dir = scratch_;
  const bool other_user = user && user->uid != ::geteuid();
  if (other_user && ::geteuid() != 0) {
    return fail(ErrorCode::kInvalidArgument,
                "run-as " + user->name +
                    ": the process executor can switch users only when kiln runs as root");
  }
  if (other_user) {
    if (auto g = grant_read_and_run(workspace_, scratch_.parent_path()); !g)
      return fail(std::move(g.error()).with("run-as " + user->name));
    // The scratch folder becomes traversable (not listable) so the user reaches its own folder.
    dir = scratch_ / ("user-" + std::to_string(uid));
    if (::chmod(scratch_.c_str(), 0711) != 0) return fail(io_error("chmod " + scratch_.string()));
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      return fail(io_error("mkdir " + dir.string()));
    if (::chown(dir.c_str(), user->uid, user->gid) != 0)
      return fail(io_error("chown " + dir.string()));
  }
  RunDir rd{ScriptFiles::in(dir)};
  const std::optional<UserIds> owner = other_user ? user : std::nullopt;
  auto ready = make_fifo(rd.files.ready, owner);
  if (!ready) return fail(std::move(ready.error()));
  auto ack = make_fifo(rd.files.ack, owner);
  if (!ack) return fail(std::move(ack.error()));
  rd.ready_fd = std::move(*ready);
  rd.ack_fd = std::move(*ack);
  return &run_dirs_.emplace(uid, std::move(rd)).first->second;
}

Result<std::vector<std::string>> ProcessExecutor::shell_argv(const RunDir& dir,
                                                             const std::string& shell,
                                                             const std::string& script,
                                                             const std::optional<UserIds>& user) {
  const std::string& name = dir.files.script.string();
  if (script.size() < kMaxScriptArgument)
    return std::vector<std::string>{shell, "-c", script, name};
  // A new file each time: truncating one in place makes ext4 flush it on close.
  if (!unlink_if_present(dir.files.script)) return fail(io_error("unlink " + name));
  UniqueFd fd(::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return fail(io_error("write " + name));
  std::size_t done = 0;
  while (done < script.size()) {
    const ssize_t n = ::write(fd.get(), script.data() + done, script.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(io_error("write " + name));
    done += static_cast<std::size_t>(n);
  }
  if (user && user->uid != ::geteuid() && ::fchown(fd.get(), user->uid, user->gid) != 0)
    return fail(io_error("chown " + name));
  if (auto closed = fd.close(name); !closed) return fail(std::move(closed.error()));
  return std::vector<std::string>{shell, name};
}

Result<CommandResult> ProcessExecutor::run(const CommandRequest& req, const OutputFn& out,
                                           const CancelToken& cancel) {
  if (!prepared_) return fail(ErrorCode::kInternal, "ProcessExecutor::run before prepare");
  CommandResult result;
  result.state = req.state;
  if (cancel.cancelled()) {
    result.end = CommandResult::End::kCancelled;
    return result;
  }
  if (Clock::now() >= req.deadline) {
    result.end = CommandResult::End::kTimedOut;
    return result;
  }
  auto shell = resolve_shell(req.shell);
  if (!shell) return fail(std::move(shell.error()));
  std::optional<UserIds> user;
  if (req.run_as) {
    auto ids = lookup_user(*req.run_as);
    if (!ids) return fail(std::move(ids.error()).with("run-as " + *req.run_as));
    user = std::move(*ids);
  }
  auto dir = run_dir_for(user);
  if (!dir) return fail(std::move(dir.error()).with("preparing to run a command"));
  drain_fd((*dir)->ready_fd.get());  // leftovers of a command that was killed mid-handshake
  drain_fd((*dir)->ack_fd.get());
  auto argv = shell_argv(**dir, *shell, make_script(req.text, req.state.cwd, (*dir)->files), user);
  if (!argv) return fail(std::move(argv.error()).with("running command: " + req.text));

  SpawnRequest spawn;
  spawn.program = *shell;
  spawn.argv = std::move(*argv);
  spawn.env.reserve(req.state.env.size());
  for (const auto& [k, v] : req.state.env) spawn.env.push_back(k + "=" + v);
  spawn.stdin_fd = devnull_.get();
  spawn.output_fd = out_w_.get();
  spawn.user = user;
  spawn.subreaper = true;  // orphans stay below the shell until the exit handshake
  auto pid = spawn_process(spawn);
  if (!pid) return fail(std::move(pid.error()).with("running command: " + req.text));
  const UniqueFd pidfd(open_pidfd(*pid));

  std::string tail;
  std::string state;
  Result<Outcome> outcome = fail(ErrorCode::kInternal, "not run");
  ProcessSet command;
  try {
    outcome = supervise(*pid, pidfd.get(), **dir, req, out, cancel, tail, state);
  } catch (...) {
    // The output callback threw: leave nothing running behind the exception.
    command.add(*pid);
    kill_all(command, KillOptions{options_.kill_grace});
    int status;
    wait_for(*pid, status);
    throw;
  }
  if (!outcome) return fail(std::move(outcome.error()));

  read_output(out, tail, 2 * static_cast<std::size_t>(kPipeSize));
  if (tail.size() > options_.tail_bytes) tail.erase(0, tail.size() - options_.tail_bytes);
  result.end = outcome->end;
  result.tail = std::move(tail);
  if (result.end == CommandResult::End::kExited) {
    const int status = outcome->status;
    if (WIFSIGNALED(status)) {
      result.end = CommandResult::End::kSignaled;
      result.exit_code = WTERMSIG(status);
    } else {
      result.exit_code = WEXITSTATUS(status);
    }
    if (auto captured = parse_captured_state(state)) result.state = std::move(*captured);
  }
  return result;
}

Result<ProcessExecutor::Outcome> ProcessExecutor::supervise(pid_t shell, int pidfd, RunDir& dir,
                                                            const CommandRequest& req,
                                                            const OutputFn& out,
                                                            const CancelToken& cancel,
                                                            std::string& tail, std::string& state) {
  ProcessSet command;
  command.add(shell);
  auto last_scan = Clock::now();
  const bool has_deadline = req.deadline != Clock::time_point::max();

  auto stop = [&](CommandResult::End end) {
    // A command that traps SIGTERM and exits runs the EXIT trap; answer its handshake in
    // advance so it can finish within the grace period.
    const char nl = '\n';
    [[maybe_unused]] auto w = ::write(dir.ack_fd.get(), &nl, 1);
    kill_all(command, KillOptions{options_.kill_grace});
    int status;
    wait_for(shell, status);
    return Outcome{end, 0};
  };

  while (true) {
    auto now = Clock::now();
    auto wait = options_.scan_interval;
    if (pidfd < 0) wait = std::min(wait, std::chrono::milliseconds(10));  // no pidfd: poll waitpid
    if (has_deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(req.deadline - now);
      wait = std::clamp(left, std::chrono::milliseconds(0), wait);
    }
    pollfd fds[4] = {{out_r_.get(), POLLIN, 0},
                     {cancel.fd(), POLLIN, 0},
                     {dir.ready_fd.get(), POLLIN, 0},
                     {pidfd, POLLIN, 0}};
    const int n = ::poll(fds, pidfd >= 0 ? 4 : 3, static_cast<int>(wait.count()));
    if (n < 0 && errno != EINTR) {
      auto err = errno_error(ErrorCode::kProcess, "poll");
      stop(CommandResult::End::kCancelled);
      return fail(std::move(err));
    }
    if (n > 0 && (fds[0].revents & POLLIN) != 0) read_output(out, tail, 16 * buf_size_);
    if (n > 0 && (fds[2].revents & POLLIN) != 0 && read_state(dir.ready_fd.get(), state)) {
      // The shell is in its EXIT trap, state sent, waiting: record its children now, while
      // they are still its children, then let it exit.
      rescan(command, shell);
      const char nl = '\n';
      [[maybe_unused]] auto w = ::write(dir.ack_fd.get(), &nl, 1);
    }
    int status = 0;
    bool exited = false;
    if (pidfd >= 0) {
      if (n > 0 && (fds[3].revents & POLLIN) != 0) {
        if (!wait_for(shell, status)) {
          return fail(ErrorCode::kProcess,
                      "the shell's exit status was taken by another waitpid() in this process");
        }
        exited = true;
      }
    } else {
      pid_t r;
      do {
        r = ::waitpid(shell, &status, WNOHANG);
      } while (r < 0 && errno == EINTR);
      if (r < 0) {
        return fail(ErrorCode::kProcess,
                    "the shell's exit status was taken by another waitpid() in this process");
      }
      exited = r == shell;
    }
    if (exited) {
      // Its children re-parented to us; they were recorded by the handshake or a rescan. If the
      // shell skipped the trap (`exec`), its process group still names the background jobs.
      command.remove(shell);
      rescan(command, 0, shell);
      background_.merge(command);
      return Outcome{CommandResult::End::kExited, status};
    }
    if (n > 0 && (fds[1].revents & POLLIN) != 0) return stop(CommandResult::End::kCancelled);
    now = Clock::now();
    if (has_deadline && now >= req.deadline) return stop(CommandResult::End::kTimedOut);
    if (now - last_scan >= options_.scan_interval) {
      rescan(command, shell);
      last_scan = now;
    }
  }
}

void ProcessExecutor::rescan(ProcessSet& command, pid_t shell, pid_t group) {
  // Everything a build starts stays below this process, the subreaper: its subtree is enough.
  auto table = ProcTable::scan_below({::getpid()});
  if (!table) return;  // no /proc: nothing to learn; kill_all signals the members it knows
  if (group != 0) {
    for (const pid_t pid : table->in_group(group)) command.add(*table->find(pid));
  }
  command.update(*table);
  if (shell != 0) {
    ProcessSet descendants = command;
    descendants.remove(shell);
    background_.merge(descendants);
  }
  background_.update(*table);
  reap_members(*table, background_, shell);
}

void ProcessExecutor::read_output(const OutputFn& out, std::string& tail, std::size_t limit) {
  std::size_t total = 0;
  while (total < limit) {
    const ssize_t n = ::read(out_r_.get(), buf_.get(), buf_size_);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // EAGAIN: nothing more for now (EOF cannot happen: we hold the writer)
    const std::string_view chunk(buf_.get(), static_cast<std::size_t>(n));
    total += chunk.size();
    tail.append(chunk);
    if (tail.size() > 2 * options_.tail_bytes) tail.erase(0, tail.size() - options_.tail_bytes);
    out(chunk);
  }
}

void ProcessExecutor::close_fds() {
  out_r_.reset();
  out_w_.reset();
  devnull_.reset();
  run_dirs_.clear();  // closes their FIFOs
}

void ProcessExecutor::shutdown() {
  if (!prepared_) return;
  prepared_ = false;
  if (auto table = ProcTable::scan_below({::getpid()})) background_.update(*table);
  kill_all(background_, KillOptions{options_.kill_grace});
  close_fds();
  std::error_code ec;
  std::filesystem::remove_all(scratch_, ec);  // best effort: nothing is left to use it
  if (subreaper_) release_subreaper();
  subreaper_ = false;
}

}  // namespace kiln::exec
