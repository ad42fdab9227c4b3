#include "executors/sandbox_executor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <system_error>

#include "executors/image_source.h"
#include "image/catalog.h"
#include "sandbox/bwrap.h"
#include "sandbox/launch.h"
#include "sandbox/netns.h"
#include "sandbox/seccomp.h"
#include "util/unique_fd.h"

namespace kiln::executors {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string text;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > 65536) break;
  }
  return text;
}

std::string tail_of(const fs::path& file, std::size_t max) {
  std::ifstream in(file, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > max) text = text.substr(text.size() - max);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

SandboxExecutor::SandboxExecutor(SandboxExecutorOptions options) : options_(std::move(options)) {}

SandboxExecutor::~SandboxExecutor() {
  shutdown();
}

Result<void> SandboxExecutor::launch(const exec::PrepareRequest& req,
                                     const exec::ContainerLayout& layout) {
  if (options_.privileged) {
    return fail(ErrorCode::kInvalidArgument,
                "privilegedMode needs the docker executor: a sandbox cannot run a Docker daemon");
  }
  sandbox::SandboxSpec spec;
  bool host_loopback = false;
  if (options_.network == "none") {
    spec.network = sandbox::SandboxSpec::Network::kNone;
  } else if (options_.network == "host") {
    spec.network = sandbox::SandboxSpec::Network::kHost;
  } else if (options_.network == "bridge" || options_.network == "host-loopback") {
    spec.network = sandbox::SandboxSpec::Network::kPrivate;
    host_loopback = options_.network == "host-loopback";
  } else {
    return fail(ErrorCode::kInvalidArgument,
                "the sandbox executor's network is bridge, host-loopback, host or none, not " +
                    options_.network);
  }
  auto bwrap = sandbox::check_bwrap();
  if (!bwrap) return fail(bwrap.error());
  const bool root = ::geteuid() == 0;
  auto mounter = sandbox::choose_overlay_mounter(*bwrap, root);
  if (!mounter) return fail(mounter.error());

  const auto mapped = image::map_image(req.image, false);
  if (!mapped.note.empty()) note(mapped.note);
  image::ImageStore store(options_.image_dir);
  std::optional<image::ImageEntry> entry;
  if (mapped.curated != nullptr) {
    auto e = curated_entry(
        options_.image_dir, mapped.curated->name,
        [this](std::string line) { note(std::move(line)); }, req.cancel);
    if (!e) return fail(e.error());
    entry = std::move(*e);
  } else {
    auto e = store.find(mapped.image);
    // A registry reference ("host:5000/x:1") is not a store name at all: it is missing too.
    if (!e && e.error().code() != ErrorCode::kInvalidArgument) return fail(e.error());
    if (!e || !*e)
      return fail(ErrorCode::kNotFound,
                  "image " + mapped.image + " is not in the image store " +
                      options_.image_dir.string() +
                      ": the sandbox runs images made by `kiln image build` (registry images "
                      "need the docker executor)");
    entry = std::move(**e);
  }

  overlay_ = layout.scratch / "overlay";
  log_ = layout.scratch / "sandbox.log";
  std::error_code ec;
  for (const char* d : {"upper", "work", "merged", "empty"})
    fs::create_directories(overlay_ / d, ec);
  if (ec) return fail(ErrorCode::kIo, "create " + overlay_.string() + ": " + ec.message());

  sandbox::CgroupLimits limits;
  limits.memory_bytes = options_.limits.memory_bytes;
  limits.cpu_millis = options_.limits.vcpus * 1000;
  limits.pids = options_.limits.pids;
  const std::uint64_t pid_max = sandbox::host_pid_max();
  limits.all_builds_pids = sandbox::all_builds_pids(pid_max);
  limits.pids = sandbox::build_pids(pid_max, options_.max_builds, limits.pids);
  auto cg = sandbox::Cgroup::create(sandbox::owned_name(req.build_id), limits);
  if (!cg) return fail(std::move(cg.error()).with("while creating the build's cgroup"));
  cgroup_.emplace(std::move(*cg));
  for (const auto& w : cgroup_->warnings()) note("Warning: " + w);
  if (auto n = cgroup_->oom_kills()) oom_seen_ = *n;

  spec.rootfs = entry->rootfs;
  spec.upper = overlay_ / "upper";
  spec.work = overlay_ / "work";
  spec.merged = overlay_ / "merged";
  spec.overlay_mounter = *mounter;
  for (const auto& b : layout.binds()) spec.binds.push_back({b.host, b.inside, b.read_only});
  // Kiln's own files in the build folder (this overlay among them) are hidden under an empty
  // folder.
  spec.binds.push_back({overlay_ / "empty", layout.hidden_inside(), true});
  // Name resolution, as Docker provides it: the host's resolvers, or slirp's for a private
  // network when the host's are on its loopback.
  if (spec.network == sandbox::SandboxSpec::Network::kHost && fs::exists("/etc/resolv.conf", ec))
    spec.binds.push_back({"/etc/resolv.conf", "/etc/resolv.conf", true});
  if (spec.network == sandbox::SandboxSpec::Network::kPrivate) {
    const fs::path resolv = overlay_ / "resolv.conf";
    std::ofstream out(resolv, std::ios::binary | std::ios::trunc);
    out << sandbox::slirp_resolv_conf(read_text("/etc/resolv.conf"));
    out.close();
    if (!out) return fail(ErrorCode::kIo, "write " + resolv.string());
    spec.binds.push_back({resolv, "/etc/resolv.conf", true});
  }
  spec.hostname = "kiln";
  spec.as_root_user = root;
  image_env_ = default_image_env();
  for (const auto& [k, v] : *image_env_) spec.env.push_back(k + "=" + v);
  spec.command = {exec::ContainerLayout::agent_inside().string(), "--connect",
                  exec::ContainerLayout::socket_inside().string()};
  spec.chdir = "/";

  auto filter = sandbox::seccomp_program(sandbox::sandbox_capabilities(spec));
  if (!filter) return fail(std::move(filter.error()).with("while making the sandbox's filter"));
  spec.seccomp_fd = filter->get();
  const bool private_net = spec.network == sandbox::SandboxSpec::Network::kPrivate;
  std::optional<std::string> slirp = sandbox::slirp4netns_path();
  if (private_net && !slirp) {
    return fail(ErrorCode::kNotFound,
                "slirp4netns not found: sandbox builds on the bridge network need it (apt-get "
                "install slirp4netns), or choose --network none");
  }

  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  UniqueFd logfd(::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  sandbox::LaunchRequest lr;
  lr.bwrap = bwrap->path;
  lr.spec = std::move(spec);
  lr.stdin_fd = devnull.get();
  lr.output_fd = logfd.get();
  lr.pass_fds = {filter->get()};
  lr.cgroup_procs_fds = cgroup_->procs_fds();
  auto pid = sandbox::launch_sandbox(lr);
  if (!pid) return fail(pid.error());
  pid_ = *pid;
  filter->reset();
  if (private_net) {
    // bwrap already runs in the namespace (launch.h). The agent starts meanwhile; the first
    // command waits for this function to return, so the network is up before any command runs.
    sandbox::SlirpOptions so;
    so.program = *slirp;
    so.netns_pid = pid_;
    so.host_loopback = host_loopback;
    so.log = log_;
    auto net = sandbox::UserNet::start(so);
    if (!net) return fail(std::move(net.error()).with("while starting the sandbox's network"));
    net_.emplace(std::move(*net));
  }
  note("Running in a sandbox (image " + entry->name + ", network " + options_.network +
       ", cgroup " + sandbox::Cgroup::cgroup_mode() + ", " + options_.compute_type + ": " +
       options_.limits.describe() + ")");
  return {};
}

bool SandboxExecutor::alive() {
  if (pid_ <= 0 || exited_) return false;
  const pid_t r = ::waitpid(pid_, &status_, WNOHANG);
  if (r == pid_) exited_ = true;
  return !exited_;
}

std::string SandboxExecutor::diagnose() {
  std::string why;
  if (cgroup_) {
    if (auto n = cgroup_->oom_kills(); n && *n > oom_seen_) {
      oom_seen_ = *n;
      why = "the build ran out of memory: " + options_.compute_type + " allows " +
            options_.limits.describe();
    }
  }
  if (why.empty() && exited_) {
    why = tail_of(log_, 600);
  }
  return why;
}

void SandboxExecutor::destroy() {
  if (pid_ > 0 && !exited_) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
    }
    exited_ = true;
  }
  net_.reset();
  if (cgroup_) {
    (void)cgroup_->remove();
    cgroup_.reset();
  }
  std::error_code ec;
  if (!overlay_.empty()) fs::remove_all(overlay_, ec);
}

}  // namespace kiln::executors
