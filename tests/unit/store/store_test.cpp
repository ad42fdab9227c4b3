// The Store contract on a real SQLite file: projects, builds, numbering, idempotency, paging.
#include "store/store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <iostream>
#include <set>
#include <thread>

#include "store/page_token.h"

namespace kiln::store {
namespace {

namespace fs = std::filesystem;

// A store on a file in a temporary directory (kept and printed when the test failed).
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kiln-store-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    reopen();
  }
  void TearDown() override {
    store_.reset();
    if (HasFailure()) {
      std::cerr << "test data left in " << dir_ << "\n";
      return;
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // Closes the store and opens the file again, as a server restart does.
  void reopen() {
    store_.reset();
    auto s = open_sqlite(file());
    ASSERT_TRUE(s) << s.error().describe();
    store_ = std::move(*s);
  }
  fs::path file() const { return dir_ / "kiln.db"; }
  Store& store() { return *store_; }

  // Inserts a new build and returns it (failing the test if it was not new).
  BuildRow add(const std::string& project, double submitted = 1000, const std::string& token = "") {
    BuildRow row;
    row.id = project + ":" + std::to_string(++made_);
    row.project = project;
    row.submitted = submitted;
    row.idempotency_token = token;
    row.request_json = "{}";
    row.json = "{}";
    auto r = store_->insert_build(row);
    EXPECT_TRUE(r) << r.error().describe();
    if (!r) return {};
    EXPECT_FALSE(r->second);
    return r->first;
  }

  fs::path dir_;
  std::unique_ptr<Store> store_;
  int made_ = 0;
};

// Every item of a listing, page by page; the tokens seen go to `tokens`.
std::vector<std::string> drain(const std::function<Result<Page>(const std::string&)>& list,
                               std::vector<std::string>* tokens = nullptr) {
  std::vector<std::string> items;
  std::string token;
  for (int pages = 0; pages < 1000; ++pages) {
    auto page = list(token);
    EXPECT_TRUE(page) << page.error().describe();
    if (!page) break;
    items.insert(items.end(), page->items.begin(), page->items.end());
    if (page->next_token.empty()) break;
    if (tokens != nullptr) tokens->push_back(page->next_token);
    token = page->next_token;
  }
  return items;
}

std::vector<std::string> ids(const std::vector<BuildRow>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.id);
  return out;
}

TEST_F(StoreTest, ProjectCrud) {
  ASSERT_TRUE(store().create_project({"web", 1, 1, R"({"v":1})"}));
  auto dup = store().create_project({"web", 2, 2, R"({"v":2})"});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(dup.error().message(), "project web already exists");

  ASSERT_TRUE(store().update_project({"web", 1, 5, R"({"v":3})"}));
  auto missing = store().update_project({"nope", 1, 5, "{}"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);

  ASSERT_TRUE(store().create_project({"api", 3, 3, "{}"}));
  auto got = store().get_projects({"api", "nope", "web"});
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 2U);
  EXPECT_EQ((*got)[0].name, "api");
  EXPECT_EQ((*got)[1].name, "web");
  EXPECT_EQ((*got)[1].last_modified, 5);
  EXPECT_EQ((*got)[1].json, R"({"v":3})");

  EXPECT_EQ(store().delete_project("web"), true);
  EXPECT_EQ(store().delete_project("web"), false);
  EXPECT_EQ(store().get_projects({"web"})->size(), 0U);
}

TEST_F(StoreTest, ProjectSortOrdersWithTiesAcrossPages) {
  // name, created, last_modified: "c" and "d" tie on created.
  ASSERT_TRUE(store().create_project({"b", 3, 1, "{}"}));
  ASSERT_TRUE(store().create_project({"a", 1, 4, "{}"}));
  ASSERT_TRUE(store().create_project({"c", 2, 2, "{}"}));
  ASSERT_TRUE(store().create_project({"d", 2, 3, "{}"}));
  using V = std::vector<std::string>;
  const struct {
    ProjectSort sort;
    V ascending;
  } cases[] = {
      {ProjectSort::kName, V{"a", "b", "c", "d"}},
      {ProjectSort::kCreatedTime, V{"a", "c", "d", "b"}},
      {ProjectSort::kLastModifiedTime, V{"b", "c", "d", "a"}},
  };
  for (const auto& c : cases) {
    for (const int limit : {1, 3, 100}) {
      const auto list = [&](SortOrder order) {
        return drain(
            [&](const std::string& t) { return store().list_projects(c.sort, order, t, limit); });
      };
      EXPECT_EQ(list(SortOrder::kAscending), c.ascending)
          << static_cast<int>(c.sort) << " " << limit;
      V descending(c.ascending.rbegin(), c.ascending.rend());
      EXPECT_EQ(list(SortOrder::kDescending), descending)
          << static_cast<int>(c.sort) << " " << limit;
    }
  }
}

TEST_F(StoreTest, BuildCrud) {
  const BuildRow a = add("web");
  const BuildRow b = add("web");
  EXPECT_EQ(a.number, 1);
  EXPECT_EQ(b.number, 2);
  EXPECT_LT(a.seq, b.seq);

  ASSERT_TRUE(store().update_build(a.id, BuildState::kDone, R"({"buildStatus":"SUCCEEDED"})"));
  auto missing = store().update_build("web:nope", BuildState::kDone, "{}");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);

  auto got = store().get_builds({b.id, "web:nope", a.id});
  ASSERT_TRUE(got);
  EXPECT_EQ(ids(*got), (std::vector<std::string>{b.id, a.id}));
  EXPECT_EQ((*got)[1].state, BuildState::kDone);
  EXPECT_EQ((*got)[1].json, R"({"buildStatus":"SUCCEEDED"})");
  EXPECT_EQ((*got)[1].number, 1);
  EXPECT_EQ((*got)[1].seq, a.seq);
  EXPECT_EQ((*got)[1].submitted, 1000);

  auto deleted = store().delete_builds({"web:nope", a.id});
  ASSERT_TRUE(deleted);
  EXPECT_EQ(*deleted, std::vector<std::string>{a.id});
  EXPECT_EQ(store().get_builds({a.id})->size(), 0U);
}

TEST_F(StoreTest, DuplicateBuildIdIsRefusedWithoutUsingANumber) {
  BuildRow a = add("web");
  auto dup = store().insert_build(a);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(add("web").number, 2);
}

TEST_F(StoreTest, NumbersArePerProjectAndNeverReused) {
  EXPECT_EQ(add("web").number, 1);
  EXPECT_EQ(add("api").number, 1);
  EXPECT_EQ(add("web").number, 2);
  const BuildRow third = add("web");
  EXPECT_EQ(third.number, 3);
  ASSERT_TRUE(store().delete_builds({third.id}));
  reopen();
  EXPECT_EQ(add("web").number, 4);  // the deleted newest build's number stays used
  // A deleted and recreated project continues: its old builds still carry the old numbers.
  ASSERT_TRUE(store().create_project({"web", 1, 1, "{}"}));
  ASSERT_TRUE(store().delete_project("web"));
  reopen();
  EXPECT_EQ(add("web").number, 5);
  EXPECT_EQ(add("api").number, 2);
}

TEST_F(StoreTest, DeletingAProjectKeepsItsBuilds) {
  ASSERT_TRUE(store().create_project({"web", 1, 1, "{}"}));
  const BuildRow a = add("web");
  ASSERT_EQ(store().delete_project("web"), true);
  EXPECT_EQ(ids(*store().get_builds({a.id})), std::vector<std::string>{a.id});
  auto page = store().list_builds_for_project("web", SortOrder::kAscending, "", 10);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->items, std::vector<std::string>{a.id});
}

TEST_F(StoreTest, IdempotencyTokenNamesTheSameBuildForFiveMinutes) {
  const BuildRow first = add("web", 1000, "tok");
  BuildRow again = first;
  again.id = "web:other";
  again.submitted = 1000 + 300;  // the edge of the window is inside
  auto r = store().insert_build(again);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->second);
  EXPECT_EQ(r->first.id, first.id);
  EXPECT_EQ(r->first.number, first.number);
  EXPECT_EQ(store().get_builds({"web:other"})->size(), 0U);

  EXPECT_TRUE(store().insert_build(again)->second);  // still the first one
  EXPECT_EQ(add("api", 1010, "tok").number, 1);      // another project's token is another token
  EXPECT_EQ(add("web", 1010).number, 2);             // no token: always a new build
  const BuildRow later = add("web", 1301, "tok");    // the window has passed
  EXPECT_EQ(later.number, 3);
  again.id = "web:third";
  again.submitted = 1400;
  r = store().insert_build(again);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->second);
  EXPECT_EQ(r->first.id, later.id);  // the newest build with the token
}

TEST_F(StoreTest, SeqFollowsSubmissionAcrossProjects) {
  std::vector<BuildRow> made;
  for (int i = 0; i < 6; ++i) made.push_back(add(i % 2 == 0 ? "web" : "api"));
  for (std::size_t i = 1; i < made.size(); ++i) EXPECT_LT(made[i - 1].seq, made[i].seq);
  ASSERT_TRUE(store().delete_builds({made.back().id}));
  reopen();
  EXPECT_GT(add("web").seq, made.back().seq);  // AUTOINCREMENT: not reused after a delete
}

TEST_F(StoreTest, BuildsInStateAndCounts) {
  std::vector<BuildRow> b;
  for (int i = 0; i < 5; ++i) b.push_back(add(i < 3 ? "web" : "api"));
  ASSERT_TRUE(store().update_build(b[3].id, BuildState::kRunning, "{}"));
  ASSERT_TRUE(store().update_build(b[1].id, BuildState::kRunning, "{}"));
  ASSERT_TRUE(store().update_build(b[0].id, BuildState::kDone, "{}"));

  EXPECT_EQ(ids(*store().builds_in_state(BuildState::kQueued)),
            (std::vector<std::string>{b[2].id, b[4].id}));
  EXPECT_EQ(ids(*store().builds_in_state(BuildState::kRunning)),
            (std::vector<std::string>{b[1].id, b[3].id}));  // by seq, not by update time
  EXPECT_EQ(ids(*store().builds_in_state(BuildState::kDone)), std::vector<std::string>{b[0].id});
  EXPECT_EQ(store().count_in_state("web", BuildState::kQueued), 1);
  EXPECT_EQ(store().count_in_state("web", BuildState::kRunning), 1);
  EXPECT_EQ(store().count_in_state("api", BuildState::kRunning), 1);
  EXPECT_EQ(store().count_in_state("none", BuildState::kQueued), 0);
}

TEST_F(StoreTest, InsertBuildMakesItsJsonFromTheNumberedRow) {
  add("web");
  BuildRow row;
  row.id = "web:made";
  row.project = "web";
  row.submitted = 1000;
  auto r = store().insert_build(row, [](const BuildRow& numbered) {
    return "{\"buildNumber\":" + std::to_string(numbered.number) + "}";
  });
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->first.json, "{\"buildNumber\":2}");
  EXPECT_EQ(store().get_builds({"web:made"})->front().json, "{\"buildNumber\":2}");
}

TEST_F(StoreTest, BuildsInStateTakesTheFirstFewAndTheOldOnly) {
  std::vector<BuildRow> b;
  for (int i = 0; i < 5; ++i) b.push_back(add("web", 1000 + 100 * i));
  EXPECT_EQ(ids(*store().builds_in_state(BuildState::kQueued, 2, 1e9)),
            (std::vector<std::string>{b[0].id, b[1].id}));
  // Submitted strictly before 1200: the first two.
  EXPECT_EQ(ids(*store().builds_in_state(BuildState::kQueued, 0, 1200)),
            (std::vector<std::string>{b[0].id, b[1].id}));
  EXPECT_EQ(ids(*store().builds_in_state(BuildState::kQueued, 1, 1350)),
            std::vector<std::string>{b[0].id});
  EXPECT_EQ(store().builds_in_state(BuildState::kQueued)->size(), 5U);  // no bounds: all
  EXPECT_TRUE(store().builds_in_state(BuildState::kQueued, 0, 1000)->empty());
}

TEST_F(StoreTest, PagesOver250BuildsInBothOrders) {
  std::vector<std::string> all;
  std::vector<std::string> web;
  for (int i = 0; i < 250; ++i) {
    const BuildRow r = add(i % 3 == 0 ? "web" : "api");
    all.push_back(r.id);
    if (r.project == "web") web.push_back(r.id);
  }
  const std::vector<std::string> all_desc(all.rbegin(), all.rend());
  const std::vector<std::string> web_desc(web.rbegin(), web.rend());
  for (const int limit : {1, 7, 100}) {
    for (const auto order : {SortOrder::kAscending, SortOrder::kDescending}) {
      const bool asc = order == SortOrder::kAscending;
      std::vector<std::string> tokens;
      const auto got = drain(
          [&](const std::string& t) { return store().list_builds(order, t, limit); }, &tokens);
      EXPECT_EQ(got, asc ? all : all_desc) << limit;  // no duplicates, no gaps
      EXPECT_EQ(tokens.size(), (all.size() - 1) / limit);
      EXPECT_EQ(std::set<std::string>(tokens.begin(), tokens.end()).size(), tokens.size());

      const auto per_project = drain([&](const std::string& t) {
        return store().list_builds_for_project("web", order, t, limit);
      });
      EXPECT_EQ(per_project, asc ? web : web_desc) << limit;
    }
  }
}

TEST_F(StoreTest, PagingSurvivesDeletesBetweenPages) {
  std::vector<std::string> all;
  for (int i = 0; i < 10; ++i) all.push_back(add("web").id);
  auto first = store().list_builds(SortOrder::kAscending, "", 4);
  ASSERT_TRUE(first);
  ASSERT_TRUE(store().delete_builds({all[3], all[4]}));  // the last shown and the next
  auto second = store().list_builds(SortOrder::kAscending, first->next_token, 4);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->items, (std::vector<std::string>{all[5], all[6], all[7], all[8]}));
}

TEST_F(StoreTest, BadTokensAndLimitsAreInvalidArguments) {
  for (int i = 0; i < 5; ++i) add(i % 2 == 0 ? "web" : "api");
  ASSERT_TRUE(store().create_project({"p", 1, 1, "{}"}));
  ASSERT_TRUE(store().create_project({"q", 1, 1, "{}"}));
  const auto builds_token = store().list_builds(SortOrder::kAscending, "", 1)->next_token;
  const auto web_token =
      store().list_builds_for_project("web", SortOrder::kAscending, "", 1)->next_token;
  ASSERT_FALSE(builds_token.empty());
  ASSERT_FALSE(web_token.empty());

  const auto expect_invalid = [](const Result<Page>& r, const std::string& what) {
    ASSERT_FALSE(r) << what;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << what;
  };
  for (const std::string& bad :
       {std::string("nope"), std::string("' OR 1=1; DROP TABLE builds; --"), web_token,
        builds_token + "x"}) {
    const auto r = store().list_builds(SortOrder::kAscending, bad, 10);
    expect_invalid(r, bad);
    if (!r) {
      EXPECT_EQ(r.error().message(), "invalid nextToken");
    }
  }
  expect_invalid(store().list_builds(SortOrder::kDescending, builds_token, 10), "other order");
  expect_invalid(store().list_builds_for_project("api", SortOrder::kAscending, web_token, 10),
                 "other project");
  expect_invalid(store().list_projects(ProjectSort::kName, SortOrder::kAscending, builds_token, 10),
                 "builds token for projects");
  expect_invalid(store().list_builds(SortOrder::kAscending, "", 0), "limit 0");
  expect_invalid(store().list_builds(SortOrder::kAscending, "", kMaxPageSize + 1), "limit 101");
  expect_invalid(store().list_projects(ProjectSort::kName, SortOrder::kAscending, "", -1), "limit");

  // A well-formed token whose key holds SQL is only ever a bound value.
  const std::string sneaky = make_page_token("projects/name/asc", {std::string("' OR 1=1 --")});
  const auto page = store().list_projects(ProjectSort::kName, SortOrder::kAscending, sneaky, 10);
  ASSERT_TRUE(page) << page.error().describe();
  EXPECT_EQ(page->items, (std::vector<std::string>{"p", "q"}));
  EXPECT_EQ(store().builds_in_state(BuildState::kQueued)->size(), 5U);
}

// Numbers are assigned inside the insert's transaction: concurrent StartBuilds, from threads of
// one store or from two connections to the same file, get 1..N with no gap and no repeat.
TEST_F(StoreTest, ConcurrentInsertsGetUniqueConsecutiveNumbers) {
  auto second = open_sqlite(file());
  ASSERT_TRUE(second) << second.error().describe();
  constexpr int kThreads = 8;
  constexpr int kEach = 25;
  std::vector<std::vector<BuildRow>> made(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    Store& s = t % 2 == 0 ? store() : **second;
    threads.emplace_back([&s, &made, t] {
      for (int i = 0; i < kEach; ++i) {
        BuildRow row;
        row.id = "web:t" + std::to_string(t) + "-" + std::to_string(i);
        row.project = "web";
        row.submitted = 1000;
        auto r = s.insert_build(row);
        if (r)
          made[t].push_back(r->first);
        else
          ADD_FAILURE() << r.error().describe();
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::int64_t> numbers;
  std::set<std::int64_t> seqs;
  for (const auto& rows : made) {
    for (std::size_t i = 1; i < rows.size(); ++i) EXPECT_LT(rows[i - 1].number, rows[i].number);
    for (const auto& r : rows) {
      numbers.insert(r.number);
      seqs.insert(r.seq);
    }
  }
  ASSERT_EQ(numbers.size(), static_cast<std::size_t>(kThreads * kEach));
  EXPECT_EQ(*numbers.begin(), 1);
  EXPECT_EQ(*numbers.rbegin(), kThreads * kEach);
  EXPECT_EQ(seqs.size(), numbers.size());
}

}  // namespace
}  // namespace kiln::store

namespace kiln::store {
namespace {

TEST_F(StoreTest, AWebhookDeliveryIsNewOnceAndForgottenAfterTheRetention) {
  EXPECT_EQ(store().record_webhook_delivery("web", "d-1", 100, 50).value(), true);
  EXPECT_EQ(store().record_webhook_delivery("web", "d-1", 120, 50).value(), false);  // redelivery
  EXPECT_EQ(store().record_webhook_delivery("api", "d-1", 120, 50).value(), true);   // per project
  // Past the retention the first row is deleted before the insert: the id is new again.
  EXPECT_EQ(store().record_webhook_delivery("web", "d-2", 151, 50).value(), true);
  EXPECT_EQ(store().record_webhook_delivery("web", "d-1", 151, 50).value(), true);
  // Forgotten (its build could not be queued): a redelivery is new again.
  ASSERT_TRUE(store().forget_webhook_delivery("web", "d-1"));
  EXPECT_EQ(store().record_webhook_delivery("web", "d-1", 152, 50).value(), true);
  EXPECT_EQ(store().record_webhook_delivery("web", "d-2", 152, 50).value(), false);
}

}  // namespace
}  // namespace kiln::store
