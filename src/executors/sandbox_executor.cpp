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

namespace kiln::executors {
namespace {

namespace fs = std::filesystem;

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
  if (options_.network == "none") {
    spec.network = sandbox::SandboxSpec::Network::kNone;
  } else if (options_.network == "host") {
    spec.network = sandbox::SandboxSpec::Network::kHost;
  } else {
    return fail(ErrorCode::kInvalidArgument,
                "the sandbox executor's network is host or none, not " + options_.network +
                    " (a bridge network needs the docker executor)");
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
    auto e = curated_entry(options_.image_dir, mapped.curated->name,
                           [this](std::string line) { note(std::move(line)); });
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
  // Name resolution for the host's network, as Docker provides it.
  if (spec.network == sandbox::SandboxSpec::Network::kHost && fs::exists("/etc/resolv.conf", ec))
    spec.binds.push_back({"/etc/resolv.conf", "/etc/resolv.conf", true});
  spec.hostname = "kiln";
  spec.as_root_user = root;
  image_env_ = default_image_env();
  for (const auto& [k, v] : *image_env_) spec.env.push_back(k + "=" + v);
  spec.command = {exec::ContainerLayout::agent_inside().string(), "--connect",
                  exec::ContainerLayout::socket_inside().string()};
  spec.chdir = "/";

  const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int logfd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  sandbox::LaunchRequest lr;
  lr.bwrap = bwrap->path;
  lr.spec = std::move(spec);
  lr.stdin_fd = devnull;
  lr.output_fd = logfd;
  lr.cgroup_procs_fds = cgroup_->procs_fds();
  auto pid = sandbox::launch_sandbox(lr);
  if (devnull >= 0) ::close(devnull);
  if (logfd >= 0) ::close(logfd);
  if (!pid) return fail(pid.error());
  pid_ = *pid;
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
  if (cgroup_) {
    (void)cgroup_->remove();
    cgroup_.reset();
  }
  std::error_code ec;
  if (!overlay_.empty()) fs::remove_all(overlay_, ec);
}

}  // namespace kiln::executors
