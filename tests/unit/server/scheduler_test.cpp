// The scheduler with a fake process starter: which workers it starts and in what order, how a
// worker's records reach the store, and how builds end when a worker dies, is stopped, cannot
// start, or waits too long in the queue.
#include "server/scheduler.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include "server/scheduler_fixture.h"
#include "util/files.h"

namespace kiln::server::test {
namespace {

// The --request file a worker was started with.
std::string request_of(const std::vector<std::string>& argv) {
  for (std::size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == "--request") return argv[i + 1];
  }
  return "";
}

TEST_F(SchedulerTest, StartsWorkersInSubmissionOrderUpToMaxRunning) {
  const std::string a = queue("app", "aaaa");
  const std::string b = queue("app", "bbbb");
  const std::string c = queue("lib", "cccc");
  scheduler(2).start();

  auto pids = starter_.started(2);
  ASSERT_EQ(pids.size(), 2u);
  EXPECT_EQ(request_of(starter_.argv(pids[0])), data_.request_file("aaaa").string());
  EXPECT_EQ(request_of(starter_.argv(pids[1])), data_.request_file("bbbb").string());
  EXPECT_TRUE(eventually(a, [](const auto& r) { return r.state == store::BuildState::kRunning; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // several ticks
  EXPECT_EQ(starter_.count(), 2u) << "a third worker while two run";
  EXPECT_EQ(row(c).state, store::BuildState::kQueued);

  starter_.emit(pids[0], worker_record(a, "BUILD", "SUCCEEDED"));
  starter_.exit(pids[0]);
  pids = starter_.started(3);
  ASSERT_EQ(pids.size(), 3u);
  EXPECT_EQ(request_of(starter_.argv(pids[2])), data_.request_file("cccc").string());
  EXPECT_TRUE(ends_with(a, "SUCCEEDED"));
  EXPECT_EQ(row(b).state, store::BuildState::kRunning);
}

TEST_F(SchedulerTest, StartsTheWorkerWithTheProtocolsCommandLine) {
  const std::string id = queue("app", "aaaa");
  scheduler().start();
  const pid_t pid = starter_.started(1).at(0);

  WorkerArgs expected;
  expected.request = data_.request_file("aaaa");
  expected.log = data_.log_path("app", "aaaa");
  expected.secrets = data_.secrets_dir();
  expected.keys = data_.root / "keys.json";
  expected.parent = ::getpid();
  EXPECT_EQ(starter_.argv(pid), worker_argv("/opt/kiln/bin/kiln", expected));
  // The request the worker reads carries the store's build number.
  const auto request = read_file(expected.request);
  ASSERT_TRUE(request) << request.error().describe();
  EXPECT_EQ(json::parse(*request)["identity"]["buildNumber"], 1);
  EXPECT_TRUE(fs::is_directory(data_.build_root("aaaa")));
  EXPECT_TRUE(fs::is_directory(expected.log.parent_path()));

  starter_.emit(pid, worker_record(id, "BUILD", "SUCCEEDED"));
  starter_.exit(pid);
  EXPECT_TRUE(ends_with(id, "SUCCEEDED"));
}

TEST_F(SchedulerTest, FollowsTheWorkersRecordsIntoTheStore) {
  const std::string id = queue("app", "aaaa", /*age=*/30);
  const double submitted = build(id)["startTime"];
  scheduler().start();
  const pid_t pid = starter_.started(1).at(0);

  starter_.print(pid, "kiln worker: a message, not a record\n");
  starter_.emit(pid, worker_record(id, "BUILD"));
  ASSERT_TRUE(eventually(id, [](const store::BuildRow& r) {
    return json::parse(r.json).value("currentPhase", "") == "BUILD";
  }));
  json running = build(id);
  EXPECT_EQ(row(id).state, store::BuildState::kRunning);
  // The worker's own clock started at launch: the stored submission time is kept.
  EXPECT_EQ(running["startTime"], submitted);
  EXPECT_EQ(running["phases"][0]["startTime"], submitted);

  // A record may arrive in pieces.
  const std::string last = record_line(worker_record(id, "BUILD", "SUCCEEDED"));
  starter_.print(pid, last.substr(0, 10));
  starter_.print(pid, last.substr(10));
  starter_.exit(pid);
  EXPECT_TRUE(ends_with(id, "SUCCEEDED"));
  EXPECT_TRUE(build(id)["buildComplete"]);
  // The build's private folder and request file go when its worker has ended.
  EXPECT_TRUE(eventually(id, [&](const store::BuildRow&) {
    return !fs::exists(data_.build_root("aaaa")) && !fs::exists(data_.request_file("aaaa"));
  }));
}

TEST_F(SchedulerTest, EndsTheBuildOfAWorkerThatDiesFailed) {
  const std::string id = queue("app", "aaaa");
  scheduler().start();
  const pid_t pid = starter_.started(1).at(0);
  starter_.emit(pid, worker_record(id, "BUILD"));
  starter_.exit(pid, SIGKILL);  // the waitpid status of a process killed by SIGKILL

  ASSERT_TRUE(ends_with(id, "FAILED"));
  const json b = build(id);
  EXPECT_EQ(messages(b).back(), "The build's worker process ended unexpectedly (signal 9)");
  EXPECT_EQ(b["currentPhase"], "COMPLETED");
}

TEST_F(SchedulerTest, EndsTheBuildOfAWorkerThatExitsWithoutItsFinalRecord) {
  const std::string id = queue("app", "aaaa");
  scheduler().start();
  const pid_t pid = starter_.started(1).at(0);
  starter_.exit(pid, kWorkerCannotStart << 8);  // the waitpid status of exit(1)

  ASSERT_TRUE(ends_with(id, "FAILED"));
  EXPECT_EQ(messages(build(id)).back(),
            "The build's worker process ended unexpectedly (exit status 1)");
}

TEST_F(SchedulerTest, StopSignalsTheWorkerWhichRecordsTheBuildStopped) {
  const std::string id = queue("app", "aaaa");
  auto& s = scheduler();
  s.start();
  const pid_t pid = starter_.started(1).at(0);
  ASSERT_TRUE(eventually(id, [](const auto& r) { return r.state == store::BuildState::kRunning; }));
  stop_as_the_engine_does(id);

  EXPECT_FALSE(s.stop("app:not-running"));
  EXPECT_TRUE(s.stop(id));
  EXPECT_EQ(starter_.signals(pid), std::vector<int>{SIGTERM});
  ASSERT_TRUE(ends_with(id, "STOPPED"));
  EXPECT_EQ(messages(build(id)).back(), "The build was stopped");
  // Its worker gone, the build is no longer this scheduler's to stop.
  EXPECT_TRUE(eventually(id, [&](const store::BuildRow&) { return !s.stop(id); }));
}

TEST_F(SchedulerTest, ShutdownStopsRunningBuildsAndSaysWhy) {
  const std::string id = queue("app", "aaaa");
  auto& s = scheduler();
  s.start();
  const pid_t pid = starter_.started(1).at(0);
  ASSERT_TRUE(eventually(id, [](const auto& r) { return r.state == store::BuildState::kRunning; }));
  stop_as_the_engine_does(id);

  s.shutdown();  // returns once the worker has been reaped
  EXPECT_EQ(starter_.signals(pid), std::vector<int>{SIGTERM});
  const store::BuildRow r = row(id);
  EXPECT_EQ(r.state, store::BuildState::kDone);
  EXPECT_EQ(messages(json::parse(r.json)).back(),
            "Build was stopped because the Kiln server shut down");
}

TEST_F(SchedulerTest, ABuildWhoseWorkerCannotStartEndsFault) {
  starter_.fail_starts();
  const std::string id = queue("app", "aaaa");
  scheduler().start();

  ASSERT_TRUE(ends_with(id, "FAULT"));
  EXPECT_EQ(messages(build(id)).back(),
            "Kiln could not start the build: starting the build's worker: execve kiln: No such "
            "file or directory");
  EXPECT_FALSE(fs::exists(data_.build_root("aaaa")));
  EXPECT_FALSE(fs::exists(data_.request_file("aaaa")));
}

TEST_F(SchedulerTest, ABuildQueuedTooLongTimesOutWithoutAWorker) {
  const std::string id = queue("app", "aaaa", /*age=*/6 * 60, /*queued_timeout_minutes=*/5);
  scheduler().start();

  ASSERT_TRUE(ends_with(id, "TIMED_OUT"));
  EXPECT_EQ(messages(build(id)).back(), "Build timed out while waiting in the queue");
  EXPECT_EQ(starter_.count(), 0u);
}

TEST_F(SchedulerTest, RecoverEndsTheBuildsADeadServerLeftRunning) {
  const std::string running = queue("app", "aaaa");
  const std::string queued = queue("app", "bbbb");
  ASSERT_TRUE(store_->update_build(running, store::BuildState::kRunning, row(running).json));
  ASSERT_TRUE(fs::create_directories(data_.build_root("aaaa")));

  auto recovered = scheduler().recover();
  ASSERT_TRUE(recovered) << recovered.error().describe();
  EXPECT_EQ(*recovered, 1);
  EXPECT_EQ(row(running).state, store::BuildState::kDone);
  EXPECT_EQ(build(running)["buildStatus"], "FAILED");
  EXPECT_EQ(messages(build(running)).back(),
            "The Kiln server stopped while this build was running");
  EXPECT_FALSE(fs::exists(data_.build_root("aaaa")));
  EXPECT_EQ(row(queued).state, store::BuildState::kQueued);
}

}  // namespace
}  // namespace kiln::server::test
