// Starting one build process with clean hygiene (style.md "Process hygiene"): its own process
// group, stdin from /dev/null, stdout and stderr into one pipe, no inherited descriptors, default
// signal dispositions and an empty signal mask, an exact environment, and optionally another
// user's identity.
//
// Everything the child needs is built before the clone; until execve() the child shares the
// caller's memory (vfork semantics, so no page tables are copied) and only makes
// async-signal-safe calls. A failure in the child
// is sent back through a close-on-exec pipe, so spawn_process() returns an Error instead of a
// process that exits 127.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "util/error.h"

namespace kiln::exec {

struct UserIds {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups, from the group database
};

// Looks a user up by name. kNotFound for an unknown user. In kiln the system's databases answer
// (getpwnam_r, getgrouplist: NSS). kiln-agent, built with KILN_USERS_FROM_FILES, reads the
// image's /etc/passwd and /etc/group instead: it is static, and NSS in a static binary loads the
// image's libnss modules, built for another glibc than the one linked in.
[[nodiscard]] Result<UserIds> lookup_user(const std::string& name);

// The same lookup in passwd(5) and group(5) files, without NSS: the user's line in `passwd_file`,
// and as supplementary groups the primary group and every group in `group_file` that lists the
// user. kIo naming the file when one cannot be read.
[[nodiscard]] Result<UserIds> lookup_user_in_files(const std::string& name,
                                                   const std::string& passwd_file,
                                                   const std::string& group_file);

struct SpawnRequest {
  std::string program;            // absolute path, run with execve (no PATH search)
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> env;   // "NAME=value", the complete environment
  int stdin_fd = -1;              // becomes fd 0
  int output_fd = -1;             // becomes fds 1 and 2
  std::optional<UserIds> user;    // unset: keep the caller's identity
  bool subreaper = false;         // the child adopts orphaned descendants (PR_SET_CHILD_SUBREAPER)
};

// Starts the process; the caller owns the returned pid and must reap it with waitpid.
[[nodiscard]] Result<pid_t> spawn_process(const SpawnRequest& req);

// A pidfd for the child (readable once it exits), or -1 if the kernel has none (before 5.3).
int open_pidfd(pid_t pid);

// Moves `fd` to a number above 2 with O_CLOEXEC set, so that placing fds 0-2 in a child cannot
// overwrite it. Closes the old fd. Returns the new fd or -1 with errno set.
int move_above_stdio(int fd);

}  // namespace kiln::exec
