// Issue 13's sandbox findings, against the real bwrap and a Debian rootfs: /proc/sys read-only
// (1), a private network with slirp4netns (2), Docker's seccomp profile and the pids budget (3).
// The pure parts (resolv.conf, bwrap's info JSON, the pid budget) run everywhere.
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <optional>
#include <vector>

#include "sandbox/launch.h"
#include "sandbox/netns.h"
#include "sandbox/seccomp.h"
#include "sandbox_test_util.h"
#include "util/files.h"

namespace kiln::sandbox {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

TEST(SlirpResolvConf, KeepsReachableServersAndReplacesLoopbackOnes) {
  EXPECT_EQ(slirp_resolv_conf("# x\nnameserver 10.1.2.3\nsearch corp\noptions ndots:2\n"),
            "nameserver 10.1.2.3\nsearch corp\noptions ndots:2\n");
  EXPECT_EQ(slirp_resolv_conf("nameserver 127.0.0.53\nsearch lan\n"),
            "nameserver 10.0.2.3\nsearch lan\n");
  EXPECT_EQ(slirp_resolv_conf(""), "nameserver 10.0.2.3\n");
}

TEST(PidsBudget, AllBuildsTogetherLeaveAQuarterOfPidMaxToTheHost) {
  EXPECT_EQ(all_builds_pids(32768), 24576u);
  EXPECT_EQ(all_builds_pids(4194304), 3145728u);
  EXPECT_EQ(all_builds_pids(2048), 1024u);  // at least 1,024 kept
  // The host: pid_max 32,768 and two builds at once were 16,384 each.
  EXPECT_EQ(build_pids(32768, 2, 16384), 12288u);
  EXPECT_LE(2 * build_pids(32768, 2, 16384), all_builds_pids(32768));
  EXPECT_EQ(build_pids(4194304, 4, 16384), 16384u);  // the compute type's figure when smaller
  EXPECT_EQ(build_pids(32768, 0, 16384), 16384u);    // unknown: one build; the parent caps all
  EXPECT_EQ(build_pids(32768, 1, 0), 24576u);        // unlimited compute types get the budget
}

// Runs `probe` in a child under the filter for `caps`; returns its exit code, or 128 + signal.
int under_filter(const std::vector<std::string>& caps, int (*probe)()) {
  auto program = seccomp_program(caps);
  EXPECT_TRUE(program) << program.error().describe();
  if (!program) return -1;
  std::vector<char> bpf(1 << 16);
  const ssize_t n = ::pread(program->get(), bpf.data(), bpf.size(), 0);
  EXPECT_GT(n, 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    sock_fprog prog{static_cast<unsigned short>(n / sizeof(sock_filter)),
                    reinterpret_cast<sock_filter*>(bpf.data())};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(100);
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) ::_exit(101);
    ::_exit(probe());
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

const std::vector<std::string> kDefaultCaps = default_capabilities();

TEST(SeccompProfile, RefusesNamespacesMountsAndKeysButNotOrdinaryCalls) {
  EXPECT_EQ(under_filter(kDefaultCaps,
                         [] {
                           if (::unshare(CLONE_NEWUSER) == 0 || errno != EPERM) return 1;
                           if (::syscall(SYS_add_key, "user", "k", "x", 1, -2) >= 0) return 2;
                           if (errno != EPERM) return 3;
                           if (::syscall(SYS_keyctl, 0, -2, 0) >= 0 || errno != EPERM) return 4;
                           if (::mount("none", "/", "tmpfs", 0, nullptr) == 0) return 5;
                           if (errno != EPERM) return 5;
                           if (::socket(40 /* AF_VSOCK */, SOCK_STREAM, 0) >= 0) return 6;
                           // glibc falls back to clone() on ENOSYS, and only then.
                           if (::syscall(SYS_clone3, nullptr, 0) >= 0 || errno != ENOSYS) return 7;
                           if (::getpid() <= 0 || ::socket(AF_INET, SOCK_STREAM, 0) < 0) return 8;
                           const pid_t child = ::fork();  // clone() without namespace flags
                           if (child == 0) ::_exit(0);
                           if (child < 0) return 9;
                           int st;
                           ::waitpid(child, &st, 0);
                           return 0;
                         }),
            0);
}

TEST(SeccompProfile, OtherAbisCannotGoAroundIt) {
#if defined(__x86_64__)
  // The 32-bit ABI's unshare (310) through int 0x80: the filter kills, it does not pass.
  const int code = under_filter(kDefaultCaps, [] {
    long ret = 310;
    asm volatile("int $0x80" : "+a"(ret) : "b"(CLONE_NEWUSER) : "memory");
    return ret == 0 ? 1 : 2;
  });
  EXPECT_EQ(code, 128 + SIGSYS) << "expected the filter to kill the child";
  // x32's getpid (0x40000000 | 39).
  EXPECT_EQ(under_filter(kDefaultCaps, [] { return ::syscall(0x40000000 | 39) > 0 ? 1 : 2; }),
            128 + SIGSYS);
#else
  GTEST_SKIP() << "x86-64 only";
#endif
}

TEST(SeccompProfile, CapabilitiesWidenItAsInDocker) {
  if (::geteuid() != 0) GTEST_SKIP() << "unshare(CLONE_NEWNS) itself needs root";
  std::vector<std::string> caps = kDefaultCaps;
  caps.push_back("CAP_SYS_ADMIN");
  EXPECT_EQ(under_filter(caps, [] { return ::unshare(CLONE_NEWNS) == 0 ? 0 : 1; }), 0);
  EXPECT_EQ(under_filter(kDefaultCaps, [] { return ::unshare(CLONE_NEWNS) == 0 ? 0 : 1; }), 1);
}

class SandboxHardening : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) KILN_SANDBOX_UNAVAILABLE("needs root to mount the overlay");
    auto v = check_bwrap();
    if (!v) KILN_SANDBOX_UNAVAILABLE(v.error().describe());
    bwrap_ = v->path;
    std::string why;
    auto rootfs = testing::test_rootfs(&why);
    if (!rootfs) KILN_SANDBOX_UNAVAILABLE(why);
    spec_.rootfs = *rootfs;
    spec_.upper = tmp_.dir("upper");
    spec_.work = tmp_.dir("work");
    spec_.merged = tmp_.dir("merged");
    spec_.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  }

  // Runs `script` in spec_; `after_launch` runs once bwrap is started. Returns the output.
  std::string run(const std::string& script, std::vector<int> pass_fds = {},
                  const std::function<void(pid_t)>& after_launch = {}) {
    spec_.command = {"/bin/sh", "-c", script};
    int out[2];
    EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    LaunchRequest req{bwrap_, spec_, null_fd, out[1], std::move(pass_fds), {}};
    auto pid = launch_sandbox(req);
    ::close(out[1]);
    ::close(null_fd);
    std::string output;
    if (!pid) {
      ADD_FAILURE() << pid.error().describe();
      ::close(out[0]);
      return output;
    }
    if (after_launch) after_launch(*pid);
    char buf[4096];
    for (;;) {
      pollfd p{out[0], POLLIN, 0};
      if (::poll(&p, 1, 30000) == 0) {
        ADD_FAILURE() << "sandbox still running after 30 s";
        ::kill(-*pid, SIGKILL);
        break;
      }
      const ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n > 0) output.append(buf, static_cast<std::size_t>(n));
      if (n == 0 || (n < 0 && errno != EINTR)) break;
    }
    ::close(out[0]);
    int status = 0;
    while (::waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
    }
    return output;
  }

  testing::TempDir tmp_;
  std::string bwrap_;
  SandboxSpec spec_;
};

TEST_F(SandboxHardening, ProcSysIsReadOnlyAndTheHostKeepsItsValue) {
  const auto before = read_file("/proc/sys/kernel/printk_ratelimit_burst");
  ASSERT_TRUE(before);
  const std::string out =
      run("v=$(cat /proc/sys/kernel/printk_ratelimit_burst); "
          "echo $((v+1)) > /proc/sys/kernel/printk_ratelimit_burst || echo WRITE-FAILED; "
          "test -w /proc/sys/kernel/core_pattern && echo CORE-WRITABLE; "
          "test -e /proc/keys && head -c 16 /proc/keys | wc -c");
  EXPECT_EQ(read_file("/proc/sys/kernel/printk_ratelimit_burst").value_or(""), *before);
  EXPECT_NE(out.find("WRITE-FAILED"), std::string::npos) << out;
  EXPECT_EQ(out.find("CORE-WRITABLE"), std::string::npos) << out;
  if (fs::exists("/proc/keys")) {
    EXPECT_NE(out.find("\n0\n"), std::string::npos) << out;  // masked: /dev/null
  }
}

TEST_F(SandboxHardening, TheSeccompFilterReachesTheBuild) {
  auto program = seccomp_program(sandbox_capabilities(spec_));
  ASSERT_TRUE(program) << program.error().describe();
  spec_.seccomp_fd = program->get();
  const std::string out =
      run("grep ^Seccomp: /proc/self/status; unshare -U true 2>&1; mount -t tmpfs x /mnt 2>&1; "
          "ls /proc/1 >/dev/null && echo ALIVE",
          {program->get()});
  EXPECT_NE(out.find("Seccomp:\t2"), std::string::npos) << out;
  EXPECT_NE(out.find("unshare failed: Operation not permitted"), std::string::npos) << out;
  EXPECT_NE(out.find("ALIVE"), std::string::npos) << out;
}

TEST_F(SandboxHardening, APrivateNetworkHasSlirpsTapAndNotTheHostsInterfaces) {
  const auto slirp = slirp4netns_path();
  if (!slirp) KILN_SANDBOX_UNAVAILABLE("slirp4netns is not installed");
  spec_.network = SandboxSpec::Network::kPrivate;
  std::optional<UserNet> net;
  const std::string out =
      run("for i in $(seq 100); do grep -q tap0 /proc/net/route && break; sleep 0.05; done; "
          "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; "
          "grep -q 127.0.0.1 /proc/net/fib_trie && echo LO-UP",
          {}, [&](pid_t bwrap) {
            SlirpOptions o;
            o.program = *slirp;
            o.netns_pid = bwrap;
            o.log = tmp_.root() / "slirp.log";
            auto n = UserNet::start(o);
            ASSERT_TRUE(n) << n.error().describe();
            net.emplace(std::move(*n));
          });
  EXPECT_EQ(out, "lo\ntap0\nLO-UP\n");
  ASSERT_TRUE(net);
  const pid_t slirp_pid = net->pid();
  net.reset();
  EXPECT_NE(::kill(slirp_pid, 0), 0) << "slirp4netns outlived stop()";
}

}  // namespace
}  // namespace kiln::sandbox
