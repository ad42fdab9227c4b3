// Outbound network for a sandbox in a network namespace of its own (docs/executors.md, the
// sandbox's network): slirp4netns, Debian's user-mode network stack, attached to the namespace
// the launcher made for bwrap (launch.h, SandboxSpec::Network::kPrivate).
//
// Why slirp4netns rather than a veth pair with NAT: it needs no bridge, no iptables rules and no
// daemon that outlives a build, and a crashed Kiln leaves nothing behind in the host's network
// (slirp exits when its --exit-fd closes). The build sees tap0 = 10.0.2.100/24, gateway 10.0.2.2
// and DNS 10.0.2.3; its connections leave as ordinary sockets of the slirp4netns process on the
// host. `--disable-host-loopback` makes 10.0.2.2 lead nowhere, so the host's 127.0.0.1 (the Kiln
// API, a local database) is out of reach unless SlirpOptions::host_loopback asks for it. The
// build's own loopback and any packet socket it opens see only its namespace, never the host's
// traffic. Start-up costs a few milliseconds (bench/executor_start.py).
//
// Thread safety: a UserNet is used from one thread at a time.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "util/error.h"

namespace kiln::sandbox {

// $KILN_SLIRP4NETNS if set, else /usr/bin/slirp4netns if executable.
std::optional<std::string> slirp4netns_path();

struct SlirpOptions {
  std::string program;         // slirp4netns_path()
  pid_t netns_pid = -1;        // a process in the namespace: bwrap's (launch_sandbox())
  bool host_loopback = false;  // true: 10.0.2.2 reaches the host's 127.0.0.1
  std::filesystem::path log;   // slirp4netns's stdout and stderr; appended to
  std::chrono::milliseconds ready_limit{5000};
};

// One slirp4netns process, stopped (SIGKILL, then reaped) by stop() or the destructor.
class UserNet {
 public:
  // Starts slirp4netns and waits until the namespace has tap0 configured (its --ready-fd).
  // kNotFound without slirp4netns ("install slirp4netns"), kTimeout if it is not ready within
  // ready_limit, kProcess if it exits first (its log says why).
  [[nodiscard]] static Result<UserNet> start(const SlirpOptions& options);

  UserNet(UserNet&& other) noexcept;
  UserNet& operator=(UserNet&& other) noexcept;
  UserNet(const UserNet&) = delete;
  UserNet& operator=(const UserNet&) = delete;
  ~UserNet();

  pid_t pid() const { return pid_; }
  void stop();

 private:
  UserNet() = default;
  pid_t pid_ = -1;
  int exit_fd_ = -1;  // write end of slirp's --exit-fd: closing it (or our death) stops slirp
};

// The sandbox's /etc/resolv.conf for a slirp network, from the host's: the host's own name
// servers when they are reachable addresses, else slirp's forwarder 10.0.2.3 (a loopback
// resolver such as systemd-resolved's 127.0.0.53 is the host's loopback, which the build does
// not reach). search and options lines are kept.
std::string slirp_resolv_conf(const std::string& host_resolv_conf);

}  // namespace kiln::sandbox
