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
// root, where apt-get and chown need them). bwrap always sets no_new_privs, so no execve raises
// them again; bwrap 0.8 leaves the bounding set full, which no_new_privs makes harmless. Not
// done, unlike Docker: no /sys (bwrap cannot mount a fresh sysfs, and the host's would show its
// devices) and no seccomp filter.
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
  enum class Network { kNone, kHost } network = Network::kNone;  // kNone: only loopback
  std::string hostname;                                          // empty: bwrap's default
  bool as_root_user = true;          // Kiln runs as uid 0; false: a user namespace maps us to 0
  std::vector<std::string> cap_add;  // beyond Docker's default set: "SYS_PTRACE" or "CAP_..."
  std::vector<std::string> command;  // argv inside; command[0] is found with `env`'s PATH
  std::vector<std::string> env;      // "NAME=value": the complete environment inside
  std::filesystem::path chdir;       // inside; empty: /
};

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
