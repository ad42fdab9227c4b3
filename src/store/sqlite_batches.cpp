// The build-batch half of SqliteStore (docs/batch.md): the same rules as builds
// (sqlite_builds.cpp), with the batch's own counter and its status kept for ListBuildBatches'
// filter.
#include <limits>

#include "store/page_token.h"
#include "store/sqlite_store.h"

namespace kiln::store {

namespace {

// The column list every BuildBatchRow is read with, in read_batch's order.
const std::string kBatchColumns =
    "id, project, number, seq, state, status, submitted, idempotency_token, request_json, json";

Result<BuildBatchRow> read_batch(const Query& q) {
  BuildBatchRow row;
  row.id = q.text(0);
  row.project = q.text(1);
  row.number = q.int64(2);
  row.seq = q.int64(3);
  const std::string state = q.text(4);
  const auto parsed = state_from_text(state);
  if (!parsed)  // the CHECK constraint forbids it: the file was edited behind Kiln's back
    return fail(ErrorCode::kInternal, "build batch " + row.id + " has an unknown state " + state);
  row.state = *parsed;
  row.status = q.text(5);
  row.submitted = q.real(6);
  row.idempotency_token = q.text(7);
  row.request_json = q.text(8);
  row.json = q.text(9);
  return row;
}

Result<std::vector<BuildBatchRow>> read_batches(Query& q) {
  return read_rows<BuildBatchRow>(q, read_batch);
}

}  // namespace

Result<std::pair<BuildBatchRow, bool>> SqliteStore::insert_build_batch(
    BuildBatchRow row, const std::function<std::string(const BuildBatchRow&)>& json_for) {
  if (row.id.empty() || row.project.empty())
    return fail(ErrorCode::kInvalidArgument, "a build batch needs an id and a project");
  std::lock_guard lock(mu_);
  auto r = insert_build_batch_locked(std::move(row), json_for);
  if (!r) return fail(std::move(r.error()).with("while inserting a build batch"));
  if (!r->second) written_batch(r->first.id, r->first.json);
  return r;
}

Result<std::pair<BuildBatchRow, bool>> SqliteStore::insert_build_batch_locked(
    BuildBatchRow row, const std::function<std::string(const BuildBatchRow&)>& json_for) {
  Transaction tx(*db_);
  KILN_STORE_CHECK(tx.begin(Transaction::Mode::kWrite));
  if (!row.idempotency_token.empty()) {
    KILN_STORE_TRY(q, db_->query("SELECT " + kBatchColumns +
                                 " FROM build_batches WHERE project = ? AND idempotency_token = ? "
                                 "AND idempotency_token <> '' AND submitted >= ? "
                                 "ORDER BY seq DESC LIMIT 1"));
    KILN_STORE_CHECK(
        q.bind_all(row.project, row.idempotency_token, row.submitted - kIdempotencyWindowSeconds));
    KILN_STORE_TRY(found, q.step());
    if (found) {
      KILN_STORE_TRY(existing, read_batch(q));
      return std::pair{std::move(existing), true};
    }
  }
  {
    KILN_STORE_TRY(number, next_number(*db_, "build_batch_counters", row.project));
    row.number = number;
  }
  if (json_for) row.json = json_for(row);
  {
    KILN_STORE_TRY(q, db_->query("INSERT INTO build_batches (id, project, number, state, status, "
                                 "submitted, idempotency_token, request_json, json) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"));
    KILN_STORE_CHECK(q.bind_all(row.id, row.project, row.number, state_text(row.state), row.status,
                                row.submitted, row.idempotency_token, row.request_json, row.json));
    KILN_STORE_CHECK(q.run());
    if (db_->changes() == 0)
      return fail(ErrorCode::kAlreadyExists, "build batch " + row.id + " already exists");
    row.seq = db_->last_insert_rowid();
  }
  KILN_STORE_CHECK(tx.commit());
  return std::pair{std::move(row), false};
}

Result<void> SqliteStore::update_build_batch(const std::string& id, BuildState state,
                                             const std::string& status, const std::string& json) {
  std::lock_guard lock(mu_);
  KILN_STORE_TRY(
      q, db_->query("UPDATE build_batches SET state = ?, status = ?, json = ? WHERE id = ?"));
  KILN_STORE_CHECK(q.bind_all(state_text(state), status, json, id));
  KILN_STORE_CHECK(q.run());
  if (db_->changes() == 0) return fail(ErrorCode::kNotFound, "build batch " + id + " not found");
  written_batch(id, json);
  return {};
}

Result<std::vector<BuildBatchRow>> SqliteStore::get_build_batches(
    const std::vector<std::string>& ids) {
  std::lock_guard lock(mu_);
  Transaction tx(*db_);
  KILN_STORE_CHECK(tx.begin(Transaction::Mode::kRead));
  std::vector<BuildBatchRow> out;
  for (const auto& id : ids) {
    KILN_STORE_TRY(q, db_->query("SELECT " + kBatchColumns + " FROM build_batches WHERE id = ?"));
    KILN_STORE_CHECK(q.bind(1, id));
    KILN_STORE_TRY(rows, read_batches(q));
    for (auto& row : rows) out.push_back(std::move(row));
  }
  KILN_STORE_CHECK(tx.commit());
  return out;
}

Result<bool> SqliteStore::delete_build_batch(const std::string& id) {
  std::lock_guard lock(mu_);
  KILN_STORE_TRY(q, db_->query("DELETE FROM build_batches WHERE id = ?"));
  KILN_STORE_CHECK(q.bind(1, id));
  KILN_STORE_CHECK(q.run());
  return db_->changes() > 0;
}

Result<Page> SqliteStore::list_build_batches(const std::string& project, const std::string& status,
                                             SortOrder order, const std::string& token, int limit) {
  std::lock_guard lock(mu_);
  KILN_STORE_CHECK(check_page_limit(limit));
  const bool asc = order == SortOrder::kAscending;
  // The token names the whole listing, so one cannot be replayed on another project or filter.
  const std::string listing = "batches/" + project + "/" + status + (asc ? "/asc" : "/desc");
  std::int64_t after = asc ? 0 : std::numeric_limits<std::int64_t>::max();
  if (!token.empty()) {
    KILN_STORE_TRY(key, read_page_token(token, listing, "i"));
    after = std::get<std::int64_t>(key[0]);
  }
  std::string sql = "SELECT id, seq FROM build_batches WHERE seq " + std::string(asc ? ">" : "<") +
                    " ?1 AND (?3 = '' OR project = ?3) AND (?4 = '' OR status = ?4) ORDER BY seq " +
                    (asc ? "ASC" : "DESC") + " LIMIT ?2";
  KILN_STORE_TRY(q, db_->query(sql));
  KILN_STORE_CHECK(q.bind(1, after));
  KILN_STORE_CHECK(q.bind(2, limit + 1));  // one more than asked tells whether a page follows
  KILN_STORE_CHECK(q.bind(3, project));
  KILN_STORE_CHECK(q.bind(4, status));
  return read_page(q, listing, limit);
}

Result<std::vector<BuildBatchRow>> SqliteStore::build_batches_in_state(BuildState state) {
  std::lock_guard lock(mu_);
  KILN_STORE_TRY(q, db_->query("SELECT " + kBatchColumns +
                               " FROM build_batches WHERE state = ? ORDER BY seq"));
  KILN_STORE_CHECK(q.bind(1, state_text(state)));
  return read_batches(q);
}

}  // namespace kiln::store
