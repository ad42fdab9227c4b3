// The Store's build batches on a real SQLite file: numbering apart from builds, idempotency,
// state and status updates, listings with the status filter and paging, restarts.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <iostream>

#include "store/store.h"

namespace kiln::store {
namespace {

namespace fs = std::filesystem;

class BatchStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kiln-batches-XXXXXX").string();
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
  void reopen() {
    store_.reset();
    auto s = open_sqlite(dir_ / "kiln.db");
    ASSERT_TRUE(s) << s.error().describe();
    store_ = std::move(*s);
  }
  BuildBatchRow add(const std::string& project, double submitted = 1000,
                    const std::string& token = "", const std::string& request = "{}") {
    BuildBatchRow row;
    row.id = project + ":b" + std::to_string(++made_);
    row.project = project;
    row.status = "IN_PROGRESS";
    row.submitted = submitted;
    row.idempotency_token = token;
    row.request_json = request;
    row.json = "{\"id\":\"" + row.id + "\"}";
    auto r = store_->insert_build_batch(row);
    EXPECT_TRUE(r) << r.error().describe();
    if (!r) return {};
    EXPECT_FALSE(r->second);
    return r->first;
  }
  std::vector<std::string> all(const std::string& project, const std::string& status,
                               SortOrder order, int limit) {
    std::vector<std::string> ids;
    std::string token;
    int pages = 0;
    do {
      auto page = store_->list_build_batches(project, status, order, token, limit);
      EXPECT_TRUE(page) << page.error().describe();
      if (!page) return ids;
      ids.insert(ids.end(), page->items.begin(), page->items.end());
      token = page->next_token;
    } while (!token.empty() && ++pages < 100);
    return ids;
  }

  fs::path dir_;
  std::unique_ptr<Store> store_;
  int made_ = 0;
};

TEST_F(BatchStoreTest, NumbersPerProjectApartFromBuilds) {
  BuildRow build;
  build.id = "p:build";
  build.project = "p";
  build.request_json = build.json = "{}";
  ASSERT_TRUE(store_->insert_build(build));
  EXPECT_EQ(add("p").number, 1);
  EXPECT_EQ(add("p").number, 2);
  EXPECT_EQ(add("q").number, 1);
  const auto third = add("p");
  EXPECT_EQ(third.number, 3);
  EXPECT_GT(third.seq, 0);
}

TEST_F(BatchStoreTest, IdempotencyTokenWithinTheWindowReturnsTheSameBatch) {
  const auto first = add("p", 1000, "tok", R"({"a":1})");
  BuildBatchRow again;
  again.id = "p:other";
  again.project = "p";
  again.status = "IN_PROGRESS";
  again.submitted = 1000 + kIdempotencyWindowSeconds - 1;
  again.idempotency_token = "tok";
  again.request_json = again.json = "{}";
  auto r = store_->insert_build_batch(again);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_TRUE(r->second);
  EXPECT_EQ(r->first.id, first.id);
  EXPECT_EQ(r->first.request_json, R"({"a":1})");
  // Past the window the token names nothing.
  again.submitted = 1000 + kIdempotencyWindowSeconds + 1;
  r = store_->insert_build_batch(again);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_FALSE(r->second);
  // A duplicate id is refused.
  again.idempotency_token.clear();
  r = store_->insert_build_batch(again);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kAlreadyExists);
}

TEST_F(BatchStoreTest, JsonForMakesTheStoredJsonFromTheNumberedRow) {
  add("p");
  BuildBatchRow row;
  row.id = "p:numbered";
  row.project = "p";
  row.status = "IN_PROGRESS";
  row.request_json = row.json = "{}";
  auto r = store_->insert_build_batch(row, [](const BuildBatchRow& numbered) {
    return "{\"buildBatchNumber\":" + std::to_string(numbered.number) + "}";
  });
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->first.json, "{\"buildBatchNumber\":2}");
  auto rows = store_->get_build_batches({"p:numbered"});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->front().json, "{\"buildBatchNumber\":2}");
}

TEST_F(BatchStoreTest, UpdateKeepsStateStatusAndJsonAcrossARestart) {
  const auto b = add("p");
  ASSERT_TRUE(store_->update_build_batch(b.id, BuildState::kRunning, "IN_PROGRESS", "{\"x\":1}"));
  ASSERT_TRUE(store_->update_build_batch(b.id, BuildState::kDone, "FAILED", "{\"x\":2}"));
  reopen();
  auto rows = store_->get_build_batches({b.id, "p:missing", b.id});
  ASSERT_TRUE(rows) << rows.error().describe();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ(rows->front().state, BuildState::kDone);
  EXPECT_EQ(rows->front().status, "FAILED");
  EXPECT_EQ(rows->front().json, "{\"x\":2}");
  auto missing = store_->update_build_batch("p:missing", BuildState::kDone, "FAILED", "{}");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST_F(BatchStoreTest, InStateListsBySubmissionOrder) {
  const auto a = add("p");
  const auto b = add("q");
  const auto c = add("p");
  ASSERT_TRUE(store_->update_build_batch(b.id, BuildState::kRunning, "IN_PROGRESS", "{}"));
  auto queued = store_->build_batches_in_state(BuildState::kQueued);
  ASSERT_TRUE(queued);
  ASSERT_EQ(queued->size(), 2u);
  EXPECT_EQ((*queued)[0].id, a.id);
  EXPECT_EQ((*queued)[1].id, c.id);
  auto running = store_->build_batches_in_state(BuildState::kRunning);
  ASSERT_TRUE(running);
  ASSERT_EQ(running->size(), 1u);
  EXPECT_EQ(running->front().id, b.id);
}

TEST_F(BatchStoreTest, ListsFilterByProjectAndStatusAndPage) {
  std::vector<std::string> p_ids;
  for (int i = 0; i < 7; ++i) {
    p_ids.push_back(add("p").id);
    add("q");
  }
  ASSERT_TRUE(store_->update_build_batch(p_ids[2], BuildState::kDone, "FAILED", "{}"));
  ASSERT_TRUE(store_->update_build_batch(p_ids[5], BuildState::kDone, "FAILED", "{}"));
  EXPECT_EQ(all("p", "", SortOrder::kAscending, 3), p_ids);
  std::vector<std::string> reversed(p_ids.rbegin(), p_ids.rend());
  EXPECT_EQ(all("p", "", SortOrder::kDescending, 2), reversed);
  EXPECT_EQ(all("", "", SortOrder::kAscending, 5).size(), 14u);
  EXPECT_EQ(all("p", "FAILED", SortOrder::kAscending, 1),
            (std::vector<std::string>{p_ids[2], p_ids[5]}));
  EXPECT_TRUE(all("q", "FAILED", SortOrder::kAscending, 10).empty());
}

TEST_F(BatchStoreTest, APageTokenIsValidOnlyForItsListing) {
  for (int i = 0; i < 3; ++i) add("p");
  auto page = store_->list_build_batches("p", "", SortOrder::kAscending, "", 1);
  ASSERT_TRUE(page);
  ASSERT_FALSE(page->next_token.empty());
  EXPECT_FALSE(store_->list_build_batches("q", "", SortOrder::kAscending, page->next_token, 1));
  EXPECT_FALSE(
      store_->list_build_batches("p", "FAILED", SortOrder::kAscending, page->next_token, 1));
  EXPECT_FALSE(store_->list_build_batches("p", "", SortOrder::kDescending, page->next_token, 1));
  EXPECT_FALSE(store_->list_build_batches("p", "", SortOrder::kAscending, "", 0));
}

TEST_F(BatchStoreTest, DeleteRemovesOnlyTheBatch) {
  const auto a = add("p");
  const auto b = add("p");
  auto d = store_->delete_build_batch(a.id);
  ASSERT_TRUE(d);
  EXPECT_TRUE(*d);
  d = store_->delete_build_batch(a.id);
  ASSERT_TRUE(d);
  EXPECT_FALSE(*d);
  auto rows = store_->get_build_batches({a.id, b.id});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->front().id, b.id);
  // Numbers are never reused.
  EXPECT_EQ(add("p").number, 3);
}

}  // namespace
}  // namespace kiln::store
