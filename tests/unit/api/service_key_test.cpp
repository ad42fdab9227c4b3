// The project's key (docs/server.md "Builds' own calls"): the key that creates or updates a
// project is recorded on it, never shown, and handed to its builds' workers with the request.
#include <gtest/gtest.h>

#include "api/service_fixture.h"
#include "engine/request_json.h"

namespace kiln::api {
namespace {

using nlohmann::json;

constexpr const char* kCreate = "CodeBuild_20161006.CreateProject";
constexpr const char* kUpdate = "CodeBuild_20161006.UpdateProject";

class ServiceKeyTest : public ServiceTest {
 protected:
  json project_in(const std::string& name) {
    return {{"name", name},
            {"source", {{"type", "NO_SOURCE"}, {"buildspec", "version: 0.2\n"}}},
            {"artifacts", {{"type", "NO_ARTIFACTS"}}},
            {"environment",
             {{"type", "LINUX_CONTAINER"},
              {"image", "aws/codebuild/standard:7.0"},
              {"computeType", "BUILD_GENERAL1_SMALL"}}},
            {"serviceRole", "arn:aws:iam::123456789012:role/r"}};
  }
  json stored_project(const std::string& name) {
    auto rows = store_->get_projects({name});
    EXPECT_EQ(rows->size(), 1U);
    return json::parse(rows->front().json);
  }
  // The request the worker of the project's only build would get.
  json queued_request(const std::string& project) {
    auto ids = store_->list_builds_for_project(project, store::SortOrder::kAscending, "", 10);
    EXPECT_TRUE(ids) << ids.error().describe();
    auto rows = store_->get_builds(ids->items);
    EXPECT_EQ(rows->size(), 1U);
    return json::parse(rows->front().request_json).at("request");
  }
};

TEST_F(ServiceKeyTest, TheSigningKeyIsRecordedButNeverShown) {
  Answer created = call(kCreate, project_in("signed"), "codebuild");
  ASSERT_EQ(created.status, 200) << created.text;
  EXPECT_FALSE(created.body["project"].contains(kServiceKeyMember));
  EXPECT_EQ(stored_project("signed").value(kServiceKeyMember, ""), kTestKey.id);

  Answer got = call("CodeBuild_20161006.BatchGetProjects", {{"names", {"signed"}}}, "codebuild");
  ASSERT_EQ(got.status, 200) << got.text;
  EXPECT_EQ(got.text.find(kServiceKeyMember), std::string::npos) << got.text;
  EXPECT_EQ(got.text.find(kTestKey.id), std::string::npos) << got.text;

  Answer updated = call(kUpdate, {{"name", "signed"}, {"description", "d"}}, "codebuild");
  ASSERT_EQ(updated.status, 200) << updated.text;
  EXPECT_EQ(updated.text.find(kTestKey.id), std::string::npos) << updated.text;
}

TEST_F(ServiceKeyTest, AnInputCannotNameTheKey) {
  json in = project_in("forged");
  in[kServiceKeyMember] = "AKIAFORGED0000000000";
  Answer a = call(kCreate, in);  // unsigned (the fixture allows anonymous requests)
  if (a.status == 200) {
    EXPECT_FALSE(stored_project("forged").contains(kServiceKeyMember));
  }
}

TEST_F(ServiceKeyTest, AnUnsignedUpdateLeavesTheServersRights) {
  ASSERT_EQ(call(kCreate, project_in("pp"), "codebuild").status, 200);
  ASSERT_EQ(call(kUpdate, {{"name", "pp"}, {"description", "d"}}).status, 200);
  EXPECT_FALSE(stored_project("pp").contains(kServiceKeyMember));
}

TEST_F(ServiceKeyTest, StartBuildHandsTheProjectsKeyToTheWorker) {
  ASSERT_EQ(call(kCreate, project_in("kk"), "codebuild").status, 200);
  Answer started = call("CodeBuild_20161006.StartBuild", {{"projectName", "kk"}}, "codebuild");
  ASSERT_EQ(started.status, 200) << started.text;
  EXPECT_EQ(queued_request("kk").value(engine::kSecretsKeyMember, ""), kTestKey.id);
  // The worker's request is still a BuildRequest.
  EXPECT_TRUE(engine::request_from_json(queued_request("kk")));

  ASSERT_EQ(call(kCreate, project_in("anon")).status, 200);
  ASSERT_EQ(call("CodeBuild_20161006.StartBuild", {{"projectName", "anon"}}).status, 200);
  EXPECT_FALSE(queued_request("anon").contains(engine::kSecretsKeyMember));
}

}  // namespace
}  // namespace kiln::api
