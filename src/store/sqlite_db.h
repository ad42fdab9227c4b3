// A thin RAII layer over one SQLite connection (the C API): prepared statements cached by their
// text, typed binds and columns, transactions that roll back unless committed.
//
// Every sqlite3_* result is checked; a failure becomes kIo with SQLite's reason only ("the
// database failed: database is locked"), and the file and the SQL go to stderr, the server's log
// ("kiln: sqlite /data/kiln.db: UPDATE builds SET ...: database is locked"): API responses carry
// store errors, and neither SQL nor a server path belongs there.
//
// Thread safety: none. A Db and its Queries belong to one thread at a time; SqliteStore holds a
// mutex around every use (the connection is opened SQLITE_OPEN_NOMUTEX for that reason).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "util/error.h"

// Unwraps a Result into `var`, or returns its error from the enclosing Result function.
#define KILN_STORE_TRY(var, expr)                                          \
  auto var##_result = (expr);                                              \
  if (!var##_result) return ::kiln::fail(std::move(var##_result.error())); \
  auto& var = *var##_result  // NOLINT(bugprone-macro-parentheses): var names a variable
// Returns the error of a Result<void> from the enclosing Result function.
#define KILN_STORE_CHECK(expr)                               \
  do {                                                       \
    if (auto check_result_ = (expr); !check_result_)         \
      return ::kiln::fail(std::move(check_result_.error())); \
  } while (false)

namespace kiln::store {

class Db;

// One use of a cached prepared statement. Parameters are 1-based, columns 0-based. The
// destructor resets the statement and clears its bindings so the cache can hand it out again;
// a Query must not outlive its Db.
class Query {
 public:
  Query(Db& db, sqlite3_stmt* stmt, bool* in_use) : db_(&db), stmt_(stmt), in_use_(in_use) {}
  Query(Query&& other) noexcept : db_(other.db_), stmt_(other.stmt_), in_use_(other.in_use_) {
    other.stmt_ = nullptr;
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  Query& operator=(Query&&) = delete;
  ~Query();

  Result<void> bind(int index, std::string_view value);
  Result<void> bind(int index, std::int64_t value);
  Result<void> bind(int index, double value);
  Result<void> bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  // Binds the arguments to parameters 1, 2, 3...
  template <typename... Args>
  Result<void> bind_all(const Args&... args) {
    int index = 0;
    Result<void> out;
    // The fold stops at the first failure (&& short-circuits).
    (void)((out = bind(++index, args), out.has_value()) && ...);
    return out;
  }

  // Advances to the next row: true if a row is ready, false when the statement is done.
  Result<bool> step();
  // Steps to completion, for statements that return no rows (INSERT, UPDATE, DELETE).
  Result<void> run();

  // Column readers for the current row. Columns are NOT NULL in Kiln's schema; a NULL reads as
  // "" or 0.
  std::string text(int column) const;
  std::int64_t int64(int column) const;
  double real(int column) const;

 private:
  Error error(const char* what) const;
  Db* db_;
  sqlite3_stmt* stmt_;
  bool* in_use_;
};

class Db {
 public:
  // Opens or creates `file` read-write, with extended result codes. A new file is made 0600. Reads
  // nothing yet: a file that is not a database is only noticed by the first statement.
  static Result<std::unique_ptr<Db>> open(const std::filesystem::path& file);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // The prepared statement for `sql` (one statement), prepared on first use and then cached.
  // kInternal if the statement is already in use by a live Query.
  Result<Query> query(const std::string& sql);
  // Runs `sql` (one or more statements) once, without caching; rows are discarded.
  Result<void> exec(const std::string& sql);

  int changes() const { return sqlite3_changes(db_); }
  std::int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
  bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }
  sqlite3* handle() const { return db_; }
  const std::string& file() const { return file_; }

  // kIo with the connection's last error; the file and the SQL are logged to stderr.
  Error error(std::string_view sql) const;

  // Switches to write-ahead logging and checks it took (an in-memory database keeps "memory").
  // WAL: readers never block the writer, and a commit is one append to the WAL rather than a
  // rewrite of the rollback journal plus the pages. Used by every Kiln database.
  Result<void> use_wal(bool in_memory);

 private:
  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };
  Db(sqlite3* db, std::string file) : db_(db), file_(std::move(file)) {}
  sqlite3* db_;
  std::string file_;
  std::map<std::string, Cached, std::less<>> cache_;
};

// A transaction that is rolled back when destroyed uncommitted.
class Transaction {
 public:
  enum class Mode {
    kRead,   // BEGIN (deferred): a consistent snapshot for multi-statement reads
    kWrite,  // BEGIN IMMEDIATE: takes the write lock up front, so two connections cannot both
             // read and then deadlock upgrading to write (busy_timeout covers the wait)
  };
  explicit Transaction(Db& db) : db_(db) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  Result<void> begin(Mode mode);
  Result<void> commit();

 private:
  Db& db_;
  bool active_ = false;
};

}  // namespace kiln::store
