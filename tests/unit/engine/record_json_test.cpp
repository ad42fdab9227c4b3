// The stored Build (engine/record_json.h): the queued build, the worker's record merged with it,
// and a build ended where no engine runs.
#include "engine/record_json.h"

#include <gtest/gtest.h>

#include "engine/engine.h"

namespace kiln::engine {
namespace {

using nlohmann::json;

BuildRequest request() {
  BuildRequest req;
  req.identity.project = "demo";
  req.identity.uuid = "11111111-2222-3333-4444-555555555555";
  req.identity.build_number = 3;
  req.identity.initiator = "alice";
  req.identity.image = "kiln/host";
  req.buildspec_text = "version: 0.2\n";
  req.privileged_mode = true;
  req.timeout_minutes = 9;
  return req;
}

const ProjectSettings kSettings{
    json::parse(R"({"type": "GITHUB", "location": "https://example.com/r.git",
                    "gitCloneDepth": 1})"),
    json::array({{{"type", "S3"}, {"location", "b/k.zip"}, {"sourceIdentifier", "lib"}}}),
    json::parse(R"({"type": "NO_CACHE"})")};

TEST(QueuedBuild, IsTheRecordWithQueuePhasesAndTheProjectsSettings) {
  const json b = queued_build(request(), 100.5, kSettings);
  EXPECT_EQ(b["id"], "demo:11111111-2222-3333-4444-555555555555");
  EXPECT_EQ(b["buildNumber"], 3);
  EXPECT_EQ(b["startTime"], 100.5);
  EXPECT_FALSE(b.contains("endTime"));
  EXPECT_EQ(b["currentPhase"], "QUEUED");
  EXPECT_EQ(b["buildStatus"], "IN_PROGRESS");
  EXPECT_FALSE(build_complete(b));
  EXPECT_EQ(b["phases"], json::parse(R"([{"phaseType": "SUBMITTED", "phaseStatus": "SUCCEEDED",
              "startTime": 100.5, "endTime": 100.5, "durationInSeconds": 0},
              {"phaseType": "QUEUED", "startTime": 100.5}])"));
  EXPECT_EQ(b["source"], kSettings.source);
  EXPECT_EQ(b["secondarySources"], kSettings.secondary_sources);
  EXPECT_EQ(b["cache"], kSettings.cache);
  EXPECT_EQ(b["timeoutInMinutes"], 9);
  // The queued record showed privilegedMode false whatever the build asked.
  EXPECT_EQ(b["environment"]["privilegedMode"], true);
  // Everything but the phases, the times and the settings is what the engine starts from.
  json from_engine = to_json(record_for(request()));
  for (const char* member :
       {"startTime", "currentPhase", "phases", "source", "secondarySources", "cache"})
    from_engine[member] = b.at(member);
  EXPECT_EQ(b, from_engine);
}

TEST(MergeWorkerRecord, KeepsTheQueueTimesAndTheSource) {
  const json stored = queued_build(request(), 100.5, kSettings);
  json worker = json::parse(R"({"id": "demo:x", "startTime": 200.0, "phases": [
    {"phaseType": "SUBMITTED", "phaseStatus": "SUCCEEDED", "startTime": 200.0, "endTime": 200.0,
     "durationInSeconds": 0},
    {"phaseType": "QUEUED", "phaseStatus": "SUCCEEDED", "startTime": 200.0, "endTime": 200.0,
     "durationInSeconds": 0},
    {"phaseType": "PROVISIONING", "startTime": 200.0}],
    "source": {"type": "NO_SOURCE", "location": ""}, "secondarySources": []})");
  merge_worker_record(worker, stored, 163.75);
  EXPECT_EQ(worker["startTime"], 100.5);
  EXPECT_EQ(worker["source"], kSettings.source);
  EXPECT_EQ(worker["secondarySources"], json::array());  // the worker's, as before
  EXPECT_EQ(worker["phases"], json::parse(R"([{"phaseType": "SUBMITTED", "phaseStatus": "SUCCEEDED",
              "startTime": 100.5, "endTime": 100.5, "durationInSeconds": 0},
              {"phaseType": "QUEUED", "phaseStatus": "SUCCEEDED", "startTime": 100.5,
               "endTime": 163.75, "durationInSeconds": 63},
              {"phaseType": "PROVISIONING", "startTime": 200.0}])"));
}

TEST(MergeWorkerRecord, SurvivesStoredTextItDoesNotExpect) {
  json worker = json::parse(R"({"startTime": 5.0, "phases": [7, {"phaseType": 1},
    {"phaseType": "QUEUED", "startTime": 5.0}]})");
  merge_worker_record(worker, json::parse("[1, 2]"), 9.0);  // no stored startTime: the launch
  EXPECT_EQ(worker["startTime"], 9.0);
  EXPECT_EQ(worker["phases"][0], 7);
  EXPECT_EQ(worker["phases"][2]["endTime"], 9.0);
  json not_an_object = json::array();
  merge_worker_record(not_an_object, json::object(), 9.0);
  EXPECT_EQ(not_an_object, json::array());
}

TEST(EndBuild, EndsAQueuedBuild) {
  json b = json::parse(R"({"buildStatus": "IN_PROGRESS", "buildComplete": false,
    "currentPhase": "QUEUED", "phases": [
      {"phaseType": "SUBMITTED", "phaseStatus": "SUCCEEDED", "startTime": 10, "endTime": 10},
      {"phaseType": "QUEUED", "startTime": 10}]})");
  end_build(b, "STOPPED", 72.5, "BUILD_STOPPED", "stopped while queued");
  EXPECT_EQ(b["buildStatus"], "STOPPED");
  EXPECT_TRUE(build_complete(b));
  EXPECT_EQ(b["currentPhase"], "COMPLETED");
  EXPECT_EQ(b["endTime"], 72.5);
  ASSERT_EQ(b["phases"].size(), 3u);
  EXPECT_EQ(b["phases"][1]["phaseStatus"], "STOPPED");
  EXPECT_EQ(b["phases"][1]["durationInSeconds"], 62);
  EXPECT_EQ(b["phases"][1]["contexts"][0]["statusCode"], "BUILD_STOPPED");
  EXPECT_EQ(b["phases"][2], json::parse(R"({"phaseType": "COMPLETED", "startTime": 72.5})"));

  const json before = b;
  end_build(b, "FAILED", 99, "X", "y");  // already complete: unchanged
  EXPECT_EQ(b, before);
}

TEST(EndBuild, EndsWhatItIsGiven) {
  json garbage = "text";
  EXPECT_FALSE(build_complete(garbage));
  end_build(garbage, "FAILED", 5, "C", "m");
  EXPECT_TRUE(build_complete(garbage));
  EXPECT_EQ(garbage["phases"], json::parse(R"([{"phaseType": "COMPLETED", "startTime": 5}])"));

  json odd_phase = json::parse(R"({"phases": [{"phaseType": "BUILD", "startTime": "x"}]})");
  end_build(odd_phase, "FAILED", 5, "C", "m");
  EXPECT_EQ(odd_phase["phases"][0]["durationInSeconds"], 0);  // no start time: from `now`
}

}  // namespace
}  // namespace kiln::engine
