#include "events/eventbridge.h"

#include <gtest/gtest.h>

#include "events/events_fixture.h"

namespace kiln::events {
namespace {

using nlohmann::json;
using testing::record;

const Where kWhere{"000000000000", "us-east-1"};
const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1700000100));

// Plays the records through build_events as the recorder does; returns the milestones sent.
std::vector<std::string> play(const std::vector<json>& records, std::set<std::string>& sent,
                              json before = nullptr, std::vector<json>* events = nullptr) {
  std::vector<std::string> out;
  for (const auto& r : records) {
    for (auto& e : build_events({false, "app:u-1", before, r}, sent, kWhere, kNow)) {
      out.push_back(e.milestone);
      sent.insert(e.milestone);
      if (events != nullptr) events->push_back(e.event);
    }
    before = r;
  }
  return out;
}

TEST(BuildEvents, ARealSequenceSendsEachMilestoneOnceInOrder) {
  std::vector<json> records;
  for (std::size_t i = 1; i <= 10; ++i) records.push_back(record(i));
  records.push_back(record(10, "SUCCEEDED"));
  records.push_back(record(10, "SUCCEEDED"));  // a later write of the same record
  std::set<std::string> sent;
  EXPECT_EQ(play(records, sent),
            (std::vector<std::string>{
                "phase:SUBMITTED", "phase:QUEUED", "state:IN_PROGRESS", "phase:PROVISIONING",
                "phase:DOWNLOAD_SOURCE", "phase:INSTALL", "phase:PRE_BUILD", "phase:BUILD",
                "phase:POST_BUILD", "phase:UPLOAD_ARTIFACTS", "phase:FINALIZING", "state:final"}));
}

TEST(BuildEvents, AFirstSeenRecordAfterARestartRepeatsNothingTheJournalHolds) {
  std::set<std::string> sent;
  play({record(1), record(2), record(3), record(4)}, sent);
  // The server restarts: the recorder has `sent` from the journal; the feed sees the build anew.
  EXPECT_EQ(play({record(5)}, sent), (std::vector<std::string>{"phase:INSTALL"}));
  // Everything, when the journal held nothing of it.
  std::set<std::string> none;
  EXPECT_EQ(play({record(3)}, none),
            (std::vector<std::string>{"phase:SUBMITTED", "phase:QUEUED", "state:IN_PROGRESS",
                                      "phase:PROVISIONING"}));
  // A finished build sends nothing more, whatever is written.
  std::set<std::string> done{"state:final"};
  EXPECT_TRUE(play({record(10, "SUCCEEDED")}, done).empty());
}

TEST(BuildEvents, ABuildStoppedInTheQueueNeverSaysInProgress) {
  std::set<std::string> sent;
  EXPECT_EQ(play({record(1), record(2, "STOPPED")}, sent),
            (std::vector<std::string>{"phase:SUBMITTED", "phase:QUEUED", "state:final"}));
}

TEST(BuildEvents, FaultAndTimedOutAreFailedInTheStateChangeAndExactInThePhases) {
  for (const std::string status : {"FAULT", "TIMED_OUT", "FAILED"}) {
    std::set<std::string> sent;
    std::vector<json> events;
    play({record(6), record(7, status)}, sent, nullptr, &events);
    ASSERT_FALSE(events.empty());
    const json& final = events.back();
    EXPECT_EQ(final["detail"]["build-status"], "FAILED") << status;
    EXPECT_EQ(final["detail"]["additional-information"]["phases"][6]["phase-status"], status);
    EXPECT_EQ(events[events.size() - 2]["detail"]["completed-phase-status"], status);
  }
  std::set<std::string> sent;
  std::vector<json> events;
  play({record(10, "STOPPED")}, sent, nullptr, &events);
  EXPECT_EQ(events.back()["detail"]["build-status"], "STOPPED");
}

TEST(BuildEvents, StateChangeHasEventBridgesShape) {
  std::set<std::string> sent;
  std::vector<json> events;
  play({record(10, "SUCCEEDED")}, sent, nullptr, &events);
  const json& e = events.back();
  EXPECT_EQ(e["version"], "0");
  EXPECT_EQ(e["detail-type"], kStateChange);
  EXPECT_EQ(e["source"], "aws.codebuild");
  EXPECT_EQ(e["account"], "000000000000");
  EXPECT_EQ(e["region"], "us-east-1");
  EXPECT_EQ(e["time"], "2023-11-14T22:15:00Z");
  EXPECT_EQ(e["resources"], json::array({testing::kArn}));
  EXPECT_EQ(e["id"].get<std::string>().size(), 36U);
  const json& d = e["detail"];
  EXPECT_EQ(d["build-status"], "SUCCEEDED");
  EXPECT_EQ(d["project-name"], "app");
  EXPECT_EQ(d["build-id"], testing::kArn);
  EXPECT_EQ(d["current-phase"], "COMPLETED");
  EXPECT_EQ(d["current-phase-context"], "[]");
  EXPECT_EQ(d["version"], "1");
  const json& info = d["additional-information"];
  EXPECT_EQ(info["build-complete"], true);
  EXPECT_EQ(info["build-number"], 7);
  EXPECT_EQ(info["initiator"], "admin");
  EXPECT_EQ(info["timeout-in-minutes"], 60);
  EXPECT_EQ(info["build-start-time"], "Nov 14, 2023 10:13:20 PM");
  EXPECT_EQ(info["logs"]["group-name"], "/aws/codebuild/app");
  EXPECT_EQ(info["logs"]["stream-name"], "u-1");
  EXPECT_EQ(info["environment"]["compute-type"], "BUILD_GENERAL1_SMALL");
  EXPECT_EQ(info["environment"]["privileged-mode"], false);
  const json& first = info["phases"][0];
  EXPECT_EQ(first, (json{{"phase-type", "SUBMITTED"},
                         {"phase-status", "SUCCEEDED"},
                         {"phase-context", json::array()},
                         {"start-time", "Nov 14, 2023 10:13:20 PM"},
                         {"end-time", "Nov 14, 2023 10:13:22 PM"},
                         {"duration-in-seconds", 2}}));
  EXPECT_EQ(info["phases"].back(),
            (json{{"phase-type", "COMPLETED"}, {"start-time", "Nov 14, 2023 10:13:40 PM"}}));
}

TEST(BuildEvents, SecretVariablesShowTheirReferenceNeverAValue) {
  std::set<std::string> sent;
  std::vector<json> events;
  play({record(3)}, sent, nullptr, &events);
  EXPECT_EQ(events[0]["detail"]["additional-information"]["environment"]["environment-variables"],
            (json{{{"name", "PLAIN"}, {"type", "PLAINTEXT"}, {"value", "v"}},
                  {{"name", "TOKEN"}, {"type", "PARAMETER_STORE"}, {"value", "/prod/token"}},
                  {{"name", "PW"}, {"type", "SECRETS_MANAGER"}, {"value", "db-pass:password"}}}));
}

TEST(BuildEvents, PhaseChangeHasEventBridgesShape) {
  json r = record(7);
  r["phases"][6]["contexts"] = {{{"statusCode", "COMMAND_EXECUTION_ERROR"}, {"message", "exit 1"}}};
  std::set<std::string> sent{"phase:SUBMITTED",    "phase:QUEUED",          "state:IN_PROGRESS",
                             "phase:PROVISIONING", "phase:DOWNLOAD_SOURCE", "phase:INSTALL",
                             "phase:PRE_BUILD"};
  const auto events = build_events({false, "app:u-1", nullptr, r}, sent, kWhere, kNow);
  ASSERT_EQ(events.size(), 1U);
  const json& d = events[0].event["detail"];
  EXPECT_EQ(events[0].event["detail-type"], kPhaseChange);
  EXPECT_EQ(d["completed-phase"], "BUILD");
  EXPECT_EQ(d["completed-phase-status"], "SUCCEEDED");
  EXPECT_EQ(d["completed-phase-duration-seconds"], 2);
  EXPECT_EQ(d["completed-phase-context"], "[COMMAND_EXECUTION_ERROR: exit 1]");
  EXPECT_EQ(d["completed-phase-start"], "Nov 14, 2023 10:13:32 PM");
  EXPECT_EQ(d["completed-phase-end"], "Nov 14, 2023 10:13:34 PM");
  EXPECT_EQ(d["project-name"], "app");
  EXPECT_EQ(d["version"], "1");
  EXPECT_EQ(milestone_of(events[0].event), "phase:BUILD");
}

TEST(BuildEvents, BatchesSendNothing) {
  json batch{
      {"id", "app:b-1"}, {"arn", "arn:x"}, {"buildBatchStatus", "SUCCEEDED"}, {"complete", true}};
  EXPECT_TRUE(build_events({true, "app:b-1", nullptr, batch}, {}, kWhere, kNow).empty());
}

TEST(BuildEvents, DetailTimeIsCodeBuildsFormatInUtc) {
  EXPECT_EQ(detail_time(1504282349), "Sep 1, 2017 4:12:29 PM");
  EXPECT_EQ(detail_time(1504224000), "Sep 1, 2017 12:00:00 AM");
  EXPECT_EQ(detail_time(1504267200.9), "Sep 1, 2017 12:00:00 PM");
}

}  // namespace
}  // namespace kiln::events
