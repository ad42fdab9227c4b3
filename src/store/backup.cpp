#include "store/backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>

namespace kiln::store {

namespace {

// How long each backup step waits for a lock another connection holds (a checkpoint, a write).
constexpr int kBusyTimeoutMs = 5000;

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using DbPtr = std::unique_ptr<sqlite3, CloseDb>;

Result<DbPtr> open_db(const std::filesystem::path& file, int flags) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(file.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK)
    return fail(ErrorCode::kIo, "cannot open " + file.string() + ": " + sqlite3_errmsg(raw));
  if (sqlite3_busy_timeout(raw, kBusyTimeoutMs) != SQLITE_OK)
    return fail(ErrorCode::kIo, "sqlite3_busy_timeout on " + file.string());
  return db;
}

Result<void> copy_pages(const std::filesystem::path& from, const std::filesystem::path& to) {
  // Read-write, not read-only: a reader of a WAL database needs the -shm file, which only a
  // read-write connection may create when the server is not running.
  auto src = open_db(from, SQLITE_OPEN_READWRITE);
  if (!src) return fail(std::move(src.error()));
  auto dst = open_db(to, SQLITE_OPEN_READWRITE);
  if (!dst) return fail(std::move(dst.error()));
  sqlite3_backup* b = sqlite3_backup_init(dst->get(), "main", src->get(), "main");
  if (b == nullptr)
    return fail(ErrorCode::kIo,
                "cannot back up " + from.string() + ": " + sqlite3_errmsg(dst->get()));
  // One step of every page: the copy is the snapshot of one read transaction. Kiln's databases are
  // small (records, not logs), so holding that snapshot for the whole copy is cheap.
  int rc = sqlite3_backup_step(b, -1);
  const int finished = sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE || finished != SQLITE_OK) {
    return fail(ErrorCode::kIo, "cannot back up " + from.string() + ": " +
                                    sqlite3_errstr(rc != SQLITE_DONE ? rc : finished));
  }
  // The copy keeps the source's WAL mode; fold everything into the main file so `to` alone is
  // the database.
  if (sqlite3_wal_checkpoint_v2(dst->get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr,
                                nullptr) != SQLITE_OK) {
    return fail(ErrorCode::kIo, "checkpoint " + to.string() + ": " + sqlite3_errmsg(dst->get()));
  }
  return {};
}

}  // namespace

Result<void> backup_database(const std::filesystem::path& from, const std::filesystem::path& to) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(from, ec))
    return fail(ErrorCode::kInvalidArgument, "cannot back up " + from.string() + ": no such file");
  // Created here, 0600 and exclusive: SQLite would make it 0644, and must not write over a file.
  const int fd = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fail(errno_error(ErrorCode::kIo, "create " + to.string()));
  ::close(fd);
  auto r = copy_pages(from, to);
  if (!r) {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(to.string() + suffix, ec);
    }
  }
  return r;
}

}  // namespace kiln::store
