// Shell state, variables, exported variables, timeouts and stops, against the fake executor.
#include "engine/engine_fixture.h"

namespace kiln::testing {
namespace {

using engine::PhaseType;
using engine::Status;
using ::testing::ElementsAre;

TEST_F(EngineTest, Version02CarriesStateAcrossCommandsAndPhases) {
  executor.scripts["c1"] = {.set_env = {{"FOO", "bar"}}, .cd = "/codebuild/output/src1/src/sub"};
  run("version: 0.2\nphases:\n  install:\n    commands: [c1]\n  build:\n    commands: [c2]\n");
  ASSERT_EQ(executor.runs.size(), 2u);
  EXPECT_EQ(executor.runs[1].state.env.at("FOO"), "bar");
  EXPECT_EQ(executor.runs[1].state.cwd, "/codebuild/output/src1/src/sub");
}

TEST_F(EngineTest, Version01RunsEachCommandFromTheInitialState) {
  executor.scripts["c1"] = {.set_env = {{"FOO", "bar"}}, .cd = "/elsewhere"};
  run("version: 0.1\nphases:\n  build:\n    commands: [c1, c2]\n");
  ASSERT_EQ(executor.runs.size(), 2u);
  EXPECT_EQ(executor.runs[1].state.env.count("FOO"), 0u);
  EXPECT_EQ(executor.runs[1].state.cwd, "/codebuild/output/src1/src");
}

TEST_F(EngineTest, FirstCommandStartsInTheSourceDirectory) {
  run("version: 0.2\nphases:\n  build:\n    commands: [c1]\n");
  EXPECT_EQ(executor.runs.at(0).state.cwd, "/codebuild/output/src1/src");
  EXPECT_EQ(executor.runs.at(0).state.env.at("CODEBUILD_SRC_DIR"), "/codebuild/output/src1/src");
}

TEST_F(EngineTest, VariablePrecedenceOverrideThenProjectThenBuildspec) {
  request.image_env = {{"A", "image"}, {"B", "image"}, {"C", "image"}, {"D", "image"}};
  request.project_vars = {{"B", "project"}, {"C", "project"}};
  request.override_vars = {{"C", "override"}};
  run("version: 0.2\nenv:\n  variables:\n    A: buildspec\n    B: buildspec\n    C: buildspec\n"
      "phases:\n  build:\n    commands: [c1]\n");
  const auto& env = executor.runs.at(0).state.env;
  EXPECT_EQ(env.at("A"), "buildspec");
  EXPECT_EQ(env.at("B"), "project");
  EXPECT_EQ(env.at("C"), "override");
  EXPECT_EQ(env.at("D"), "image");
}

TEST_F(EngineTest, BuildspecValuesAreLiteral) {
  request.image_env = {{"PATH", "/usr/bin"}};
  run("version: 0.2\nenv:\n  variables:\n    PATH: \"$PATH:/opt/bin\"\nphases:\n  build:\n"
      "    commands: [c1]\n");
  EXPECT_EQ(executor.runs.at(0).state.env.at("PATH"), "$PATH:/opt/bin");
}

TEST_F(EngineTest, CodebuildVariablesHaveCodebuildForms) {
  request.identity.build_number = 7;
  request.identity.resolved_source_version = "0123456789abcdef0123456789abcdef01234567";
  run("version: 0.2\nphases:\n  build:\n    commands: [c1]\n");
  const auto& env = executor.runs.at(0).state.env;
  const std::string id = "demo:11111111-2222-3333-4444-555555555555";
  EXPECT_EQ(env.at("CODEBUILD_BUILD_ID"), id);
  EXPECT_EQ(env.at("CODEBUILD_BUILD_ARN"), "arn:aws:codebuild:us-east-1:000000000000:build/" + id);
  EXPECT_EQ(env.at("CODEBUILD_BUILD_NUMBER"), "7");
  EXPECT_EQ(env.at("CODEBUILD_LOG_PATH"), "11111111-2222-3333-4444-555555555555");
  EXPECT_EQ(env.at("CODEBUILD_PROJECT_ARN"),
            "arn:aws:codebuild:us-east-1:000000000000:project/demo");
  EXPECT_EQ(env.at("CODEBUILD_RESOLVED_SOURCE_VERSION"),
            "0123456789abcdef0123456789abcdef01234567");
  EXPECT_EQ(env.at("CODEBUILD_START_TIME"), "1700000000000");
  EXPECT_EQ(env.at("CODEBUILD_INITIATOR"), "tester");
  EXPECT_EQ(env.at("AWS_REGION"), "us-east-1");
  EXPECT_EQ(env.at("AWS_DEFAULT_REGION"), "us-east-1");
  EXPECT_EQ(env.at("CODEBUILD_WEBHOOK_TRIGGER"), "");
}

TEST_F(EngineTest, WebhookVariablesComeFromTheDeliveryAndNothingElse) {
  request.identity.webhook = {{"CODEBUILD_WEBHOOK_EVENT", "PUSH"},
                              {"CODEBUILD_WEBHOOK_TRIGGER", "branch/main"},
                              {"CODEBUILD_BUILD_ID", "forged"}};  // not a webhook variable
  run("version: 0.2\nphases:\n  build:\n    commands: [c1]\n");
  const auto& env = executor.runs.at(0).state.env;
  EXPECT_EQ(env.at("CODEBUILD_WEBHOOK_EVENT"), "PUSH");
  EXPECT_EQ(env.at("CODEBUILD_WEBHOOK_TRIGGER"), "branch/main");
  EXPECT_EQ(env.at("CODEBUILD_WEBHOOK_BASE_REF"), "");  // not given: empty, as §4.1 has it
  EXPECT_EQ(env.at("CODEBUILD_BUILD_ID"), "demo:11111111-2222-3333-4444-555555555555");
}

TEST_F(EngineTest, ResolvedSourceVersionIsUnsetWhenUnknown) {
  run("version: 0.2\nphases:\n  build:\n    commands: [c1]\n");
  EXPECT_EQ(executor.runs.at(0).state.env.count("CODEBUILD_RESOLVED_SOURCE_VERSION"), 0u);
}

TEST_F(EngineTest, ExportedVariablesAreCapturedAfterPostBuild) {
  executor.scripts["o1"] = {.set_env = {{"OUT", "final"}, {"AWS_X", "no"}}};
  executor.scripts["b1"] = {.set_env = {{"OUT", "early"}}};
  auto r =
      run("version: 0.2\nenv:\n  exported-variables: [OUT, MISSING]\n"
          "phases:\n  build:\n    commands: [b1]\n  post_build:\n    commands: [o1]\n");
  ASSERT_EQ(r.exported_variables.size(), 2u);
  EXPECT_EQ(r.exported_variables[0], std::make_pair(std::string("OUT"), std::string("final")));
  EXPECT_EQ(r.exported_variables[1], std::make_pair(std::string("MISSING"), std::string("")));
}

TEST_F(EngineTest, TimeoutMarksTheRunningPhaseAndSkipsToFinalizing) {
  executor.scripts["b1"] = {.end = exec::CommandResult::End::kTimedOut};
  auto r =
      run("version: 0.2\nphases:\n  build:\n    commands: [b1, b2]\n  post_build:\n"
          "    commands: [o1]\n");
  EXPECT_EQ(r.build_status, Status::kTimedOut);
  EXPECT_EQ(*phase(r, PhaseType::kBuild).status, Status::kTimedOut);
  EXPECT_EQ(phase(r, PhaseType::kBuild).contexts.at(0).status_code, "BUILD_TIMED_OUT");
  EXPECT_THAT(executor.texts(), ElementsAre("b1"));
  EXPECT_EQ(r.phase(PhaseType::kPostBuild), nullptr);
  EXPECT_NE(r.phase(PhaseType::kFinalizing), nullptr);
}

TEST_F(EngineTest, DeadlinePassedBetweenCommandsTimesOut) {
  request.timeout_minutes = 1;
  executor.scripts["b1"] = {.takes = std::chrono::minutes(2)};
  auto r = run("version: 0.2\nphases:\n  build:\n    commands: [b1, b2]\n");
  EXPECT_EQ(r.build_status, Status::kTimedOut);
  EXPECT_THAT(executor.texts(), ElementsAre("b1"));
}

TEST_F(EngineTest, CancelledCommandStopsTheBuild) {
  executor.scripts["b1"] = {.end = exec::CommandResult::End::kCancelled};
  auto r = run("version: 0.2\nphases:\n  build:\n    commands: [b1, b2]\n");
  EXPECT_EQ(r.build_status, Status::kStopped);
  EXPECT_EQ(*phase(r, PhaseType::kBuild).status, Status::kStopped);
  EXPECT_TRUE(r.build_complete);
  EXPECT_EQ(executor.shutdowns, 1);
}

TEST_F(EngineTest, ArtifactNameIsExpandedInTheBuildShell) {
  auto r =
      run("version: 0.2\nphases:\n  build:\n    commands: [b1]\nartifacts:\n  files: [x]\n"
          "  name: out-$CODEBUILD_BUILD_NUMBER\n");
  EXPECT_EQ(uploader.expanded_name, "out-$CODEBUILD_BUILD_NUMBER");  // fake echoes verbatim
  EXPECT_EQ(executor.runs.back().text,
            "cat <<KILN_EXPAND_EOF\nout-$CODEBUILD_BUILD_NUMBER\nKILN_EXPAND_EOF");
}

TEST_F(EngineTest, LogHasCodebuildLines) {
  executor.scripts["b1"] = {.exit_code = 3, .output = "boom"};
  run("version: 0.2\nphases:\n  build:\n    commands: [b1]\n");
  const std::string& t = log.text();
  const std::string ts = "[Container] 2023/11/14 22:13:20.000000 ";
  EXPECT_NE(t.find(ts + "Entering phase BUILD\n"), std::string::npos) << t;
  EXPECT_NE(t.find(ts + "Running command b1\nboom\n" + ts +
                   "Command did not exit successfully b1 exit status 3\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find(ts + "Phase complete: BUILD State: FAILED\n" + ts +
                   "Phase context status code: COMMAND_EXECUTION_ERROR Message: Error while "
                   "executing command: b1. Reason: exit status 3\n"),
            std::string::npos);
  EXPECT_NE(t.find(ts + "Phase context status code:  Message: \n"), std::string::npos);
  EXPECT_NE(t.find(ts + "Phases found in YAML: 1\n" + ts + " BUILD: 1 commands\n"),
            std::string::npos);
}

}  // namespace
}  // namespace kiln::testing
