#include "server_setup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "engine/executor_factory.h"
#include "exec/spawn.h"
#include "image/store.h"
#include "sandbox/bwrap.h"
#include "util/unique_fd.h"

namespace kiln::app {

namespace fs = std::filesystem;

Result<std::string> default_executor() {
  auto bwrap = sandbox::check_bwrap();
  Result<sandbox::OverlayMounter> mounter =
      bwrap ? sandbox::choose_overlay_mounter(*bwrap, ::geteuid() == 0)
            : Result<sandbox::OverlayMounter>(tl::unexpected(bwrap.error()));
  if (mounter) return std::string("sandbox");
  return fail(ErrorCode::kInvalidArgument,
              "builds run isolated by default (--executor sandbox), but the sandbox cannot run "
              "here: " +
                  mounter.error().describe() +
                  ". Install bubblewrap >= 0.8 and run as root, or choose --executor docker, or "
                  "choose --executor process explicitly (builds then run unisolated on this host)");
}

std::string missing_image_note(const fs::path& image_dir) {
  image::ImageStore store(image_dir);
  auto found = store.find("kiln/minimal");
  if (found && *found) return "";
  return "the curated image kiln/minimal is not in " + image_dir.string() +
         ": the first sandbox build builds it (mmdebstrap, a few minutes, shown in that build's "
         "log), or build it now with `kiln image build kiln/minimal --image-dir " +
         image_dir.string() + "`";
}

Result<fs::path> ensure_build_user() {
  const std::string name = engine::kBuildUser;
  const fs::path home = "/var/lib/" + name;
  if (!exec::lookup_user(name)) {
    const std::string useradd = "/usr/sbin/useradd";
    if (::access(useradd.c_str(), X_OK) != 0) {
      return fail(ErrorCode::kNotFound,
                  "process builds of a root server run as the user " + name +
                      ", which does not exist, and " + useradd + " is missing to create it: " +
                      "create it (a system user with a home folder), or run another executor");
    }
    exec::SpawnRequest spawn;
    spawn.program = useradd;
    spawn.argv = {useradd,       "--system", "--user-group",      "--create-home", "--home-dir",
                  home.string(), "--shell",  "/usr/sbin/nologin", "--comment",     "Kiln builds",
                  name};
    spawn.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
    const UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (devnull.get() < 0) return fail(errno_error(ErrorCode::kIo, "open /dev/null"));
    spawn.stdin_fd = devnull.get();
    spawn.output_fd = STDERR_FILENO;  // useradd's complaints belong in the server's log
    auto pid = exec::spawn_process(spawn);
    if (!pid) return fail(std::move(pid.error()).with("creating the build user " + name));
    int status = 0;
    while (::waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      return fail(ErrorCode::kProcess,
                  "useradd " + name + " failed (status " + std::to_string(status) + ")");
  }
  auto user = exec::lookup_user(name);
  if (!user) return fail(std::move(user.error()));
  // An existing user may lack its home; builds need a HOME they can write.
  std::error_code ec;
  fs::create_directories(home, ec);
  if (ec) return fail(ErrorCode::kIo, "create " + home.string() + ": " + ec.message());
  if (::chown(home.c_str(), user->uid, user->gid) != 0)
    return fail(errno_error(ErrorCode::kIo, "chown " + home.string()));
  if (::chmod(home.c_str(), 0700) != 0)
    return fail(errno_error(ErrorCode::kIo, "chmod " + home.string()));
  return home;
}

Result<void> open_builds_to_build_user(const fs::path& data) {
  std::error_code ec;
  for (fs::path p = data.parent_path(); p.has_relative_path(); p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return fail(errno_error(ErrorCode::kIo, "stat " + p.string()));
    if ((st.st_mode & S_IXOTH) == 0) {
      return fail(ErrorCode::kPermission,
                  "process builds run as the user " + std::string(engine::kBuildUser) +
                      ", who cannot reach the data folder " + data.string() + " because " +
                      p.string() +
                      " is not traversable by others: put the data folder "
                      "elsewhere (for example under /var/lib), or chmod o+x " +
                      p.string());
    }
  }
  // The folders the server fills later are made now, so they are private from the start.
  for (const char* sub : {"builds", "logs", "artifacts", "cache", "reports"}) {
    fs::create_directories(data / sub, ec);
    if (ec) return fail(ErrorCode::kIo, "create " + (data / sub).string() + ": " + ec.message());
  }
  for (const auto& entry : fs::directory_iterator(data, ec)) {
    const auto st = entry.symlink_status(ec);
    if (ec) break;
    const bool builds = entry.path().filename() == "builds";
    if (fs::is_symlink(st)) continue;
    const mode_t mode = fs::is_directory(st) ? (builds ? 0711 : 0700) : 0600;
    if (::chmod(entry.path().c_str(), mode) != 0)
      return fail(errno_error(ErrorCode::kIo, "chmod " + entry.path().string()));
  }
  if (ec) return fail(ErrorCode::kIo, "list " + data.string() + ": " + ec.message());
  if (::chmod(data.c_str(), 0711) != 0)
    return fail(errno_error(ErrorCode::kIo, "chmod " + data.string()));
  return {};
}

namespace {
bool has_entries(const fs::path& dir) {
  std::error_code ec;
  auto it = fs::directory_iterator(dir, ec);
  return !ec && it != fs::directory_iterator();
}
}  // namespace

Result<void> check_history(const fs::path& data) {
  const fs::path db = data / "kiln.db";
  std::error_code ec;
  const bool exists = fs::exists(db, ec);
  const auto size = exists ? fs::file_size(db, ec) : 0;
  if (exists && (ec || size > 0)) return {};
  for (const char* history : {"logs", "artifacts"}) {
    if (!has_entries(data / history)) continue;
    return fail(ErrorCode::kInvalidArgument,
                db.string() + (exists ? " is empty (0 bytes)" : " is missing") + ", but " +
                    (data / history).string() +
                    " holds the output of earlier builds: the database was lost, and starting "
                    "afresh would hide that history. Restore the data folder from a backup "
                    "(kiln backup, docs/server.md), or move " +
                    history + "/ away to start with an empty server");
  }
  return {};
}

}  // namespace kiln::app
