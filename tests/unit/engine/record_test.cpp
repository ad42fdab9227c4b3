// The record's own rules (engine/record.h): what the request decides, the queue phases, the
// rounding of timeouts and durations; and that a run of the engine starts from the same record.
#include "engine/record.h"

#include "engine/engine_fixture.h"

namespace kiln::testing {
namespace {

using engine::PhaseType;
using engine::Status;
using nlohmann::json;

engine::BuildRequest privileged_request() {
  engine::BuildRequest req;
  req.identity.project = "demo";
  req.identity.uuid = "11111111-2222-3333-4444-555555555555";
  req.identity.build_number = 4;
  req.identity.initiator = "tester";
  req.identity.image = "kiln/minimal";
  req.identity.source_version = "main";
  req.source.type = "LOCAL";
  req.source.location = "/srv/demo";
  req.buildspec_path = "ci/buildspec.yml";
  req.compute_type = "BUILD_GENERAL1_MEDIUM";
  req.privileged_mode = true;
  req.project_vars = {{"A", "1"}};
  req.project_secret_vars = {{"S", engine::SecretVar::Kind::kSecretsManager, "db:password"}};
  req.timeout_minutes = 7;
  req.queued_timeout_minutes = 30;
  return req;
}

TEST(RecordRules, TimeoutsRoundUpToWholeMinutes) {
  EXPECT_EQ(engine::timeout_in_minutes(60), 60);
  EXPECT_EQ(engine::timeout_in_minutes(0.05), 1);  // kiln run --timeout 3s
  EXPECT_EQ(engine::timeout_in_minutes(7.5), 8);
}

TEST(RecordRules, DurationsRoundTowardZero) {
  EXPECT_EQ(engine::duration_seconds(10, 10), 0);
  EXPECT_EQ(engine::duration_seconds(10, 72.9), 62);
  EXPECT_EQ(engine::duration_seconds(10.75, 11.5), 0);
}

TEST(RecordFor, TakesWhatTheRequestDecides) {
  const engine::BuildRecord r = engine::record_for(privileged_request());
  EXPECT_EQ(r.id, "demo:11111111-2222-3333-4444-555555555555");
  EXPECT_EQ(r.arn,
            "arn:aws:codebuild:us-east-1:000000000000:build/demo:"
            "11111111-2222-3333-4444-555555555555");
  EXPECT_EQ(r.build_number, 4);
  EXPECT_EQ(r.source_type, "NO_SOURCE");  // LOCAL is not a CodeBuild source type
  EXPECT_EQ(r.source_location, "/srv/demo");
  EXPECT_EQ(r.buildspec, "ci/buildspec.yml");
  EXPECT_EQ(r.log_group, "/aws/codebuild/demo");
  EXPECT_EQ(r.log_stream, "11111111-2222-3333-4444-555555555555");
  EXPECT_EQ(r.timeout_minutes, 7);
  EXPECT_EQ(r.queued_timeout_minutes, 30);
  EXPECT_TRUE(r.phases.empty());

  const json env = engine::to_json(r)["environment"];
  EXPECT_EQ(env["image"], "kiln/minimal");
  EXPECT_EQ(env["computeType"], "BUILD_GENERAL1_MEDIUM");
  EXPECT_EQ(env["privilegedMode"], true);
  EXPECT_EQ(env["environmentVariables"],
            json::parse(R"([{"name": "A", "value": "1", "type": "PLAINTEXT"},
                            {"name": "S", "value": "db:password", "type": "SECRETS_MANAGER"}])"));
}

TEST(QueuePhases, SubmittedEndsAtOnceAndQueuedUntilLaunch) {
  const auto waiting = engine::queue_phases(100.25, std::nullopt);
  ASSERT_EQ(waiting.size(), 2u);
  EXPECT_EQ(engine::to_json(waiting[0]),
            json::parse(R"({"phaseType": "SUBMITTED", "phaseStatus": "SUCCEEDED",
                            "startTime": 100.25, "endTime": 100.25, "durationInSeconds": 0})"));
  EXPECT_EQ(engine::to_json(waiting[1]),
            json::parse(R"({"phaseType": "QUEUED", "startTime": 100.25})"));

  const auto launched = engine::queue_phases(100.25, 103.5);
  EXPECT_EQ(engine::to_json(launched[1]),
            json::parse(R"({"phaseType": "QUEUED", "phaseStatus": "SUCCEEDED",
                            "startTime": 100.25, "endTime": 103.5, "durationInSeconds": 3})"));
}

// The engine's record showed privilegedMode false whatever the request asked.
TEST_F(EngineTest, TheRecordShowsPrivilegedMode) {
  request.privileged_mode = true;
  const engine::BuildRecord r = run("version: 0.2\nphases:\n  build:\n    commands: [c1]\n");
  EXPECT_EQ(r.build_status, Status::kSucceeded);
  EXPECT_TRUE(r.privileged_mode);
  EXPECT_EQ(engine::to_json(r)["environment"]["privilegedMode"], true);
}

TEST_F(EngineTest, TheRunStartsFromRecordFor) {
  request.timeout_minutes = 0.05;
  request.compute_type = "BUILD_GENERAL1_LARGE";
  request.project_vars = {{"A", "1"}};
  const engine::BuildRecord r = run("version: 0.2\nphases:\n  build:\n    commands: [c1]\n");
  EXPECT_EQ(r.timeout_minutes, 1);
  // Only what the run adds differs: times, phases, status, the exported variables.
  const json got = engine::to_json(r);
  json want = engine::to_json(engine::record_for(request));
  for (const char* member : {"startTime", "endTime", "phases", "currentPhase", "buildStatus",
                             "buildComplete", "exportedEnvironmentVariables"}) {
    want[member] = got.at(member);
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(r.phases.front().type, PhaseType::kSubmitted);
}

}  // namespace
}  // namespace kiln::testing
