// SqliteStore: the Store on one SQLite connection (see store.h for the contract and
// open_sqlite, which builds it). Internal to store/.
//
// Thread safety: one mutex serialises every call on the connection. The server's load is a few
// small transactions per build, so a pool of connections would buy nothing worth its locking.
// Other processes may use the same file: writes take the write lock up front (BEGIN IMMEDIATE)
// and wait for it up to the busy timeout.
#pragma once

#include <memory>
#include <mutex>

#include "store/sqlite_db.h"
#include "store/store.h"

namespace kiln::store {

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}

  Result<void> create_project(const ProjectRow& row) override;
  Result<void> update_project(const ProjectRow& row) override;
  Result<bool> delete_project(const std::string& name) override;
  Result<std::vector<ProjectRow>> get_projects(const std::vector<std::string>& names) override;
  Result<Page> list_projects(ProjectSort sort, SortOrder order, const std::string& token,
                             int limit) override;

  Result<std::pair<BuildRow, bool>> insert_build(BuildRow row) override;
  Result<void> update_build(const std::string& id, BuildState state,
                            const std::string& json) override;
  Result<std::vector<BuildRow>> get_builds(const std::vector<std::string>& ids) override;
  Result<std::vector<std::string>> delete_builds(const std::vector<std::string>& ids) override;
  Result<Page> list_builds(SortOrder order, const std::string& token, int limit) override;
  Result<Page> list_builds_for_project(const std::string& project, SortOrder order,
                                       const std::string& token, int limit) override;
  Result<std::vector<BuildRow>> builds_in_state(BuildState state) override;
  Result<int> count_in_state(const std::string& project, BuildState state) override;

  Result<void> put_resource_policy(const std::string& project, const std::string& policy) override;
  Result<std::optional<std::string>> get_resource_policy(const std::string& project) override;
  Result<bool> delete_resource_policy(const std::string& project) override;

 private:
  // Caller holds mu_.
  Result<std::pair<BuildRow, bool>> insert_build_locked(BuildRow row);
  Result<Page> list_builds_locked(const std::string& project, SortOrder order,
                                  const std::string& token, int limit);

  std::mutex mu_;
  std::unique_ptr<Db> db_;
};

// kInvalidArgument unless 1 <= limit <= kMaxPageSize.
Result<void> check_page_limit(int limit);

}  // namespace kiln::store
