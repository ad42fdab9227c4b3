// SqliteStore: the Store on one SQLite connection (see store.h for the contract and
// open_sqlite, which builds it). Internal to store/.
//
// Thread safety: one mutex serialises every call on the connection. The server's load is a few
// small transactions per build, so a pool of connections would buy nothing worth its locking.
// Other processes may use the same file: writes take the write lock up front (BEGIN IMMEDIATE)
// and wait for it up to the busy timeout.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "store/page_token.h"
#include "store/sqlite_db.h"
#include "store/store.h"

namespace kiln::store {

// The `state` column of builds and build batches (sqlite_builds.cpp).
const char* state_text(BuildState state);
std::optional<BuildState> state_from_text(const std::string& text);

// What builds and build batches share (sqlite_builds.cpp), inside the caller's transaction:
// the next number of `project` in a counter table (build_counters, build_batch_counters), and
// one page of a listing whose query selects (id, key) rows ordered by key, LIMIT limit + 1.
Result<std::int64_t> next_number(Db& db, const std::string& counter_table,
                                 const std::string& project);
Result<Page> read_page(Query& q, const std::string& listing, int limit);

// Every row of `q`, each read by `read_one`.
template <typename Row, typename ReadOne>
Result<std::vector<Row>> read_rows(Query& q, ReadOne read_one) {
  std::vector<Row> out;
  for (;;) {
    KILN_STORE_TRY(more, q.step());
    if (!more) return out;
    KILN_STORE_TRY(row, read_one(q));
    out.push_back(std::move(row));
  }
}

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}

  Result<void> create_project(const ProjectRow& row) override;
  Result<void> update_project(const ProjectRow& row) override;
  Result<bool> delete_project(const std::string& name) override;
  Result<std::vector<ProjectRow>> get_projects(const std::vector<std::string>& names) override;
  Result<Page> list_projects(ProjectSort sort, SortOrder order, const std::string& token,
                             int limit) override;

  Result<std::pair<BuildRow, bool>> insert_build(
      BuildRow row, const std::function<std::string(const BuildRow&)>& json_for = nullptr) override;
  Result<void> update_build(const std::string& id, BuildState state,
                            const std::string& json) override;
  Result<std::vector<BuildRow>> get_builds(const std::vector<std::string>& ids) override;
  Result<std::vector<std::string>> delete_builds(const std::vector<std::string>& ids) override;
  Result<Page> list_builds(SortOrder order, const std::string& token, int limit) override;
  Result<Page> list_builds_for_project(const std::string& project, SortOrder order,
                                       const std::string& token, int limit) override;
  using Store::builds_in_state;
  Result<std::vector<BuildRow>> builds_in_state(BuildState state, int limit,
                                                double submitted_before) override;
  Result<int> count_in_state(const std::string& project, BuildState state) override;

  Result<std::pair<BuildBatchRow, bool>> insert_build_batch(
      BuildBatchRow row,
      const std::function<std::string(const BuildBatchRow&)>& json_for = nullptr) override;
  Result<void> update_build_batch(const std::string& id, BuildState state,
                                  const std::string& status, const std::string& json) override;
  Result<std::vector<BuildBatchRow>> get_build_batches(
      const std::vector<std::string>& ids) override;
  Result<bool> delete_build_batch(const std::string& id) override;
  Result<Page> list_build_batches(const std::string& project, const std::string& status,
                                  SortOrder order, const std::string& token, int limit) override;
  Result<std::vector<BuildBatchRow>> build_batches_in_state(BuildState state) override;

  Result<void> put_resource_policy(const std::string& project, const std::string& policy) override;
  Result<std::optional<std::string>> get_resource_policy(const std::string& project) override;
  Result<bool> delete_resource_policy(const std::string& project) override;
  Result<bool> record_webhook_delivery(const std::string& project, const std::string& delivery_id,
                                       double now, double retention_seconds) override;
  Result<void> forget_webhook_delivery(const std::string& project,
                                       const std::string& delivery_id) override;

  // sqlite_reports.cpp.
  Result<GroupCreated> create_report_group(const ReportGroupRow& row, int max_groups) override;
  Result<void> update_report_group(const ReportGroupRow& row) override;
  Result<std::vector<ReportGroupRow>> get_report_groups(
      const std::vector<std::string>& arns) override;
  Result<Page> list_report_groups(ProjectSort sort, SortOrder order, const std::string& token,
                                  int limit) override;
  Result<bool> delete_report_group(const std::string& arn, bool delete_reports,
                                   double now) override;
  Result<std::int64_t> insert_report(const ReportRow& row, const std::vector<TestCaseRow>& cases,
                                     const std::vector<CoverageRow>& coverages) override;
  Result<std::vector<ReportRow>> get_reports(const std::vector<std::string>& arns,
                                             double now) override;
  Result<Page> list_reports(const std::string& group_arn, const std::string& status,
                            SortOrder order, const std::string& token, int limit,
                            double now) override;
  Result<std::vector<ReportRow>> latest_reports(const std::string& group_arn, int count,
                                                double now) override;
  Result<bool> delete_report(const std::string& arn) override;
  Result<int> delete_expired_reports(double now) override;
  Result<Page> list_test_cases(const std::string& report_arn, const TestCaseFilter& filter,
                               const std::string& token, int limit) override;
  Result<Page> list_code_coverages(const std::string& report_arn, const CoverageQuery& q,
                                   const std::string& token, int limit) override;

 private:
  // A listing of `table`'s `item` column sorted by `column` ("name", "created" or
  // "last_modified"), ties broken by the unique `name` column: ListProjects and
  // ListReportGroups. `listing` names it in page tokens.
  struct SortedListing {
    std::string table;
    std::string item;
    std::string column;
    bool ascending = true;
    std::string listing;
  };

  // Caller holds mu_.
  Result<std::pair<BuildRow, bool>> insert_build_locked(
      BuildRow row, const std::function<std::string(const BuildRow&)>& json_for);
  Result<std::pair<BuildBatchRow, bool>> insert_build_batch_locked(
      BuildBatchRow row, const std::function<std::string(const BuildBatchRow&)>& json_for);
  Result<Page> list_builds_locked(const std::string& project, SortOrder order,
                                  const std::string& token, int limit);
  Result<Page> list_sorted_locked(const SortedListing& l, const std::string& token, int limit);
  Result<std::int64_t> insert_report_locked(const ReportRow& row,
                                            const std::vector<TestCaseRow>& cases,
                                            const std::vector<CoverageRow>& coverages);
  Result<bool> delete_report_group_locked(const std::string& arn, bool delete_reports, double now);

  std::mutex mu_;
  std::unique_ptr<Db> db_;
};

// kInvalidArgument unless 1 <= limit <= kMaxPageSize.
Result<void> check_page_limit(int limit);

// The column of projects and report_groups a sort orders by.
const char* sort_column(ProjectSort sort);

// A page of a listing from `q`, which yields up to limit + 1 rows, the item in column 0: the
// extra row says a page follows, whose token is `listing` with key_of(q) of the page's last row.
Result<Page> read_page(Query& q, const std::string& listing, int limit,
                       const std::function<PageKey(const Query&)>& key_of);

}  // namespace kiln::store
