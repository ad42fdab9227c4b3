#include "store/sqlite_db.h"

#include <fcntl.h>
#include <unistd.h>

#include <cassert>
#include <cctype>
#include <cerrno>
#include <cstdio>

namespace kiln::store {

namespace {

// SQL as one short line for error messages.
std::string squeeze(std::string_view sql) {
  constexpr std::size_t kMax = 160;
  std::string out;
  bool space = false;
  for (const char c : sql) {
    if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
    if (out.size() >= kMax) {
      out += "...";
      break;
    }
  }
  return out;
}

// The file, the SQL and SQLite's words go to the process's stderr (the server's log); the Error
// keeps SQLite's reason only, because API callers see it (docs/security.md: neither SQL text nor a
// server path belongs in a response).
Error sqlite_error(const std::string& file, std::string_view sql, std::string_view why) {
  std::fprintf(stderr, "kiln: sqlite %s: %s: %.*s\n", file.c_str(), squeeze(sql).c_str(),
               static_cast<int>(why.size()), why.data());
  return Error(ErrorCode::kIo, "the database failed: " + std::string(why));
}

Error sqlite_error(const std::string& file, std::string_view sql, sqlite3* db) {
  // sqlite3_errmsg(nullptr) is "out of memory", the one way open leaves no handle.
  return sqlite_error(file, sql, sqlite3_errmsg(db));
}

// SQLite creates a missing file 0644, and its -wal and -shm files copy the database's mode; a
// database made 0600 first keeps all three private whatever the umask.
Result<void> create_private(const std::filesystem::path& file) {
  if (file.empty() || file == ":memory:") return {};
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd >= 0)
    return ::close(fd) == 0 ? Result<void>{}
                            : fail(errno_error(ErrorCode::kIo, "close " + file.string()));
  if (errno == EEXIST) return {};
  return fail(errno_error(ErrorCode::kIo, "create SQLite database " + file.string()));
}

}  // namespace

Query::~Query() {
  if (stmt_ == nullptr) return;
  // sqlite3_reset repeats the last step's error, which step() or run() already returned;
  // sqlite3_clear_bindings always succeeds.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  *in_use_ = false;
}

Error Query::error(const char* what) const {
  Error e = sqlite_error(db_->file(), sqlite3_sql(stmt_), db_->handle());
  return std::move(e).with(what);
}

Result<void> Query::bind(int index, std::string_view value) {
  // A null pointer would bind SQL NULL, and an empty string_view may have one.
  const char* data = value.data() != nullptr ? value.data() : "";
  if (sqlite3_bind_text64(stmt_, index, data, value.size(), SQLITE_TRANSIENT, SQLITE_UTF8) !=
      SQLITE_OK) {
    return fail(error("while binding a text parameter"));
  }
  return {};
}

Result<void> Query::bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) {
    return fail(error("while binding an integer parameter"));
  }
  return {};
}

Result<void> Query::bind(int index, double value) {
  if (sqlite3_bind_double(stmt_, index, value) != SQLITE_OK) {
    return fail(error("while binding a real parameter"));
  }
  return {};
}

Result<bool> Query::step() {
  switch (sqlite3_step(stmt_)) {
    case SQLITE_ROW: return true;
    case SQLITE_DONE: return false;
    default: return fail(error("while running a statement"));
  }
}

Result<void> Query::run() {
  for (;;) {
    KILN_STORE_TRY(row, step());
    if (!row) return {};
  }
}

std::string Query::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  if (p == nullptr) return {};
  return {reinterpret_cast<const char*>(p),
          static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))};
}

std::int64_t Query::int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

double Query::real(int column) const {
  return sqlite3_column_double(stmt_, column);
}

Result<std::unique_ptr<Db>> Db::open(const std::filesystem::path& file) {
  KILN_STORE_CHECK(create_private(file));
  sqlite3* raw = nullptr;
  // NOMUTEX: the caller serialises all use of the connection. SQLite's unix VFS opens its files
  // O_CLOEXEC, so the workers the server forks do not inherit them.
  const int rc =
      sqlite3_open_v2(file.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  // The handle must be closed even when open fails, so it is owned from here on.
  std::unique_ptr<Db> db(new Db(raw, file.string()));
  if (rc != SQLITE_OK) {
    return fail(ErrorCode::kIo,
                "cannot open SQLite database " + db->file_ + ": " + sqlite3_errmsg(raw));
  }
  if (sqlite3_extended_result_codes(raw, 1) != SQLITE_OK) {
    return fail(sqlite_error(db->file_, "sqlite3_extended_result_codes", raw));
  }
  return db;
}

Db::~Db() {
  for (auto& [sql, cached] : cache_) {
    assert(!cached.in_use && "a Query outlived its Db");
    sqlite3_finalize(cached.stmt);  // repeats the statement's last error, already reported
  }
  // Every statement is finalized above, so close cannot be SQLITE_BUSY; it also checkpoints
  // and removes the WAL when this is the last connection.
  [[maybe_unused]] const int rc = sqlite3_close(db_);
  assert(rc == SQLITE_OK);
}

Error Db::error(std::string_view sql) const {
  return sqlite_error(file_, sql, db_);
}

Result<Query> Db::query(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size() + 1),
                           SQLITE_PREPARE_PERSISTENT, &stmt, &tail) != SQLITE_OK) {
      return fail(error(sql).with("while preparing a statement"));
    }
    if (stmt == nullptr) return fail(sqlite_error(file_, sql, "empty SQL statement"));
    it = cache_.emplace(sql, Cached{stmt, false}).first;
  }
  if (it->second.in_use) {
    std::fprintf(stderr, "kiln: sqlite %s: statement already in use: %s\n", file_.c_str(),
                 squeeze(sql).c_str());
    return fail(ErrorCode::kInternal, "a database statement is already in use");
  }
  it->second.in_use = true;
  return Query(*this, it->second.stmt, &it->second.in_use);
}

Result<void> Db::exec(const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string why = message != nullptr ? message : sqlite3_errmsg(db_);
    sqlite3_free(message);
    return fail(sqlite_error(file_, sql, why));
  }
  return {};
}

Transaction::~Transaction() {
  if (!active_ || !db_.in_transaction()) return;  // SQLite may have rolled back already
  // A destructor cannot report a failed ROLLBACK; the next begin() retries it instead.
  if (auto q = db_.query("ROLLBACK")) (void)q->run();
}

Result<void> Transaction::begin(Mode mode) {
  if (db_.in_transaction()) {
    // Only a ROLLBACK that failed in a destructor leaves one open; retry it rather than wedge
    // the connection.
    KILN_STORE_TRY(rollback, db_.query("ROLLBACK"));
    KILN_STORE_CHECK(rollback.run());
  }
  KILN_STORE_TRY(q, db_.query(mode == Mode::kWrite ? "BEGIN IMMEDIATE" : "BEGIN"));
  KILN_STORE_CHECK(q.run());
  active_ = true;
  return {};
}

Result<void> Transaction::commit() {
  KILN_STORE_TRY(q, db_.query("COMMIT"));
  KILN_STORE_CHECK(q.run());  // on failure the destructor rolls back
  active_ = false;
  return {};
}

Result<void> Db::use_wal(bool in_memory) {
  // Leaving rollback mode takes an exclusive lock from a shared one, and SQLite answers BUSY at
  // once, without the busy handler, when another connection is making the same move (a
  // deadlock it refuses to wait on). Processes that open a new data folder together meet this;
  // one of them wins within milliseconds, so the loser retries for about the busy timeout.
  constexpr int kTries = 100;
  constexpr int kPauseMs = 50;
  std::string mode;
  for (int attempt = 1;; ++attempt) {
    KILN_STORE_TRY(q, query("PRAGMA journal_mode = WAL"));
    auto row = q.step();
    if (row) {
      mode = *row ? q.text(0) : "";
      break;
    }
    if ((sqlite3_errcode(db_) & 0xff) != SQLITE_BUSY || attempt == kTries) {
      return fail(std::move(row.error()));
    }
    sqlite3_sleep(kPauseMs);
  }
  if (mode != "wal" && !(in_memory && mode == "memory")) {
    return fail(ErrorCode::kIo,
                "cannot use " + file_ + ": SQLite keeps journal_mode " + mode + " instead of WAL");
  }
  return {};
}

}  // namespace kiln::store
