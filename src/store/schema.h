// Kiln's SQLite schema and how it evolves.
//
// PRAGMA user_version is the schema version: the number of migration steps applied. Each step
// runs in its own transaction together with the version bump, so a crash or failure leaves the
// database at the previous version, never half-migrated. PRAGMA application_id marks the file as
// Kiln's so that another program's database is refused instead of being migrated.
//
// Thread safety: as Db (one thread at a time).
#pragma once

#include <string>
#include <vector>

#include "store/sqlite_db.h"
#include "util/error.h"

namespace kiln::store {

inline constexpr int kApplicationId = 0x4b494c4e;  // "KILN"

struct Migration {
  int version;       // user_version once applied: 1, 2, 3... without gaps
  std::string what;  // for error messages: "create projects and builds"
  std::string sql;   // one or more statements
};

// Kiln's migrations, oldest first. Append only: a released step is never edited.
const std::vector<Migration>& migrations();

// Reads the file's identity and version without writing anything. Fails, naming the file, if it
// is not a SQLite database or is corrupt (kIo), or if it belongs to another application or has a
// schema newer than `known_version` (kInvalidArgument).
Result<void> check_schema(Db& db, int known_version);

// PRAGMA quick_check: SQLite reads every page and checks its structure (not index contents,
// which integrity_check would add at many times the cost). kIo naming the file and SQLite's first
// finding if it reports anything but "ok", so a damaged database stops the server at start
// rather than failing requests later.
Result<void> quick_check(Db& db);

// Applies the steps of `steps` above the file's version, in order, each in its own transaction.
// Safe against another process migrating the same file at the same time.
Result<void> migrate(Db& db, const std::vector<Migration>& steps);

}  // namespace kiln::store
