#include "store/schema.h"

namespace kiln::store {

namespace {

// Version 1. Notes on the choices:
// - builds.seq is an AUTOINCREMENT rowid: SQLite then never reuses a value, even after the
//   newest builds are deleted, so ListBuilds order and page tokens stay stable.
// - build_counters holds the last number given to each project name. It outlives the project
//   and its builds (CodeBuild never reuses a build number), and builds.project references it so
//   every build has a counter.
// - builds.project does not reference projects: a deleted project's builds stay readable.
// - The partial index serves the idempotency lookup of StartBuild, which is the only query on
//   tokens; most builds have none.
const char* const kSchemaV1 = R"sql(
CREATE TABLE projects (
  name TEXT PRIMARY KEY NOT NULL,
  created REAL NOT NULL,
  last_modified REAL NOT NULL,
  json TEXT NOT NULL
);
CREATE INDEX projects_by_created ON projects (created, name);
CREATE INDEX projects_by_last_modified ON projects (last_modified, name);

CREATE TABLE build_counters (
  project TEXT PRIMARY KEY NOT NULL,
  last_number INTEGER NOT NULL
);

CREATE TABLE builds (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  project TEXT NOT NULL REFERENCES build_counters (project),
  number INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('QUEUED', 'RUNNING', 'DONE')),
  submitted REAL NOT NULL,
  idempotency_token TEXT NOT NULL,
  request_json TEXT NOT NULL,
  json TEXT NOT NULL,
  UNIQUE (project, number)
);
CREATE INDEX builds_by_state ON builds (state);
CREATE INDEX builds_by_project_state ON builds (project, state);
CREATE INDEX builds_by_token ON builds (project, idempotency_token, submitted)
  WHERE idempotency_token <> '';
)sql";

// Version 2: resource policies (PutResourcePolicy), one per project. The foreign key deletes a
// project's policy with the project (foreign keys are on: sqlite_store.cpp).
const char* const kSchemaV2 = R"sql(
CREATE TABLE resource_policies (
  project TEXT PRIMARY KEY NOT NULL REFERENCES projects (name) ON DELETE CASCADE,
  policy TEXT NOT NULL
);
)sql";

// Version 3: report groups and reports (docs/reports.md).
// - reports.seq, like builds.seq, is never reused, so listings and page tokens stay stable.
// - reports.group_arn references its group without a cascade: a group with reports is deleted
//   only by deleting them first (DeleteReportGroup's deleteReports). A report's cases and
//   coverages go with it.
// - reports_by_expired serves the expiry sweep; the other indexes the listings' order and the
//   DescribeCodeCoverages sorts.
const char* const kSchemaV3 = R"sql(
CREATE TABLE report_groups (
  arn TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL CHECK (type IN ('TEST', 'CODE_COVERAGE')),
  created REAL NOT NULL,
  last_modified REAL NOT NULL,
  json TEXT NOT NULL
);
CREATE INDEX report_groups_by_created ON report_groups (created, name);
CREATE INDEX report_groups_by_last_modified ON report_groups (last_modified, name);

CREATE TABLE reports (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  arn TEXT NOT NULL UNIQUE,
  group_arn TEXT NOT NULL REFERENCES report_groups (arn),
  build_id TEXT NOT NULL,
  status TEXT NOT NULL,
  created REAL NOT NULL,
  expired REAL NOT NULL,
  json TEXT NOT NULL
);
CREATE INDEX reports_by_group ON reports (group_arn, seq);
CREATE INDEX reports_by_status ON reports (status, seq);
CREATE INDEX reports_by_expired ON reports (expired);

CREATE TABLE test_cases (
  report_arn TEXT NOT NULL REFERENCES reports (arn) ON DELETE CASCADE,
  ordinal INTEGER NOT NULL,
  status TEXT NOT NULL,
  name TEXT NOT NULL,
  prefix TEXT NOT NULL,
  json TEXT NOT NULL,
  PRIMARY KEY (report_arn, ordinal)
) WITHOUT ROWID;

CREATE TABLE code_coverages (
  report_arn TEXT NOT NULL REFERENCES reports (arn) ON DELETE CASCADE,
  ordinal INTEGER NOT NULL,
  file_path TEXT NOT NULL,
  line_percentage REAL NOT NULL,
  json TEXT NOT NULL,
  PRIMARY KEY (report_arn, ordinal)
) WITHOUT ROWID;
CREATE INDEX code_coverages_by_line ON code_coverages (report_arn, line_percentage, ordinal);
CREATE INDEX code_coverages_by_path ON code_coverages (report_arn, file_path, ordinal);
)sql";

// Version 4: build batches (docs/batch.md). Numbered per project by their own counter, as
// CodeBuild numbers buildBatchNumber apart from buildNumber. Member builds are rows of `builds`.
const char* const kSchemaV4 = R"sql(
CREATE TABLE build_batch_counters (
  project TEXT PRIMARY KEY NOT NULL,
  last_number INTEGER NOT NULL
);

CREATE TABLE build_batches (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  project TEXT NOT NULL REFERENCES build_batch_counters (project),
  number INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('QUEUED', 'RUNNING', 'DONE')),
  status TEXT NOT NULL,
  submitted REAL NOT NULL,
  idempotency_token TEXT NOT NULL,
  request_json TEXT NOT NULL,
  json TEXT NOT NULL,
  UNIQUE (project, number)
);
CREATE INDEX build_batches_by_state ON build_batches (state);
CREATE INDEX build_batches_by_project ON build_batches (project, seq);
CREATE INDEX build_batches_by_status ON build_batches (status, seq);
CREATE INDEX build_batches_by_token ON build_batches (project, idempotency_token, submitted)
  WHERE idempotency_token <> '';
)sql";

// Version 5: the webhook deliveries seen, by the provider's delivery id (docs/webhooks.md), so a
// redelivery starts no second build. Rows older than the retention are deleted as new ones come.
const char* const kSchemaV5 = R"sql(
CREATE TABLE webhook_deliveries (
  project TEXT NOT NULL,
  delivery_id TEXT NOT NULL,
  received REAL NOT NULL,
  PRIMARY KEY (project, delivery_id)
);
CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries (received);
)sql";

// Version 6: the scheduler's queued-timeout check asks for the queued builds submitted before a
// time (Store::builds_in_state); without this index it read every queued row, on every wake.
const char* const kSchemaV6 = R"sql(
CREATE INDEX builds_by_state_submitted ON builds (state, submitted);
)sql";

Result<std::int64_t> pragma_int(Db& db, const std::string& pragma) {
  KILN_STORE_TRY(q, db.query("PRAGMA " + pragma));
  KILN_STORE_TRY(row, q.step());
  if (!row) return fail(ErrorCode::kInternal, "PRAGMA " + pragma + " returned no row");
  return q.int64(0);
}

// The first read of a file tells whether SQLite can use it at all.
Error unusable(Db& db, Error cause) {
  const int code = sqlite3_extended_errcode(db.handle()) & 0xff;
  if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT) {
    return Error(ErrorCode::kIo, "cannot use " + db.file() +
                                     ": it is not a SQLite database, or it is corrupt (" +
                                     sqlite3_errmsg(db.handle()) + "); Kiln leaves it untouched");
  }
  return std::move(cause).with("while reading the schema of " + db.file());
}

}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> steps = {
      {1, "create projects and builds", kSchemaV1},
      {2, "create resource_policies", kSchemaV2},
      {3, "create report groups, reports, test cases and code coverages", kSchemaV3},
      {4, "create build batches", kSchemaV4},
      {5, "create webhook_deliveries", kSchemaV5},
      {6, "index builds by state and submission time", kSchemaV6},
  };
  return steps;
}

Result<void> check_schema(Db& db, int known_version) {
  // One snapshot for the reads below: otherwise another process that commits its first
  // migration between them makes a fresh file look like another application's.
  Transaction tx(db);
  if (auto b = tx.begin(Transaction::Mode::kRead); !b)
    return fail(unusable(db, std::move(b.error())));
  auto app = pragma_int(db, "application_id");
  if (!app) return fail(unusable(db, std::move(app.error())));
  auto version = pragma_int(db, "user_version");
  if (!version) return fail(unusable(db, std::move(version.error())));
  auto tables = [&]() -> Result<std::int64_t> {
    KILN_STORE_TRY(q, db.query("SELECT count(*) FROM sqlite_schema"));
    KILN_STORE_TRY(row, q.step());
    if (!row) return fail(ErrorCode::kInternal, "count(*) returned no row");
    return q.int64(0);
  }();
  if (!tables) return fail(unusable(db, std::move(tables.error())));

  // A fresh file has neither id nor tables; anything else without our id is someone else's.
  if (*app != kApplicationId && (*app != 0 || *tables != 0)) {
    return fail(ErrorCode::kInvalidArgument,
                "cannot use " + db.file() + ": it is a SQLite database of another application");
  }
  if (*version > known_version) {
    return fail(ErrorCode::kInvalidArgument,
                "cannot use " + db.file() + ": its schema version " + std::to_string(*version) +
                    " is newer than this Kiln knows (" + std::to_string(known_version) +
                    "); it was written by a newer Kiln, so upgrade Kiln");
  }
  return {};
}

Result<void> quick_check(Db& db) {
  auto findings = [&]() -> Result<std::string> {
    // Up to 5 findings: enough to tell damage from a single bad page without listing thousands.
    KILN_STORE_TRY(q, db.query("PRAGMA quick_check(5)"));
    std::string all;
    for (;;) {
      KILN_STORE_TRY(row, q.step());
      if (!row) break;
      if (!all.empty()) all += "; ";
      for (const char c : q.text(0)) all += c == '\n' ? ' ' : c;
    }
    return all;
  }();
  if (!findings) return fail(unusable(db, std::move(findings.error())));
  if (*findings == "ok") return {};
  return fail(ErrorCode::kIo, "cannot use " + db.file() + ": SQLite's quick_check found damage (" +
                                  *findings +
                                  "); Kiln leaves it untouched: restore the data folder from a "
                                  "backup (kiln backup, docs/server.md)");
}

Result<void> migrate(Db& db, const std::vector<Migration>& steps) {
  KILN_STORE_TRY(before, pragma_int(db, "user_version"));
  for (const Migration& step : steps) {
    if (step.version <= before) continue;
    const std::string context = "while migrating " + db.file() + " to schema version " +
                                std::to_string(step.version) + " (" + step.what + ")";
    auto apply = [&]() -> Result<void> {
      Transaction tx(db);
      KILN_STORE_CHECK(tx.begin(Transaction::Mode::kWrite));
      // Read again under the write lock: another process may have migrated meanwhile.
      KILN_STORE_TRY(current, pragma_int(db, "user_version"));
      if (current >= step.version) return {};
      if (current != step.version - 1) {
        return fail(ErrorCode::kInternal, "schema version " + std::to_string(current) +
                                              " cannot be migrated by this step (a gap)");
      }
      KILN_STORE_CHECK(db.exec(step.sql));
      if (current == 0) {
        KILN_STORE_CHECK(db.exec("PRAGMA application_id = " + std::to_string(kApplicationId)));
      }
      // PRAGMA user_version is part of the transaction: it commits or rolls back with the step.
      KILN_STORE_CHECK(db.exec("PRAGMA user_version = " + std::to_string(step.version)));
      return tx.commit();
    };
    if (auto r = apply(); !r) return fail(std::move(r.error()).with(context));
  }
  return {};
}

}  // namespace kiln::store
