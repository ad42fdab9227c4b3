#include "sandbox/bwrap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "exec/spawn.h"
#include "util/unique_fd.h"

namespace kiln::sandbox {
namespace {

// bwrap and libcap want "CAP_SYS_PTRACE"; Docker users write "SYS_PTRACE".
std::string cap_name(const std::string& name) {
  std::string upper;
  for (char c : name) upper += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  return upper.rfind("CAP_", 0) == 0 ? upper : "CAP_" + upper;
}

bool valid_cap(const std::string& name) {
  const std::string n = cap_name(name);
  return n.size() > 4 && std::all_of(n.begin() + 4, n.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
         });
}

Result<void> need_absolute(const std::filesystem::path& p, const std::string& field) {
  if (p.is_absolute()) return {};
  return fail(ErrorCode::kInvalidArgument,
              "sandbox " + field + " must be an absolute path: \"" + p.string() + "\"");
}

// Runs `program --version` and returns what it printed.
Result<std::string> version_output(const std::string& program) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail(errno_error(ErrorCode::kProcess, "pipe2"));
  UniqueFd out_r(exec::move_above_stdio(fds[0]));
  UniqueFd out_w(exec::move_above_stdio(fds[1]));
  UniqueFd null_fd(exec::move_above_stdio(::open("/dev/null", O_RDONLY | O_CLOEXEC)));
  if (!out_r || !out_w || !null_fd) return fail(errno_error(ErrorCode::kProcess, "open pipes"));
  exec::SpawnRequest req;
  req.program = program;
  req.argv = {"bwrap", "--version"};
  req.stdin_fd = null_fd.get();
  req.output_fd = out_w.get();
  auto pid = exec::spawn_process(req);
  if (!pid) return fail(std::move(pid.error()));
  out_w.reset();
  std::string text;
  char buf[512];
  for (;;) {
    const ssize_t n = ::read(out_r.get(), buf, sizeof buf);
    if (n > 0) text.append(buf, static_cast<std::size_t>(n));
    if (n == 0 || (n < 0 && errno != EINTR) || text.size() > 4096) break;
  }
  out_r.reset();
  int status = 0;
  while (::waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return fail(ErrorCode::kProcess, program + " --version failed: " + text);
  }
  return text;
}

}  // namespace

const std::vector<std::string>& default_capabilities() {
  // moby's oci/caps/defaults.go.
  static const std::vector<std::string> caps = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE"};
  return caps;
}

std::vector<std::string> sandbox_capabilities(const SandboxSpec& spec) {
  std::vector<std::string> caps;
  auto add = [&caps, &spec](const std::string& name) {
    const std::string c = cap_name(name);
    const bool net_admin = c == "CAP_NET_RAW" || c == "CAP_NET_ADMIN";
    if (net_admin && spec.network == SandboxSpec::Network::kHost) return;
    if (std::find(caps.begin(), caps.end(), c) == caps.end()) caps.push_back(c);
  };
  for (const std::string& c : default_capabilities()) add(c);
  for (const std::string& c : spec.cap_add) add(c);
  return caps;
}

const std::vector<std::string>& proc_protection_args() {
  static const std::vector<std::string> args = [] {
    // moby's oci/defaults.go: ReadonlyPaths and MaskedPaths (the /proc ones; see bwrap.h).
    static const char* const read_only[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                            "/proc/sysrq-trigger"};
    static const char* const masked[] = {
        "/proc/asound",      "/proc/acpi",          "/proc/kcore",
        "/proc/keys",        "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug",   "/proc/scsi"};
    std::vector<std::string> a;
    struct stat st {};
    for (const char* p : read_only) {
      if (::stat(p, &st) == 0) a.insert(a.end(), {"--ro-bind", p, p});
    }
    for (const char* p : masked) {
      if (::stat(p, &st) != 0) continue;
      if (S_ISDIR(st.st_mode)) {
        a.insert(a.end(), {"--tmpfs", p, "--remount-ro", p});
      } else {
        a.insert(a.end(), {"--ro-bind", "/dev/null", p});
      }
    }
    return a;
  }();
  return args;
}

Result<void> check_spec(const SandboxSpec& spec) {
  const bool launcher = spec.overlay_mounter == OverlayMounter::kLauncher;
  const std::pair<const std::filesystem::path*, const char*> overlay_paths[] = {
      {&spec.rootfs, "rootfs"},
      {&spec.upper, "upper"},
      {&spec.work, "work"},
      {&spec.merged, "merged"}};
  for (const auto& [path, field] : overlay_paths) {
    if (path == &spec.merged && !launcher) continue;
    if (auto r = need_absolute(*path, field); !r) return r;
    // The kernel splits overlay options at ',' and lower layers at ':'; bwrap escapes them,
    // the launcher does not.
    if (launcher && path->string().find_first_of(",:\\") != std::string::npos) {
      return fail(ErrorCode::kInvalidArgument, "sandbox " + std::string(field) +
                                                   " may not contain ',', ':' or '\\': \"" +
                                                   path->string() + "\"");
    }
  }
  for (const Mount& m : spec.binds) {
    if (auto r = need_absolute(m.host, "bind source"); !r) return r;
    if (auto r = need_absolute(m.dest, "bind destination"); !r) return r;
  }
  if (!spec.chdir.empty()) {
    if (auto r = need_absolute(spec.chdir, "chdir"); !r) return r;
  }
  if (spec.command.empty()) return fail(ErrorCode::kInvalidArgument, "sandbox command is empty");
  for (const std::string& e : spec.env) {
    if (e.find('=') == 0 || e.find('=') == std::string::npos) {
      return fail(ErrorCode::kInvalidArgument, "sandbox environment entry is not NAME=value");
    }
  }
  for (const std::string& c : spec.cap_add) {
    if (!valid_cap(c))
      return fail(ErrorCode::kInvalidArgument, "bad capability name \"" + c + "\"");
  }
  // The launcher passes the arguments NUL-separated (bwrap --args): a NUL inside one would
  // smuggle in options of its own.
  for (const std::string& arg : bwrap_argv(spec)) {
    if (arg.find('\0') != std::string::npos) {
      return fail(ErrorCode::kInvalidArgument, "sandbox argument or variable contains a NUL byte");
    }
  }
  return {};
}

std::vector<std::string> bwrap_argv(const SandboxSpec& spec) {
  std::vector<std::string> a = {"bwrap"};
  auto add = [&a](std::initializer_list<std::string> items) { a.insert(a.end(), items); };
  if (!spec.as_root_user) add({"--unshare-user", "--uid", "0", "--gid", "0"});
  // -try: a kernel without cgroup namespaces still runs builds; they then see the host's paths.
  add({"--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"});
  if (spec.network == SandboxSpec::Network::kNone) add({"--unshare-net"});
  add({"--die-with-parent"});
  if (spec.seccomp_fd >= 0) add({"--seccomp", std::to_string(spec.seccomp_fd)});
  if (!spec.hostname.empty()) add({"--hostname", spec.hostname});
  if (spec.overlay_mounter == OverlayMounter::kLauncher) {
    add({"--bind", spec.merged.string(), "/"});
  } else {
    add({"--overlay-src", spec.rootfs.string(), "--overlay", spec.upper.string(),
         spec.work.string(), "/"});
  }
  // bwrap's /dev is a tmpfs with the usual nodes, pts and an shm directory; nothing of the host.
  add({"--proc", "/proc"});
  a.insert(a.end(), proc_protection_args().begin(), proc_protection_args().end());
  add({"--dev", "/dev"});
  for (const Mount& m : spec.binds) {
    add({m.read_only ? "--ro-bind" : "--bind", m.host.string(), m.dest.string()});
  }
  add({"--chdir", spec.chdir.empty() ? std::string("/") : spec.chdir.string()});
  add({"--clearenv"});
  for (const std::string& e : spec.env) {
    const std::size_t eq = e.find('=');
    add({"--setenv", e.substr(0, eq), eq == std::string::npos ? "" : e.substr(eq + 1)});
  }
  // As root the build would otherwise keep every capability (bwrap keeps uid 0's); in a user
  // namespace it would have none, and apt-get, chown and su fail without these.
  add({"--cap-drop", "ALL"});
  for (const std::string& c : sandbox_capabilities(spec)) add({"--cap-add", c});
  a.push_back("--");
  a.insert(a.end(), spec.command.begin(), spec.command.end());
  return a;
}

std::optional<std::string> bwrap_path() {
  if (const char* env = std::getenv("KILN_BWRAP"); env != nullptr && *env != '\0') return env;
  for (const char* p : {"/usr/bin/bwrap", "/usr/local/bin/bwrap"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return std::nullopt;
}

std::string BwrapVersion::str() const {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

namespace {
// "bubblewrap 0.8.0" -> 0, 8, 0 (the patch number may be missing).
bool parse_version(const std::string& text, BwrapVersion& v) {
  const std::string prefix = "bubblewrap ";
  if (text.rfind(prefix, 0) != 0) return false;
  const char* p = text.c_str() + prefix.size();
  const char* end = text.c_str() + text.size();
  int* parts[] = {&v.major, &v.minor, &v.patch};
  int n = 0;
  for (int* part : parts) {
    auto [next, ec] = std::from_chars(p, end, *part);
    if (ec != std::errc()) break;
    ++n;
    p = next;
    if (p == end || *p != '.') break;
    ++p;
  }
  return n >= 2;
}
}  // namespace

Result<BwrapVersion> check_bwrap() {
  const std::string install = "install bubblewrap >= 0.8 (apt-get install bubblewrap)";
  const std::optional<std::string> path = bwrap_path();
  if (!path) {
    return fail(ErrorCode::kNotFound, "bwrap not found: " + install + " or set KILN_BWRAP");
  }
  auto text = version_output(*path);
  if (!text) return fail(std::move(text.error()).with("check bwrap (" + install + ")"));
  BwrapVersion v;
  v.path = *path;
  if (!parse_version(*text, v)) {
    return fail(ErrorCode::kParse, *path + " --version printed \"" + *text +
                                       "\", not \"bubblewrap X.Y.Z\": " + install);
  }
  if (v.major == 0 && v.minor < 8) {
    return fail(ErrorCode::kInvalidArgument,
                "bubblewrap " + v.str() + " at " + *path + " is too old: " + install);
  }
  return v;
}

Result<OverlayMounter> choose_overlay_mounter(const BwrapVersion& version, bool as_root_user) {
  if (as_root_user) return OverlayMounter::kLauncher;
  if (version.has_overlay()) return OverlayMounter::kBwrap;
  return fail(ErrorCode::kPermission,
              "a sandbox without root needs bubblewrap >= 0.9 to mount its overlay (found " +
                  version.str() + " at " + version.path + ")");
}

}  // namespace kiln::sandbox
