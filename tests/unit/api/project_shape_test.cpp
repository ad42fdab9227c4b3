#include "api/project_shape.h"

#include <gtest/gtest.h>

#include "api/validate.h"

namespace kiln::api {
namespace {

using nlohmann::json;

json minimal() {
  return json::parse(
      R"({"name": "hello", "source": {"type": "NO_SOURCE", "buildspec": "version: 0.2"},
    "artifacts": {"type": "NO_ARTIFACTS"},
    "environment": {"type": "LINUX_CONTAINER", "image": "kiln/host", "computeType": "BUILD_GENERAL1_SMALL"},
    "serviceRole": "arn:aws:iam::000000000000:role/kiln"})");
}

TEST(ProjectShape, FillsCodeBuildDefaults) {
  auto p = project_from_create(minimal(), {"eu-west-1", "123456789012"}, 1700000000.5);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ((*p)["arn"], "arn:aws:codebuild:eu-west-1:123456789012:project/hello");
  EXPECT_EQ((*p)["timeoutInMinutes"], 60);
  EXPECT_EQ((*p)["queuedTimeoutInMinutes"], 480);
  EXPECT_EQ((*p)["cache"]["type"], "NO_CACHE");
  EXPECT_EQ((*p)["created"], 1700000000.5);
  EXPECT_TRUE((*p)["secondarySources"].is_array());
  EXPECT_EQ((*p)["source"]["buildspec"], "version: 0.2");
}

TEST(ProjectShape, RejectsWhatTheModelForbids) {
  struct Case {
    const char* member;
    json value;
    const char* expect;  // a piece of the message
  };
  const Case cases[] = {
      {"name", "-bad", "regular expression pattern"},
      {"name", "x", "length greater than or equal to 2"},
      {"name", 42, "must be a string"},
      {"timeoutInMinutes", 3, "greater than or equal to 5"},
      {"timeoutInMinutes", 3000, "less than or equal to 2160"},
      {"queuedTimeoutInMinutes", 481, "less than or equal to 480"},
      {"description", std::string(256, 'd'), "length less than or equal to 255"},
      {"environment",
       json{{"type", "BOGUS"}, {"image", "x"}, {"computeType", "BUILD_GENERAL1_SMALL"}},
       "enum value set"},
      {"environment", json{{"type", "LINUX_CONTAINER"}, {"image", "x"}, {"computeType", "HUGE"}},
       "environment.computeType"},
      {"source", json{{"type", "NO_SOURCE"}}, "buildspec must be specified"},
      {"artifacts", json{{"type", "FTP"}}, "artifacts.type"},
  };
  for (const auto& c : cases) {
    json in = minimal();
    in[c.member] = c.value;
    auto p = project_from_create(in, {}, 1);
    ASSERT_FALSE(p) << c.member;
    EXPECT_EQ(p.error().type, "InvalidInputException");
    EXPECT_NE(p.error().message.find(c.expect), std::string::npos)
        << c.member << ": " << p.error().message;
  }
}

TEST(ProjectShape, RequiredMembersAreNamed) {
  for (const char* member : {"source", "artifacts", "environment", "serviceRole", "name"}) {
    json in = minimal();
    in.erase(member);
    auto p = project_from_create(in, {}, 1);
    ASSERT_FALSE(p) << member;
    EXPECT_NE(p.error().message.find(member), std::string::npos) << p.error().message;
  }
}

TEST(ProjectShape, UpdateReplacesOnlyGivenMembers) {
  auto p = project_from_create(minimal(), {}, 1);
  ASSERT_TRUE(p);
  auto u = project_apply_update(*p, json{{"name", "hello"}, {"timeoutInMinutes", 30}}, 2);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ((*u)["timeoutInMinutes"], 30);
  EXPECT_EQ((*u)["created"], 1);
  EXPECT_EQ((*u)["lastModified"], 2);
  EXPECT_EQ((*u)["source"]["type"], "NO_SOURCE");
  EXPECT_FALSE(project_apply_update(*p, json{{"timeoutInMinutes", 1}}, 2));
}

TEST(Validate, ProjectNamePattern) {
  EXPECT_TRUE(valid_project_name("ab"));
  EXPECT_TRUE(valid_project_name("a-b_c9"));
  EXPECT_FALSE(valid_project_name("a"));
  EXPECT_FALSE(valid_project_name("_ab"));
  EXPECT_FALSE(valid_project_name("a b"));
  EXPECT_FALSE(valid_project_name("a/../b"));
  EXPECT_FALSE(valid_project_name(std::string(151, 'a')));
}

}  // namespace
}  // namespace kiln::api
