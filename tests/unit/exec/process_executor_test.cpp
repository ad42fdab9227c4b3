// ProcessExecutor against real shells and real processes in a temporary folder. A failed test
// keeps its folder and prints the path.
#include "exec/process_executor.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

namespace kiln::exec {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using End = CommandResult::End;

std::vector<pid_t> read_pids(const std::filesystem::path& p) {
  std::vector<pid_t> pids;
  std::ifstream in(p);
  for (pid_t pid; in >> pid;) pids.push_back(pid);
  return pids;
}

bool alive(pid_t pid) {
  const auto info = ProcTable::read(pid);
  return info && info->state != 'Z';
}

class ProcessExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kiln-exec-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    ws_ = root_ / "ws";
    std::filesystem::create_directory(ws_);
    start();
  }

  void start(ProcessExecutorOptions options = {.kill_grace = 500ms}) {
    exec_ = std::make_unique<ProcessExecutor>(options);
    auto cwd = exec_->prepare({"build-1", ws_, root_ / "scratch", ""});
    ASSERT_TRUE(cwd) << cwd.error().describe();
    initial_.cwd = *cwd;
    initial_.env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}, {"HOME", "/root"}};
  }

  void TearDown() override {
    exec_->shutdown();
    if (HasFailure()) {
      std::cerr << "kept test folder " << root_ << "\n";
    } else {
      std::filesystem::remove_all(root_);
    }
  }

  struct Ran {
    CommandResult result;
    std::string output;
  };

  Ran run(const std::string& text, const ShellState& state, std::string shell = "sh",
          Clock::time_point deadline = Clock::time_point::max()) {
    CommandRequest req;
    req.text = text;
    req.shell = std::move(shell);
    req.state = state;
    req.deadline = deadline;
    return run(req);
  }
  Ran run(const std::string& text) { return run(text, initial_); }
  Ran run(const CommandRequest& req) {
    Ran ran;
    auto r = exec_->run(
        req, [&](std::string_view s) { ran.output += s; }, cancel_);
    EXPECT_TRUE(r) << r.error().describe();
    if (r) ran.result = std::move(*r);
    return ran;
  }

  std::filesystem::path root_, ws_;
  std::unique_ptr<ProcessExecutor> exec_;
  ShellState initial_;
  CancelToken cancel_ = CancelToken::create().value();
};

TEST_F(ProcessExecutorTest, PrepareReturnsWorkspaceAndCreatesPrivateScratch) {
  EXPECT_EQ(initial_.cwd, ws_);
  struct stat st {};
  ASSERT_EQ(::stat((root_ / "scratch").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(ProcessExecutorTest, ReportsExitCodes) {
  EXPECT_EQ(run("true").result.exit_code, 0);
  EXPECT_EQ(run("false").result.exit_code, 1);
  auto r = run("exit 42");
  EXPECT_EQ(r.result.end, End::kExited);
  EXPECT_EQ(r.result.exit_code, 42);
}

TEST_F(ProcessExecutorTest, CarriesDirectoryAndVariablesToTheNextCommand) {
  auto first = run("mkdir -p sub && cd sub\nexport FOO=1\nBAR=2");
  ASSERT_EQ(first.result.exit_code, 0) << first.output;
  EXPECT_EQ(first.result.state.cwd, ws_ / "sub");
  EXPECT_EQ(first.result.state.env["FOO"], "1");
  EXPECT_EQ(first.result.state.env["BAR"], "2");
  EXPECT_EQ(first.result.state.env["PATH"], initial_.env["PATH"]);

  auto second = run("echo \"$(pwd):$FOO:$BAR\"", first.result.state);
  EXPECT_EQ(second.output, (ws_ / "sub").string() + ":1:2\n");
}

TEST_F(ProcessExecutorTest, CapturedStateHasNoShellInternals) {
  auto r = run("cd /; export A=1; f() { :; }", initial_, "bash");
  for (const char* name : {"PWD", "OLDPWD", "SHLVL", "_", "__kiln_rc", "BASH_FUNC_f%%"}) {
    EXPECT_EQ(r.result.state.env.count(name), 0u) << name;
  }
  EXPECT_EQ(r.result.state.env.size(), initial_.env.size() + 1);
}

TEST_F(ProcessExecutorTest, UnsetRemovesAVariable) {
  ShellState state = initial_;
  state.env["GONE"] = "1";
  auto r = run("unset GONE", state);
  EXPECT_EQ(r.result.state.env.count("GONE"), 0u);
}

TEST_F(ProcessExecutorTest, Version01CallerPassesTheInitialStateAgain) {
  auto first = run("mkdir sub && cd sub && export FOO=1");
  EXPECT_EQ(first.result.state.cwd, ws_ / "sub");  // reported, but the 0.1 caller ignores it
  auto second = run("pwd; echo \"${FOO-unset}\"", initial_);
  EXPECT_EQ(second.output, ws_.string() + "\nunset\n");
}

TEST_F(ProcessExecutorTest, BlockReturnsTheStatusOfItsLastCommand) {
  EXPECT_EQ(run("false\ntrue").result.exit_code, 0);
  EXPECT_EQ(run("true\nfalse").result.exit_code, 1);
}

TEST_F(ProcessExecutorTest, ExitStillCapturesState) {
  auto r = run("mkdir sub; cd sub; export X=1; exit 3");
  EXPECT_EQ(r.result.exit_code, 3);
  EXPECT_EQ(r.result.state.cwd, ws_ / "sub");
  EXPECT_EQ(r.result.state.env["X"], "1");
}

TEST_F(ProcessExecutorTest, SetEAndXtraceDoNotBreakTheCapture) {
  auto r = run("set -eu; export Y=2; false; echo unreachable");
  EXPECT_EQ(r.result.exit_code, 1);
  EXPECT_EQ(r.output.find("unreachable"), std::string::npos);
  EXPECT_EQ(r.result.state.env["Y"], "2");
}

TEST_F(ProcessExecutorTest, ExecLeavesThePreviousState) {
  auto r = run("cd /; export Y=1; exec true");
  EXPECT_EQ(r.result.exit_code, 0);
  EXPECT_EQ(r.result.state.cwd, initial_.cwd);
  EXPECT_EQ(r.result.state.env, initial_.env);
}

TEST_F(ProcessExecutorTest, MissingDirectoryFailsWithoutChangingState) {
  ShellState state = initial_;
  state.cwd = ws_ / "gone";
  auto r = run("echo never", state);
  EXPECT_EQ(r.result.exit_code, 1);
  EXPECT_EQ(r.output.find("never"), std::string::npos);
  EXPECT_EQ(r.result.state.cwd, ws_ / "gone");
}

TEST_F(ProcessExecutorTest, ShellBashIsBashAndShIsPosixSh) {
  EXPECT_EQ(run("[[ 1 == 1 ]]", initial_, "bash").result.exit_code, 0);
  EXPECT_EQ(run("[[ 1 == 1 ]]", initial_, "/bin/bash").result.exit_code, 0);
  auto sh = run("[[ 1 == 1 ]]", initial_, "sh");
  EXPECT_NE(sh.result.exit_code, 0);
  EXPECT_NE(sh.output.find("not found"), std::string::npos) << sh.output;

  CommandRequest req;
  req.text = "true";
  req.shell = "zsh";
  req.state = initial_;
  auto r = exec_->run(
      req, [](std::string_view) {}, cancel_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(ProcessExecutorTest, ErrorsNameTheScriptAndLineFourLikeCodeBuild) {
  auto r = run("no_such_command_kiln");
  EXPECT_EQ(r.result.exit_code, 127);
  EXPECT_NE(r.output.find("script.sh: 4: no_such_command_kiln: not found"), std::string::npos)
      << r.output;
}

TEST_F(ProcessExecutorTest, ScriptTooLongForOneArgumentRunsFromAFile) {
  // 200 KiB is over the kernel's 128 KiB limit for one argv string.
  const std::string text =
      ": '" + std::string(200 * 1024, 'x') + "'\nexport LONG=1\nno_such_kiln_cmd";
  auto r = run(text);
  EXPECT_EQ(r.result.exit_code, 127);
  EXPECT_NE(r.output.find("script.sh: 6: no_such_kiln_cmd: not found"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.result.state.env["LONG"], "1");
}

TEST_F(ProcessExecutorTest, StateLargerThanAFifoBufferIsCapturedWhole) {
  // The trap sends the state through a FIFO (64 KiB buffer): the executor must read as it comes.
  auto r = run("export BIG=$(head -c 300000 /dev/zero | tr '\\0' y); cd /tmp");
  ASSERT_EQ(r.result.exit_code, 0) << r.output;
  EXPECT_EQ(r.result.state.env["BIG"].size(), 300000u);
  EXPECT_EQ(r.result.state.cwd, "/tmp");
}

TEST_F(ProcessExecutorTest, MergesStdoutAndStderrInOrder) {
  auto r = run("echo a; echo b >&2; echo c");
  EXPECT_EQ(r.output, "a\nb\nc\n");
}

TEST_F(ProcessExecutorTest, StreamsOutputWhileTheCommandRuns) {
  CommandRequest req;
  req.text = "echo first; sleep 1; echo second";
  req.state = initial_;
  const auto t0 = Clock::now();
  Clock::duration first_at{};
  std::string all;
  auto r = exec_->run(
      req,
      [&](std::string_view s) {
        if (all.empty()) first_at = Clock::now() - t0;
        all += s;
      },
      cancel_);
  const auto ended_at = Clock::now() - t0;
  ASSERT_TRUE(r);
  EXPECT_EQ(all, "first\nsecond\n");
  EXPECT_GT(ended_at - first_at, 500ms);  // "first" arrived during the sleep, not at the end
}

TEST_F(ProcessExecutorTest, TailHoldsTheLastOutput) {
  auto r = run("head -c 20000 /dev/zero | tr '\\0' a; echo END");
  EXPECT_EQ(r.output.size(), 20004u);
  EXPECT_EQ(r.result.tail.size(), 8192u);
  EXPECT_EQ(r.result.tail, r.output.substr(r.output.size() - 8192));
}

TEST_F(ProcessExecutorTest, DeadlineKillsTheCommandAndItsDaemons) {
  const auto pids = root_ / "pids";
  const auto t0 = Clock::now();
  auto r = run("setsid nohup sleep 300 >/dev/null 2>&1 & echo $! > " + pids.string() +
                   "\nsleep 301 & echo $! >> " + pids.string() + "\nwait",
               initial_, "sh", Clock::now() + 700ms);
  EXPECT_EQ(r.result.end, End::kTimedOut);
  EXPECT_LT(Clock::now() - t0, 5s);
  const auto started = read_pids(pids);
  ASSERT_EQ(started.size(), 2u);
  for (pid_t pid : started) EXPECT_FALSE(alive(pid)) << pid;
  exec_->shutdown();
  for (pid_t pid : started) EXPECT_FALSE(alive(pid)) << pid;
}

TEST_F(ProcessExecutorTest, ProcessesIgnoringSigtermGetSigkill) {
  const auto pids = root_ / "pids";
  auto r = run("trap '' TERM; sleep 300 & echo $! > " + pids.string() + "; wait", initial_, "sh",
               Clock::now() + 300ms);
  EXPECT_EQ(r.result.end, End::kTimedOut);
  for (pid_t pid : read_pids(pids)) EXPECT_FALSE(alive(pid)) << pid;
}

TEST_F(ProcessExecutorTest, CommandTrappingSigtermExitsWithinTheGrace) {
  exec_->shutdown();
  start({.kill_grace = 3s});
  const auto t0 = Clock::now();
  auto r =
      run("trap 'echo bye; exit 1' TERM; sleep 300 & wait", initial_, "sh", Clock::now() + 300ms);
  EXPECT_EQ(r.result.end, End::kTimedOut);
  EXPECT_NE(r.output.find("bye"), std::string::npos) << r.output;
  EXPECT_LT(Clock::now() - t0, 2s);  // did not wait for SIGKILL
}

TEST_F(ProcessExecutorTest, CancelFromAnotherThreadStopsQuickly) {
  const auto t0 = Clock::now();
  std::thread canceller([&] {
    std::this_thread::sleep_for(200ms);
    cancel_.cancel();
  });
  auto r = run("sleep 30");
  canceller.join();
  EXPECT_EQ(r.result.end, End::kCancelled);
  EXPECT_LT(Clock::now() - t0, 3s);
  EXPECT_EQ(run("echo after").result.end, End::kCancelled);  // a cancelled build runs nothing
}

TEST_F(ProcessExecutorTest, SignalledShellIsReported) {
  auto r = run("kill -KILL $$");
  EXPECT_EQ(r.result.end, End::kSignaled);
  EXPECT_EQ(r.result.exit_code, SIGKILL);
}

TEST_F(ProcessExecutorTest, BackgroundProcessHoldingStdoutDoesNotBlock) {
  const auto pids = root_ / "pids";
  const auto t0 = Clock::now();
  auto r = run("sleep 30 & echo $! > " + pids.string() + "; echo done");
  EXPECT_LT(Clock::now() - t0, 5s);
  EXPECT_EQ(r.output, "done\n");
  const auto started = read_pids(pids);
  ASSERT_EQ(started.size(), 1u);
  EXPECT_TRUE(alive(started[0]));
  exec_->shutdown();
  EXPECT_FALSE(alive(started[0]));
}

TEST_F(ProcessExecutorTest, BackgroundTasksOutliveTheirCommandUntilShutdown) {
  const auto pids = root_ / "pids";
  // A double fork and setsid: the sleep is orphaned at once and is in no group of ours.
  auto first = run("(setsid sleep 300 >/dev/null 2>&1 & echo $! > " + pids.string() +
                   ")\nnohup sleep 301 >/dev/null 2>&1 &\necho $! >> " + pids.string());
  EXPECT_EQ(first.result.exit_code, 0);
  const auto started = read_pids(pids);
  ASSERT_EQ(started.size(), 2u);
  EXPECT_EQ(run("echo later").output, "later\n");
  for (pid_t pid : started) EXPECT_TRUE(alive(pid)) << pid;
  exec_->shutdown();
  for (pid_t pid : started) EXPECT_FALSE(alive(pid)) << pid;
}

TEST_F(ProcessExecutorTest, BackgroundJobOfACommandThatExecsIsStillTracked) {
  const auto pids = root_ / "pids";
  // exec skips the EXIT trap (no handshake); the job is found through the process group.
  run("sleep 300 >/dev/null 2>&1 & echo $! > " + pids.string() + "; exec true");
  const auto started = read_pids(pids);
  ASSERT_EQ(started.size(), 1u);
  EXPECT_TRUE(alive(started[0]));
  exec_->shutdown();
  EXPECT_FALSE(alive(started[0]));
}

TEST_F(ProcessExecutorTest, BackgroundOutputAppearsInLaterCommands) {
  run("(sleep 0.3; echo from-background) &");
  auto r = run("sleep 0.6; echo foreground");
  EXPECT_EQ(r.output, "from-background\nforeground\n");
}

TEST_F(ProcessExecutorTest, NoDescriptorLeaksIntoTheBuild) {
  // Descriptors without O_CLOEXEC, the kind a library might leave behind.
  const int file = ::open("/dev/null", O_RDONLY);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(file, 0);
  ASSERT_GE(sock, 0);

  // ls runs as a child, so the listing of the shell's fds has no artifacts of its own (a glob
  // in the shell would list the shell's handle on the fd folder, a pipeline its pipe).
  auto r =
      run("ls -l /proc/$$/fd\n"
          "echo child: $(ls /proc/self/fd)");
  ::close(file);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  ::close(sock);

  std::istringstream lines(r.output);
  std::string line;
  std::set<int> fds;
  while (std::getline(lines, line)) {
    if (line.starts_with("total")) continue;
    if (line.starts_with("child: ")) {
      EXPECT_EQ(line, "child: 0 1 2 3");  // 3 is ls's own handle on /proc/self/fd
      continue;
    }
    // "lr-x------ 1 root root 64 Jan  1 00:00 10 -> /path"
    const auto arrow = line.find(" -> ");
    ASSERT_NE(arrow, std::string::npos) << line;
    const int fd = std::stoi(line.substr(line.rfind(' ', arrow - 1) + 1));
    fds.insert(fd);
    const std::string target = line.substr(arrow + 4);
    if (fd == 0) {
      EXPECT_EQ(target, "/dev/null");
    } else if (fd <= 2) {
      EXPECT_TRUE(target.starts_with("pipe:")) << line;
    } else {
      EXPECT_TRUE(target.ends_with("script.sh")) << "leaked fd: " << line;  // the shell's own
    }
  }
  EXPECT_TRUE(fds.count(0) && fds.count(1) && fds.count(2)) << r.output;
}

TEST_F(ProcessExecutorTest, EnvironmentIsExactlyTheState) {
  ::setenv("KILN_TEST_LEAK", "1", 1);
  ShellState state = initial_;
  state.env["A"] = "x y";
  auto r = run("env", state);
  ::unsetenv("KILN_TEST_LEAK");
  std::istringstream lines(r.output);
  std::set<std::string> names;
  for (std::string line; std::getline(lines, line);) names.insert(line.substr(0, line.find('=')));
  // The shell itself adds PWD (and OLDPWD after cd); nothing else may appear.
  const std::set<std::string> allowed{"PATH", "HOME", "A", "PWD", "OLDPWD"};
  for (const auto& n : names) EXPECT_TRUE(allowed.count(n)) << "unexpected variable " << n;
  EXPECT_TRUE(names.count("A"));
  EXPECT_NE(r.output.find("A=x y\n"), std::string::npos);
}

TEST_F(ProcessExecutorTest, DefaultSignalDispositionsInTheBuild) {
  struct sigaction ign {
  }, old_int{}, old_pipe{};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGINT, &ign, &old_int);
  ::sigaction(SIGPIPE, &ign, &old_pipe);
  sigset_t block, old_mask;
  ::sigemptyset(&block);
  ::sigaddset(&block, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &block, &old_mask);
  auto r = run("grep -E '^(SigIgn|SigBlk)' /proc/self/status");
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGPIPE, &old_pipe, nullptr);
  EXPECT_EQ(r.output, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

TEST_F(ProcessExecutorTest, EachCommandIsItsOwnProcessGroup) {
  auto r = run("ps -o pid=,pgid= -p $$");
  std::istringstream in(r.output);
  pid_t pid = 0, pgid = 0;
  in >> pid >> pgid;
  EXPECT_NE(pid, 0);
  EXPECT_EQ(pid, pgid);
  EXPECT_NE(pgid, ::getpgrp());
}

TEST_F(ProcessExecutorTest, RunAsNobody) {
  if (::geteuid() != 0) GTEST_SKIP() << "run-as needs root";
  std::filesystem::permissions(root_, std::filesystem::perms(0755));
  std::filesystem::permissions(ws_, std::filesystem::perms(0777));
  CommandRequest req;
  req.text = "id -u; export WHO=nobody";
  req.state = initial_;
  req.run_as = "nobody";
  auto r = run(req);
  EXPECT_EQ(r.output, "65534\n");
  EXPECT_EQ(r.result.state.env["WHO"], "nobody");  // state captured from the user's folder

  req.run_as = "no-such-user-kiln";
  auto bad = exec_->run(
      req, [](std::string_view) {}, cancel_);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kNotFound);
}

TEST_F(ProcessExecutorTest, PastDeadlineRunsNothing) {
  auto r = run("echo never", initial_, "sh", Clock::now() - 1s);
  EXPECT_EQ(r.result.end, End::kTimedOut);
  EXPECT_EQ(r.output, "");
}

TEST_F(ProcessExecutorTest, ShutdownRemovesScratchAndIsIdempotent) {
  run("true");
  exec_->shutdown();
  exec_->shutdown();
  EXPECT_FALSE(std::filesystem::exists(root_ / "scratch"));
}

}  // namespace
}  // namespace kiln::exec
