// The feed of build changes (server/build_feed.h) over a real SQLite store: every write reaches
// the listeners in order, with the record seen before it, and a completed record is forgotten.
#include "server/build_feed.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "store/store.h"

namespace kiln::server {
namespace {

struct Recorder final : store::ChangeListener {
  std::vector<store::BuildChange> seen;
  void changed(const store::BuildChange& c) override { seen.push_back(c); }
};

struct Throwing final : store::ChangeListener {
  void changed(const store::BuildChange&) override { throw std::runtime_error("boom"); }
};

class BuildFeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    feed_.add(throwing_);  // a failing listener does not keep the others from their changes
    feed_.add(recorder_);
    store_->set_observer(&feed_);
    feed_.start();
  }
  void TearDown() override { store_->set_observer(nullptr); }

  store::BuildRow row(const std::string& id, const std::string& json) {
    store::BuildRow r;
    r.id = id;
    r.project = "p";
    r.submitted = 1;
    r.json = json;
    return r;
  }

  std::unique_ptr<store::Store> store_ = store::open_sqlite(":memory:").value();
  Throwing throwing_;
  Recorder recorder_;
  BuildFeed feed_;
};

TEST_F(BuildFeedTest, EachWriteArrivesInOrderWithTheRecordBeforeIt) {
  ASSERT_TRUE(store_->insert_build(row("p:1", R"({"currentPhase":"SUBMITTED"})")));
  ASSERT_TRUE(
      store_->update_build("p:1", store::BuildState::kRunning, R"({"currentPhase":"BUILD"})"));
  ASSERT_TRUE(store_->update_build("p:1", store::BuildState::kDone,
                                   R"({"currentPhase":"COMPLETED","buildComplete":true})"));
  // Complete, so forgotten: a later write (a retention sweep, say) comes as first seen.
  ASSERT_TRUE(store_->update_build("p:1", store::BuildState::kDone,
                                   R"({"currentPhase":"COMPLETED","buildComplete":true})"));
  feed_.stop();

  const auto& s = recorder_.seen;
  ASSERT_EQ(s.size(), 4u);
  EXPECT_FALSE(s[0].batch);
  EXPECT_EQ(s[0].id, "p:1");
  EXPECT_TRUE(s[0].before.is_null());
  EXPECT_EQ(s[0].after["currentPhase"], "SUBMITTED");
  EXPECT_EQ(s[1].before["currentPhase"], "SUBMITTED");
  EXPECT_EQ(s[1].after["currentPhase"], "BUILD");
  EXPECT_EQ(s[2].before["currentPhase"], "BUILD");
  EXPECT_TRUE(s[2].after["buildComplete"].get<bool>());
  EXPECT_TRUE(s[3].before.is_null());
}

TEST_F(BuildFeedTest, BatchesAreTheirOwnRecordsAndNonJsonIsSkipped) {
  store::BuildBatchRow b;
  b.id = "p:1";  // the same id as a build: kept apart
  b.project = "p";
  b.submitted = 1;
  b.json = R"({"buildBatchStatus":"IN_PROGRESS","complete":false})";
  ASSERT_TRUE(store_->insert_build_batch(b));
  ASSERT_TRUE(store_->insert_build(row("p:1", "not json")));
  ASSERT_TRUE(store_->update_build_batch("p:1", store::BuildState::kDone, "SUCCEEDED",
                                         R"({"buildBatchStatus":"SUCCEEDED","complete":true})"));
  feed_.stop();

  const auto& s = recorder_.seen;
  ASSERT_EQ(s.size(), 2u);
  EXPECT_TRUE(s[0].batch);
  EXPECT_TRUE(s[0].before.is_null());
  EXPECT_TRUE(s[1].batch);
  EXPECT_EQ(s[1].before["buildBatchStatus"], "IN_PROGRESS");
  EXPECT_EQ(s[1].after["buildBatchStatus"], "SUCCEEDED");
}

TEST_F(BuildFeedTest, AnIdempotentRepeatOfAnInsertIsNoWrite) {
  auto first = row("p:1", R"({"n":1})");
  first.idempotency_token = "t";
  ASSERT_TRUE(store_->insert_build(first));
  auto again = row("p:2", R"({"n":2})");
  again.idempotency_token = "t";
  auto r = store_->insert_build(again);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->second);
  feed_.stop();
  ASSERT_EQ(recorder_.seen.size(), 1u);
  EXPECT_EQ(recorder_.seen[0].id, "p:1");
}

}  // namespace
}  // namespace kiln::server
