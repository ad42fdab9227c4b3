#include "executors/docker_executor.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "executors/image_source.h"
#include "image/catalog.h"

namespace kiln::executors {
namespace {

namespace fs = std::filesystem;

constexpr const char* kManagedLabel = "kiln.managed";
constexpr const char* kOwnerLabel = "kiln.owner-pid";
constexpr const char* kBootLabel = "kiln.boot-id";
constexpr const char* kBuildLabel = "kiln.build-id";

std::string boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

// Docker names: [a-zA-Z0-9][a-zA-Z0-9_.-]*.
std::string container_name(const std::string& build_id) {
  std::string n = "kiln-";
  for (char c : build_id.substr(0, 100)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    n += ok ? c : '-';
  }
  return n + "-" + std::to_string(::getpid());
}

// A tag per build of a store image, so a rebuilt image is imported again rather than the
// daemon's stale copy being used.
std::string store_tag(const std::string& built_at) {
  std::string t = "b";
  for (char c : built_at)
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) t += static_cast<char>(std::tolower(c));
  return t;
}

// OOM kills in the memory cgroup of `pid` (the container's init), read from the host's view
// (v1 memory.oom_control or v2 memory.events). 0 when unknown.
std::uint64_t oom_kills_of(int pid) {
  std::ifstream cg("/proc/" + std::to_string(pid) + "/cgroup");
  std::string line;
  fs::path file;
  while (std::getline(cg, line)) {
    const auto a = line.find(':');
    const auto b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string ctrls = line.substr(a + 1, b - a - 1);
    const std::string path = line.substr(b + 1);
    if (ctrls.find("memory") != std::string::npos) {
      file =
          fs::path("/sys/fs/cgroup/memory") / fs::path(path).relative_path() / "memory.oom_control";
      break;
    }
    if (ctrls.empty() && fs::exists("/sys/fs/cgroup/cgroup.controllers"))
      file = fs::path("/sys/fs/cgroup") / fs::path(path).relative_path() / "memory.events";
  }
  std::ifstream in(file);
  std::string key;
  std::uint64_t value = 0;
  while (in >> key >> value)
    if (key == "oom_kill") return value;
  return 0;
}

// Docker's privileged mode asks runc for every capability the kernel knows; a host whose own
// bounding set lacks one (a VM or a nested container, like CI's) refuses that. The fallback is
// privileged mode spelled out: the capabilities this host can grant, every device, no seccomp,
// AppArmor or masked /proc and /sys paths.
void spell_out_privileged(docker::ContainerSpec& spec) {
  static constexpr const char* kCaps[] = {"CHOWN",
                                          "DAC_OVERRIDE",
                                          "DAC_READ_SEARCH",
                                          "FOWNER",
                                          "FSETID",
                                          "KILL",
                                          "SETGID",
                                          "SETUID",
                                          "SETPCAP",
                                          "LINUX_IMMUTABLE",
                                          "NET_BIND_SERVICE",
                                          "NET_BROADCAST",
                                          "NET_ADMIN",
                                          "NET_RAW",
                                          "IPC_LOCK",
                                          "IPC_OWNER",
                                          "SYS_MODULE",
                                          "SYS_RAWIO",
                                          "SYS_CHROOT",
                                          "SYS_PTRACE",
                                          "SYS_PACCT",
                                          "SYS_ADMIN",
                                          "SYS_BOOT",
                                          "SYS_NICE",
                                          "SYS_RESOURCE",
                                          "SYS_TIME",
                                          "SYS_TTY_CONFIG",
                                          "MKNOD",
                                          "LEASE",
                                          "AUDIT_WRITE",
                                          "AUDIT_CONTROL",
                                          "SETFCAP",
                                          "MAC_OVERRIDE",
                                          "MAC_ADMIN",
                                          "SYSLOG",
                                          "WAKE_ALARM",
                                          "BLOCK_SUSPEND",
                                          "AUDIT_READ"};  // PERFMON and later: Docker >= 23 only
  std::ifstream in("/proc/self/status");
  std::string line;
  std::uint64_t bounding = 0;
  while (std::getline(in, line))
    if (line.rfind("CapBnd:", 0) == 0) bounding = std::stoull(line.substr(7), nullptr, 16);
  spec.privileged = false;
  spec.cap_add.clear();
  for (std::size_t bit = 0; bit < std::size(kCaps); ++bit)
    if ((bounding >> bit) & 1u) spec.cap_add.emplace_back(kCaps[bit]);
  spec.security_opt = {"seccomp=unconfined", "apparmor=unconfined"};
  spec.unmask_paths = true;
  spec.device_cgroup_rules = {"a *:* rwm"};
}

}  // namespace

DockerExecutor::DockerExecutor(DockerExecutorOptions options) : options_(std::move(options)) {}

DockerExecutor::~DockerExecutor() {
  shutdown();
}

Result<std::string> DockerExecutor::ensure_image(const std::string& requested,
                                                 const exec::CancelToken* cancel) {
  const auto mapped = image::map_image(requested, options_.privileged);
  if (!mapped.note.empty()) note(mapped.note);
  if (mapped.curated != nullptr) {
    auto entry = curated_entry(
        options_.image_dir, mapped.curated->name,
        [this](std::string line) { note(std::move(line)); }, cancel);
    if (!entry) return fail(entry.error());
    const std::string tag = store_tag(entry->built_at);
    const std::string ref = mapped.curated->name + ":" + tag;
    auto have = client_->inspect_image(ref);
    if (!have) return fail(have.error());
    if (!*have) {
      note("Loading image " + mapped.curated->name + " into Docker from " + entry->tar.string());
      if (auto r = client_->import_tar(entry->tar, mapped.curated->name, tag); !r)
        return fail(ErrorCode::kNotFound, "cannot load " + ref + ": " + r.error().describe());
    }
    return ref;
  }
  auto have = client_->inspect_image(mapped.image);
  if (!have) return fail(have.error());
  if (!*have || options_.pull == ImagePull::kAlways) {
    note("Pulling image " + mapped.image);
    if (auto r = client_->pull(mapped.image); !r) {
      if (*have) {
        note("Pull failed, using the local copy: " + r.error().describe());
      } else {
        return fail(ErrorCode::kNotFound, r.error().describe());
      }
    }
  }
  return mapped.image;
}

Result<void> DockerExecutor::launch(const exec::PrepareRequest& req,
                                    const exec::ContainerLayout& layout) {
  auto client = docker::DockerClient::connect(options_.socket);
  if (!client) return fail(client.error());
  client_ = std::move(*client);
  auto ref = ensure_image(req.image, req.cancel);
  if (!ref) return fail(ref.error());
  auto info = client_->inspect_image(*ref);
  if (!info || !*info) return fail(ErrorCode::kNotFound, "image " + *ref + " vanished");
  exec::EnvMap env = default_image_env();
  for (const auto& kv : (*info)->env) {
    const auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  image_env_ = env;

  docker::ContainerSpec spec;
  spec.name = container_name(req.build_id);
  spec.image = *ref;
  spec.entrypoint = std::vector<std::string>{};  // never the image's entrypoint
  spec.cmd = {exec::ContainerLayout::agent_inside().string(), "--connect",
              exec::ContainerLayout::socket_inside().string()};
  spec.env = {"PATH=" + env["PATH"]};
  spec.labels = {{kManagedLabel, "1"},
                 {kOwnerLabel, std::to_string(::getpid())},
                 {kBootLabel, boot_id()},
                 {kBuildLabel, req.build_id}};
  for (const auto& b : layout.binds())
    spec.binds.push_back(b.host.string() + ":" + b.inside.string() + (b.read_only ? ":ro" : ""));
  spec.tmpfs[layout.hidden_inside().string()] = "ro,size=4k";
  if (!options_.layer_cache_volume.empty()) {
    std::error_code ec;
    fs::create_directories(options_.layer_cache_lock.parent_path(), ec);
    auto lock = try_lock_file(options_.layer_cache_lock);
    if (lock && *lock) {
      layer_cache_lock_ = std::move(*lock);
      spec.binds.push_back(options_.layer_cache_volume + ":/var/lib/docker");
      note("Docker layer cache: volume " + options_.layer_cache_volume + " at /var/lib/docker");
    } else {
      note("Docker layer cache " + options_.layer_cache_volume +
           " is in use by another build; running without it");
    }
  }
  spec.network_mode = options_.network;
  spec.privileged = options_.privileged;
  spec.init = true;  // docker-init reaps, and forwards signals to the agent
  spec.memory_bytes = static_cast<std::int64_t>(options_.limits.memory_bytes);
  spec.nano_cpus = static_cast<std::int64_t>(options_.limits.vcpus) * 1000000000;
  spec.pids_limit = options_.limits.pids;
  spec.user = "0:0";
  spec.working_dir = layout.workspace_inside().string();
  auto id = client_->create_container(spec);
  if (!id) return fail(id.error());
  container_ = *id;
  auto started = client_->start(container_);
  if (!started && spec.privileged &&
      started.error().describe().find("apply caps") != std::string::npos) {
    (void)client_->remove(container_, true, true);
    container_.clear();
    spell_out_privileged(spec);
    note(
        "This host cannot grant every capability: privileged mode is given as the "
        "capabilities it has, every device, and no seccomp or AppArmor profile");
    id = client_->create_container(spec);
    if (!id) return fail(id.error());
    container_ = *id;
    started = client_->start(container_);
  }
  if (!started) return fail(started.error());
  auto state = client_->inspect_container(container_);
  if (state) container_pid_ = state->pid;
  oom_seen_ = oom_kills();
  note("Running in Docker container " + container_.substr(0, 12) + " (image " + *ref +
       ", network " + options_.network + (options_.privileged ? ", privileged" : "") + ", " +
       options_.compute_type + ": " + options_.limits.describe() + ")");
  return {};
}

bool DockerExecutor::alive() {
  auto state = client_->inspect_container(container_);
  return state && state->running;
}

std::uint64_t DockerExecutor::oom_kills() const {
  return container_pid_ > 0 ? oom_kills_of(container_pid_) : 0;
}

std::string DockerExecutor::diagnose() {
  const auto now = oom_kills();
  bool oom = now > oom_seen_;
  oom_seen_ = now;
  if (!oom && client_ && !container_.empty()) {
    auto state = client_->inspect_container(container_);
    oom = state && state->oom_killed;
  }
  if (!oom) return {};
  return "the build ran out of memory: " + options_.compute_type + " allows " +
         options_.limits.describe();
}

void DockerExecutor::destroy() {
  if (client_ && !container_.empty()) (void)client_->remove(container_, true, true);
  container_.clear();
  layer_cache_lock_ = UniqueFd();  // after the container: its daemon no longer writes the volume
}

Result<std::size_t> sweep_leftover_containers(const std::string& socket) {
  auto client = docker::DockerClient::connect(socket);
  if (!client) return fail(client.error());
  auto list = (*client)->list_containers({{kManagedLabel, "1"}}, true);
  if (!list) return fail(list.error());
  const std::string boot = boot_id();
  std::size_t removed = 0;
  for (const auto& c : *list) {
    const auto owner = c.labels.find(kOwnerLabel);
    const auto b = c.labels.find(kBootLabel);
    const long pid = owner == c.labels.end() ? 0 : std::strtol(owner->second.c_str(), nullptr, 10);
    const bool same_boot = b != c.labels.end() && b->second == boot;
    const bool owner_alive =
        same_boot && pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
    if (owner_alive) continue;
    if ((*client)->remove(c.id, true, true)) ++removed;
  }
  return removed;
}

}  // namespace kiln::executors
