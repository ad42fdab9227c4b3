// open_sqlite on real files: persistence, pragmas, migrations, and files it must refuse.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "store/schema.h"
#include "store/sqlite_db.h"
#include "store/store.h"

namespace kiln::store {
namespace {

namespace fs = std::filesystem;

// A temporary directory, kept and printed when the test failed.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "kiln-store-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    root_ = tmpl;
  }
  ~TempDir() {
    if (::testing::Test::HasFailure()) {
      std::cerr << "test data left in " << root_ << "\n";
      return;
    }
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  fs::path operator/(const std::string& name) const { return root_ / name; }

 private:
  fs::path root_;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Runs SQL on the file through a raw connection, as another program would.
void raw_exec(const fs::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
  sqlite3_free(err);
  ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
}

std::string raw_pragma(const fs::path& file, const std::string& pragma) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, ("PRAGMA " + pragma).c_str(), -1, &stmt, nullptr), SQLITE_OK);
  std::string out;
  if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  EXPECT_EQ(sqlite3_close(db), SQLITE_OK);
  return out;
}

BuildRow build(const std::string& project, const std::string& uuid) {
  BuildRow row;
  row.id = project + ":" + uuid;
  row.project = project;
  row.submitted = 1000;
  row.request_json = R"({"request":{}})";
  row.json = "{}";
  return row;
}

TEST(StoreOpen, EverythingPersistsAcrossReopen) {
  TempDir dir;
  const fs::path file = dir / "kiln.db";
  {
    auto store = open_sqlite(file);
    ASSERT_TRUE(store) << store.error().describe();
    ASSERT_TRUE((*store)->create_project({"web", 10, 20, R"({"name":"web"})"}));
    auto b = (*store)->insert_build(build("web", "u1"));
    ASSERT_TRUE(b);
    ASSERT_TRUE((*store)->update_build("web:u1", BuildState::kRunning, R"({"id":"web:u1"})"));
  }
  auto store = open_sqlite(file);
  ASSERT_TRUE(store) << store.error().describe();
  auto projects = (*store)->get_projects({"web"});
  ASSERT_TRUE(projects);
  ASSERT_EQ(projects->size(), 1U);
  EXPECT_EQ((*projects)[0].created, 10);
  EXPECT_EQ((*projects)[0].last_modified, 20);
  EXPECT_EQ((*projects)[0].json, R"({"name":"web"})");
  auto builds = (*store)->get_builds({"web:u1"});
  ASSERT_TRUE(builds);
  ASSERT_EQ(builds->size(), 1U);
  EXPECT_EQ((*builds)[0].state, BuildState::kRunning);
  EXPECT_EQ((*builds)[0].number, 1);
  EXPECT_EQ((*builds)[0].json, R"({"id":"web:u1"})");
  EXPECT_EQ((*builds)[0].request_json, R"({"request":{}})");
}

TEST(StoreOpen, UsesWalAndRecordsTheSchema) {
  TempDir dir;
  const fs::path file = dir / "kiln.db";
  ASSERT_TRUE(open_sqlite(file));
  EXPECT_EQ(raw_pragma(file, "journal_mode"), "wal");
  EXPECT_EQ(raw_pragma(file, "user_version"), std::to_string(migrations().back().version));
  EXPECT_EQ(raw_pragma(file, "application_id"), std::to_string(kApplicationId));
}

TEST(StoreOpen, InMemoryWorks) {
  auto store = open_sqlite(":memory:");
  ASSERT_TRUE(store) << store.error().describe();
  EXPECT_TRUE((*store)->create_project({"p", 1, 1, "{}"}));
}

TEST(StoreOpen, RefusesGarbageWithoutTouchingIt) {
  TempDir dir;
  for (const std::string& content :
       {std::string("hello, not a database\n"), std::string(8192, '\x5a')}) {
    const fs::path file = dir / "garbage.db";
    std::ofstream(file, std::ios::binary) << content;
    auto store = open_sqlite(file);
    ASSERT_FALSE(store);
    EXPECT_EQ(store.error().code(), ErrorCode::kIo);
    const std::string text = store.error().describe();
    EXPECT_NE(text.find(file.string()), std::string::npos) << text;
    EXPECT_NE(text.find("not a SQLite database, or it is corrupt"), std::string::npos) << text;
    EXPECT_EQ(slurp(file), content);
    EXPECT_FALSE(fs::exists(dir / "garbage.db-wal"));
  }
}

TEST(StoreOpen, RefusesACorruptDatabaseWithoutTouchingIt) {
  TempDir dir;
  const fs::path file = dir / "kiln.db";
  ASSERT_TRUE(open_sqlite(file));  // closing the last connection checkpoints and drops the WAL
  ASSERT_FALSE(fs::exists(dir / "kiln.db-wal"));
  std::string content = slurp(file);
  ASSERT_GT(content.size(), 4096U);
  // Keep the 100-byte header (so SQLite believes it) and smash the rest of page 1: the schema.
  std::fill(content.begin() + 100, content.begin() + 4096, '\xab');
  std::ofstream(file, std::ios::binary | std::ios::trunc) << content;

  auto store = open_sqlite(file);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code(), ErrorCode::kIo);
  const std::string text = store.error().describe();
  EXPECT_NE(text.find("cannot use " + file.string() +
                      ": it is not a SQLite database, or it is "
                      "corrupt"),
            std::string::npos)
      << text;
  EXPECT_EQ(slurp(file), content);
}

TEST(StoreOpen, RefusesAFolder) {
  TempDir dir;
  fs::create_directory(dir / "a-folder");
  auto store = open_sqlite(dir / "a-folder");
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().describe().find((dir / "a-folder").string()), std::string::npos)
      << store.error().describe();
}

TEST(StoreOpen, RefusesANewerSchema) {
  TempDir dir;
  const fs::path file = dir / "kiln.db";
  ASSERT_TRUE(open_sqlite(file));
  raw_exec(file, "PRAGMA user_version = 99");
  auto store = open_sqlite(file);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store.error().describe(),
            "cannot use " + file.string() +
                ": its schema version 99 is newer than this Kiln knows (" +
                std::to_string(migrations().back().version) +
                "); it was written by a newer Kiln, so upgrade Kiln");
  EXPECT_EQ(raw_pragma(file, "user_version"), "99");
}

TEST(StoreOpen, RefusesAnotherApplicationsDatabase) {
  TempDir dir;
  const fs::path file = dir / "other.db";
  raw_exec(file, "CREATE TABLE notes (text TEXT)");
  auto store = open_sqlite(file);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().describe(),
            "cannot use " + file.string() + ": it is a SQLite database of another application");
  EXPECT_EQ(raw_pragma(file, "user_version"), "0");
  EXPECT_EQ(raw_pragma(file, "journal_mode"), "delete");  // not even switched to WAL
}

TEST(Migrate, EachStepCommitsOrRollsBackAlone) {
  TempDir dir;
  const fs::path file = dir / "m.db";
  auto db = Db::open(file);
  ASSERT_TRUE(db);
  const std::vector<Migration> steps = {
      {1, "create a", "CREATE TABLE a (x INTEGER)"},
      {2, "create b, then fail", "CREATE TABLE b (x INTEGER); INSERT INTO nowhere VALUES (1)"},
  };
  auto r = migrate(**db, steps);
  ASSERT_FALSE(r);
  const std::string text = r.error().describe();
  EXPECT_NE(
      text.find("while migrating " + file.string() + " to schema version 2 (create b, then fail)"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("no such table: nowhere"), std::string::npos) << text;
  db->reset();
  EXPECT_EQ(raw_pragma(file, "user_version"), "1");
  EXPECT_EQ(raw_pragma(file, "table_info(a)"), "0");  // first column of the first row: cid 0
  raw_exec(file, "CREATE TABLE b (y INTEGER)");       // b was rolled back, so the name is free

  // The same steps again skip what is applied.
  auto again = Db::open(file);
  ASSERT_TRUE(again);
  EXPECT_TRUE(migrate(**again, {steps[0]}));
}

// Store errors reach API responses: SQLite's reason only. The file and the SQL go to stderr,
// the server's log (docs/security.md).
TEST(Db, ErrorsKeepSqlAndFileOutButLogThem) {
  auto db = Db::open(":memory:");
  ASSERT_TRUE(db);
  ::testing::internal::CaptureStderr();
  auto q = (*db)->query("SELECT * FROM missing_table");
  const std::string logged = ::testing::internal::GetCapturedStderr();
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error().describe(),
            "while preparing a statement: the database failed: no such table: missing_table");
  EXPECT_EQ(logged,
            "kiln: sqlite :memory:: SELECT * FROM missing_table: "
            "no such table: missing_table\n");
}

TEST(Db, RefusesAStatementAlreadyInUse) {
  auto db = Db::open(":memory:");
  ASSERT_TRUE(db);
  auto first = (*db)->query("SELECT 1");
  ASSERT_TRUE(first);
  auto second = (*db)->query("SELECT 1");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), ErrorCode::kInternal);
}

}  // namespace
}  // namespace kiln::store
