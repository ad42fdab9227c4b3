// A project's buildBatchConfig (ProjectBuildBatchConfig) through CreateProject, UpdateProject and
// BatchGetProjects: stored as given, validated member by member, turned off by an empty one.
#include <gtest/gtest.h>

#include <string>

#include "api/service_fixture.h"

namespace kiln::api {
namespace {

using nlohmann::json;

const std::string kCb = "CodeBuild_20161006.";

const json kConfig = json::parse(R"({
  "serviceRole": "arn:aws:iam::123456789012:role/batch",
  "combineArtifacts": true,
  "restrictions": {"maximumBuildsAllowed": 100,
                   "computeTypesAllowed": ["BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_LARGE"],
                   "fleetsAllowed": ["arn:aws:codebuild:us-east-1:123456789012:fleet/f:1"]},
  "timeoutInMins": 480,
  "batchReportMode": "REPORT_AGGREGATED_BATCH"})");

class ProjectBatchConfig : public ServiceTest {
 protected:
  json create_in(const std::string& name) {
    return {
        {"name", name},
        {"source", {{"type", "NO_SOURCE"}, {"buildspec", "version: 0.2"}}},
        {"artifacts", {{"type", "NO_ARTIFACTS"}}},
        {"environment",
         {{"type", "LINUX_CONTAINER"}, {"image", "img"}, {"computeType", "BUILD_GENERAL1_SMALL"}}},
        {"serviceRole", "role"}};
  }
  json stored(const std::string& name) {
    return ok(kCb + "BatchGetProjects", {{"names", {name}}})["projects"][0];
  }
  // CreateProject with `config` as its buildBatchConfig: the error's message, or "" if created.
  std::string create_with(const json& config) {
    json in = create_in("p" + std::to_string(++made_));
    in["buildBatchConfig"] = config;
    const Answer a = call(kCb + "CreateProject", in);
    if (a.status == 200) return "";
    EXPECT_EQ(a.type(), "InvalidInputException") << a.text;
    return a.message();
  }
  int made_ = 0;
};

TEST_F(ProjectBatchConfig, IsStoredAndReturned) {
  json in = create_in("app");
  in["buildBatchConfig"] = kConfig;
  EXPECT_EQ(ok(kCb + "CreateProject", in)["project"]["buildBatchConfig"], kConfig);
  EXPECT_EQ(stored("app")["buildBatchConfig"], kConfig);
  EXPECT_FALSE(
      ok(kCb + "CreateProject", create_in("plain"))["project"].contains("buildBatchConfig"));
}

TEST_F(ProjectBatchConfig, UpdateProjectReplacesItAndAnEmptyOneTurnsBatchesOff) {
  json in = create_in("app");
  in["buildBatchConfig"] = kConfig;
  ok(kCb + "CreateProject", in);
  const json smaller = {{"serviceRole", "r2"}, {"timeoutInMins", 5}};
  EXPECT_EQ(ok(kCb + "UpdateProject",
               {{"name", "app"}, {"buildBatchConfig", smaller}})["project"]["buildBatchConfig"],
            smaller);
  ok(kCb + "UpdateProject", {{"name", "app"}, {"description", "d"}});
  EXPECT_EQ(stored("app")["buildBatchConfig"], smaller) << "kept when not given";
  ok(kCb + "UpdateProject", {{"name", "app"}, {"buildBatchConfig", json::object()}});
  EXPECT_FALSE(stored("app").contains("buildBatchConfig"));
  json empty = create_in("none");
  empty["buildBatchConfig"] = json::object();
  EXPECT_FALSE(ok(kCb + "CreateProject", empty)["project"].contains("buildBatchConfig"));
}

TEST_F(ProjectBatchConfig, EveryMemberIsChecked) {
  EXPECT_EQ(create_with({{"timeoutInMins", 5}}), "");
  EXPECT_EQ(create_with({{"timeoutInMins", 2160}}), "");
  EXPECT_EQ(create_with({{"timeoutInMins", 4}}),
            "1 validation error detected: Value '4' at 'buildBatchConfig.timeoutInMins' failed to "
            "satisfy constraint: Member must have value greater than or equal to 5");
  EXPECT_EQ(create_with({{"timeoutInMins", 2161}}),
            "1 validation error detected: Value '2161' at 'buildBatchConfig.timeoutInMins' failed "
            "to satisfy constraint: Member must have value less than or equal to 2160");
  EXPECT_NE(create_with({{"timeoutInMins", "60"}}), "");
  EXPECT_NE(create_with({{"serviceRole", ""}}), "");
  EXPECT_NE(create_with({{"serviceRole", 7}}), "");
  EXPECT_NE(create_with({{"combineArtifacts", "yes"}}), "");
  EXPECT_EQ(create_with({{"batchReportMode", "REPORT_INDIVIDUAL_BUILDS"}}), "");
  EXPECT_EQ(create_with({{"batchReportMode", "LOUD"}}),
            "1 validation error detected: Value 'LOUD' at 'buildBatchConfig.batchReportMode' "
            "failed to satisfy constraint: Member must satisfy enum value set: "
            "[REPORT_INDIVIDUAL_BUILDS, REPORT_AGGREGATED_BATCH]");
  EXPECT_NE(create_with({{"restrictions", "none"}}), "");
  EXPECT_NE(create_with({{"restrictions", {{"maximumBuildsAllowed", 0}}}}), "");
  EXPECT_NE(create_with({{"restrictions", {{"maximumBuildsAllowed", 10001}}}}), "");
  EXPECT_NE(create_with({{"restrictions", {{"maximumBuildsAllowed", 1.5}}}}), "");
  const std::string huge = create_with({{"restrictions", {{"computeTypesAllowed", {"HUGE"}}}}});
  EXPECT_TRUE(
      huge.starts_with("1 validation error detected: Value 'HUGE' at "
                       "'buildBatchConfig.restrictions.computeTypesAllowed.1' failed to "
                       "satisfy constraint: Member must satisfy enum value set: "
                       "[BUILD_GENERAL1_SMALL, BUILD_GENERAL1_MEDIUM, "))
      << huge;
  EXPECT_NE(create_with({{"restrictions", {{"computeTypesAllowed", {7}}}}}), "");
  EXPECT_NE(create_with({{"restrictions", {{"computeTypesAllowed", "BUILD_GENERAL1_SMALL"}}}}), "");
  EXPECT_NE(
      create_with(
          {{"restrictions",
            {{"computeTypesAllowed", std::vector<std::string>(101, "BUILD_GENERAL1_SMALL")}}}}),
      "");
  EXPECT_EQ(create_with({{"restrictions", {{"fleetsAllowed", {""}}}}}),
            "buildBatchConfig.restrictions.fleetsAllowed.1 must be a string of 1 to 2048 "
            "characters");
  EXPECT_NE(create_with({{"restrictions", {{"fleetsAllowed", {std::string(2049, 'f')}}}}}), "");
  EXPECT_NE(create_with("on"), "");
  // UpdateProject checks it the same way.
  ok(kCb + "CreateProject", create_in("app"));
  const Answer a =
      call(kCb + "UpdateProject", {{"name", "app"}, {"buildBatchConfig", {{"timeoutInMins", 1}}}});
  EXPECT_EQ(a.type(), "InvalidInputException") << a.text;
}

}  // namespace
}  // namespace kiln::api
