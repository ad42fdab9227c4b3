// The server's batch coordinator through the Scheduler, with the fake process starter: a stored
// batch gets its DOWNLOAD_SOURCE build, is planned from the batchspec its worker leaves, releases
// members a few at a time, follows their ends, stops, retries, and is failed by recover() after a
// crash with every member build ended.
#include "server/batch_coordinator.h"

#include <gtest/gtest.h>

#include "batch/run.h"
#include "engine/engine.h"
#include "engine/request_json.h"
#include "server/scheduler_fixture.h"
#include "util/files.h"

namespace kiln::server::test {
namespace {

std::string request_of(const std::vector<std::string>& argv) {
  for (std::size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == "--request") return argv[i + 1];
  }
  return "";
}

constexpr const char* kList = R"(version: 0.2
batch:
  build-list:
    - identifier: one
    - identifier: two
    - identifier: three
phases:
  build:
    commands:
      - "true"
)";

class BatchCoordinatorTest : public SchedulerTest {
 protected:
  // What StartBuildBatch stores (server contract in docs/batch.md): a kQueued batch whose
  // record has only the DOWNLOAD_SOURCE group.
  std::string queue_batch(const json& batch_config = json::object()) {
    engine::BuildRequest req;
    req.identity.project = "app";
    req.identity.uuid = "b0b0";
    req.identity.region = "us-east-1";
    req.identity.account = "000000000000";
    req.buildspec_text = kList;
    req.build_root = data_.build_root("b0b0");
    batch::BatchRecord rec;
    rec.id = "app:b0b0";
    rec.arn = batch::batch_arn("us-east-1", "000000000000", rec.id);
    rec.project_name = "app";
    batch::start_batch(rec, to_epoch_seconds_ms(clock_.now()));
    store::BuildBatchRow row;
    row.id = rec.id;
    row.project = "app";
    row.state = store::BuildState::kQueued;
    row.status = "IN_PROGRESS";
    row.submitted = to_epoch_seconds_ms(clock_.now());
    row.request_json = json{
        {"request", engine::request_to_json(req)},
        {"input", json::object()},
        {"settings", json::object()},
        {"artifacts", {{"type", "NO_ARTIFACTS"}}},
        {"batchConfig",
         batch_config}}.dump();
    row.json = batch::to_json(rec).dump();
    auto inserted = store_->insert_build_batch(row);
    EXPECT_TRUE(inserted) << inserted.error().describe();
    return rec.id;
  }

  json batch_json(const std::string& id) {
    auto rows = store_->get_build_batches({id});
    EXPECT_TRUE(rows && rows->size() == 1);
    return json::parse(rows->front().json);
  }
  store::BuildState batch_state(const std::string& id) {
    return store_->get_build_batches({id}).value().front().state;
  }
  ::testing::AssertionResult batch_ends(const std::string& id, const std::string& status) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      const json b = batch_json(id);
      if (b.value("complete", false) && b.value("buildBatchStatus", "") == status)
        return ::testing::AssertionSuccess();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return ::testing::AssertionFailure() << id << " is still " << batch_json(id).dump();
  }

  // The build a worker runs: its id and its request (as the worker reads it).
  json worker_request(pid_t pid) {
    return json::parse(read_file(request_of(starter_.argv(pid))).value());
  }
  static std::string build_id_of(const json& request) {
    return request["identity"]["project"].get<std::string>() + ":" +
           request["identity"]["uuid"].get<std::string>();
  }
  // The DOWNLOAD_SOURCE worker: leaves the batchspec as `kiln worker` does, then succeeds.
  void read_batchspec(pid_t pid, const std::string& text) {
    const json request = worker_request(pid);
    ASSERT_TRUE(request.value("batchspecOnly", false));
    ASSERT_EQ(request["identity"]["batchIdentifier"], "DOWNLOAD_SOURCE");
    const fs::path dir = request["reportsDir"].get<std::string>();
    ASSERT_TRUE(write_file_atomic(dir / kBatchspecFile,
                                  json{{"text", text}, {"path", "buildspec.yml"}}.dump()));
    finish(pid, "SUCCEEDED");
  }
  void finish(pid_t pid, const std::string& status) {
    starter_.emit(pid, worker_record(build_id_of(worker_request(pid)), "BUILD", status));
    starter_.exit(pid);
  }
  std::string group_status(const json& b, const std::string& identifier) {
    for (const auto& g : b["buildGroups"])
      if (g["identifier"] == identifier)
        return g.value("currentBuildSummary", json::object()).value("buildStatus", "PENDING");
    return "absent";
  }
};

TEST_F(BatchCoordinatorTest, RunsABuildListTwoMembersAtATime) {
  const std::string id = queue_batch();
  scheduler(2).start();
  const pid_t source = starter_.started(1).at(0);
  EXPECT_EQ(batch_state(id), store::BuildState::kRunning);
  read_batchspec(source, kList);

  auto pids = starter_.started(3);
  ASSERT_EQ(pids.size(), 3u);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // several ticks
  EXPECT_EQ(starter_.count(), 3u) << "more than max(1, --max-builds) members of one batch";
  const json one = worker_request(pids[1]);
  EXPECT_EQ(one["identity"]["batchIdentifier"], "one");
  EXPECT_EQ(one["identity"]["buildBatchArn"], batch_json(id)["arn"]);
  EXPECT_FALSE(one.value("batchspecOnly", false));
  EXPECT_EQ(one["timeoutMinutes"], 60) << "the batch's buildTimeoutInMinutes";
  const json stored = json::parse(row(build_id_of(one)).request_json);
  EXPECT_EQ(stored["batch"], (json{{"id", id}, {"identifier", "one"}}));
  EXPECT_EQ(group_status(batch_json(id), "three"), "PENDING");

  finish(pids[1], "SUCCEEDED");
  pids = starter_.started(4);
  ASSERT_EQ(pids.size(), 4u);
  EXPECT_EQ(worker_request(pids[3])["identity"]["batchIdentifier"], "three");
  finish(pids[2], "SUCCEEDED");
  finish(pids[3], "SUCCEEDED");
  EXPECT_TRUE(batch_ends(id, "SUCCEEDED"));
  EXPECT_EQ(batch_state(id), store::BuildState::kDone);
  const json b = batch_json(id);
  EXPECT_EQ(b["buildGroups"][0]["identifier"], "DOWNLOAD_SOURCE");
  EXPECT_EQ(group_status(b, "two"), "SUCCEEDED");
}

TEST_F(BatchCoordinatorTest, AFailedDownloadSourceFailsTheBatchWithItsContext) {
  const std::string id = queue_batch();
  scheduler(2).start();
  const pid_t source = starter_.started(1).at(0);
  starter_.emit(source,
                worker_record(build_id_of(worker_request(source)), "DOWNLOAD_SOURCE", "FAILED",
                              {{{"statusCode", "YAML_FILE_ERROR"},
                                {"message", "dependency cycle at line 4"}}}));
  starter_.exit(source);
  EXPECT_TRUE(batch_ends(id, "FAILED"));
  const std::string text = batch_json(id)["phases"].dump();
  EXPECT_NE(text.find("dependency cycle at line 4"), std::string::npos) << text;
  EXPECT_NE(text.find("YAML_FILE_ERROR"), std::string::npos) << text;
}

TEST_F(BatchCoordinatorTest, MoreMembersThanAllowedFailBeforeAnyStarts) {
  const std::string id = queue_batch({{"restrictions", {{"maximumBuildsAllowed", 2}}}});
  scheduler(2).start();
  read_batchspec(starter_.started(1).at(0), kList);
  EXPECT_TRUE(batch_ends(id, "FAILED"));
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_EQ(starter_.count(), 1u) << "a member started";
  const json b = batch_json(id);
  EXPECT_NE(b["phases"].dump().find("DOWNLOAD_BATCHSPEC"), std::string::npos);
}

TEST_F(BatchCoordinatorTest, StopBatchStopsRunningMembersAndEndsQueuedOnes) {
  const std::string id = queue_batch();
  scheduler(1).start();  // one slot: `one` runs, nothing else of the batch is queued
  read_batchspec(starter_.started(1).at(0), kList);
  const pid_t one = starter_.started(2).at(1);
  const std::string one_id = build_id_of(worker_request(one));
  stop_as_the_engine_does(one_id);
  EXPECT_TRUE(scheduler_->stop_batch(id));
  EXPECT_TRUE(ends_with(one_id, "STOPPED"));
  EXPECT_TRUE(batch_ends(id, "STOPPED"));
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_EQ(starter_.count(), 2u) << "a member started after the stop";
  EXPECT_FALSE(scheduler_->stop_batch(id)) << "a complete batch";
}

TEST_F(BatchCoordinatorTest, TheBatchTimeoutStopsTheBatch) {
  const std::string id = queue_batch({{"timeoutInMins", 5}});
  scheduler(1).start();
  read_batchspec(starter_.started(1).at(0), kList);
  const pid_t one = starter_.started(2).at(1);
  const std::string one_id = build_id_of(worker_request(one));
  stop_as_the_engine_does(one_id);
  clock_.advance(std::chrono::minutes(4));
  std::this_thread::sleep_for(std::chrono::milliseconds(60));  // several ticks
  EXPECT_TRUE(starter_.signals(one).empty()) << "stopped before its time";
  clock_.advance(std::chrono::minutes(1));
  EXPECT_TRUE(ends_with(one_id, "STOPPED"));
  EXPECT_TRUE(batch_ends(id, "TIMED_OUT"));
  EXPECT_EQ(starter_.count(), 2u) << "a member started after the timeout";
}

TEST_F(BatchCoordinatorTest, RetryFailedBuildsRunsOnlyThoseAndKeepsThePriorSummary) {
  const std::string id = queue_batch();
  scheduler(3).start();
  read_batchspec(starter_.started(1).at(0), kList);
  auto pids = starter_.started(4);
  ASSERT_EQ(pids.size(), 4u);
  EXPECT_FALSE(scheduler_->retry_batch(id, true)) << "an unfinished batch";
  finish(pids[1], "SUCCEEDED");
  finish(pids[2], "FAILED");
  finish(pids[3], "SUCCEEDED");
  ASSERT_TRUE(batch_ends(id, "FAILED"));

  ASSERT_TRUE(scheduler_->retry_batch(id, true));
  pids = starter_.started(5);
  ASSERT_EQ(pids.size(), 5u);
  EXPECT_EQ(worker_request(pids[4])["identity"]["batchIdentifier"], "two");
  finish(pids[4], "SUCCEEDED");
  EXPECT_TRUE(batch_ends(id, "SUCCEEDED"));
  const auto retried = batch_json(id);  // a range-for over a temporary's member would dangle
  for (const auto& g : retried["buildGroups"]) {
    if (g["identifier"] != "two") continue;
    ASSERT_EQ(g["priorBuildSummaryList"].size(), 1u);
    EXPECT_EQ(g["priorBuildSummaryList"][0]["buildStatus"], "FAILED");
  }
}

TEST_F(BatchCoordinatorTest, RecoverFailsTheBatchAndEndsEveryMemberBuild) {
  const std::string id = queue_batch();
  scheduler(1).start();
  read_batchspec(starter_.started(1).at(0), kList);
  const pid_t one = starter_.started(2).at(1);
  const std::string one_id = build_id_of(worker_request(one));
  ASSERT_TRUE(
      eventually(one_id, [](const auto& r) { return r.state == store::BuildState::kRunning; }));
  const std::string running_json = row(one_id).json;
  // The server dies. Its scheduler is shut down here (its worker dies without a record), then
  // the store is put back as kill -9 leaves it: the member running, and another member queued
  // (as if queued just before the crash, not yet in the batch's record).
  scheduler_->shutdown();
  EXPECT_EQ(batch_state(id), store::BuildState::kRunning) << "a shutdown ends no batch";
  ASSERT_TRUE(store_->update_build(one_id, store::BuildState::kRunning, running_json));
  const std::string orphan = queue("app", "0rph");
  {
    store::BuildRow again = row(orphan);
    json request = json::parse(again.request_json);
    request["batch"] = {{"id", id}, {"identifier", "two"}};
    ASSERT_TRUE(store_->delete_builds({orphan}));
    again.request_json = request.dump();
    ASSERT_TRUE(store_->insert_build(again));
  }

  FakeProcessStarter fresh;
  SchedulerOptions o;
  o.data = data_;
  o.kiln_binary = "/opt/kiln/bin/kiln";
  o.starter = &fresh;
  Scheduler restarted(o, *store_, clock_);
  ASSERT_TRUE(restarted.recover());
  const json b = batch_json(id);
  EXPECT_EQ(b["buildBatchStatus"], "FAILED");
  EXPECT_TRUE(b.value("complete", false));
  EXPECT_NE(b["phases"].dump().find("The Kiln server stopped while this batch was running"),
            std::string::npos)
      << b.dump();
  EXPECT_EQ(batch_state(id), store::BuildState::kDone);
  EXPECT_EQ(row(one_id).state, store::BuildState::kDone);
  EXPECT_EQ(build(one_id)["buildStatus"], "FAILED");
  EXPECT_EQ(row(orphan).state, store::BuildState::kDone);
  EXPECT_EQ(build(orphan)["buildStatus"], "STOPPED");
  EXPECT_EQ(group_status(b, "one"), "FAILED");
}

}  // namespace
}  // namespace kiln::server::test
