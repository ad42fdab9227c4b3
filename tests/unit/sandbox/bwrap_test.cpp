#include "sandbox/bwrap.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "sandbox_test_util.h"

namespace kiln::sandbox {
namespace {

namespace fs = std::filesystem;

SandboxSpec example_spec() {
  SandboxSpec spec;
  spec.rootfs = "/img/root";
  spec.upper = "/b/1/upper";
  spec.work = "/b/1/work";
  spec.merged = "/b/1/merged";
  spec.binds = {{"/b/1/src", "/codebuild/output/src1", false}, {"/cache", "/cache", true}};
  spec.hostname = "kiln-build";
  spec.command = {"/kiln/agent", "--fd", "3"};
  spec.env = {"PATH=/usr/bin:/bin", "A=x=y", "EMPTY="};
  spec.chdir = "/codebuild/output/src1";
  spec.cap_add = {"sys_ptrace"};
  return spec;
}

std::vector<std::string> caps_args(const std::vector<std::string>& extra, bool net_raw = true) {
  std::vector<std::string> a = {"--cap-drop", "ALL"};
  for (const char* c : {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                        "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                        "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}) {
    if (!net_raw && std::string(c) == "CAP_NET_RAW") continue;
    a.insert(a.end(), {"--cap-add", c});
  }
  for (const std::string& c : extra) a.insert(a.end(), {"--cap-add", c});
  return a;
}

// Replaces the "PROC" placeholder with proc_protection_args().
void with_proc_protections(std::vector<std::string>& argv) {
  auto at = std::find(argv.begin(), argv.end(), "PROC");
  ASSERT_NE(at, argv.end());
  at = argv.erase(at);
  argv.insert(at, proc_protection_args().begin(), proc_protection_args().end());
}

TEST(BwrapArgv, ProcSysAndDockersReadOnlyPathsAreBoundReadOnly) {
  const auto& a = proc_protection_args();
  auto has = [&a](std::initializer_list<std::string> seq) {
    return std::search(a.begin(), a.end(), seq.begin(), seq.end()) != a.end();
  };
  // /proc/sys exists on every Linux with procfs: the core_pattern route must be closed.
  EXPECT_TRUE(has({"--ro-bind", "/proc/sys", "/proc/sys"}));
  if (fs::exists("/proc/irq")) {
    EXPECT_TRUE(has({"--ro-bind", "/proc/irq", "/proc/irq"}));
  }
  if (fs::exists("/proc/keys")) {
    EXPECT_TRUE(has({"--ro-bind", "/dev/null", "/proc/keys"}));
  }
  if (fs::exists("/proc/acpi")) {
    EXPECT_TRUE(has({"--tmpfs", "/proc/acpi", "--remount-ro", "/proc/acpi"}));
  }
  for (const std::string& arg : a) {
    if (arg.rfind("/proc/", 0) == 0) {
      EXPECT_TRUE(fs::exists(arg)) << arg;
    }
  }
}

TEST(BwrapArgv, SeccompFdAndAPrivateNetwork) {
  SandboxSpec spec = example_spec();
  spec.network = SandboxSpec::Network::kPrivate;
  spec.seccomp_fd = 8;
  const auto a = bwrap_argv(spec);
  // The launcher made the namespace: bwrap must not make another.
  EXPECT_EQ(std::find(a.begin(), a.end(), "--unshare-net"), a.end());
  const std::vector<std::string> want = {"--die-with-parent", "--seccomp", "8"};
  EXPECT_NE(std::search(a.begin(), a.end(), want.begin(), want.end()), a.end());
  // A private network keeps Docker's CAP_NET_RAW: its packet sockets see only the sandbox.
  EXPECT_NE(std::find(a.begin(), a.end(), "CAP_NET_RAW"), a.end());
}

TEST(BwrapArgv, RootWithTheLauncherMountingTheOverlay) {
  std::vector<std::string> want = {"bwrap",
                                   "--unshare-pid",
                                   "--unshare-ipc",
                                   "--unshare-uts",
                                   "--unshare-cgroup-try",
                                   "--unshare-net",
                                   "--die-with-parent",
                                   "--hostname",
                                   "kiln-build",
                                   "--bind",
                                   "/b/1/merged",
                                   "/",
                                   "--proc",
                                   "/proc",
                                   "PROC",
                                   "--dev",
                                   "/dev",
                                   "--bind",
                                   "/b/1/src",
                                   "/codebuild/output/src1",
                                   "--ro-bind",
                                   "/cache",
                                   "/cache",
                                   "--chdir",
                                   "/codebuild/output/src1",
                                   "--clearenv",
                                   "--setenv",
                                   "PATH",
                                   "/usr/bin:/bin",
                                   "--setenv",
                                   "A",
                                   "x=y",
                                   "--setenv",
                                   "EMPTY",
                                   ""};
  const auto caps = caps_args({"CAP_SYS_PTRACE"});
  want.insert(want.end(), caps.begin(), caps.end());
  want.insert(want.end(), {"--", "/kiln/agent", "--fd", "3"});
  with_proc_protections(want);
  EXPECT_EQ(bwrap_argv(example_spec()), want);
  EXPECT_TRUE(check_spec(example_spec()));
}

TEST(BwrapArgv, WithoutRootBwrapMountsTheOverlayInAUserNamespace) {
  SandboxSpec spec = example_spec();
  spec.as_root_user = false;
  spec.overlay_mounter = OverlayMounter::kBwrap;
  spec.network = SandboxSpec::Network::kHost;
  spec.hostname.clear();
  spec.binds.clear();
  spec.env.clear();
  spec.cap_add.clear();
  spec.chdir.clear();
  std::vector<std::string> want = {"bwrap",
                                   "--unshare-user",
                                   "--uid",
                                   "0",
                                   "--gid",
                                   "0",
                                   "--unshare-pid",
                                   "--unshare-ipc",
                                   "--unshare-uts",
                                   "--unshare-cgroup-try",
                                   "--die-with-parent",
                                   "--overlay-src",
                                   "/img/root",
                                   "--overlay",
                                   "/b/1/upper",
                                   "/b/1/work",
                                   "/",
                                   "--proc",
                                   "/proc",
                                   "PROC",
                                   "--dev",
                                   "/dev",
                                   "--chdir",
                                   "/",
                                   "--clearenv"};
  // The host's network: no raw or packet sockets that would see the host's traffic.
  spec.cap_add = {"NET_ADMIN", "net_raw"};
  const auto caps = caps_args({}, false);
  want.insert(want.end(), caps.begin(), caps.end());
  want.insert(want.end(), {"--", "/kiln/agent", "--fd", "3"});
  with_proc_protections(want);
  EXPECT_EQ(bwrap_argv(spec), want);
}

TEST(BwrapSpec, CheckRejectsWhatTheCommandLineCannotCarry) {
  auto expect_invalid = [](SandboxSpec spec, const std::string& message) {
    auto r = check_spec(spec);
    ASSERT_FALSE(r) << message;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().message(), message);
  };
  SandboxSpec s = example_spec();
  s.rootfs = "img";
  expect_invalid(s, "sandbox rootfs must be an absolute path: \"img\"");
  s = example_spec();
  s.upper = "/b/1,lowerdir=/etc/upper";
  expect_invalid(s, "sandbox upper may not contain ',', ':' or '\\': \"/b/1,lowerdir=/etc/upper\"");
  s.overlay_mounter = OverlayMounter::kBwrap;  // bwrap escapes them itself
  EXPECT_TRUE(check_spec(s));
  s = example_spec();
  s.command.clear();
  expect_invalid(s, "sandbox command is empty");
  s = example_spec();
  s.env.push_back("NOVALUE");
  expect_invalid(s, "sandbox environment entry is not NAME=value");
  s = example_spec();
  s.env.push_back(std::string("X=a\0--bind\0/\0/host", 19));
  expect_invalid(s, "sandbox argument or variable contains a NUL byte");
  s = example_spec();
  s.cap_add = {"SYS ADMIN"};
  expect_invalid(s, "bad capability name \"SYS ADMIN\"");
  s = example_spec();
  s.binds.push_back({"rel", "/x", false});
  expect_invalid(s, "sandbox bind source must be an absolute path: \"rel\"");
}

TEST(BwrapOverlayMounter, RootUsesTheLauncherAndOthersNeedBwrap09) {
  BwrapVersion v08{0, 8, 0, "/usr/bin/bwrap"};
  BwrapVersion v09{0, 9, 0, "/usr/bin/bwrap"};
  EXPECT_EQ(choose_overlay_mounter(v08, true).value(), OverlayMounter::kLauncher);
  EXPECT_EQ(choose_overlay_mounter(v09, true).value(), OverlayMounter::kLauncher);
  EXPECT_EQ(choose_overlay_mounter(v09, false).value(), OverlayMounter::kBwrap);
  auto none = choose_overlay_mounter(v08, false);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), ErrorCode::kPermission);
  EXPECT_EQ(none.error().message(),
            "a sandbox without root needs bubblewrap >= 0.9 to mount its overlay (found 0.8.0 at "
            "/usr/bin/bwrap)");
}

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(BwrapVersionCheck, FindsThisMachinesBwrap) {
  if (!bwrap_path()) KILN_SANDBOX_UNAVAILABLE("bwrap is not installed");
  auto v = check_bwrap();
  ASSERT_TRUE(v) << v.error().describe();
  std::cout << "bwrap " << v->str() << " at " << v->path
            << (v->has_overlay() ? " (has --overlay)" : " (no --overlay: the launcher mounts it)")
            << "\n";
  EXPECT_TRUE(v->major > 0 || v->minor >= 8);
}

TEST(BwrapVersionCheck, MissingAndOldBwrapNameThePackage) {
  testing::TempDir tmp;
  {
    ScopedEnv env("KILN_BWRAP", (tmp.root() / "nothing").string());
    auto v = check_bwrap();
    ASSERT_FALSE(v);
    EXPECT_NE(v.error().describe().find("install bubblewrap >= 0.8"), std::string::npos)
        << v.error().describe();
  }
  const fs::path old = tmp.root() / "bwrap";
  std::ofstream(old) << "#!/bin/sh\necho 'bubblewrap 0.7.2'\n";
  fs::permissions(old, fs::perms::owner_all);
  ScopedEnv env("KILN_BWRAP", old.string());
  auto v = check_bwrap();
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(v.error().message(), "bubblewrap 0.7.2 at " + old.string() +
                                     " is too old: install bubblewrap >= 0.8 (apt-get install "
                                     "bubblewrap)");
}

}  // namespace
}  // namespace kiln::sandbox
