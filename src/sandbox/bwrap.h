// The bubblewrap command line of a sandboxed build (docs/executors.md, the sandbox executor).
//
// Why bwrap rather than our own clone/mount/pivot_root code: bubblewrap is packaged by Debian,
// small and audited, and it gets the order of the namespace, mount and capability steps right
// (pivot_root, /proc for the new pid namespace, a minimal /dev, a reaper as pid 1). Kiln only
// decides what goes in the sandbox; it writes no namespace code beyond the overlay mount below.
//
// The root is an overlay: the image's rootfs as the read-only lower layer and an upper directory
// per build, so the image is shared and never written. bwrap learnt to mount overlays itself
// (--overlay-src/--overlay) in 0.9.0; Debian bookworm ships 0.8.0, which does not have them. So
// there are two ways to get the overlay, chosen by OverlayMounter:
//   kLauncher  the launcher (launch.h) mounts the overlay on `merged` in a mount namespace of
//              its own just before it execs bwrap, and bwrap binds `merged` as /. Needs root.
//              The mount exists only in that namespace, so it vanishes with the sandbox's last
//              process and a crashed Kiln leaves no mount behind.
//   kBwrap     bwrap >= 0.9 mounts it (`--overlay-src rootfs --overlay upper work /`), which also
//              works without root, inside bwrap's user namespace.
//
// What the build keeps: Docker's default capabilities (also inside the user namespace without
// root, where apt-get and chown need them), minus CAP_NET_RAW and CAP_NET_ADMIN on the host's
// network, where a raw or packet socket would see the host's traffic. bwrap always sets
// no_new_privs, so no execve raises them again; bwrap 0.8 leaves the bounding set full, which
// no_new_privs makes harmless. Docker's seccomp profile (seccomp.h) comes in through --seccomp.
//
// /proc is the sandbox's own (its pid namespace), but most of it is the host kernel's: as root,
// bwrap 0.8 leaves /proc/sys writable, and /proc/sys/kernel/core_pattern is a route to root on
// the host. So Docker's list applies (moby's oci/defaults.go): /proc/bus, fs, irq, sys and
// sysrq-trigger are bound read-only over themselves, and /proc/kcore, keys, timer_list, ... are
// masked with /dev/null (files) or an empty read-only tmpfs (folders). The read-only binds take
// the host's /proc entry as source (bwrap resolves sources outside the sandbox); the content is
// the same kernel's, and /proc/sys/net and ns_last_pid answer for the reader's namespaces. There
// is no /sys at all: bwrap cannot mount a fresh sysfs, and the host's would show its devices, so
// Docker's masked /sys/firmware and /sys/devices/virtual/powercap do not arise.
//
// No --new-session: bwrap would make the build's first process a session leader, and the agent
// then could not start a session of its own with setsid(). The launcher calls setsid() before
// exec instead, so nothing in the sandbox has a controlling terminal (TIOCSTI cannot reach ours)
// and the agent, not a leader, remains free to make sessions.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "util/error.h"

namespace kiln::sandbox {

struct Mount {
  std::filesystem::path host;  // must exist
  std::filesystem::path dest;  // inside the sandbox; bwrap creates it if missing
  bool read_only = false;
};

enum class OverlayMounter { kLauncher, kBwrap };

struct SandboxSpec {
  std::filesystem::path rootfs;  // the image's root directory, read-only lower layer
  std::filesystem::path upper;   // the build's writable layer
  std::filesystem::path work;    // overlayfs scratch: empty, on the same filesystem as `upper`
  std::filesystem::path merged;  // kLauncher only: an empty directory the overlay is mounted on
  OverlayMounter overlay_mounter = OverlayMounter::kLauncher;
  std::vector<Mount> binds;  // applied in order, after /proc and /dev
  // kNone: a namespace with only loopback (bwrap's --unshare-net); kPrivate: the same, made by
  // the launcher (launch.h) before bwrap starts, to which the caller attaches an outbound link
  // (netns.h); kHost: the host's network.
  enum class Network { kNone, kPrivate, kHost } network = Network::kNone;
  std::string hostname;              // empty: bwrap's default
  bool as_root_user = true;          // Kiln runs as uid 0; false: a user namespace maps us to 0
  std::vector<std::string> cap_add;  // beyond Docker's default set: "SYS_PTRACE" or "CAP_..."
  std::vector<std::string> command;  // argv inside; command[0] is found with `env`'s PATH
  std::vector<std::string> env;      // "NAME=value": the complete environment inside
  std::filesystem::path chdir;       // inside; empty: /
  int seccomp_fd = -1;  // bwrap --seccomp: a BPF program (seccomp.h) at offset 0; -1: none
};

// The capabilities the build keeps: Docker's default set plus spec.cap_add, without CAP_NET_RAW
// and CAP_NET_ADMIN on the host's network. "CAP_..." spelling, no duplicates.
std::vector<std::string> sandbox_capabilities(const SandboxSpec& spec);

// Docker's masked and read-only /proc paths that exist on this kernel, as bwrap options (after
// --proc). Computed once.
const std::vector<std::string>& proc_protection_args();

// Docker's default capability set, which the sandbox keeps and no more.
const std::vector<std::string>& default_capabilities();

// Checks what bwrap_argv() assumes: absolute paths, a command, NAME=value environment entries,
// capability names, and overlay paths the kernel's option syntax can carry (no ',', ':' or '\').
// kInvalidArgument naming the field otherwise.
[[nodiscard]] Result<void> check_spec(const SandboxSpec& spec);

// The command line, argv[0] = "bwrap" (run bwrap_path()). Expects a spec check_spec() accepts.
// Environment values appear in it: pass it with --args (launch.h does), not on a command line
// that `ps` shows.
std::vector<std::string> bwrap_argv(const SandboxSpec& spec);

// $KILN_BWRAP if set, else /usr/bin/bwrap or /usr/local/bin/bwrap if executable.
std::optional<std::string> bwrap_path();

struct BwrapVersion {
  int major = 0, minor = 0, patch = 0;
  std::string path;
  bool has_overlay() const { return major > 0 || minor >= 9; }  // --overlay-src, bwrap 0.9.0
  std::string str() const;
};

// Finds bwrap and runs `bwrap --version`. kNotFound if there is none, kInvalidArgument if it is
// older than 0.8 (the Debian bookworm version, the oldest tested); both say "install bubblewrap
// >= 0.8".
[[nodiscard]] Result<BwrapVersion> check_bwrap();

// kLauncher as root, whatever the version: one code path, the one tested on bookworm. Without
// root, kBwrap if bwrap can mount the overlay, else kPermission naming bubblewrap 0.9.
[[nodiscard]] Result<OverlayMounter> choose_overlay_mounter(const BwrapVersion& version,
                                                            bool as_root_user);

}  // namespace kiln::sandbox
