// Report groups, reports, test cases and code coverages in the store (store.h), and the
// migration that adds them to a schema-2 database.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "store/schema.h"
#include "store/sqlite_db.h"
#include "store/store.h"

namespace kiln::store {
namespace {

namespace fs = std::filesystem;

const std::string kGroup = "arn:aws:codebuild:us-east-1:123456789012:report-group/app-unit";
constexpr double kNow = 1000;
constexpr double kLater = kNow + 30 * 86400;

ReportGroupRow group(const std::string& name, double created = 1, double modified = 1,
                     const std::string& type = "TEST") {
  return {"arn:aws:codebuild:us-east-1:123456789012:report-group/" + name,
          name,
          type,
          created,
          modified,
          R"({"name":")" + name + R"("})"};
}

ReportRow report(const std::string& uuid, const std::string& status = "SUCCEEDED",
                 const std::string& group_arn = kGroup, double created = kNow) {
  ReportRow r;
  r.arn = "arn:aws:codebuild:us-east-1:123456789012:report/app-unit:" + uuid;
  r.group_arn = group_arn;
  r.build_id = "arn:aws:codebuild:us-east-1:123456789012:build/app:b-" + uuid;
  r.status = status;
  r.created = created;
  r.expired = created + 30 * 86400;
  r.json = R"({"arn":")" + r.arn + R"("})";
  return r;
}

class ReportsStore : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(store_->create_report_group(group("app-unit"), 1000).value(), GroupCreated::kCreated);
  }
  // Every item of a listing, page by page, checking that tokens change from page to page.
  template <typename List>
  std::vector<std::string> all_pages(List list) {
    std::vector<std::string> out;
    std::string token;
    std::string previous;
    for (int pages = 0; pages < 100; ++pages) {
      auto page = list(token);
      EXPECT_TRUE(page) << page.error().describe();
      if (!page) break;
      out.insert(out.end(), page->items.begin(), page->items.end());
      if (page->next_token.empty()) break;
      EXPECT_NE(page->next_token, previous);
      previous = token = page->next_token;
    }
    return out;
  }

  std::unique_ptr<Store> store_ = open_sqlite(":memory:").value();
};

TEST_F(ReportsStore, GroupsAreUniqueByNameAndArnAndLimited) {
  EXPECT_EQ(store_->create_report_group(group("app-unit"), 1000).value(), GroupCreated::kExists);
  auto same_name = group("app-unit");
  same_name.arn = "arn:aws:codebuild:eu-west-1:123456789012:report-group/app-unit";
  EXPECT_EQ(store_->create_report_group(same_name, 1000).value(), GroupCreated::kExists);
  EXPECT_EQ(store_->create_report_group(group("second"), 2).value(), GroupCreated::kCreated);
  EXPECT_EQ(store_->create_report_group(group("third"), 2).value(), GroupCreated::kAtLimit);
  EXPECT_TRUE(store_->get_report_groups({group("third").arn}).value().empty());

  auto rows = store_->get_report_groups({group("second").arn, "nope", kGroup, kGroup}).value();
  ASSERT_EQ(rows.size(), 3U);
  EXPECT_EQ(rows[0].name, "second");
  EXPECT_EQ(rows[1].name, "app-unit");
  EXPECT_EQ(rows[1].type, "TEST");
  EXPECT_EQ(rows[2].json, R"({"name":"app-unit"})");

  auto changed = group("app-unit", 1, 50);
  changed.json = R"({"changed":true})";
  ASSERT_TRUE(store_->update_report_group(changed));
  rows = store_->get_report_groups({kGroup}).value();
  EXPECT_EQ(rows[0].last_modified, 50);
  EXPECT_EQ(rows[0].created, 1);
  EXPECT_EQ(rows[0].json, R"({"changed":true})");
  auto missing = store_->update_report_group(group("nope"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST_F(ReportsStore, ListsGroupsSortedWithStableTokens) {
  ASSERT_EQ(store_->create_report_group(group("b", 30, 5), 1000).value(), GroupCreated::kCreated);
  ASSERT_EQ(store_->create_report_group(group("a", 20, 6), 1000).value(), GroupCreated::kCreated);
  ASSERT_EQ(store_->create_report_group(group("c", 20, 7), 1000).value(), GroupCreated::kCreated);
  auto names = [&](ProjectSort sort, SortOrder order) {
    std::vector<std::string> out;
    for (const auto& arn : all_pages(
             [&](const std::string& t) { return store_->list_report_groups(sort, order, t, 1); }))
      out.push_back(arn.substr(arn.rfind('/') + 1));
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names(ProjectSort::kName, SortOrder::kAscending), (V{"a", "app-unit", "b", "c"}));
  EXPECT_EQ(names(ProjectSort::kName, SortOrder::kDescending), (V{"c", "b", "app-unit", "a"}));
  EXPECT_EQ(names(ProjectSort::kCreatedTime, SortOrder::kAscending),
            (V{"app-unit", "a", "c", "b"}));
  EXPECT_EQ(names(ProjectSort::kLastModifiedTime, SortOrder::kDescending),
            (V{"c", "a", "b", "app-unit"}));
  // A token of one listing is refused by another.
  auto page = store_->list_report_groups(ProjectSort::kName, SortOrder::kAscending, "", 1).value();
  auto other = store_->list_report_groups(ProjectSort::kCreatedTime, SortOrder::kAscending,
                                          page.next_token, 1);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().describe(), "invalid nextToken");
}

TEST_F(ReportsStore, ReportsWithTheirCasesAndCoverages) {
  ASSERT_EQ(store_->insert_report(report("r1"), {{"FAILED", "n", "p", "{}"}}, {}).value(), 1);
  auto dup = store_->insert_report(report("r1"), {}, {});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists);
  auto orphan = store_->insert_report(report("r2", "FAILED", group("nope").arn), {}, {});
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(store_->get_reports({report("r2").arn}, kNow).value().empty());

  auto rows = store_->get_reports({report("r1").arn, "nope"}, kNow).value();
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0].group_arn, kGroup);
  EXPECT_EQ(rows[0].status, "SUCCEEDED");
  EXPECT_EQ(rows[0].build_id, report("r1").build_id);
  EXPECT_EQ(rows[0].expired, kLater);
  EXPECT_EQ(rows[0].seq, 1);

  EXPECT_TRUE(store_->delete_report(report("r1").arn).value());
  EXPECT_FALSE(store_->delete_report(report("r1").arn).value());
  // The cases went with it.
  EXPECT_TRUE(store_->list_test_cases(report("r1").arn, {}, "", 100).value().items.empty());
}

TEST_F(ReportsStore, ListsReportsByGroupAndStatus) {
  ASSERT_EQ(store_->create_report_group(group("other"), 1000).value(), GroupCreated::kCreated);
  ASSERT_TRUE(store_->insert_report(report("r1"), {}, {}));
  ASSERT_TRUE(store_->insert_report(report("r2", "FAILED"), {}, {}));
  ASSERT_TRUE(store_->insert_report(report("r3", "FAILED", group("other").arn), {}, {}));
  ASSERT_TRUE(store_->insert_report(report("r4", "INCOMPLETE"), {}, {}));
  auto uuids = [&](const std::string& g, const std::string& status, SortOrder order) {
    std::vector<std::string> out;
    for (const auto& arn : all_pages([&](const std::string& t) {
           return store_->list_reports(g, status, order, t, 1, kNow);
         }))
      out.push_back(arn.substr(arn.rfind(':') + 1));
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(uuids("", "", SortOrder::kAscending), (V{"r1", "r2", "r3", "r4"}));
  EXPECT_EQ(uuids("", "", SortOrder::kDescending), (V{"r4", "r3", "r2", "r1"}));
  EXPECT_EQ(uuids(kGroup, "", SortOrder::kAscending), (V{"r1", "r2", "r4"}));
  EXPECT_EQ(uuids("", "FAILED", SortOrder::kDescending), (V{"r3", "r2"}));
  EXPECT_EQ(uuids(kGroup, "FAILED", SortOrder::kAscending), (V{"r2"}));
  EXPECT_EQ(uuids(kGroup, "GENERATING", SortOrder::kAscending), V{});

  auto latest = store_->latest_reports(kGroup, 2, kNow).value();
  ASSERT_EQ(latest.size(), 2U);
  EXPECT_EQ(latest[0].arn, report("r4").arn);
  EXPECT_EQ(latest[1].arn, report("r2").arn);

  auto page = store_->list_reports(kGroup, "", SortOrder::kAscending, "", 1, kNow).value();
  auto other = store_->list_reports("", "", SortOrder::kAscending, page.next_token, 1, kNow);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(ReportsStore, ExpiredReportsAreNeverReturnedAndAreSwept) {
  ASSERT_TRUE(store_->insert_report(report("old", "SUCCEEDED", kGroup, kNow - 100),
                                    {{"SUCCEEDED", "n", "p", "{}"}}, {}));
  ASSERT_TRUE(store_->insert_report(report("new"), {}, {}));
  const double t = kLater - 50;  // "old" expired 50 s ago; "new" expires in 50 s
  EXPECT_EQ(store_->get_reports({report("old").arn, report("new").arn}, t).value().size(), 1U);
  EXPECT_EQ(store_->list_reports("", "", SortOrder::kAscending, "", 100, t).value().items,
            std::vector<std::string>{report("new").arn});
  EXPECT_EQ(store_->latest_reports(kGroup, 100, t).value().size(), 1U);
  EXPECT_EQ(store_->delete_expired_reports(t).value(), 1);
  EXPECT_EQ(store_->delete_expired_reports(t).value(), 0);
  EXPECT_TRUE(store_->list_test_cases(report("old").arn, {}, "", 100).value().items.empty());
  EXPECT_EQ(store_->get_reports({report("new").arn}, kLater).value().size(), 0U);
}

TEST_F(ReportsStore, DeletingAGroupWithReportsNeedsDeleteReports) {
  ASSERT_TRUE(store_->insert_report(report("r1"), {{"FAILED", "n", "p", "{}"}}, {}));
  auto refused = store_->delete_report_group(kGroup, false, kNow);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(refused.error().describe(), "report group " + kGroup + " still has 1 report(s)");
  EXPECT_EQ(store_->get_report_groups({kGroup}).value().size(), 1U);

  // Once its only report has expired, the group goes without deleteReports.
  EXPECT_TRUE(store_->delete_report_group(kGroup, false, kLater).value());
  EXPECT_FALSE(store_->delete_report_group(kGroup, false, kLater).value());

  ASSERT_EQ(store_->create_report_group(group("app-unit"), 1000).value(), GroupCreated::kCreated);
  ASSERT_TRUE(store_->insert_report(report("r2"), {{"FAILED", "n", "p", "{}"}}, {}));
  EXPECT_TRUE(store_->delete_report_group(kGroup, true, kNow).value());
  EXPECT_TRUE(store_->get_reports({report("r2").arn}, kNow).value().empty());
  EXPECT_TRUE(store_->list_test_cases(report("r2").arn, {}, "", 100).value().items.empty());
}

TEST_F(ReportsStore, TestCasesFilteredByStatusAndKeywordInOrder) {
  std::vector<TestCaseRow> cases = {
      {"FAILED", "test_login", "tests.auth", "1"},
      {"SUCCEEDED", "test_logout", "tests.auth", "2"},
      {"SUCCEEDED", "test_price", "tests.shop", "3"},
      {"ERROR", "test_cart_100%", "tests.shop", "4"},
      {"SKIPPED", "Test_Login_Upper", "tests.misc", "5"},
  };
  ASSERT_TRUE(store_->insert_report(report("r1"), cases, {}));
  const std::string arn = report("r1").arn;
  auto jsons = [&](const TestCaseFilter& f) {
    return all_pages([&](const std::string& t) { return store_->list_test_cases(arn, f, t, 2); });
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(jsons({}), (V{"1", "2", "3", "4", "5"}));
  EXPECT_EQ(jsons({"SUCCEEDED", ""}), (V{"2", "3"}));
  EXPECT_EQ(jsons({"", "login"}), (V{"1"}));      // case-sensitive
  EXPECT_EQ(jsons({"", "auth"}), (V{"1", "2"}));  // the prefix
  EXPECT_EQ(jsons({"", "%"}), (V{"4"}));          // not a wildcard
  EXPECT_EQ(jsons({"SUCCEEDED", "shop"}), (V{"3"}));
  EXPECT_EQ(jsons({"UNKNOWN", ""}), V{});

  auto page = store_->list_test_cases(arn, {"", "auth"}, "", 1).value();
  ASSERT_FALSE(page.next_token.empty());
  EXPECT_FALSE(store_->list_test_cases(arn, {"", "shop"}, page.next_token, 1));
  EXPECT_FALSE(store_->list_test_cases(arn, {}, "", 0));
  EXPECT_FALSE(store_->list_test_cases(arn, {}, "", 101));
}

TEST_F(ReportsStore, CoveragesSortedAndBounded) {
  ASSERT_EQ(store_->create_report_group(group("cov", 1, 1, "CODE_COVERAGE"), 1000).value(),
            GroupCreated::kCreated);
  std::vector<CoverageRow> files = {
      {"src/b.c", 50, "b"}, {"src/a.c", 100, "a"}, {"src/d.c", 0, "d"}, {"src/c.c", 50, "c"}};
  ASSERT_TRUE(store_->insert_report(report("c1", "SUCCEEDED", group("cov").arn), {}, files));
  const std::string arn = report("c1").arn;
  auto jsons = [&](CoverageQuery q) {
    return all_pages(
        [&](const std::string& t) { return store_->list_code_coverages(arn, q, t, 1); });
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(jsons({}), (V{"a", "b", "c", "d"}));
  EXPECT_EQ(jsons({CoverageSort::kFilePath, SortOrder::kDescending, 0, 100}),
            (V{"d", "c", "b", "a"}));
  EXPECT_EQ(jsons({CoverageSort::kLinePercentage, SortOrder::kAscending, 0, 100}),
            (V{"d", "b", "c", "a"}));
  EXPECT_EQ(jsons({CoverageSort::kLinePercentage, SortOrder::kDescending, 0, 100}),
            (V{"a", "c", "b", "d"}));
  EXPECT_EQ(jsons({CoverageSort::kFilePath, SortOrder::kAscending, 50, 50}), (V{"b", "c"}));
  EXPECT_EQ(jsons({CoverageSort::kFilePath, SortOrder::kAscending, 1, 99.5}), (V{"b", "c"}));

  auto page = store_->list_code_coverages(arn, {}, "", 1).value();
  CoverageQuery other;
  other.min_line = 1;
  EXPECT_FALSE(store_->list_code_coverages(arn, other, page.next_token, 1));
}

// A database a Kiln of schema 2 wrote, opened by this one: migrated to 3, its data kept.
TEST(ReportsMigration, FromSchemaTwoKeepsEverything) {
  std::string tmpl = (fs::temp_directory_path() / "kiln-reports-store-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const fs::path file = fs::path(tmpl) / "kiln.db";
  {
    auto db = Db::open(file);
    ASSERT_TRUE(db);
    std::vector<Migration> up_to_2(migrations().begin(), migrations().begin() + 2);
    ASSERT_EQ(up_to_2.back().version, 2);
    ASSERT_TRUE(migrate(**db, up_to_2));
    ASSERT_TRUE((*db)->exec(
        "INSERT INTO projects VALUES ('web', 1, 2, '{\"name\":\"web\"}');"
        "INSERT INTO build_counters VALUES ('web', 7);"
        "INSERT INTO builds (id, project, number, state, submitted, idempotency_token, "
        "request_json, json) VALUES ('web:u1', 'web', 7, 'DONE', 5, '', '{}', '{\"id\":1}');"
        "INSERT INTO resource_policies VALUES ('web', '{\"v\":1}');"));
  }
  auto store = open_sqlite(file);
  ASSERT_TRUE(store) << store.error().describe();
  auto projects = (*store)->get_projects({"web"}).value();
  ASSERT_EQ(projects.size(), 1U);
  EXPECT_EQ(projects[0].json, R"({"name":"web"})");
  auto builds = (*store)->get_builds({"web:u1"}).value();
  ASSERT_EQ(builds.size(), 1U);
  EXPECT_EQ(builds[0].number, 7);
  EXPECT_EQ(builds[0].json, R"({"id":1})");
  EXPECT_EQ((*store)->get_resource_policy("web").value(), std::optional<std::string>(R"({"v":1})"));
  // The counter survived: the next build is number 8.
  BuildRow next;
  next.id = "web:u2";
  next.project = "web";
  next.request_json = next.json = "{}";
  EXPECT_EQ((*store)->insert_build(next).value().first.number, 8);
  // And the new tables work.
  ASSERT_EQ((*store)->create_report_group(group("app-unit"), 1000).value(), GroupCreated::kCreated);
  ASSERT_TRUE((*store)->insert_report(report("r1"), {{"FAILED", "n", "p", "{}"}}, {}));
  store->reset();
  auto again = open_sqlite(file);
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)->get_reports({report("r1").arn}, kNow).value().size(), 1U);
  again->reset();
  if (!HasFailure()) fs::remove_all(tmpl);
}

}  // namespace
}  // namespace kiln::store
