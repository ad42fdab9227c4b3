// The bwrap command line, run for real against a Debian minbase rootfs: what the build can see,
// write and reach, and that it dies with Kiln.
#include "sandbox/launch.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "exec/process_tree.h"
#include "sandbox/cgroup.h"
#include "sandbox_test_util.h"
#include "util/files.h"

namespace kiln::sandbox {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct RunResult {
  int exit_code = -1;  // 128 + signal if killed
  std::string output;
};

std::set<std::string> words(const std::string& text) {
  std::istringstream in(text);
  std::set<std::string> out;
  for (std::string w; in >> w;) out.insert(w);
  return out;
}

class SandboxRun : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) KILN_SANDBOX_UNAVAILABLE("needs root to mount the overlay");
    auto v = check_bwrap();
    if (!v) KILN_SANDBOX_UNAVAILABLE(v.error().describe());
    bwrap_ = v->path;
    version_ = *v;
    std::string why;
    auto rootfs = testing::test_rootfs(&why);
    if (!rootfs) KILN_SANDBOX_UNAVAILABLE(why);
    rootfs_ = *rootfs;
  }

  SandboxSpec spec(std::vector<std::string> command) {
    SandboxSpec s;
    s.rootfs = rootfs_;
    s.upper = tmp_.dir("upper");
    s.work = tmp_.dir("work");
    s.merged = tmp_.dir("merged");
    s.hostname = "kiln-sandbox";
    s.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
    s.command = std::move(command);
    return s;
  }
  SandboxSpec shell(const std::string& script) { return spec({"/bin/sh", "-c", script}); }

  // Launches the sandbox and collects its output until it ends (at most 60 s).
  RunResult run(const SandboxSpec& s, std::vector<int> cgroup_fds = {}) {
    RunResult result;
    int out[2];
    EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    LaunchRequest req{bwrap_, s, null_fd, out[1], {}, std::move(cgroup_fds)};
    auto pid = launch_sandbox(req);
    ::close(out[1]);
    ::close(null_fd);
    if (!pid) {
      ADD_FAILURE() << pid.error().describe();
      ::close(out[0]);
      return result;
    }
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    char buf[4096];
    for (;;) {
      pollfd p{out[0], POLLIN, 0};
      if (::poll(&p, 1, 1000) == 0 && std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "sandbox still running after 60 s";
        ::kill(-*pid, SIGKILL);
        break;
      }
      const ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n > 0) result.output.append(buf, static_cast<std::size_t>(n));
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) break;
    }
    ::close(out[0]);
    int status = 0;
    while (::waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
  }

  testing::TempDir tmp_;
  std::string bwrap_;
  BwrapVersion version_;
  fs::path rootfs_;
};

TEST_F(SandboxRun, WritesGoToTheUpperLayerAndNeverToTheImage) {
  const RunResult r = run(shell("echo hi > /etc/x && cat /etc/x && rm /etc/hostname"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "hi\n");
  EXPECT_EQ(read_file(tmp_.root() / "upper/etc/x").value_or(""), "hi\n");
  EXPECT_FALSE(fs::exists(rootfs_ / "etc/x"));
  EXPECT_TRUE(fs::exists(rootfs_ / "etc/hostname")) << "a delete is a whiteout in the upper layer";
  EXPECT_TRUE(fs::is_empty(tmp_.root() / "merged")) << "the overlay was mounted on the host";
}

TEST_F(SandboxRun, BwrapMountsTheOverlayItselfWhereItCan) {
  if (!version_.has_overlay()) {
    GTEST_SKIP() << "bwrap " << version_.str() << " has no --overlay (0.9.0): only the launcher "
                 << "mounts overlays here";
  }
  SandboxSpec s = shell("echo hi > /etc/x && cat /etc/x");
  s.overlay_mounter = OverlayMounter::kBwrap;
  const RunResult r = run(s);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "hi\n");
  EXPECT_EQ(read_file(tmp_.root() / "upper/etc/x").value_or(""), "hi\n");
  EXPECT_FALSE(fs::exists(rootfs_ / "etc/x"));
}

TEST_F(SandboxRun, TheRootIsTheImageNotTheHost) {
  const fs::path marker = tmp_.dir("host") / "marker";
  std::ofstream(marker) << "host";
  const RunResult r =
      run(shell("ls -A /; test -e " + marker.string() +
                " && echo MARKER; test -e /work && echo WORK; cat /etc/os-release"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::set<std::string> image;
  for (const auto& e : fs::directory_iterator(rootfs_)) image.insert(e.path().filename());
  const std::string listing = r.output.substr(0, r.output.find("PRETTY_NAME"));
  EXPECT_EQ(words(listing), image) << r.output;
  EXPECT_EQ(r.output.find("MARKER"), std::string::npos);
  EXPECT_EQ(r.output.find("WORK"), std::string::npos);
  EXPECT_NE(r.output.find("Debian GNU/Linux"), std::string::npos) << r.output;
}

TEST_F(SandboxRun, BindsAreReadOnlyOrWritableAsAsked) {
  const fs::path ro = tmp_.dir("ro"), rw = tmp_.dir("rw");
  std::ofstream(ro / "f") << "readable\n";
  SandboxSpec s = shell("cat /in/f; echo x > /in/g && echo WROTE-RO; echo y > /out/h");
  s.binds = {{ro, "/in", true}, {rw, "/out", false}};
  const RunResult r = run(s);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("readable\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Read-only file system"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("WROTE-RO"), std::string::npos);
  EXPECT_FALSE(fs::exists(ro / "g"));
  EXPECT_EQ(read_file(rw / "h").value_or(""), "y\n");
}

TEST_F(SandboxRun, ThePidNamespaceHoldsOnlyTheSandbox) {
  // The glob is expanded by the shell itself: bwrap's init is 1 and the shell is 2. Its command
  // line shows the memfd, not the arguments (which carry the environment).
  SandboxSpec s = shell("echo /proc/[0-9]*; tr '\\0' ' ' < /proc/1/cmdline");
  s.env.push_back("SECRET=hunter2");
  const RunResult r = run(s);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.substr(0, r.output.find('\n')), "/proc/1 /proc/2");
  EXPECT_NE(r.output.find("bwrap --args "), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("hunter2"), std::string::npos) << r.output;
}

TEST_F(SandboxRun, NoNetworkMeansOnlyLoopback) {
  const std::string script = "tail -n +3 /proc/net/dev | cut -d: -f1";
  RunResult r = run(shell(script));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(words(r.output), std::set<std::string>{"lo"});

  SandboxSpec host = shell(script);
  host.network = SandboxSpec::Network::kHost;
  r = run(host);
  auto mine = read_file("/proc/net/dev");
  ASSERT_TRUE(mine);
  std::set<std::string> ours;
  std::istringstream lines(*mine);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(':') != std::string::npos) ours.insert(line.substr(0, line.find(':')));
  }
  std::set<std::string> trimmed;
  for (const std::string& w : ours) trimmed.insert(words(w).empty() ? w : *words(w).begin());
  EXPECT_EQ(words(r.output), trimmed);
}

TEST_F(SandboxRun, HostnameEnvironmentAndWorkingDirectory) {
  ::setenv("KILN_TEST_LEAK", "1", 1);
  SandboxSpec s = shell("cat /proc/sys/kernel/hostname; echo \"$FOO\"; pwd; env");
  s.env.push_back("FOO=bar baz");
  s.chdir = "/usr/share";
  const RunResult r = run(s);
  ::unsetenv("KILN_TEST_LEAK");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.rfind("kiln-sandbox\nbar baz\n/usr/share\n", 0), 0u) << r.output;
  EXPECT_EQ(r.output.find("KILN_TEST_LEAK"), std::string::npos) << r.output;
}

TEST_F(SandboxRun, RootKeepsDockersCapabilitiesAndTheOnesAdded) {
  // bwrap 0.8 leaves the bounding set full but sets no_new_privs, so no execve (of a setuid or
  // file-capability binary, or by root) can raise the permitted set again.
  RunResult r = run(shell("grep -E '^(CapPrm|CapEff|NoNewPrivs)' /proc/self/status"));
  EXPECT_EQ(r.output, "CapPrm:\t00000000a80425fb\nCapEff:\t00000000a80425fb\nNoNewPrivs:\t1\n");
  SandboxSpec s = shell("grep -E '^CapEff' /proc/self/status");
  s.cap_add = {"SYS_PTRACE"};
  r = run(s);
  EXPECT_EQ(r.output, "CapEff:\t00000000a80c25fb\n");
}

TEST_F(SandboxRun, OnlyStdioAndPassedFdsReachTheBuild) {
  int extra[2];
  ASSERT_EQ(::pipe2(extra, O_CLOEXEC), 0);
  const int leaked = ::open("/dev/null", O_RDONLY);  // not close-on-exec: must still not leak
  // `test -e` only stats: listing the directory or a pipeline would open fds of its own.
  SandboxSpec s = shell(
      "i=0; while [ $i -lt 256 ]; do [ -e /proc/$$/fd/$i ] && printf '%s ' $i; i=$((i+1)); done");
  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  LaunchRequest req{bwrap_, s, extra[0], out[1], {extra[1]}, {}};
  auto pid = launch_sandbox(req);
  ::close(out[1]);
  ASSERT_TRUE(pid) << pid.error().describe();
  std::string text;
  char buf[256];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) text.append(buf, std::size_t(n));
  int status;
  ::waitpid(*pid, &status, 0);
  EXPECT_EQ(text, "0 1 2 " + std::to_string(extra[1]) + " ");
  for (int fd : {extra[0], extra[1], leaked, out[0]}) ::close(fd);
}

TEST_F(SandboxRun, TheSandboxDiesWithItsParent) {
  // A child plays Kiln: it launches the sandbox, reports bwrap's pid, and is SIGKILLed.
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  const SandboxSpec s = shell("exec sleep 300");
  const std::string bwrap = bwrap_;
  const pid_t kiln = ::fork();
  if (kiln == 0) {
    const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    auto pid = launch_sandbox({bwrap, s, null_fd, null_fd, {}, {}});
    const pid_t sent = pid ? *pid : -1;
    [[maybe_unused]] auto n = ::write(report[1], &sent, sizeof sent);
    ::pause();
    ::_exit(0);
  }
  ::close(report[1]);
  // An ASSERT below returns early: the stand-in Kiln must not outlive the test.
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      if (pid <= 0) return;
      ::kill(pid, SIGKILL);
      int st;
      ::waitpid(pid, &st, 0);
    }
  } reaper{kiln};
  pid_t bwrap_pid = -1;
  ASSERT_EQ(::read(report[0], &bwrap_pid, sizeof bwrap_pid), ssize_t(sizeof bwrap_pid));
  ::close(report[0]);
  ASSERT_GT(bwrap_pid, 0);

  // bwrap, its init in the new pid namespace, and sleep.
  std::vector<pid_t> tree;
  for (int i = 0; i < 500 && tree.size() < 3; ++i) {
    auto table = exec::ProcTable::scan_below({bwrap_pid});
    ASSERT_TRUE(table) << table.error().describe();
    exec::ProcessSet set;
    set.add(bwrap_pid);
    set.update(*table);
    tree = set.live();
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(tree.size(), 3u);

  ::kill(kiln, SIGKILL);
  int status;
  ::waitpid(kiln, &status, 0);
  reaper.pid = 0;
  auto alive = [](pid_t pid) {
    const auto info = exec::ProcTable::read(pid);
    return info && info->state != 'Z';
  };
  for (int i = 0; i < 500 && std::any_of(tree.begin(), tree.end(), alive); ++i) {
    std::this_thread::sleep_for(10ms);
  }
  for (pid_t pid : tree) EXPECT_FALSE(alive(pid)) << pid;
}

TEST_F(SandboxRun, TheCgroupHoldsTheWholeSandbox) {
  if (auto why = testing::cgroups_unavailable()) KILN_SANDBOX_UNAVAILABLE(*why);
  auto cg = Cgroup::create(owned_name("sandbox"), {256u << 20, 1000, 100});
  ASSERT_TRUE(cg) << cg.error().describe();
  SandboxSpec s = shell("cat /proc/self/cgroup; echo READY; exec sleep 300");
  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  auto pid = launch_sandbox({bwrap_, s, null_fd, out[1], {}, cg->procs_fds()});
  ::close(out[1]);
  ::close(null_fd);
  ASSERT_TRUE(pid) << pid.error().describe();
  std::string text;
  char buf[512];
  while (text.find("READY\n") == std::string::npos) {
    const ssize_t n = ::read(out[0], buf, sizeof buf);
    ASSERT_GT(n, 0) << text;
    text.append(buf, std::size_t(n));
  }
  ::close(out[0]);
  std::vector<pid_t> members;
  for (int i = 0; i < 500 && members.size() != 3; ++i) {
    members = cg->pids().value_or(std::vector<pid_t>{});
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(members.size(), 3u) << "bwrap, its init and sleep";
  EXPECT_TRUE(std::binary_search(members.begin(), members.end(), *pid));
  // The overlay lives in the sandbox's mount namespace only.
  EXPECT_EQ(read_file("/proc/self/mountinfo")->find(s.merged.string()), std::string::npos);

  cg->kill_all();
  int status;
  ::waitpid(*pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  // The cgroup namespace makes the build's cgroup its root.
  EXPECT_NE(text.find(":memory:/\n"), std::string::npos) << text;
  EXPECT_TRUE(cg->remove());
}

}  // namespace
}  // namespace kiln::sandbox
