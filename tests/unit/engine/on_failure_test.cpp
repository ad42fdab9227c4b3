// finally, on-failure and CODEBUILD_BUILD_SUCCEEDING (§3.3-§3.5), against the fake executor.
#include "engine/engine_fixture.h"

namespace kiln::testing {
namespace {

using engine::PhaseType;
using engine::Status;
using ::testing::ElementsAre;

std::string spec_with_build(const std::string& build_block) {
  return "version: 0.2\nphases:\n  build:\n" + build_block +
         "  post_build:\n    commands: [o1]\nartifacts:\n  files: [x]\n";
}

TEST_F(EngineTest, FinallyRunsAfterAFailedCommandAndSkipsTheRest) {
  executor.scripts["b1"] = {.exit_code = 1};
  auto r = run(spec_with_build("    commands: [b1, b2, b3]\n    finally: [f1, f2]\n"));
  EXPECT_THAT(executor.texts(), ElementsAre("b1", "f1", "f2", "o1"));
  EXPECT_EQ(*phase(r, PhaseType::kBuild).status, Status::kFailed);
  // The context names the first failure, not a finally command.
  EXPECT_EQ(phase(r, PhaseType::kBuild).contexts.at(0).message,
            "Error while executing command: b1. Reason: exit status 1");
}

TEST_F(EngineTest, FailingFinallyFailsThePhase) {
  executor.scripts["f1"] = {.exit_code = 4};
  auto r = run(spec_with_build("    commands: [b1]\n    finally: [f1, f2]\n"));
  EXPECT_THAT(executor.texts(), ElementsAre("b1", "f1", "o1"));
  EXPECT_EQ(*phase(r, PhaseType::kBuild).status, Status::kFailed);
  EXPECT_EQ(r.build_status, Status::kFailed);
}

TEST_F(EngineTest, FinallyDoesNotRunForPhasesNeverEntered) {
  executor.scripts["p1"] = {.exit_code = 1};
  run("version: 0.2\nphases:\n  pre_build:\n    commands: [p1]\n  build:\n    commands: [b1]\n"
      "    finally: [f1]\n");
  EXPECT_THAT(executor.texts(), ElementsAre("p1"));
}

TEST_F(EngineTest, AbortOnBuildSkipsPostBuildAndUpload) {
  executor.scripts["b1"] = {.exit_code = 1};
  auto r = run(spec_with_build("    on-failure: ABORT\n    commands: [b1]\n    finally: [f1]\n"));
  EXPECT_THAT(executor.texts(), ElementsAre("b1", "f1"));
  EXPECT_EQ(r.phase(PhaseType::kPostBuild), nullptr);
  EXPECT_EQ(r.phase(PhaseType::kUploadArtifacts), nullptr);
  EXPECT_EQ(r.build_status, Status::kFailed);
}

TEST_F(EngineTest, ContinueOnInstallGoesOnToTheNextPhaseButTheBuildFails) {
  executor.scripts["i1"] = {.exit_code = 1};
  auto r =
      run("version: 0.2\nphases:\n  install:\n    on-failure: CONTINUE\n    commands: [i1]\n"
          "  build:\n    commands: [b1]\n");
  EXPECT_THAT(executor.texts(), ElementsAre("i1", "b1"));
  EXPECT_EQ(*phase(r, PhaseType::kInstall).status, Status::kFailed);
  EXPECT_EQ(*phase(r, PhaseType::kBuild).status, Status::kSucceeded);
  EXPECT_EQ(r.build_status, Status::kFailed);
  // After the failure the flag reads 0 (§3.4, the Control Tower AFT pattern).
  EXPECT_EQ(executor.runs.at(0).state.env.at("CODEBUILD_BUILD_SUCCEEDING"), "1");
  EXPECT_EQ(executor.runs.at(1).state.env.at("CODEBUILD_BUILD_SUCCEEDING"), "0");
}

TEST_F(EngineTest, SucceedingFlagIsZeroInFinallyAfterAFailure) {
  executor.scripts["b1"] = {.exit_code = 1};
  run(spec_with_build("    commands: [b1]\n    finally: [f1]\n"));
  EXPECT_EQ(executor.runs.at(1).text, "f1");
  EXPECT_EQ(executor.runs.at(1).state.env.at("CODEBUILD_BUILD_SUCCEEDING"), "0");
  EXPECT_EQ(executor.runs.at(2).state.env.at("CODEBUILD_BUILD_SUCCEEDING"), "0");  // post_build
}

TEST_F(EngineTest, RetryRerunsThePhaseUntilItSucceeds) {
  executor.scripts["b1"] = {.exit_code = 1, .output = "flaky\n", .fail_times = 2};
  auto r = run(spec_with_build("    on-failure: RETRY\n    commands: [b0, b1]\n"));
  EXPECT_THAT(executor.texts(), ElementsAre("b0", "b1", "b0", "b1", "b0", "b1", "o1"));
  EXPECT_EQ(*phase(r, PhaseType::kBuild).status, Status::kSucceeded);
  EXPECT_EQ(r.build_status, Status::kSucceeded);
  EXPECT_NE(log.text().find("Retrying phase BUILD (retry 2 of 3)"), std::string::npos);
}

TEST_F(EngineTest, RetryCountLimitsAttempts) {
  executor.scripts["b1"] = {.exit_code = 1};
  auto r = run(spec_with_build("    on-failure: RETRY-2\n    commands: [b1]\n"));
  EXPECT_THAT(executor.texts(), ElementsAre("b1", "b1", "b1", "o1"));
  EXPECT_EQ(r.build_status, Status::kFailed);
  // After retries run out, the default transition applies: BUILD still goes to POST_BUILD.
  EXPECT_NE(r.phase(PhaseType::kPostBuild), nullptr);
}

TEST_F(EngineTest, RetryZeroMeansNoRetry) {
  executor.scripts["b1"] = {.exit_code = 1};
  run(spec_with_build("    on-failure: RETRY-0\n    commands: [b1]\n"));
  EXPECT_THAT(executor.texts(), ElementsAre("b1", "o1"));
}

TEST_F(EngineTest, RetryRegexMustMatchTheFailingOutput) {
  executor.scripts["b1"] = {.exit_code = 1, .output = "Error: disk full\n"};
  run(spec_with_build("    on-failure: RETRY-.*connection timed out.*\n    commands: [b1]\n"));
  EXPECT_THAT(executor.texts(), ElementsAre("b1", "o1"));
  EXPECT_NE(log.text().find("Not retrying phase BUILD"), std::string::npos);
}

TEST_F(EngineTest, RetryCountAndRegexTogether) {
  executor.scripts["b1"] = {.exit_code = 1, .output = "upstream connection timed out\n"};
  run(spec_with_build("    on-failure: Retry-1-.*connection timed out.*\n    commands: [b1]\n"));
  EXPECT_THAT(executor.texts(), ElementsAre("b1", "b1", "o1"));
}

TEST_F(EngineTest, RetryOnInstallGoesToFinalizingWhenExhausted) {
  executor.scripts["i1"] = {.exit_code = 1};
  auto r =
      run("version: 0.2\nphases:\n  install:\n    on-failure: RETRY-1\n    commands: [i1]\n"
          "  build:\n    commands: [b1]\n");
  EXPECT_THAT(executor.texts(), ElementsAre("i1", "i1"));
  EXPECT_EQ(r.phase(PhaseType::kBuild), nullptr);
}

}  // namespace
}  // namespace kiln::testing
