// The report half of SqliteStore: report groups, reports, test cases and code coverages
// (store.h; schema version 3 in schema.cpp).
#include <cstdio>
#include <limits>

#include "store/page_token.h"
#include "store/sqlite_store.h"

namespace kiln::store {

namespace {

// The column list every ReportRow is read with, in read_report's order.
const std::string kReportColumns = "arn, group_arn, build_id, status, created, expired, json, seq";

ReportRow read_report(const Query& q) {
  ReportRow row;
  row.arn = q.text(0);
  row.group_arn = q.text(1);
  row.build_id = q.text(2);
  row.status = q.text(3);
  row.created = q.real(4);
  row.expired = q.real(5);
  row.json = q.text(6);
  row.seq = q.int64(7);
  return row;
}

Result<std::vector<ReportRow>> read_reports(Query& q) {
  std::vector<ReportRow> out;
  for (;;) {
    KILN_STORE_TRY(more, q.step());
    if (!more) return out;
    out.push_back(read_report(q));
  }
}

Result<std::int64_t> count(Query& q) {
  KILN_STORE_TRY(row, q.step());
  if (!row) return fail(ErrorCode::kInternal, "count(*) returned no row");
  return q.int64(0);
}

// A bound of a coverage listing as its page tokens name it: every bit, so two listings that
// differ only in a bound never share tokens.
std::string exact(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

}  // namespace

Result<GroupCreated> SqliteStore::create_report_group(const ReportGroupRow& row, int max_groups) {
  std::lock_guard lock(mu_);
  Transaction tx(*db_);
  KILN_STORE_CHECK(tx.begin(Transaction::Mode::kWrite));
  {
    KILN_STORE_TRY(q, db_->query("SELECT count(*) FROM report_groups WHERE arn = ? OR name = ?"));
    KILN_STORE_CHECK(q.bind_all(row.arn, row.name));
    KILN_STORE_TRY(taken, count(q));
    if (taken > 0) return GroupCreated::kExists;
  }
  {
    KILN_STORE_TRY(q, db_->query("SELECT count(*) FROM report_groups"));
    KILN_STORE_TRY(groups, count(q));
    if (groups >= max_groups) return GroupCreated::kAtLimit;
  }
  {
    KILN_STORE_TRY(q, db_->query("INSERT INTO report_groups (arn, name, type, created, "
                                 "last_modified, json) VALUES (?, ?, ?, ?, ?, ?)"));
    KILN_STORE_CHECK(
        q.bind_all(row.arn, row.name, row.type, row.created, row.last_modified, row.json));
    KILN_STORE_CHECK(q.run());
  }
  KILN_STORE_CHECK(tx.commit());
  return GroupCreated::kCreated;
}

Result<void> SqliteStore::update_report_group(const ReportGroupRow& row) {
  std::lock_guard lock(mu_);
  KILN_STORE_TRY(q, db_->query("UPDATE report_groups SET last_modified = ?, json = ? "
                               "WHERE arn = ?"));
  KILN_STORE_CHECK(q.bind_all(row.last_modified, row.json, row.arn));
  KILN_STORE_CHECK(q.run());
  if (db_->changes() == 0) {
    return fail(ErrorCode::kNotFound, "report group " + row.arn + " not found");
  }
  return {};
}

Result<std::vector<ReportGroupRow>> SqliteStore::get_report_groups(
    const std::vector<std::string>& arns) {
  std::lock_guard lock(mu_);
  Transaction tx(*db_);
  KILN_STORE_CHECK(tx.begin(Transaction::Mode::kRead));
  std::vector<ReportGroupRow> out;
  for (const auto& arn : arns) {
    KILN_STORE_TRY(q, db_->query("SELECT name, type, created, last_modified, json "
                                 "FROM report_groups WHERE arn = ?"));
    KILN_STORE_CHECK(q.bind(1, arn));
    KILN_STORE_TRY(row, q.step());
    if (row) out.push_back({arn, q.text(0), q.text(1), q.real(2), q.real(3), q.text(4)});
  }
  KILN_STORE_CHECK(tx.commit());
  return out;
}

Result<Page> SqliteStore::list_report_groups(ProjectSort sort, SortOrder order,
                                             const std::string& token, int limit) {
  const bool asc = order == SortOrder::kAscending;
  const std::string column = sort_column(sort);
  std::lock_guard lock(mu_);
  return list_sorted_locked(
      {"report_groups", "arn", column, asc, "report-groups/" + column + (asc ? "/asc" : "/desc")},
      token, limit);
}

Result<bool> SqliteStore::delete_report_group(const std::string& arn, bool delete_reports,
                                              double now) {
  std::lock_guard lock(mu_);
  auto r = delete_report_group_locked(arn, delete_reports, now);
  if (!r && r.error().code() != ErrorCode::kInvalidArgument)
    return fail(std::move(r.error()).with("while deleting report group " + arn));
  return r;
}

Result<bool> SqliteStore::delete_report_group_locked(const std::string& arn, bool delete_reports,
                                                     double now) {
  Transaction tx(*db_);
  KILN_STORE_CHECK(tx.begin(Transaction::Mode::kWrite));
  {
    KILN_STORE_TRY(q, db_->query("DELETE FROM reports WHERE group_arn = ? AND expired <= ?"));
    KILN_STORE_CHECK(q.bind_all(arn, now));
    KILN_STORE_CHECK(q.run());
  }
  std::int64_t reports = 0;
  {
    KILN_STORE_TRY(q, db_->query("SELECT count(*) FROM reports WHERE group_arn = ?"));
    KILN_STORE_CHECK(q.bind(1, arn));
    KILN_STORE_TRY(n, count(q));
    reports = n;
  }
  if (reports > 0 && !delete_reports) {
    // Nothing is kept of the attempt but the expired reports' removal, which is due anyway.
    KILN_STORE_CHECK(tx.commit());
    return fail(ErrorCode::kInvalidArgument,
                "report group " + arn + " still has " + std::to_string(reports) + " report(s)");
  }
  if (reports > 0) {
    KILN_STORE_TRY(q, db_->query("DELETE FROM reports WHERE group_arn = ?"));
    KILN_STORE_CHECK(q.bind(1, arn));
    KILN_STORE_CHECK(q.run());
  }
  bool deleted = false;
  {
    KILN_STORE_TRY(q, db_->query("DELETE FROM report_groups WHERE arn = ?"));
    KILN_STORE_CHECK(q.bind(1, arn));
    KILN_STORE_CHECK(q.run());
    deleted = db_->changes() > 0;
  }
  KILN_STORE_CHECK(tx.commit());
  return deleted;
}

Result<std::int64_t> SqliteStore::insert_report(const ReportRow& row,
                                                const std::vector<TestCaseRow>& cases,
                                                const std::vector<CoverageRow>& coverages) {
  if (row.arn.empty() || row.group_arn.empty()) {
    return fail(ErrorCode::kInvalidArgument, "a report needs an ARN and a group");
  }
  std::lock_guard lock(mu_);
  auto r = insert_report_locked(row, cases, coverages);
  if (!r) return fail(std::move(r.error()).with("while inserting report " + row.arn));
  return r;
}

Result<std::int64_t> SqliteStore::insert_report_locked(const ReportRow& row,
                                                       const std::vector<TestCaseRow>& cases,
                                                       const std::vector<CoverageRow>& coverages) {
  Transaction tx(*db_);
  KILN_STORE_CHECK(tx.begin(Transaction::Mode::kWrite));
  {
    // Checked first so a missing group is kNotFound rather than SQLite's foreign-key failure.
    KILN_STORE_TRY(q, db_->query("SELECT count(*) FROM report_groups WHERE arn = ?"));
    KILN_STORE_CHECK(q.bind(1, row.group_arn));
    KILN_STORE_TRY(groups, count(q));
    if (groups == 0) {
      return fail(ErrorCode::kNotFound, "report group " + row.group_arn + " not found");
    }
  }
  std::int64_t seq = 0;
  {
    KILN_STORE_TRY(q, db_->query("INSERT INTO reports (arn, group_arn, build_id, status, created, "
                                 "expired, json) VALUES (?, ?, ?, ?, ?, ?, ?) "
                                 "ON CONFLICT (arn) DO NOTHING"));
    KILN_STORE_CHECK(q.bind_all(row.arn, row.group_arn, row.build_id, row.status, row.created,
                                row.expired, row.json));
    KILN_STORE_CHECK(q.run());
    if (db_->changes() == 0) {
      return fail(ErrorCode::kAlreadyExists, "report " + row.arn + " already exists");
    }
    seq = db_->last_insert_rowid();
  }
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const TestCaseRow& c = cases[i];
    KILN_STORE_TRY(q, db_->query("INSERT INTO test_cases (report_arn, ordinal, status, name, "
                                 "prefix, json) VALUES (?, ?, ?, ?, ?, ?)"));
    KILN_STORE_CHECK(
        q.bind_all(row.arn, static_cast<std::int64_t>(i), c.status, c.name, c.prefix, c.json));
    KILN_STORE_CHECK(q.run());
  }
  for (std::size_t i = 0; i < coverages.size(); ++i) {
    const CoverageRow& c = coverages[i];
    KILN_STORE_TRY(q, db_->query("INSERT INTO code_coverages (report_arn, ordinal, file_path, "
                                 "line_percentage, json) VALUES (?, ?, ?, ?, ?)"));
    KILN_STORE_CHECK(
        q.bind_all(row.arn, static_cast<std::int64_t>(i), c.file_path, c.line_percentage, c.json));
    KILN_STORE_CHECK(q.run());
  }
  KILN_STORE_CHECK(tx.commit());
  return seq;
}

Result<std::vector<ReportRow>> SqliteStore::get_reports(const std::vector<std::string>& arns,
                                                        double now) {
  std::lock_guard lock(mu_);
  Transaction tx(*db_);
  KILN_STORE_CHECK(tx.begin(Transaction::Mode::kRead));
  std::vector<ReportRow> out;
  for (const auto& arn : arns) {
    KILN_STORE_TRY(
        q, db_->query("SELECT " + kReportColumns + " FROM reports WHERE arn = ? AND expired > ?"));
    KILN_STORE_CHECK(q.bind_all(arn, now));
    KILN_STORE_TRY(rows, read_reports(q));
    for (auto& r : rows) out.push_back(std::move(r));
  }
  KILN_STORE_CHECK(tx.commit());
  return out;
}

Result<Page> SqliteStore::list_reports(const std::string& group_arn, const std::string& status,
                                       SortOrder order, const std::string& token, int limit,
                                       double now) {
  KILN_STORE_CHECK(check_page_limit(limit));
  const bool asc = order == SortOrder::kAscending;
  // Length-prefixed, so that no group ARN and status can spell another listing's name.
  const std::string listing = "reports/" + std::to_string(group_arn.size()) + ":" + group_arn +
                              "/" + status + (asc ? "/asc" : "/desc");
  // seq is >= 1, so the first page starts past one end of the range.
  std::int64_t after = asc ? 0 : std::numeric_limits<std::int64_t>::max();
  if (!token.empty()) {
    KILN_STORE_TRY(key, read_page_token(token, listing, "i"));
    after = std::get<std::int64_t>(key[0]);
  }
  std::string sql = "SELECT arn, seq FROM reports WHERE seq" + std::string(asc ? " > " : " < ") +
                    "?1 AND expired > ?3";
  if (!group_arn.empty()) sql += " AND group_arn = ?4";
  if (!status.empty()) sql += " AND status = ?5";
  sql += " ORDER BY seq" + std::string(asc ? " ASC" : " DESC") + " LIMIT ?2";

  std::lock_guard lock(mu_);
  KILN_STORE_TRY(q, db_->query(sql));
  KILN_STORE_CHECK(q.bind(1, after));
  KILN_STORE_CHECK(q.bind(2, limit + 1));  // one more than asked tells whether a page follows
  KILN_STORE_CHECK(q.bind(3, now));
  if (!group_arn.empty()) KILN_STORE_CHECK(q.bind(4, group_arn));
  if (!status.empty()) KILN_STORE_CHECK(q.bind(5, status));
  return read_page(q, listing, limit, [](const Query& row) { return PageKey{row.int64(1)}; });
}

Result<std::vector<ReportRow>> SqliteStore::latest_reports(const std::string& group_arn, int count,
                                                           double now) {
  std::lock_guard lock(mu_);
  KILN_STORE_TRY(q, db_->query("SELECT " + kReportColumns +
                               " FROM reports WHERE group_arn = ? AND expired > ? "
                               "ORDER BY seq DESC LIMIT ?"));
  KILN_STORE_CHECK(q.bind_all(group_arn, now, count));
  return read_reports(q);
}

Result<bool> SqliteStore::delete_report(const std::string& arn) {
  std::lock_guard lock(mu_);
  KILN_STORE_TRY(q, db_->query("DELETE FROM reports WHERE arn = ?"));
  KILN_STORE_CHECK(q.bind(1, arn));
  KILN_STORE_CHECK(q.run());
  return db_->changes() > 0;  // the cases and coverages that went with it are not counted
}

Result<int> SqliteStore::delete_expired_reports(double now) {
  std::lock_guard lock(mu_);
  KILN_STORE_TRY(q, db_->query("DELETE FROM reports WHERE expired <= ?"));
  KILN_STORE_CHECK(q.bind(1, now));
  KILN_STORE_CHECK(q.run());
  return db_->changes();
}

Result<Page> SqliteStore::list_test_cases(const std::string& report_arn,
                                          const TestCaseFilter& filter, const std::string& token,
                                          int limit) {
  KILN_STORE_CHECK(check_page_limit(limit));
  const std::string listing = "test-cases/" + std::to_string(report_arn.size()) + ":" + report_arn +
                              "/" + std::to_string(filter.status.size()) + ":" + filter.status +
                              "/" + filter.keyword;
  std::int64_t after = -1;  // ordinals start at 0
  if (!token.empty()) {
    KILN_STORE_TRY(key, read_page_token(token, listing, "i"));
    after = std::get<std::int64_t>(key[0]);
  }
  std::string sql = "SELECT json, ordinal FROM test_cases WHERE report_arn = ?1 AND ordinal > ?2";
  if (!filter.status.empty()) sql += " AND status = ?4";
  // instr, not LIKE: a keyword is matched as written, case and wildcards included.
  if (!filter.keyword.empty()) sql += " AND (instr(name, ?5) > 0 OR instr(prefix, ?5) > 0)";
  sql += " ORDER BY ordinal LIMIT ?3";

  std::lock_guard lock(mu_);
  KILN_STORE_TRY(q, db_->query(sql));
  KILN_STORE_CHECK(q.bind_all(report_arn, after, limit + 1));
  if (!filter.status.empty()) KILN_STORE_CHECK(q.bind(4, filter.status));
  if (!filter.keyword.empty()) KILN_STORE_CHECK(q.bind(5, filter.keyword));
  return read_page(q, listing, limit, [](const Query& row) { return PageKey{row.int64(1)}; });
}

Result<Page> SqliteStore::list_code_coverages(const std::string& report_arn,
                                              const CoverageQuery& cq, const std::string& token,
                                              int limit) {
  KILN_STORE_CHECK(check_page_limit(limit));
  const bool by_path = cq.sort == CoverageSort::kFilePath;
  const bool asc = cq.order == SortOrder::kAscending;
  const std::string column = by_path ? "file_path" : "line_percentage";
  const std::string listing = "coverages/" + std::to_string(report_arn.size()) + ":" + report_arn +
                              "/" + column + (asc ? "/asc/" : "/desc/") + exact(cq.min_line) + "/" +
                              exact(cq.max_line);
  PageKey after;
  if (!token.empty()) {
    KILN_STORE_TRY(key, read_page_token(token, listing, by_path ? "si" : "di"));
    after = std::move(key);
  }
  const std::string dir = asc ? " ASC" : " DESC";
  std::string sql = "SELECT json, " + column +
                    ", ordinal FROM code_coverages WHERE report_arn = ?1 "
                    "AND line_percentage >= ?2 AND line_percentage <= ?3";
  if (!after.empty()) sql += " AND (" + column + ", ordinal)" + (asc ? " > " : " < ") + "(?5, ?6)";
  sql += " ORDER BY " + column + dir + ", ordinal" + dir + " LIMIT ?4";

  std::lock_guard lock(mu_);
  KILN_STORE_TRY(q, db_->query(sql));
  KILN_STORE_CHECK(q.bind_all(report_arn, cq.min_line, cq.max_line, limit + 1));
  if (!after.empty()) {
    if (by_path) {
      KILN_STORE_CHECK(q.bind(5, std::get<std::string>(after[0])));
    } else {
      KILN_STORE_CHECK(q.bind(5, std::get<double>(after[0])));
    }
    KILN_STORE_CHECK(q.bind(6, std::get<std::int64_t>(after[1])));
  }
  return read_page(q, listing, limit, [by_path](const Query& row) {
    return by_path ? PageKey{row.text(1), row.int64(2)} : PageKey{row.real(1), row.int64(2)};
  });
}

}  // namespace kiln::store
