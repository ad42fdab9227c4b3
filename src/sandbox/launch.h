// Starting bwrap for a sandboxed build, with the steps that must happen in the child between
// fork and exec and that exec::spawn_process has no place for:
//   1. join the build's cgroup, so that bwrap and everything below it is limited and counted
//      from its first instruction;
//   2. (OverlayMounter::kLauncher) enter a private mount namespace and mount the overlay root on
//      spec.merged, which bwrap 0.8 cannot do (bwrap.h);
//   2b. (SandboxSpec::Network::kPrivate) enter a new network namespace and bring its lo up,
//      so that bwrap inherits it and, once this returns, slirp4netns (netns.h) can attach to
//      /proc/<pid>/ns/net at once. bwrap's own --unshare-net would set lo up in its child
//      after bwrap started, racing with slirp's configuration of the same namespace;
//   3. setsid() in place of bwrap's --new-session (bwrap.h), which also gives the caller one
//      process group to signal;
//   4. PR_SET_PDEATHSIG, so bwrap dies with us even before its own --die-with-parent is set up.
//
// bwrap's options reach it through a memfd (`bwrap --args FD`), not its command line: the
// environment may hold secrets, and a command line is readable by every user of the host (`ps`)
// and, as /proc/1/cmdline, by the build. Both show only `bwrap --args N -- <command>` (bwrap
// reads no command from the memfd).
//
// The kernel sends the parent-death signal when the *thread* that forked the child ends, not the
// process. Call launch_sandbox() from a thread that lives as long as the sandbox (the build's
// own thread, which waits for it anyway).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "sandbox/bwrap.h"
#include "util/error.h"

namespace kiln::sandbox {

struct LaunchRequest {
  std::string bwrap;  // absolute path, from bwrap_path() / check_bwrap()
  SandboxSpec spec;
  int stdin_fd = -1;                  // becomes fd 0 of bwrap and the command; above 2
  int output_fd = -1;                 // becomes fds 1 and 2; above 2 (exec::move_above_stdio)
  std::vector<int> pass_fds;          // stay open at the same numbers (> 2) inside the sandbox
  std::vector<int> cgroup_procs_fds;  // Cgroup::procs_fds(); empty: no cgroup
};

// Forks and execs bwrap; returns its pid, which leads a new session and process group. The caller
// owns it and must reap it with waitpid. The sandbox ends when the command ends, when bwrap is
// killed, or when the calling thread dies. Every other fd of ours is closed in the sandbox.
// Errors: kInvalidArgument for a spec check_spec() rejects or a pass fd <= 2; kPermission for
// kLauncher or a private network without root; kNotFound for a missing rootfs, upper, work or
// merged directory; kProcess naming the step (join cgroup, unshare, mount overlay, execve) that
// failed in the child. When it returns, bwrap runs in its final network namespace:
// /proc/<pid>/ns/net.
[[nodiscard]] Result<pid_t> launch_sandbox(const LaunchRequest& req);

}  // namespace kiln::sandbox
