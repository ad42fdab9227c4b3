#include "store/sqlite_store.h"

#include "store/page_token.h"
#include "store/schema.h"

namespace kiln::store {

namespace {

// How long a statement waits for another connection's write lock before failing with
// "database is locked". Kiln's transactions take milliseconds; this only rides out a
// checkpoint or another process (a backup, the sqlite3 shell) holding the lock briefly.
constexpr int kBusyTimeoutMs = 5000;

Result<void> configure(Db& db, bool in_memory) {
  KILN_STORE_CHECK(db.use_wal(in_memory));
  // Durability: with WAL, synchronous=NORMAL fsyncs at checkpoints only, not at each commit. A
  // commit survives a crash of Kiln itself (it is in the OS's page cache), and the file never
  // corrupts, but a power loss or kernel crash can roll back the last commits. For Kiln that is a
  // StartBuild or phase update lost: at restart the scheduler reconciles the builds it finds
  // RUNNING, and clients retry. FULL would add an fsync to every phase change of every build.
  KILN_STORE_CHECK(db.exec("PRAGMA synchronous = NORMAL"));
  KILN_STORE_CHECK(db.exec("PRAGMA foreign_keys = ON"));
  // The pragma is silently ignored by a SQLite built without foreign keys; check it took.
  KILN_STORE_TRY(fk, db.query("PRAGMA foreign_keys"));
  KILN_STORE_TRY(fk_row, fk.step());
  if (!fk_row || fk.int64(0) != 1) {
    return fail(ErrorCode::kIo, "cannot use " + db.file() + ": SQLite refuses foreign keys");
  }
  return {};
}

}  // namespace

const char* sort_column(ProjectSort sort) {
  switch (sort) {
    case ProjectSort::kName: return "name";
    case ProjectSort::kCreatedTime: return "created";
    case ProjectSort::kLastModifiedTime: return "last_modified";
  }
  return "name";
}

Result<void> check_page_limit(int limit) {
  if (limit < 1 || limit > kMaxPageSize) {
    return fail(ErrorCode::kInvalidArgument, "page size " + std::to_string(limit) +
                                                 " is outside 1.." + std::to_string(kMaxPageSize));
  }
  return {};
}

Result<std::unique_ptr<Store>> open_sqlite(const std::filesystem::path& file) {
  KILN_STORE_TRY(db, Db::open(file));
  if (sqlite3_busy_timeout(db->handle(), kBusyTimeoutMs) != SQLITE_OK) {
    return fail(db->error("sqlite3_busy_timeout"));
  }
  const auto& steps = migrations();
  // Before anything writes: a file Kiln cannot use is left exactly as it was.
  KILN_STORE_CHECK(check_schema(*db, steps.back().version));
  KILN_STORE_CHECK(quick_check(*db));
  KILN_STORE_CHECK(configure(*db, file.empty() || file == ":memory:"));
  KILN_STORE_CHECK(migrate(*db, steps));
  return std::make_unique<SqliteStore>(std::move(db));
}

Result<void> SqliteStore::create_project(const ProjectRow& row) {
  std::lock_guard lock(mu_);
  KILN_STORE_TRY(q, db_->query("INSERT INTO projects (name, created, last_modified, json) "
                               "VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING"));
  KILN_STORE_CHECK(q.bind_all(row.name, row.created, row.last_modified, row.json));
  KILN_STORE_CHECK(q.run());
  if (db_->changes() == 0) {
    return fail(ErrorCode::kAlreadyExists, "project " + row.name + " already exists");
  }
  return {};
}

Result<void> SqliteStore::update_project(const ProjectRow& row) {
  std::lock_guard lock(mu_);
  KILN_STORE_TRY(q, db_->query("UPDATE projects SET created = ?, last_modified = ?, json = ? "
                               "WHERE name = ?"));
  KILN_STORE_CHECK(q.bind_all(row.created, row.last_modified, row.json, row.name));
  KILN_STORE_CHECK(q.run());
  if (db_->changes() == 0) return fail(ErrorCode::kNotFound, "project " + row.name + " not found");
  return {};
}

Result<bool> SqliteStore::delete_project(const std::string& name) {
  std::lock_guard lock(mu_);
  KILN_STORE_TRY(q, db_->query("DELETE FROM projects WHERE name = ?"));
  KILN_STORE_CHECK(q.bind(1, name));
  KILN_STORE_CHECK(q.run());
  return db_->changes() > 0;
}

Result<std::vector<ProjectRow>> SqliteStore::get_projects(const std::vector<std::string>& names) {
  std::lock_guard lock(mu_);
  Transaction tx(*db_);
  KILN_STORE_CHECK(tx.begin(Transaction::Mode::kRead));
  std::vector<ProjectRow> out;
  for (const auto& name : names) {
    KILN_STORE_TRY(q, db_->query("SELECT created, last_modified, json FROM projects "
                                 "WHERE name = ?"));
    KILN_STORE_CHECK(q.bind(1, name));
    KILN_STORE_TRY(row, q.step());
    if (row) out.push_back({name, q.real(0), q.real(1), q.text(2)});
  }
  KILN_STORE_CHECK(tx.commit());
  return out;
}

Result<Page> SqliteStore::list_projects(ProjectSort sort, SortOrder order, const std::string& token,
                                        int limit) {
  const bool asc = order == SortOrder::kAscending;
  const std::string column = sort_column(sort);
  std::lock_guard lock(mu_);
  return list_sorted_locked(
      {"projects", "name", column, asc, "projects/" + column + (asc ? "/asc" : "/desc")}, token,
      limit);
}

Result<Page> SqliteStore::list_sorted_locked(const SortedListing& l, const std::string& token,
                                             int limit) {
  KILN_STORE_CHECK(check_page_limit(limit));
  const bool by_name = l.column == "name";
  PageKey after;
  if (!token.empty()) {
    KILN_STORE_TRY(key, read_page_token(token, l.listing, by_name ? "s" : "ds"));
    after = std::move(key);
  }

  // Only names from the callers' fixed lists and fixed words go into the SQL; the key is bound.
  const std::string dir = l.ascending ? " ASC" : " DESC";
  const std::string cmp = l.ascending ? " > " : " < ";
  std::string sql = "SELECT " + l.item + ", name, " + l.column + " FROM " + l.table;
  if (!after.empty() && by_name) sql += " WHERE name" + cmp + "?2";
  if (!after.empty() && !by_name) sql += " WHERE (" + l.column + ", name)" + cmp + "(?2, ?3)";
  sql += " ORDER BY " + l.column + dir;
  if (!by_name) sql += ", name" + dir;
  sql += " LIMIT ?1";

  KILN_STORE_TRY(q, db_->query(sql));
  KILN_STORE_CHECK(q.bind(1, limit + 1));  // one more than asked tells whether a page follows
  if (by_name && !after.empty()) KILN_STORE_CHECK(q.bind(2, std::get<std::string>(after[0])));
  if (!by_name && !after.empty()) {
    KILN_STORE_CHECK(q.bind(2, std::get<double>(after[0])));
    KILN_STORE_CHECK(q.bind(3, std::get<std::string>(after[1])));
  }
  return read_page(q, l.listing, limit, [by_name](const Query& row) {
    return by_name ? PageKey{row.text(1)} : PageKey{row.real(2), row.text(1)};
  });
}

Result<Page> read_page(Query& q, const std::string& listing, int limit,
                       const std::function<PageKey(const Query&)>& key_of) {
  Page page;
  PageKey last;
  for (;;) {
    KILN_STORE_TRY(row, q.step());
    if (!row) break;
    if (static_cast<int>(page.items.size()) == limit) {
      page.next_token = make_page_token(listing, last);
      break;
    }
    page.items.push_back(q.text(0));
    last = key_of(q);
  }
  return page;
}

Result<void> SqliteStore::put_resource_policy(const std::string& project,
                                              const std::string& policy) {
  std::lock_guard lock(mu_);
  // Inserts only for a project that exists; the WHERE also keeps SQLite from reading ON CONFLICT
  // as part of the SELECT's join.
  KILN_STORE_TRY(q, db_->query("INSERT INTO resource_policies (project, policy) "
                               "SELECT name, ? FROM projects WHERE name = ? "
                               "ON CONFLICT (project) DO UPDATE SET policy = excluded.policy"));
  KILN_STORE_CHECK(q.bind_all(policy, project));
  KILN_STORE_CHECK(q.run());
  if (db_->changes() == 0) return fail(ErrorCode::kNotFound, "project " + project + " not found");
  return {};
}

Result<std::optional<std::string>> SqliteStore::get_resource_policy(const std::string& project) {
  std::lock_guard lock(mu_);
  KILN_STORE_TRY(q, db_->query("SELECT policy FROM resource_policies WHERE project = ?"));
  KILN_STORE_CHECK(q.bind(1, project));
  KILN_STORE_TRY(row, q.step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(q.text(0));
}

Result<bool> SqliteStore::delete_resource_policy(const std::string& project) {
  std::lock_guard lock(mu_);
  KILN_STORE_TRY(q, db_->query("DELETE FROM resource_policies WHERE project = ?"));
  KILN_STORE_CHECK(q.bind(1, project));
  KILN_STORE_CHECK(q.run());
  return db_->changes() > 0;
}

Result<bool> SqliteStore::record_webhook_delivery(const std::string& project,
                                                  const std::string& delivery_id, double now,
                                                  double retention_seconds) {
  std::lock_guard lock(mu_);
  Transaction tx(*db_);
  KILN_STORE_CHECK(tx.begin(Transaction::Mode::kWrite));
  {
    KILN_STORE_TRY(gone, db_->query("DELETE FROM webhook_deliveries WHERE received < ?"));
    KILN_STORE_CHECK(gone.bind_all(now - retention_seconds));
    KILN_STORE_CHECK(gone.run());
  }
  KILN_STORE_TRY(q, db_->query("INSERT INTO webhook_deliveries (project, delivery_id, received) "
                               "VALUES (?, ?, ?) ON CONFLICT DO NOTHING"));
  KILN_STORE_CHECK(q.bind_all(project, delivery_id, now));
  KILN_STORE_CHECK(q.run());
  const bool fresh = db_->changes() > 0;
  KILN_STORE_CHECK(tx.commit());
  return fresh;
}

Result<void> SqliteStore::forget_webhook_delivery(const std::string& project,
                                                  const std::string& delivery_id) {
  std::lock_guard lock(mu_);
  KILN_STORE_TRY(
      q, db_->query("DELETE FROM webhook_deliveries WHERE project = ? AND delivery_id = ?"));
  KILN_STORE_CHECK(q.bind_all(project, delivery_id));
  KILN_STORE_CHECK(q.run());
  return {};
}

}  // namespace kiln::store
