#include "sandbox/seccomp.h"

#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <initializer_list>

#include "exec/spawn.h"

namespace kiln::sandbox {
namespace {

// moby's profiles/seccomp/default.json, first group: allowed for everyone. Without io_uring_*,
// which Docker 25 removed from the profile (https://github.com/moby/moby/pull/46762): io_uring
// has been a frequent route to kernel exploits, and a ring's operations bypass seccomp.
constexpr const char* kAllowed[] = {
    "accept",
    "accept4",
    "access",
    "adjtimex",
    "alarm",
    "bind",
    "brk",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "chown32",
    "clock_adjtime",
    "clock_adjtime64",
    "clock_getres",
    "clock_getres_time64",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_ctl_old",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "epoll_wait_old",
    "eventfd",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fadvise64_64",
    "fallocate",
    "fanotify_mark",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchown",
    "fchown32",
    "fchownat",
    "fcntl",
    "fcntl64",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fork",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstat64",
    "fstatat64",
    "fstatfs",
    "fstatfs64",
    "fsync",
    "ftruncate",
    "ftruncate64",
    "futex",
    "futex_time64",
    "futex_waitv",
    "futimesat",
    "getcpu",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "getegid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getgroups",
    "getgroups32",
    "getitimer",
    "getpeername",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresgid32",
    "getresuid",
    "getresuid32",
    "getrlimit",
    "get_robust_list",
    "getrusage",
    "getsid",
    "getsockname",
    "getsockopt",
    "get_thread_area",
    "gettid",
    "gettimeofday",
    "getuid",
    "getuid32",
    "getxattr",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "io_cancel",
    "ioctl",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_pgetevents_time64",
    "ioprio_get",
    "ioprio_set",
    "io_setup",
    "io_submit",
    "ipc",
    "kill",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "lchown",
    "lchown32",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "listxattr",
    "llistxattr",
    "_llseek",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lstat",
    "lstat64",
    "madvise",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mmap2",
    "mprotect",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_unlink",
    "mremap",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "name_to_handle_at",
    "nanosleep",
    "newfstatat",
    "_newselect",
    "open",
    "openat",
    "openat2",
    "pause",
    "pidfd_open",
    "pidfd_send_signal",
    "pipe",
    "pipe2",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "poll",
    "ppoll",
    "ppoll_time64",
    "prctl",
    "pread64",
    "preadv",
    "preadv2",
    "prlimit64",
    "process_mrelease",
    "pselect6",
    "pselect6_time64",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "recv",
    "recvfrom",
    "recvmmsg",
    "recvmmsg_time64",
    "recvmsg",
    "remap_file_pages",
    "removexattr",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_rr_get_interval_time64",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "select",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "send",
    "sendfile",
    "sendfile64",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "setfsgid",
    "setfsgid32",
    "setfsuid",
    "setfsuid32",
    "setgid",
    "setgid32",
    "setgroups",
    "setgroups32",
    "setitimer",
    "setpgid",
    "setpriority",
    "setregid",
    "setregid32",
    "setresgid",
    "setresgid32",
    "setresuid",
    "setresuid32",
    "setreuid",
    "setreuid32",
    "setrlimit",
    "set_robust_list",
    "setsid",
    "setsockopt",
    "set_thread_area",
    "set_tid_address",
    "setuid",
    "setuid32",
    "setxattr",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    "shutdown",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "sigprocmask",
    "sigreturn",
    "socketcall",
    "socketpair",
    "splice",
    "stat",
    "stat64",
    "statfs",
    "statfs64",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "sysinfo",
    "tee",
    "tgkill",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_gettime64",
    "timer_settime",
    "timer_settime64",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime64",
    "timerfd_settime",
    "timerfd_settime64",
    "times",
    "tkill",
    "truncate",
    "truncate64",
    "ugetrlimit",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "utime",
    "utimensat",
    "utimensat_time64",
    "utimes",
    "vfork",
    "vmsplice",
    "wait4",
    "waitid",
    "waitpid",
    "write",
    "writev",
    // minKernel 4.8: ptrace no longer bypasses the filter, so it is safe without a capability.
    "process_vm_readv",
    "process_vm_writev",
    "ptrace",
#if defined(__x86_64__)
    "arch_prctl",
    "modify_ldt",
#elif defined(__aarch64__)
    "arm_fadvise64_64",
    "arm_sync_file_range",
    "sync_file_range2",
    "breakpoint",
    "cacheflush",
    "set_tls",
#endif
};

// The profile's groups that a capability unlocks.
struct CapGroup {
  const char* cap;
  std::initializer_list<const char*> names;
};
const CapGroup kCapGroups[] = {
    {"CAP_DAC_READ_SEARCH", {"open_by_handle_at"}},
    {"CAP_SYS_ADMIN",
     {"bpf",           "clone",         "clone3",      "fanotify_init",   "fsconfig",
      "fsmount",       "fsopen",        "fspick",      "lookup_dcookie",  "mount",
      "mount_setattr", "move_mount",    "open_tree",   "perf_event_open", "quotactl",
      "quotactl_fd",   "setdomainname", "sethostname", "setns",           "syslog",
      "umount",        "umount2",       "unshare"}},
    {"CAP_SYS_BOOT", {"reboot"}},
    {"CAP_SYS_CHROOT", {"chroot"}},
    {"CAP_SYS_MODULE", {"delete_module", "init_module", "finit_module"}},
    {"CAP_SYS_PACCT", {"acct"}},
    {"CAP_SYS_PTRACE",
     {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"}},
    {"CAP_SYS_RAWIO", {"iopl", "ioperm"}},
    {"CAP_SYS_TIME", {"settimeofday", "stime", "clock_settime", "clock_settime64"}},
    {"CAP_SYS_TTY_CONFIG", {"vhangup"}},
    {"CAP_SYS_NICE", {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"}},
    {"CAP_SYSLOG", {"syslog"}},
    {"CAP_BPF", {"bpf"}},
    {"CAP_PERFMON", {"perf_event_open"}},
};

// CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
// CLONE_NEWNET: the profile's 2114060288.
constexpr scmp_datum_t kNamespaceFlags = 0x7E020000;
constexpr int kAfVsock = 40;
// personality(): PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and 0xffffffff (query).
constexpr scmp_datum_t kPersonalities[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

struct Filter {
  scmp_filter_ctx ctx = nullptr;
  ~Filter() {
    if (ctx != nullptr) seccomp_release(ctx);
  }
};

Result<void> check(int rc, const std::string& what) {
  if (rc == 0) return {};
  errno = -rc;
  return fail(errno_error(ErrorCode::kProcess, "libseccomp " + what));
}

// -1 for a name this libseccomp does not know on any of the filter's architectures.
int syscall_number(const char* name) {
  const int nr = seccomp_syscall_resolve_name(name);
  return nr == __NR_SCMP_ERROR ? -1 : nr;
}

// A rule for a syscall that does not exist on one of the architectures fails with EFAULT or
// EDOM (libseccomp 2.5); the profile's multi-arch lists are full of those, so they are skipped.
Result<void> add(scmp_filter_ctx ctx, uint32_t action, const char* name,
                 std::initializer_list<scmp_arg_cmp> args = {}) {
  const int nr = syscall_number(name);
  if (nr == -1) return {};
  const int rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(args.size()),
                                        args.size() == 0 ? nullptr : args.begin());
  if (rc == -EFAULT || rc == -EDOM || rc == -EOPNOTSUPP) return {};
  return check(rc, std::string("seccomp_rule_add(") + name + ")");
}

Result<void> build(scmp_filter_ctx ctx, const std::vector<std::string>& caps) {
  const auto has = [&caps](const char* cap) {
    return std::find(caps.begin(), caps.end(), cap) != caps.end();
  };
  // Native ABI only (seccomp.h): a syscall through another ABI kills the process.
  if (auto r = check(seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS),
                     "seccomp_attr_set(SCMP_FLTATR_ACT_BADARCH)");
      !r) {
    return r;
  }
  for (const char* name : kAllowed) {
    if (auto r = add(ctx, SCMP_ACT_ALLOW, name); !r) return r;
  }
  for (const CapGroup& g : kCapGroups) {
    if (!has(g.cap)) continue;
    for (const char* name : g.names) {
      if (auto r = add(ctx, SCMP_ACT_ALLOW, name); !r) return r;
    }
  }
  if (auto r = add(ctx, SCMP_ACT_ALLOW, "socket", {SCMP_A0(SCMP_CMP_NE, kAfVsock)}); !r) return r;
  for (scmp_datum_t p : kPersonalities) {
    if (auto r = add(ctx, SCMP_ACT_ALLOW, "personality", {SCMP_A0(SCMP_CMP_EQ, p)}); !r) return r;
  }
  if (!has("CAP_SYS_ADMIN")) {
    const scmp_arg_cmp no_namespaces = SCMP_A0(SCMP_CMP_MASKED_EQ, kNamespaceFlags, 0);
    if (auto r = add(ctx, SCMP_ACT_ALLOW, "clone", {no_namespaces}); !r) return r;
    if (auto r = add(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3"); !r) return r;
  }
  return {};
}

}  // namespace

Result<UniqueFd> seccomp_program(const std::vector<std::string>& capabilities) {
  Filter f;
  f.ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
  if (f.ctx == nullptr) return fail(ErrorCode::kProcess, "libseccomp seccomp_init failed");
  if (auto r = build(f.ctx, capabilities); !r) return fail(std::move(r.error()));
  UniqueFd fd(exec::move_above_stdio(::memfd_create("kiln-seccomp", MFD_CLOEXEC)));
  if (!fd) return fail(errno_error(ErrorCode::kProcess, "memfd_create"));
  if (auto r = check(seccomp_export_bpf(f.ctx, fd.get()), "seccomp_export_bpf"); !r) {
    return fail(std::move(r.error()));
  }
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) return fail(errno_error(ErrorCode::kProcess, "lseek"));
  return fd;
}

}  // namespace kiln::sandbox
