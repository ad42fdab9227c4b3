// A Scheduler on an in-memory store, a temp data folder and a FakeProcessStarter, with the
// helpers its tests share: queue a build the way StartBuild stores it, make a worker's records,
// wait for the store to show something.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "server/fake_process_starter.h"
#include "server/scheduler.h"
#include "store/store.h"
#include "util/clock.h"

namespace kiln::server::test {

namespace fs = std::filesystem;
using nlohmann::json;

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest() {
    std::string tmpl = (fs::temp_directory_path() / "kiln-sched-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    data_.root = tmpl;
    // Unless a test says otherwise, a signalled worker dies of it without a record, so that the
    // scheduler's shutdown at the end of every test finds no worker left running.
    starter_.on_signal([this](pid_t pid, int sig) { starter_.exit(pid, sig); });
  }
  ~SchedulerTest() override {
    if (scheduler_) scheduler_->shutdown();
    std::error_code ec;
    if (!HasFailure())
      fs::remove_all(data_.root, ec);
    else
      std::cerr << "kept the data folder of the failed test: " << data_.root << "\n";
  }

  Scheduler& scheduler(unsigned max_running = 2) {
    SchedulerOptions o;
    o.data = data_;
    o.kiln_binary = "/opt/kiln/bin/kiln";
    o.max_running = max_running;
    o.tick = std::chrono::milliseconds(20);
    o.starter = &starter_;
    scheduler_ = std::make_unique<Scheduler>(o, *store_, clock_);
    return *scheduler_;
  }

  // Stores a queued build of `project` (what StartBuild stores), submitted `age` seconds ago.
  std::string queue(const std::string& project, const std::string& uuid, double age = 0,
                    int queued_timeout_minutes = 480) {
    const double submitted = to_epoch_seconds_ms(clock_.now()) - age;
    store::BuildRow row;
    row.id = project + ":" + uuid;
    row.project = project;
    row.submitted = submitted;
    row.request_json = json{{"request", {{"identity", {{"buildNumber", 0}}}}}}.dump();
    row.json = json{{"id", row.id},
                    {"projectName", project},
                    {"buildStatus", "IN_PROGRESS"},
                    {"currentPhase", "QUEUED"},
                    {"buildComplete", false},
                    {"startTime", submitted},
                    {"queuedTimeoutInMinutes", queued_timeout_minutes},
                    {"phases",
                     {{{"phaseType", "SUBMITTED"},
                       {"phaseStatus", "SUCCEEDED"},
                       {"startTime", submitted},
                       {"endTime", submitted},
                       {"durationInSeconds", 0}},
                      {{"phaseType", "QUEUED"}, {"startTime", submitted}}}}}
                   .dump();
    auto inserted = store_->insert_build(row);
    EXPECT_TRUE(inserted) << inserted.error().describe();
    return row.id;
  }

  // A record as the worker writes it: its own clock (startTime 0), in `phase`; complete with
  // `status` when `status` is not IN_PROGRESS.
  static json worker_record(const std::string& id, const std::string& phase,
                            const std::string& status = "IN_PROGRESS",
                            const json& contexts = json::array()) {
    const bool complete = status != "IN_PROGRESS";
    json phases = {{{"phaseType", "SUBMITTED"}, {"phaseStatus", "SUCCEEDED"}, {"startTime", 0.0}},
                   {{"phaseType", "QUEUED"}, {"phaseStatus", "SUCCEEDED"}, {"startTime", 0.0}},
                   {{"phaseType", phase}, {"startTime", 1.0}, {"contexts", contexts}}};
    if (complete) phases.push_back({{"phaseType", "COMPLETED"}, {"startTime", 2.0}});
    return {{"id", id},
            {"buildStatus", status},
            {"currentPhase", complete ? "COMPLETED" : phase},
            {"buildComplete", complete},
            {"startTime", 0.0},
            {"phases", phases}};
  }

  // The final record of a build the engine stopped (BUILD_STOPPED).
  static json stopped_record(const std::string& id) {
    return worker_record(id, "BUILD", "STOPPED",
                         {{{"statusCode", "BUILD_STOPPED"}, {"message", "The build was stopped"}}});
  }
  // From now on a signalled worker records its build stopped and exits, as `kiln worker` does.
  void stop_as_the_engine_does(const std::string& id) {
    starter_.on_signal([this, id](pid_t pid, int) {
      starter_.emit(pid, stopped_record(id));
      starter_.exit(pid);
    });
  }

  store::BuildRow row(const std::string& id) {
    auto rows = store_->get_builds({id});
    EXPECT_TRUE(rows && rows->size() == 1);
    return rows && !rows->empty() ? rows->front() : store::BuildRow{};
  }
  json build(const std::string& id) { return json::parse(row(id).json); }

  // Polls the store until `ok` holds for the build (10 s at most).
  ::testing::AssertionResult eventually(const std::string& id,
                                        const std::function<bool(const store::BuildRow&)>& ok) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (ok(row(id))) return ::testing::AssertionSuccess();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return ::testing::AssertionFailure() << id << " is still " << row(id).json;
  }
  ::testing::AssertionResult ends_with(const std::string& id, const std::string& status) {
    return eventually(id, [&](const store::BuildRow& r) {
      return r.state == store::BuildState::kDone &&
             json::parse(r.json).value("buildStatus", "") == status;
    });
  }

  // Every context message of the build, in phase order.
  static std::vector<std::string> messages(const json& build) {
    std::vector<std::string> out;
    for (const auto& p : build["phases"]) {
      for (const auto& c : p.value("contexts", json::array()))
        out.push_back(c.value("message", ""));
    }
    return out;
  }

  api::DataLayout data_;
  FakeClock clock_;
  std::unique_ptr<store::Store> store_ = store::open_sqlite(":memory:").value();
  FakeProcessStarter starter_;
  std::unique_ptr<Scheduler> scheduler_;
};

}  // namespace kiln::server::test
