#include "engine/executor_factory.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include <cctype>

#include "exec/compute.h"
#include "exec/process_executor.h"
#include "executors/docker_executor.h"
#include "executors/sandbox_executor.h"
#include "image/store.h"
#include "sandbox/cgroup.h"
#include "util/unique_fd.h"

namespace kiln::engine {

namespace {

namespace fs = std::filesystem;

// Gives what root owns in `top` and beneath it to `user`, skipping `skip` (the executor's own
// scratch folder, which it manages itself). Files of other users (a buildspec's run-as) keep
// their owner. The walk goes by directory fd with O_NOFOLLOW and changes owners with
// fchownat(AT_SYMLINK_NOFOLLOW): the build user's processes may run while it walks (a cache
// key's expansion runs in the build's shell), and a path walk would follow a folder they swap
// for a symlink to /etc and hand root's files there to them.
Result<void> hand_over_entries(int dir_fd, const fs::path& where, const exec::UserIds& user,
                               const struct stat& skip) {
  UniqueFd list_fd(::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  DIR* dir = list_fd ? ::fdopendir(list_fd.get()) : nullptr;
  if (dir == nullptr) return fail(errno_error(ErrorCode::kIo, "open " + where.string()));
  (void)list_fd.release();  // closedir closes it
  std::unique_ptr<DIR, int (*)(DIR*)> closer(dir, ::closedir);
  while (const dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed meanwhile by a background process of the build
      return fail(errno_error(ErrorCode::kIo, "stat " + (where / name).string()));
    }
    if (st.st_dev == skip.st_dev && st.st_ino == skip.st_ino) continue;
    if (st.st_uid == 0 &&
        ::fchownat(dir_fd, name.c_str(), user.uid, user.gid, AT_SYMLINK_NOFOLLOW) != 0 &&
        errno != ENOENT) {
      return fail(errno_error(ErrorCode::kIo, "chown " + (where / name).string()));
    }
    if (!S_ISDIR(st.st_mode)) continue;
    UniqueFd sub(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub) {
      if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR) continue;  // swapped meanwhile
      return fail(errno_error(ErrorCode::kIo, "open " + (where / name).string()));
    }
    if (auto r = hand_over_entries(sub.get(), where / name, user, skip); !r) return r;
  }
  return {};
}

Result<void> hand_over(const fs::path& top, const exec::UserIds& user, const fs::path& skip) {
  UniqueFd top_fd(::open(top.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!top_fd) return fail(errno_error(ErrorCode::kIo, "open " + top.string()));
  struct stat st {};
  if (::fstat(top_fd.get(), &st) != 0)
    return fail(errno_error(ErrorCode::kIo, "stat " + top.string()));
  if (st.st_uid == 0 && ::fchown(top_fd.get(), user.uid, user.gid) != 0)
    return fail(errno_error(ErrorCode::kIo, "chown " + top.string()));
  struct stat skip_st {};
  if (skip.empty() || ::lstat(skip.c_str(), &skip_st) != 0) skip_st = {};
  return hand_over_entries(top_fd.get(), top, user, skip_st);
}

// How BuildRun::expand's commands begin (src/engine/upload_phase.cpp).
constexpr std::string_view kExpansionPrefix = "cat <<KILN_EXPAND_EOF";

// The ProcessExecutor with a default run-as user (make_executor's `build_user`).
class BuildUserExecutor final : public exec::Executor {
 public:
  explicit BuildUserExecutor(exec::UserIds user) : user_(std::move(user)) {}

  Result<fs::path> prepare(const exec::PrepareRequest& req) override {
    build_root_ = req.scratch.parent_path();
    scratch_ = req.scratch;
    shared_ = req.shared_dirs;
    return inner_.prepare(req);
  }

  Result<exec::CommandResult> run(const exec::CommandRequest& req, const exec::OutputFn& out,
                                  const exec::CancelToken& cancel) override {
    // Root (the worker) writes the build's folder in DOWNLOAD_SOURCE only: sources, then the
    // cache, whose key may first be expanded in the build's shell (BuildRun::expand,
    // src/engine/upload_phase.cpp). So the folder is handed over before every command up to
    // the first buildspec command; after that root only reads it, and a walk per command would
    // cost ~10 us per file the build made (215 ms per command after 20,000 files).
    if (!handed_over_) {
      if (auto r = hand_over_all(); !r) return fail(std::move(r.error()));
      handed_over_ = req.text.rfind(kExpansionPrefix, 0) != 0;
    }
    exec::CommandRequest mine = req;
    if (!mine.run_as) mine.run_as = user_.name;
    auto ids = exec::lookup_user(*mine.run_as);
    if (ids && ids->uid == 0) {
      return fail(ErrorCode::kInvalidArgument,
                  "run-as " + *mine.run_as + " is refused: this server runs process builds as " +
                      user_.name + " so that they cannot read its data folder (docs/server.md)");
    }
    return inner_.run(mine, out, cancel);
  }

  void shutdown() override { inner_.shutdown(); }

  // Kiln (root) would read and write these paths with root's rights, not the build user's: a
  // build could name /etc as its base-directory. Refused until the copy runs as the build user
  // (docs/security.md, "What is not defended (yet)").
  Result<UniqueFd> open_root() const override {
    const std::string why =
        "absolute paths outside the build folder are not read for process "
        "builds that run as " +
        user_.name + "; use the sandbox or docker executor";
    return fail(ErrorCode::kPermission, why);
  }

 private:
  Result<void> hand_over_all() {
    if (auto r = hand_over(build_root_, user_, scratch_); !r) return r;
    for (const auto& dir : shared_) {
      if (auto r = hand_over(dir, user_, {}); !r) return r;
      // The folders between the build's and the cache's common ancestor (the data folder) and
      // the cache become traversable, not listable, so the workspace's links into it resolve.
      fs::path common;
      for (auto a = build_root_.begin(), b = dir.begin();
           a != build_root_.end() && b != dir.end() && *a == *b; ++a, ++b)
        common /= *a;
      std::error_code ec;
      for (fs::path p = dir.parent_path(); p != common && p.has_relative_path();
           p = p.parent_path()) {
        fs::permissions(p, fs::perms::others_exec, fs::perm_options::add, ec);
        if (ec) return fail(ErrorCode::kIo, "chmod " + p.string() + ": " + ec.message());
      }
    }
    return {};
  }

  exec::ProcessExecutor inner_;
  exec::UserIds user_;
  fs::path build_root_;
  fs::path scratch_;
  std::vector<fs::path> shared_;
  bool handed_over_ = false;
};

}  // namespace

std::filesystem::path image_dir_of(const BuildRequest& req) {
  return req.image_dir.empty() ? image::default_image_dir() : req.image_dir;
}

Result<std::unique_ptr<exec::Executor>> make_executor(const BuildRequest& req,
                                                      const std::string& build_user) {
  if (req.executor_name == "process") {
    if (build_user.empty()) return std::make_unique<exec::ProcessExecutor>();
    auto user = exec::lookup_user(build_user);
    if (!user) return fail(std::move(user.error()).with("the server's build user"));
    return std::make_unique<BuildUserExecutor>(std::move(*user));
  }
  auto limits = exec::compute_limits(req.compute_type);
  if (!limits) return fail(ErrorCode::kInvalidArgument, "unknown compute type " + req.compute_type);
  if (req.executor_name == "sandbox") {
    executors::SandboxExecutorOptions o;
    o.privileged = req.privileged_mode;
    o.image_dir = image_dir_of(req);
    o.network = req.network_mode.empty() ? "bridge" : req.network_mode;
    o.max_builds = req.max_builds;
    o.limits = *limits;
    o.compute_type = req.compute_type;
    return std::make_unique<executors::SandboxExecutor>(std::move(o));
  }
  if (req.executor_name == "docker") {
    executors::DockerExecutorOptions o;
    o.image_dir = image_dir_of(req);
    o.network = req.network_mode.empty() ? "bridge" : req.network_mode;
    if (o.network != "bridge" && o.network != "none" && o.network != "host")
      return fail(ErrorCode::kInvalidArgument,
                  "network must be bridge, none or host, not " + o.network);
    o.privileged = req.privileged_mode;
    o.limits = *limits;
    o.compute_type = req.compute_type;
    // CodeBuild keeps Docker's layers only for privileged builds, whose inner daemon uses them.
    if (req.cache.type == "LOCAL" && req.cache.has_mode("LOCAL_DOCKER_LAYER_CACHE") &&
        req.privileged_mode && !req.cache.local_root.empty()) {
      const std::string ns =
          req.cache.namespace_name.empty() ? req.identity.project : req.cache.namespace_name;
      std::string name = "kiln-docker-layers-";
      for (char c : ns) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      o.layer_cache_volume = name;
      o.layer_cache_lock = req.cache.local_root / "docker" / (name + ".lock");
    }
    return std::make_unique<executors::DockerExecutor>(std::move(o));
  }
  return fail(ErrorCode::kInvalidArgument,
              "unknown executor " + req.executor_name + " (process, sandbox or docker)");
}

std::vector<std::string> sweep_leftovers(const std::string& executor_name) {
  std::vector<std::string> lines;
  if (executor_name == "sandbox") {
    auto n = sandbox::sweep_leftover_cgroups();
    if (!n)
      lines.push_back("could not remove leftover sandbox cgroups: " + n.error().describe());
    else if (*n > 0)
      lines.push_back("removed " + std::to_string(*n) + " leftover sandbox cgroup(s)");
  }
  if (executor_name == "docker") {
    auto n = executors::sweep_leftover_containers();
    if (!n)
      lines.push_back("could not remove leftover containers: " + n.error().describe());
    else if (*n > 0)
      lines.push_back("removed " + std::to_string(*n) + " leftover container(s)");
  }
  return lines;
}

}  // namespace kiln::engine
