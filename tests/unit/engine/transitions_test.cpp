// The phase transitions of docs/reference/codebuild-semantics.md §3.2, against the fake executor.
#include "engine/engine_fixture.h"

namespace kiln::testing {
namespace {

using engine::PhaseType;
using engine::Status;
using ::testing::ElementsAre;

const char* kAllPhases = R"(version: 0.2
phases:
  install:
    commands: [i1]
  pre_build:
    commands: [p1]
  build:
    commands: [b1, b2]
  post_build:
    commands: [o1]
artifacts:
  files: ['**/*']
)";

TEST_F(EngineTest, SuccessfulBuildVisitsEveryPhaseInOrder) {
  auto r = run(kAllPhases);
  EXPECT_EQ(r.build_status, Status::kSucceeded);
  EXPECT_TRUE(r.build_complete);
  EXPECT_EQ(r.current_phase, PhaseType::kCompleted);
  EXPECT_THAT(phase_list(r),
              ElementsAre("SUBMITTED:SUCCEEDED", "QUEUED:SUCCEEDED", "PROVISIONING:SUCCEEDED",
                          "DOWNLOAD_SOURCE:SUCCEEDED", "INSTALL:SUCCEEDED", "PRE_BUILD:SUCCEEDED",
                          "BUILD:SUCCEEDED", "POST_BUILD:SUCCEEDED", "UPLOAD_ARTIFACTS:SUCCEEDED",
                          "FINALIZING:SUCCEEDED", "COMPLETED"));
  EXPECT_THAT(executor.texts(), ElementsAre("i1", "p1", "b1", "b2", "o1"));
  EXPECT_EQ(uploader.calls, 1);
  EXPECT_EQ(executor.shutdowns, 1);
}

TEST_F(EngineTest, NoArtifactsProjectUploadsNothingAndSucceeds) {
  request.artifacts_dir.clear();  // the server's NO_ARTIFACTS
  auto r = run(kAllPhases);
  EXPECT_EQ(r.build_status, Status::kSucceeded);
  EXPECT_EQ(phase(r, PhaseType::kUploadArtifacts).status, Status::kSucceeded);
  EXPECT_EQ(uploader.calls, 0);
  EXPECT_FALSE(r.artifacts.has_value());
}

TEST_F(EngineTest, InstallFailureGoesToFinalizing) {
  executor.scripts["i1"] = {.exit_code = 2};
  auto r = run(kAllPhases);
  EXPECT_EQ(r.build_status, Status::kFailed);
  EXPECT_THAT(phase_list(r), ElementsAre("SUBMITTED:SUCCEEDED", "QUEUED:SUCCEEDED",
                                         "PROVISIONING:SUCCEEDED", "DOWNLOAD_SOURCE:SUCCEEDED",
                                         "INSTALL:FAILED", "FINALIZING:SUCCEEDED", "COMPLETED"));
  EXPECT_EQ(uploader.calls, 0);
  const auto& ctx = phase(r, PhaseType::kInstall).contexts.at(0);
  EXPECT_EQ(ctx.status_code, "COMMAND_EXECUTION_ERROR");
  EXPECT_EQ(ctx.message, "Error while executing command: i1. Reason: exit status 2");
}

TEST_F(EngineTest, PreBuildFailureGoesToFinalizing) {
  executor.scripts["p1"] = {.exit_code = 1};
  auto r = run(kAllPhases);
  EXPECT_EQ(r.build_status, Status::kFailed);
  EXPECT_THAT(executor.texts(), ElementsAre("i1", "p1"));
  EXPECT_EQ(r.phase(PhaseType::kBuild), nullptr);
  EXPECT_EQ(r.phase(PhaseType::kUploadArtifacts), nullptr);
  EXPECT_NE(r.phase(PhaseType::kFinalizing), nullptr);
}

TEST_F(EngineTest, BuildFailureStillRunsPostBuildAndUpload) {
  executor.scripts["b1"] = {.exit_code = 1};
  auto r = run(kAllPhases);
  EXPECT_EQ(r.build_status, Status::kFailed);
  EXPECT_THAT(executor.texts(), ElementsAre("i1", "p1", "b1", "o1"));
  EXPECT_THAT(phase_list(r),
              ElementsAre("SUBMITTED:SUCCEEDED", "QUEUED:SUCCEEDED", "PROVISIONING:SUCCEEDED",
                          "DOWNLOAD_SOURCE:SUCCEEDED", "INSTALL:SUCCEEDED", "PRE_BUILD:SUCCEEDED",
                          "BUILD:FAILED", "POST_BUILD:SUCCEEDED", "UPLOAD_ARTIFACTS:SUCCEEDED",
                          "FINALIZING:SUCCEEDED", "COMPLETED"));
  EXPECT_EQ(uploader.calls, 1);
}

TEST_F(EngineTest, PostBuildFailureStillUploads) {
  executor.scripts["o1"] = {.exit_code = 1};
  auto r = run(kAllPhases);
  EXPECT_EQ(r.build_status, Status::kFailed);
  EXPECT_EQ(*phase(r, PhaseType::kPostBuild).status, Status::kFailed);
  EXPECT_EQ(*phase(r, PhaseType::kUploadArtifacts).status, Status::kSucceeded);
}

TEST_F(EngineTest, ProvisioningFailureSkipsFinalizing) {
  executor.prepare_fails = true;
  auto r = run(kAllPhases);
  EXPECT_EQ(r.build_status, Status::kFailed);
  EXPECT_THAT(phase_list(r), ElementsAre("SUBMITTED:SUCCEEDED", "QUEUED:SUCCEEDED",
                                         "PROVISIONING:FAILED", "COMPLETED"));
  EXPECT_EQ(executor.shutdowns, 1);
}

TEST_F(EngineTest, StopWhileProvisioningEndsStoppedNotFailed) {
  // A stop or an interrupt while a curated image is built on first use (minutes) reaches the
  // executor's prepare() through PrepareRequest::cancel; the build ends STOPPED.
  executor.stop_while_preparing = &build_cancel;
  auto r = run(kAllPhases);
  EXPECT_EQ(r.build_status, Status::kStopped);
  EXPECT_THAT(phase_list(r), ElementsAre("SUBMITTED:SUCCEEDED", "QUEUED:SUCCEEDED",
                                         "PROVISIONING:STOPPED", "COMPLETED"));
  EXPECT_TRUE(executor.runs.empty());
  EXPECT_EQ(executor.shutdowns, 1);
}

TEST_F(EngineTest, UploadFailureFailsTheBuild) {
  uploader.result.failure =
      artifacts::UploadFailure{"CLIENT_ERROR", "no matching artifact paths found"};
  auto r = run(kAllPhases);
  EXPECT_EQ(r.build_status, Status::kFailed);
  const auto& up = phase(r, PhaseType::kUploadArtifacts);
  EXPECT_EQ(*up.status, Status::kFailed);
  EXPECT_EQ(up.contexts.at(0).status_code, "CLIENT_ERROR");
  EXPECT_EQ(up.contexts.at(0).message, "no matching artifact paths found");
}

TEST_F(EngineTest, InvalidYamlFailsDownloadSource) {
  auto r = run("version: 1.0\nphases:\n  build:\n    commands: [x]\n");
  EXPECT_EQ(r.build_status, Status::kFailed);
  EXPECT_THAT(phase_list(r),
              ElementsAre("SUBMITTED:SUCCEEDED", "QUEUED:SUCCEEDED", "PROVISIONING:SUCCEEDED",
                          "DOWNLOAD_SOURCE:FAILED", "FINALIZING:SUCCEEDED", "COMPLETED"));
  const auto& ctx = phase(r, PhaseType::kDownloadSource).contexts.at(0);
  EXPECT_EQ(ctx.status_code, "YAML_FILE_ERROR");
  EXPECT_EQ(ctx.message, "invalid buildspec `version` specified: 1.0, see documentation");
  EXPECT_TRUE(executor.runs.empty());
}

TEST_F(EngineTest, AbsentPhasesAreEnteredAndSucceed) {
  auto r = run("version: 0.2\nphases:\n  build:\n    commands: [b1]\n");
  EXPECT_EQ(r.build_status, Status::kSucceeded);
  EXPECT_EQ(*phase(r, PhaseType::kInstall).status, Status::kSucceeded);
  EXPECT_EQ(*phase(r, PhaseType::kPostBuild).status, Status::kSucceeded);
  EXPECT_EQ(*phase(r, PhaseType::kUploadArtifacts).status, Status::kSucceeded);
  EXPECT_EQ(uploader.calls, 0);  // no artifacts section
}

TEST_F(EngineTest, SignalledCommandReportsGoStyleReason) {
  executor.scripts["b1"] = {.exit_code = 9, .end = exec::CommandResult::End::kSignaled};
  auto r = run(kAllPhases);
  EXPECT_EQ(phase(r, PhaseType::kBuild).contexts.at(0).message,
            "Error while executing command: b1. Reason: signal: killed");
}

TEST_F(EngineTest, PublishesEachPhaseChange) {
  run(kAllPhases);
  ASSERT_FALSE(published_phases.empty());
  EXPECT_EQ(published_phases.front(), "SUBMITTED");
  EXPECT_EQ(published_phases.back(), "COMPLETED");
}

}  // namespace
}  // namespace kiln::testing
