// Reports in the engine (§7.5): made in UPLOAD_ARTIFACTS after POST_BUILD and the artifacts,
// written to reports_dir, listed in reportArns, handed to on_reports, masked, and never made
// by a build that jumped to FINALIZING.
#include <map>

#include "artifacts/temp_tree.h"
#include "engine/engine_fixture.h"
#include "reports/report.h"

namespace kiln::testing {
namespace {

using engine::PhaseType;
using engine::Status;

constexpr char kJunit[] =
    "<testsuite name=\"s\"><testcase classname=\"c\" name=\"ok\"/>"
    "<testcase classname=\"c\" name=\"bad\"><failure message=\"expected tok-1234567890\"/>"
    "</testcase></testsuite>\n";

constexpr char kUnitGroup[] = "reports:\n  unit:\n    files: ['out/*.xml']\n";

class FakeParams final : public secrets::SecretResolver {
 public:
  Result<std::string> parameter(const std::string& name) override {
    if (name == "/ci/token") return std::string("tok-1234567890");
    return fail(ErrorCode::kNotFound, "parameter does not exist: " + name);
  }
  Result<std::string> secret_text(const secrets::SecretReference&) override {
    return fail(ErrorCode::kNotFound, "none");
  }
};

class EngineReportsTest : public EngineTest {
 protected:
  TempTree src;
  FakeParams params;
  std::vector<reports::Report> made;
  int calls = 0;

  EngineReportsTest() {
    request.source.location = src.root().string();
    request.artifacts_dir.clear();  // NO_ARTIFACTS
    resolver = &params;
  }

  engine::BuildRecord run_with_reports(const std::string& buildspec) {
    request.buildspec_text = buildspec;
    engine::EngineDeps deps{executor, uploader, log, clock, *resolver, nullptr, nullptr, nullptr};
    deps.on_reports = [this](const std::vector<reports::Report>& r) {
      made = r;
      ++calls;
    };
    engine::Engine e(std::move(deps));
    exec::CancelToken cancel = exec::CancelToken::create().value();
    return e.run(request, cancel);
  }

  std::size_t at(const std::string& text) const { return log.text().find(text); }
};

TEST_F(EngineReportsTest, MadeInUploadArtifactsAfterPostBuildAndListedInTheRecord) {
  src.file("out/unit.xml", kJunit);
  auto r = run_with_reports(
      std::string("version: 0.2\nphases:\n  post_build:\n    commands: [t]\n") + kUnitGroup);
  EXPECT_EQ(r.build_status, Status::kSucceeded);  // a FAILED report does not fail the build
  ASSERT_EQ(calls, 1);
  ASSERT_EQ(made.size(), 1u);
  EXPECT_EQ(made[0].name, "demo-unit");
  EXPECT_EQ(made[0].status, reports::ReportStatus::kFailed);
  EXPECT_EQ(made[0].execution_id, r.arn);
  EXPECT_EQ(made[0].test_cases.at(0).test_raw_data_path, "/codebuild/output/src1/src/out/unit.xml");
  ASSERT_EQ(r.report_arns.size(), 1u);
  EXPECT_EQ(r.report_arns[0], made[0].arn);
  EXPECT_EQ(r.report_arns[0].rfind("arn:aws:codebuild:us-east-1:000000000000:report/demo-unit:", 0),
            0u);
  const auto post = at("Phase complete: POST_BUILD");
  const auto skip_artifacts = at("Skipping artifact upload");
  const auto prep = at("Preparing to copy TEST report demo-unit");
  const auto discover = at("Set report auto-discover timeout to 5 seconds");
  const auto upload = at("Phase complete: UPLOAD_ARTIFACTS State: SUCCEEDED");
  ASSERT_NE(prep, std::string::npos) << log.text();
  EXPECT_LT(post, prep);
  EXPECT_EQ(skip_artifacts, std::string::npos);  // no artifacts section: nothing to skip
  EXPECT_LT(prep, discover);
  EXPECT_LT(discover, upload);
}

TEST_F(EngineReportsTest, ReportsFollowTheArtifactsAndSurviveTheirFailure) {
  src.file("out/unit.xml", kJunit);
  request.artifacts_dir = "/nonexistent/artifacts";
  uploader.result.failure =
      artifacts::UploadFailure{"CLIENT_ERROR", "no matching artifact paths found"};
  auto r = run_with_reports(std::string("version: 0.2\nphases:\n  build:\n    commands: [t]\n") +
                            kUnitGroup + "artifacts:\n  files: [nothing]\n");
  EXPECT_EQ(phase(r, PhaseType::kUploadArtifacts).status, Status::kFailed);
  EXPECT_LT(at("Expanding base directory path: ."), at("Preparing to copy TEST report"));
  EXPECT_EQ(made.size(), 1u);
  EXPECT_EQ(r.report_arns.size(), 1u);
}

TEST_F(EngineReportsTest, WrittenToTheReportsDirWithRawFiles) {
  src.file("out/unit.xml", kJunit);
  TempTree dest;
  request.reports_dir = dest.path("reports");
  auto r = run_with_reports(std::string("version: 0.2\nphases:\n  build:\n    commands: [t]\n") +
                            kUnitGroup);
  ASSERT_EQ(r.report_arns.size(), 1u);
  auto j = nlohmann::json::parse(read_file(dest.path("reports/report-1.json")));
  auto back = reports::report_from_file_json(j);
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(back->arn, r.report_arns[0]);
  EXPECT_EQ(back->test_cases.size(), 2u);
  EXPECT_EQ(read_file(dest.path("reports/report-1.raw/out/unit.xml")), kJunit);
  EXPECT_FALSE(fs::exists(dest.path("reports/report-2.json")));
}

TEST_F(EngineReportsTest, SecretValueIsMaskedOutOfTheStoredReport) {
  src.file("out/unit.xml", kJunit);
  TempTree dest;
  request.reports_dir = dest.path("reports");
  run_with_reports(std::string("version: 0.2\nenv:\n  parameter-store:\n    TOKEN: /ci/token\n"
                               "phases:\n  build:\n    commands: [t]\n") +
                   kUnitGroup);
  ASSERT_EQ(made.size(), 1u);
  EXPECT_EQ(made[0].test_cases.at(0).message, "expected ***");
  EXPECT_EQ(read_file(dest.path("reports/report-1.json")).find("tok-1234567890"),
            std::string::npos);
}

TEST_F(EngineReportsTest, JumpToFinalizingMakesNoReports) {
  src.file("out/unit.xml", kJunit);
  for (const char* phase_name : {"install", "pre_build"}) {
    executor.scripts["boom"] = {.exit_code = 1};
    made.clear();
    calls = 0;
    auto r =
        run_with_reports(std::string("version: 0.2\nphases:\n  ") + phase_name +
                         ":\n    commands: [boom]\n  build:\n    commands: [t]\n" + kUnitGroup);
    EXPECT_EQ(r.build_status, Status::kFailed);
    EXPECT_EQ(r.phase(PhaseType::kUploadArtifacts), nullptr) << phase_name;
    EXPECT_TRUE(r.report_arns.empty()) << phase_name;
    EXPECT_EQ(calls, 0) << phase_name;
    EXPECT_EQ(at("Preparing to copy"), std::string::npos) << log.text();
  }
}

TEST_F(EngineReportsTest, BuildFailureStillMakesReports) {
  src.file("out/unit.xml", kJunit);
  executor.scripts["boom"] = {.exit_code = 1};
  auto r = run_with_reports(std::string("version: 0.2\nphases:\n  build:\n    commands: [boom]\n") +
                            kUnitGroup);
  EXPECT_EQ(r.build_status, Status::kFailed);
  EXPECT_EQ(r.report_arns.size(), 1u);
}

TEST_F(EngineReportsTest, AutoDiscoverIsOnByDefaultAndTurnedOffByTheEnvironment) {
  src.file("build/test-results/TEST-x.xml", kJunit);
  auto on = run_with_reports("version: 0.2\nphases:\n  build:\n    commands: [t]\n");
  ASSERT_EQ(made.size(), 1u);
  EXPECT_EQ(made[0].name, "demo-JUNITXML-AutoDiscovered");
  EXPECT_EQ(on.report_arns.size(), 1u);

  made.clear();
  auto off = run_with_reports(
      "version: 0.2\nenv:\n  variables:\n    CODEBUILD_CONFIG_AUTO_DISCOVER: 'false'\n"
      "phases:\n  build:\n    commands: [t]\n");
  EXPECT_TRUE(made.empty());
  EXPECT_TRUE(off.report_arns.empty());
}

TEST_F(EngineReportsTest, AutoDiscoverReadsTheBuildsFinalEnvironment) {
  src.file("build/TEST-x.xml", kJunit);
  executor.scripts["t"] = {.set_env = {{"CODEBUILD_CONFIG_AUTO_DISCOVER", "false"}}};
  auto r = run_with_reports("version: 0.2\nphases:\n  build:\n    commands: [t]\n");
  EXPECT_TRUE(r.report_arns.empty());
  EXPECT_EQ(at("Set report auto-discover timeout"), std::string::npos) << log.text();
}

}  // namespace
}  // namespace kiln::testing
