// The build half of SqliteStore (the project half and open_sqlite are in sqlite_store.cpp).
#include <cmath>
#include <limits>

#include "store/page_token.h"
#include "store/sqlite_store.h"

namespace kiln::store {

const char* state_text(BuildState state) {
  switch (state) {
    case BuildState::kQueued: return "QUEUED";
    case BuildState::kRunning: return "RUNNING";
    case BuildState::kDone: return "DONE";
  }
  return "DONE";
}

std::optional<BuildState> state_from_text(const std::string& text) {
  if (text == "QUEUED") return BuildState::kQueued;
  if (text == "RUNNING") return BuildState::kRunning;
  if (text == "DONE") return BuildState::kDone;
  return std::nullopt;
}

namespace {

// The column list every BuildRow is read with, in read_build's order.
const std::string kBuildColumns =
    "id, project, number, seq, state, submitted, idempotency_token, request_json, json";

Result<BuildRow> read_build(const Query& q) {
  BuildRow row;
  row.id = q.text(0);
  row.project = q.text(1);
  row.number = q.int64(2);
  row.seq = q.int64(3);
  const std::string state = q.text(4);
  const auto parsed = state_from_text(state);
  // The CHECK constraint forbids another value, so the file was edited behind Kiln's back.
  if (!parsed)
    return fail(ErrorCode::kInternal, "build " + row.id + " has an unknown state " + state);
  row.state = *parsed;
  row.submitted = q.real(5);
  row.idempotency_token = q.text(6);
  row.request_json = q.text(7);
  row.json = q.text(8);
  return row;
}

Result<std::vector<BuildRow>> read_builds(Query& q) {
  return read_rows<BuildRow>(q, read_build);
}

}  // namespace

Result<std::pair<BuildRow, bool>> SqliteStore::insert_build(
    BuildRow row, const std::function<std::string(const BuildRow&)>& json_for) {
  if (row.id.empty() || row.project.empty()) {
    return fail(ErrorCode::kInvalidArgument, "a build needs an id and a project");
  }
  std::lock_guard lock(mu_);
  auto r = insert_build_locked(std::move(row), json_for);
  if (!r) return fail(std::move(r.error()).with("while inserting a build"));
  // Under the lock, so observers see one build's writes in the order they were made.
  if (!r->second) written_build(r->first.id, r->first.json);
  return r;
}

Result<std::pair<BuildRow, bool>> SqliteStore::insert_build_locked(
    BuildRow row, const std::function<std::string(const BuildRow&)>& json_for) {
  Transaction tx(*db_);
  KILN_STORE_CHECK(tx.begin(Transaction::Mode::kWrite));
  if (!row.idempotency_token.empty()) {
    // `idempotency_token <> ''` repeats what the binding guarantees so the partial index applies.
    KILN_STORE_TRY(q, db_->query("SELECT " + kBuildColumns +
                                 " FROM builds WHERE project = ? AND idempotency_token = ? AND "
                                 "idempotency_token <> '' AND submitted >= ? "
                                 "ORDER BY seq DESC LIMIT 1"));
    KILN_STORE_CHECK(
        q.bind_all(row.project, row.idempotency_token, row.submitted - kIdempotencyWindowSeconds));
    KILN_STORE_TRY(found, q.step());
    if (found) {
      KILN_STORE_TRY(existing, read_build(q));
      return std::pair{std::move(existing), true};  // nothing written: the rollback is harmless
    }
  }
  {
    KILN_STORE_TRY(number, next_number(*db_, "build_counters", row.project));
    row.number = number;
  }
  if (json_for) row.json = json_for(row);
  {
    KILN_STORE_TRY(q, db_->query("INSERT INTO builds (id, project, number, state, submitted, "
                                 "idempotency_token, request_json, json) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"));
    KILN_STORE_CHECK(q.bind_all(row.id, row.project, row.number, state_text(row.state),
                                row.submitted, row.idempotency_token, row.request_json, row.json));
    KILN_STORE_CHECK(q.run());
    if (db_->changes() == 0) {
      return fail(ErrorCode::kAlreadyExists, "build " + row.id + " already exists");
    }
    row.seq = db_->last_insert_rowid();
  }
  KILN_STORE_CHECK(tx.commit());
  return std::pair{std::move(row), false};
}

Result<void> SqliteStore::update_build(const std::string& id, BuildState state,
                                       const std::string& json) {
  std::lock_guard lock(mu_);
  KILN_STORE_TRY(q, db_->query("UPDATE builds SET state = ?, json = ? WHERE id = ?"));
  KILN_STORE_CHECK(q.bind_all(state_text(state), json, id));
  KILN_STORE_CHECK(q.run());
  if (db_->changes() == 0) return fail(ErrorCode::kNotFound, "build " + id + " not found");
  written_build(id, json);
  return {};
}

Result<std::vector<BuildRow>> SqliteStore::get_builds(const std::vector<std::string>& ids) {
  std::lock_guard lock(mu_);
  Transaction tx(*db_);
  KILN_STORE_CHECK(tx.begin(Transaction::Mode::kRead));
  std::vector<BuildRow> out;
  for (const auto& id : ids) {
    KILN_STORE_TRY(q, db_->query("SELECT " + kBuildColumns + " FROM builds WHERE id = ?"));
    KILN_STORE_CHECK(q.bind(1, id));
    KILN_STORE_TRY(rows, read_builds(q));
    for (auto& row : rows) out.push_back(std::move(row));
  }
  KILN_STORE_CHECK(tx.commit());
  return out;
}

Result<std::vector<std::string>> SqliteStore::delete_builds(const std::vector<std::string>& ids) {
  std::lock_guard lock(mu_);
  Transaction tx(*db_);
  KILN_STORE_CHECK(tx.begin(Transaction::Mode::kWrite));
  std::vector<std::string> deleted;
  for (const auto& id : ids) {
    KILN_STORE_TRY(q, db_->query("DELETE FROM builds WHERE id = ?"));
    KILN_STORE_CHECK(q.bind(1, id));
    KILN_STORE_CHECK(q.run());
    if (db_->changes() > 0) deleted.push_back(id);
  }
  KILN_STORE_CHECK(tx.commit());
  return deleted;
}

Result<Page> SqliteStore::list_builds(SortOrder order, const std::string& token, int limit) {
  std::lock_guard lock(mu_);
  return list_builds_locked("", order, token, limit);
}

Result<Page> SqliteStore::list_builds_for_project(const std::string& project, SortOrder order,
                                                  const std::string& token, int limit) {
  if (project.empty()) return fail(ErrorCode::kInvalidArgument, "empty project name");
  std::lock_guard lock(mu_);
  return list_builds_locked(project, order, token, limit);
}

// One function for both listings: all builds by seq (project ""), or one project's by number.
Result<Page> SqliteStore::list_builds_locked(const std::string& project, SortOrder order,
                                             const std::string& token, int limit) {
  KILN_STORE_CHECK(check_page_limit(limit));
  const bool asc = order == SortOrder::kAscending;
  const std::string listing =
      (project.empty() ? "builds" : "project-builds/" + project) + (asc ? "/asc" : "/desc");
  // seq and number are >= 1, so the first page starts past one end of the range.
  std::int64_t after = asc ? 0 : std::numeric_limits<std::int64_t>::max();
  if (!token.empty()) {
    KILN_STORE_TRY(key, read_page_token(token, listing, "i"));
    after = std::get<std::int64_t>(key[0]);
  }
  const std::string column = project.empty() ? "seq" : "number";
  std::string sql =
      "SELECT id, " + column + " FROM builds WHERE " + column + (asc ? " > ?1" : " < ?1");
  if (!project.empty()) sql += " AND project = ?3";
  sql += " ORDER BY " + column + (asc ? " ASC" : " DESC") + " LIMIT ?2";

  KILN_STORE_TRY(q, db_->query(sql));
  KILN_STORE_CHECK(q.bind(1, after));
  KILN_STORE_CHECK(q.bind(2, limit + 1));  // one more than asked tells whether a page follows
  if (!project.empty()) KILN_STORE_CHECK(q.bind(3, project));
  return read_page(q, listing, limit);
}

Result<std::int64_t> next_number(Db& db, const std::string& counter_table,
                                 const std::string& project) {
  KILN_STORE_TRY(q, db.query("INSERT INTO " + counter_table +
                             " (project, last_number) VALUES (?, 1) "
                             "ON CONFLICT (project) DO UPDATE SET last_number = last_number + 1 "
                             "RETURNING last_number"));
  KILN_STORE_CHECK(q.bind(1, project));
  KILN_STORE_TRY(got, q.step());
  if (!got) return fail(ErrorCode::kInternal, counter_table + " returned no number");
  const std::int64_t number = q.int64(0);
  KILN_STORE_CHECK(q.run());  // finish the statement before the next write
  return number;
}

Result<Page> read_page(Query& q, const std::string& listing, int limit) {
  Page page;
  std::int64_t last = 0;
  for (;;) {
    KILN_STORE_TRY(row, q.step());
    if (!row) break;
    if (static_cast<int>(page.items.size()) == limit) {
      page.next_token = make_page_token(listing, {last});
      break;
    }
    page.items.push_back(q.text(0));
    last = q.int64(1);
  }
  return page;
}

Result<std::vector<BuildRow>> SqliteStore::builds_in_state(BuildState state, int limit,
                                                           double submitted_before) {
  std::lock_guard lock(mu_);
  const auto rows = static_cast<std::int64_t>(limit > 0 ? limit : -1);  // -1: SQLite's "all"
  // Two statements, so each gets its index: (state, seq) walks the queue in order and stops at
  // the limit; (state, submitted) finds the few old enough without reading the others.
  if (std::isinf(submitted_before)) {
    KILN_STORE_TRY(q, db_->query("SELECT " + kBuildColumns +
                                 " FROM builds WHERE state = ? ORDER BY seq LIMIT ?"));
    KILN_STORE_CHECK(q.bind_all(state_text(state), rows));
    return read_builds(q);
  }
  KILN_STORE_TRY(q, db_->query("SELECT " + kBuildColumns +
                               " FROM builds INDEXED BY builds_by_state_submitted WHERE state = ? "
                               "AND submitted < ? ORDER BY seq LIMIT ?"));
  KILN_STORE_CHECK(q.bind_all(state_text(state), submitted_before, rows));
  return read_builds(q);
}

Result<int> SqliteStore::count_in_state(const std::string& project, BuildState state) {
  std::lock_guard lock(mu_);
  KILN_STORE_TRY(q, db_->query("SELECT count(*) FROM builds WHERE project = ? AND state = ?"));
  KILN_STORE_CHECK(q.bind_all(project, state_text(state)));
  KILN_STORE_TRY(row, q.step());
  if (!row) return fail(ErrorCode::kInternal, "count(*) returned no row");
  return static_cast<int>(q.int64(0));
}

}  // namespace kiln::store
