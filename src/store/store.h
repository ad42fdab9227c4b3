// The server's persistent state: projects, builds, report groups and reports.
//
// Records are CodeBuild JSON documents (Project, Build, ReportGroup, Report, ...) produced by api/
// and server/; the store keeps them as text next to the few columns that queries need (names,
// times, numbers, scheduler state). It does not parse or validate the JSON.
//
// Thread safety: every method of Store may be called from any thread at any time. Failures are
// Results: kAlreadyExists / kNotFound where stated, kInvalidArgument for a bad page token or
// limit, kIo for anything SQLite reports (the message names the SQL and SQLite's reason).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "util/error.h"

namespace kiln::store {

struct ProjectRow {
  std::string name;
  double created = 0;        // epoch seconds
  double last_modified = 0;  // epoch seconds
  std::string json;          // the Project shape
};

// The scheduler's view of a build; buildStatus and phases live in `json`.
enum class BuildState { kQueued, kRunning, kDone };

struct BuildRow {
  std::string id;  // "<project>:<uuid>"
  std::string project;
  std::int64_t number = 0;  // set by insert_build: 1, 2, 3... per project name, never reused
  std::int64_t seq = 0;     // set by insert_build: global submission order, never reused
  BuildState state = BuildState::kQueued;
  double submitted = 0;           // epoch seconds
  std::string idempotency_token;  // may be empty
  std::string request_json;       // what the worker needs to run it
  std::string json;               // the Build shape as last published
};

// A build batch (docs/batch.md): like a build, the scheduler's state beside the BuildBatch JSON.
// Its member builds are ordinary BuildRows whose request names the batch.
struct BuildBatchRow {
  std::string id;  // "<project>:<uuid>"
  std::string project;
  std::int64_t number = 0;  // set by insert_build_batch: buildBatchNumber, per project
  std::int64_t seq = 0;     // set by insert_build_batch: global submission order
  BuildState state = BuildState::kQueued;  // kQueued/kRunning: not complete; kDone: complete
  std::string status;                      // buildBatchStatus, for ListBuildBatches' filter
  double submitted = 0;
  std::string idempotency_token;  // may be empty
  std::string request_json;       // what the coordinator needs to make the member builds
  std::string json;               // the BuildBatch shape (batch/record.h to_json)
};

enum class SortOrder { kAscending, kDescending };
enum class ProjectSort { kName, kCreatedTime, kLastModifiedTime };

// One page of a listing. `next_token` is opaque, differs from page to page, is valid only for
// the same listing (same kind, sort, order and project), and is "" on the last page.
struct Page {
  std::vector<std::string> items;
  std::string next_token;
};

// Pages hold 1..kMaxPageSize items; other limits are kInvalidArgument.
inline constexpr int kMaxPageSize = 100;

// A StartBuild idempotency token names the same build for this long (CodeBuild: 5 minutes).
inline constexpr double kIdempotencyWindowSeconds = 300;

// Reports (docs/reports.md). A report group is named once (name and ARN both unique); its
// reports are kept in creation order (`seq`), with their test cases and per-file coverages in the
// order given. A report is gone once `now` reaches its `expired`: the read methods take `now` and
// never return such a report, and delete_expired_reports removes them with their cases.
struct ReportGroupRow {
  std::string arn;   // arn:aws:codebuild:<region>:<account>:report-group/<name>
  std::string name;  // 2..128 characters (the API checks)
  std::string type;  // TEST | CODE_COVERAGE
  double created = 0;
  double last_modified = 0;
  std::string json;  // the ReportGroup shape
};

struct ReportRow {
  std::string arn;  // arn:aws:codebuild:<region>:<account>:report/<group name>:<uuid>
  std::string group_arn;
  std::string build_id;  // the build's ARN (Report.executionId)
  std::string status;    // ReportStatusType
  double created = 0;
  double expired = 0;
  std::string json;      // the Report shape
  std::int64_t seq = 0;  // set by insert_report: creation order, never reused
};

struct TestCaseRow {
  std::string status;
  std::string name;
  std::string prefix;
  std::string json;  // the TestCase shape
};

struct CoverageRow {
  std::string file_path;
  double line_percentage = 0;
  std::string json;  // the CodeCoverage shape
};

enum class GroupCreated { kCreated, kExists, kAtLimit };
enum class CoverageSort { kLinePercentage, kFilePath };

// DescribeTestCases' filter: "" matches anything. `keyword` matches a case whose name or prefix
// contains it (case-sensitive).
struct TestCaseFilter {
  std::string status;
  std::string keyword;
};

struct CoverageQuery {
  CoverageSort sort = CoverageSort::kFilePath;
  SortOrder order = SortOrder::kAscending;
  double min_line = 0;  // inclusive bounds on line_percentage
  double max_line = 100;
};

// Told of every Build and BuildBatch record the store writes (server/build_feed.h), after the
// write is committed, on the writer's thread. Must be quick and must not call the store.
class WriteObserver {
 public:
  virtual ~WriteObserver() = default;
  virtual void build_written(const std::string& id, const std::string& json) = 0;
  virtual void batch_written(const std::string& id, const std::string& json) = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Set once, before the store is shared between threads; nullptr (the default) tells no one.
  void set_observer(WriteObserver* observer) { observer_ = observer; }

  virtual Result<void> create_project(const ProjectRow& row) = 0;  // kAlreadyExists
  virtual Result<void> update_project(const ProjectRow& row) = 0;  // kNotFound
  // Keeps the project's builds and its build counter (CodeBuild keeps builds of deleted projects).
  virtual Result<bool> delete_project(const std::string& name) = 0;  // false if absent
  // The projects that exist, in request order (a repeated name repeats its row).
  virtual Result<std::vector<ProjectRow>> get_projects(const std::vector<std::string>& names) = 0;
  // items = names; ties in time are broken by name, in the same order.
  virtual Result<Page> list_projects(ProjectSort sort, SortOrder order, const std::string& token,
                                     int limit) = 0;

  // Assigns `number` and `seq` and inserts, in one transaction. If `idempotency_token` is not
  // empty and a build of the same project carries it with `submitted` no more than
  // kIdempotencyWindowSeconds before this row's `submitted`, inserts nothing and returns that
  // build with `true`. A duplicate id is kAlreadyExists. `json_for`, when given, makes the row's
  // json from the numbered row inside the transaction (the Build shape carries buildNumber), so
  // one write stores the build whole.
  virtual Result<std::pair<BuildRow, bool /*existing*/>> insert_build(
      BuildRow row, const std::function<std::string(const BuildRow&)>& json_for = nullptr) = 0;
  virtual Result<void> update_build(const std::string& id, BuildState state,
                                    const std::string& json) = 0;  // kNotFound
  // The builds that exist, in request order (a repeated id repeats its row).
  virtual Result<std::vector<BuildRow>> get_builds(const std::vector<std::string>& ids) = 0;
  // Returns the ids actually deleted, in request order.
  virtual Result<std::vector<std::string>> delete_builds(const std::vector<std::string>& ids) = 0;
  // ListBuilds: ids ordered by seq.
  virtual Result<Page> list_builds(SortOrder order, const std::string& token, int limit) = 0;
  // ListBuildsForProject: ids ordered by number.
  virtual Result<Page> list_builds_for_project(const std::string& project, SortOrder order,
                                               const std::string& token, int limit) = 0;
  // Ordered by seq: the first `limit` (all when 0) of those submitted before `submitted_before`.
  // The scheduler asks for only what it can use, so a long queue costs it no full read.
  virtual Result<std::vector<BuildRow>> builds_in_state(BuildState state, int limit,
                                                        double submitted_before) = 0;
  Result<std::vector<BuildRow>> builds_in_state(BuildState state) {
    return builds_in_state(state, 0, std::numeric_limits<double>::infinity());
  }
  virtual Result<int> count_in_state(const std::string& project, BuildState state) = 0;

  // Build batches (sqlite_batches.cpp), with the same rules as builds: insert_build_batch
  // assigns number and seq and honours the idempotency token as insert_build does (its own
  // tokens, not builds'); update_build_batch replaces state, status and json (kNotFound).
  // `json_for`, when given, makes the row's json from the numbered row inside the insert's
  // transaction, so the stored BuildBatch carries its buildBatchNumber from the first moment a
  // reader (the batch coordinator) can see it.
  virtual Result<std::pair<BuildBatchRow, bool /*existing*/>> insert_build_batch(
      BuildBatchRow row,
      const std::function<std::string(const BuildBatchRow&)>& json_for = nullptr) = 0;
  virtual Result<void> update_build_batch(const std::string& id, BuildState state,
                                          const std::string& status, const std::string& json) = 0;
  // The batches that exist, in request order (a repeated id repeats its row).
  virtual Result<std::vector<BuildBatchRow>> get_build_batches(
      const std::vector<std::string>& ids) = 0;
  virtual Result<bool> delete_build_batch(const std::string& id) = 0;  // false if absent
  // ListBuildBatches (project "") and ListBuildBatchesForProject: ids by seq, of one status or
  // of any (""). A token is valid only for the same project, status and order.
  virtual Result<Page> list_build_batches(const std::string& project, const std::string& status,
                                          SortOrder order, const std::string& token, int limit) = 0;
  virtual Result<std::vector<BuildBatchRow>> build_batches_in_state(BuildState state) = 0;

  // A project's resource policy (PutResourcePolicy), kept as given: one per project, replaced by
  // the next put, deleted with the project. kNotFound when the project does not exist.
  virtual Result<void> put_resource_policy(const std::string& project,
                                           const std::string& policy) = 0;
  // nullopt when the project has none.
  virtual Result<std::optional<std::string>> get_resource_policy(const std::string& project) = 0;
  virtual Result<bool> delete_resource_policy(const std::string& project) = 0;  // false if none

  // Webhook deliveries. Records (project, delivery id) at `now` and answers true when it is new,
  // false when that delivery was already recorded (a redelivery). Deliveries older than
  // `now - retention_seconds` are forgotten in the same transaction, so the table stays bounded.
  virtual Result<bool> record_webhook_delivery(const std::string& project,
                                               const std::string& delivery_id, double now,
                                               double retention_seconds) = 0;
  // Forgets a recorded delivery (its build could not be queued, so a redelivery may retry it).
  virtual Result<void> forget_webhook_delivery(const std::string& project,
                                               const std::string& delivery_id) = 0;

  // Report groups (sqlite_reports.cpp). Creates the group unless its name or ARN is taken
  // (kExists) or `max_groups` groups exist already (kAtLimit), in one transaction.
  virtual Result<GroupCreated> create_report_group(const ReportGroupRow& row, int max_groups) = 0;
  virtual Result<void> update_report_group(const ReportGroupRow& row) = 0;  // by ARN; kNotFound
  // The groups that exist, in request order (a repeated ARN repeats its row).
  virtual Result<std::vector<ReportGroupRow>> get_report_groups(
      const std::vector<std::string>& arns) = 0;
  // items = ARNs, sorted as list_projects sorts (ties in time broken by name).
  virtual Result<Page> list_report_groups(ProjectSort sort, SortOrder order,
                                          const std::string& token, int limit) = 0;
  // Removes the group's expired reports, then the group: false if there is none. A group that
  // still has reports is kInvalidArgument unless `delete_reports`, which deletes them with it.
  virtual Result<bool> delete_report_group(const std::string& arn, bool delete_reports,
                                           double now) = 0;

  // Reports. Inserts the report with its cases and coverages in one transaction and returns its
  // seq; kAlreadyExists for a taken ARN, kNotFound when its group does not exist.
  virtual Result<std::int64_t> insert_report(const ReportRow& row,
                                             const std::vector<TestCaseRow>& cases,
                                             const std::vector<CoverageRow>& coverages) = 0;
  // The reports that exist and have not expired at `now`, in request order.
  virtual Result<std::vector<ReportRow>> get_reports(const std::vector<std::string>& arns,
                                                     double now) = 0;
  // items = ARNs in creation order, of one group (`group_arn`) or of all ("") and of one status
  // or of any ("").
  virtual Result<Page> list_reports(const std::string& group_arn, const std::string& status,
                                    SortOrder order, const std::string& token, int limit,
                                    double now) = 0;
  // The newest `count` reports of the group that have not expired, newest first.
  virtual Result<std::vector<ReportRow>> latest_reports(const std::string& group_arn, int count,
                                                        double now) = 0;
  virtual Result<bool> delete_report(const std::string& arn) = 0;  // false if absent
  // How many reports (and with them their cases and coverages) were removed.
  virtual Result<int> delete_expired_reports(double now) = 0;
  // items = the TestCase JSON texts of the report, in the order inserted. The caller checks that
  // the report exists and has not expired.
  virtual Result<Page> list_test_cases(const std::string& report_arn, const TestCaseFilter& filter,
                                       const std::string& token, int limit) = 0;
  // items = the CodeCoverage JSON texts of the report within the bounds, sorted (ties in the
  // order inserted, reversed for kDescending). The caller checks the report as for
  // list_test_cases.
  virtual Result<Page> list_code_coverages(const std::string& report_arn, const CoverageQuery& q,
                                           const std::string& token, int limit) = 0;

 protected:
  // Implementations call these after a write of that record is committed.
  void written_build(const std::string& id, const std::string& json) const {
    if (observer_ != nullptr) observer_->build_written(id, json);
  }
  void written_batch(const std::string& id, const std::string& json) const {
    if (observer_ != nullptr) observer_->batch_written(id, json);
  }

 private:
  WriteObserver* observer_ = nullptr;
};

// Opens (creating if needed) the SQLite database `file` and brings its schema up to date.
// ":memory:" gives a private in-memory database. Fails, naming the file and leaving it untouched,
// if it is not a SQLite database, is corrupt, belongs to another application, or has a schema
// newer than this Kiln.
Result<std::unique_ptr<Store>> open_sqlite(const std::filesystem::path& file);

}  // namespace kiln::store
