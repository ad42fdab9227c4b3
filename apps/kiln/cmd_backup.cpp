// kiln backup DATA DEST (docs/server.md "Backup and restore"): a consistent copy of a server's
// data folder, taken while the server runs.
//
// The databases (kiln.db, secrets/secrets.db) are copied with SQLite's online backup API
// (store/backup.h), each from one committed snapshot; every other file is copied as it is, after
// the databases, so a log or artifact may be newer than the record that names it but never the
// other way round. Not copied: builds/ (the folders of running builds, which a restored server
// does not resume: it ends them FAILED), cache/ (rebuilt by the next builds) and images/ (made
// again by `kiln image build`). Symlinks are not followed and not copied.
//
// DEST must not exist. The copy is written beside it as DEST.partial-<pid> and renamed into place
// only when complete, so DEST is either absent or whole. Folders are 0700 and files 0600.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "commands.h"
#include "store/backup.h"
#include "util/unique_fd.h"

namespace kiln::app {
namespace {

namespace fs = std::filesystem;

struct BackupOptions {
  std::string data;
  std::string dest;
};

// Top-level entries of the data folder that are not copied (see the file comment).
const std::set<std::string> kSkipped = {"builds", "cache", "images"};
// SQLite's files, copied through the backup API instead.
const std::set<std::string> kDatabases = {"kiln.db", "secrets.db"};

bool sqlite_companion(const std::string& name) {
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    const std::string s = suffix;
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0 &&
        kDatabases.count(name.substr(0, name.size() - s.size())) != 0)
      return true;
  }
  return false;
}

Result<void> copy_private_file(const fs::path& from, const fs::path& to) {
  const UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (in.get() < 0) return fail(errno_error(ErrorCode::kIo, "open " + from.string()));
  const UniqueFd out(
      ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (out.get() < 0) return fail(errno_error(ErrorCode::kIo, "create " + to.string()));
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(in.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errno_error(ErrorCode::kIo, "read " + from.string()));
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(out.get(), buf + done, static_cast<std::size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return fail(errno_error(ErrorCode::kIo, "write " + to.string()));
      done += w;
    }
  }
  if (::fsync(out.get()) != 0) return fail(errno_error(ErrorCode::kIo, "fsync " + to.string()));
  return {};
}

// Copies the folder `from` into the new folder `to`, databases through the backup API.
Result<void> backup_tree(const fs::path& from, const fs::path& to, bool top) {
  if (::mkdir(to.c_str(), 0700) != 0)
    return fail(errno_error(ErrorCode::kIo, "mkdir " + to.string()));
  std::error_code ec;
  // Databases first: files copied after them are at least as new as the records.
  for (const auto& name : kDatabases) {
    if (fs::is_regular_file(fs::symlink_status(from / name, ec))) {
      if (auto r = store::backup_database(from / name, to / name); !r) return r;
    }
  }
  for (const auto& entry : fs::directory_iterator(from, ec)) {
    const std::string name = entry.path().filename().string();
    if ((top && kSkipped.count(name) != 0) || kDatabases.count(name) != 0 || sqlite_companion(name))
      continue;
    const auto st = entry.symlink_status(ec);
    if (ec) break;
    if (fs::is_directory(st)) {
      if (auto r = backup_tree(entry.path(), to / name, false); !r) return r;
    } else if (fs::is_regular_file(st)) {
      // A file removed meanwhile (a build's log deleted by BatchDeleteBuilds) is simply gone.
      auto r = copy_private_file(entry.path(), to / name);
      if (!r && !(r.error().code() == ErrorCode::kIo && !fs::exists(entry.path(), ec))) return r;
    }
  }
  if (ec) return fail(ErrorCode::kIo, "list " + from.string() + ": " + ec.message());
  return {};
}

int run_backup(const BackupOptions& o) {
  const fs::path data = o.data;
  const fs::path dest = o.dest;
  std::error_code ec;
  if (!fs::is_regular_file(data / "kiln.db", ec)) {
    std::fprintf(stderr, "kiln backup: %s is not a Kiln data folder (it has no kiln.db)\n",
                 o.data.c_str());
    return 1;
  }
  if (fs::exists(fs::symlink_status(dest, ec))) {
    std::fprintf(stderr, "kiln backup: %s already exists; name a new folder\n", o.dest.c_str());
    return 1;
  }
  const fs::path partial =
      dest.parent_path() / (dest.filename().string() + ".partial-" + std::to_string(::getpid()));
  auto r = backup_tree(data, partial, true);
  // RENAME_NOREPLACE: a DEST made by someone else meanwhile is never replaced.
  if (r && ::syscall(SYS_renameat2, AT_FDCWD, partial.c_str(), AT_FDCWD, dest.c_str(),
                     RENAME_NOREPLACE) != 0)
    r = fail(errno_error(ErrorCode::kIo, "rename " + partial.string() + " to " + dest.string()));
  if (!r) {
    fs::remove_all(partial, ec);
    std::fprintf(stderr, "kiln backup: %s\n", r.error().describe().c_str());
    return 1;
  }
  std::printf(
      "kiln backup: %s copied to %s (restore: use it as the data folder, "
      "docs/server.md)\n",
      o.data.c_str(), o.dest.c_str());
  return 0;
}

}  // namespace

std::function<int()> add_backup_command(CLI::App& app) {
  auto opts = std::make_shared<BackupOptions>();
  CLI::App* cmd = app.add_subcommand(
      "backup", "copy a server's data folder consistently, also while the server runs");
  cmd->add_option("DATA", opts->data, "the server's data folder")->required();
  cmd->add_option("DEST", opts->dest, "a new folder for the copy (must not exist)")->required();
  return [opts] { return run_backup(*opts); };
}

}  // namespace kiln::app
