// What CodeBuild's clients see of a project and a build beyond the happy path: the build's
// effective environment, idempotency tokens reused with other parameters, variable types,
// validation when a project is stored, StopBuild on a finished build, and the resource-policy
// and sharing operations.
#include <gtest/gtest.h>

#include "api/authorize.h"
#include "api/service_fixture.h"

namespace kiln::api {
namespace {

using nlohmann::json;

const std::string kCb = "CodeBuild_20161006.";
const std::string kArn = "arn:aws:codebuild:us-east-1:123456789012:project/";

json environment(json vars = json::array()) {
  return {{"type", "LINUX_CONTAINER"},
          {"image", "kiln/host"},
          {"computeType", "BUILD_GENERAL1_SMALL"},
          {"environmentVariables", std::move(vars)}};
}

json project(const std::string& name,
             json source = {{"type", "NO_SOURCE"}, {"buildspec", "version: 0.2\n"}}) {
  return {{"name", name},
          {"source", std::move(source)},
          {"artifacts", {{"type", "NO_ARTIFACTS"}}},
          {"environment", environment()},
          {"serviceRole", "arn:aws:iam::123456789012:role/r"}};
}

class FidelityTest : public ServiceTest {
 protected:
  Answer cb(const std::string& op, const json& in) { return call(kCb + op, in); }
  json cb_ok(const std::string& op, const json& in) { return ok(kCb + op, in); }
  void expect_invalid(const std::string& op, const json& in, const std::string& message) {
    const Answer a = cb(op, in);
    EXPECT_EQ(a.status, 400) << a.text;
    EXPECT_EQ(a.type(), "InvalidInputException") << a.text;
    EXPECT_EQ(a.message(), message) << a.text;
  }
};

TEST_F(FidelityTest, BuildRecordShowsTheEffectiveEnvironment) {
  json p = project("env");
  p["environment"] =
      environment({{{"name", "A"}, {"value", "project"}},
                   {{"name", "P"}, {"value", "/db/pass"}, {"type", "PARAMETER_STORE"}},
                   {{"name", "KEEP"}, {"value", "k"}, {"type", "PLAINTEXT"}}});
  cb_ok("CreateProject", p);
  const json started = cb_ok(
      "StartBuild",
      {{"projectName", "env"},
       {"environmentVariablesOverride",
        {{{"name", "A"}, {"value", "override"}},
         {{"name", "P"}, {"value", "plain-now"}},
         {{"name", "S"}, {"value", "db-secret:password"}, {"type", "SECRETS_MANAGER"}}}}})["build"];
  const json got = cb_ok("BatchGetBuilds", {{"ids", {started["id"]}}})["builds"][0];
  // The project's PLAINTEXT variables, then its secret ones (the order the build request keeps
  // them in), each override in place of its name, new ones after.
  const json expected =
      json::array({{{"name", "A"}, {"value", "override"}, {"type", "PLAINTEXT"}},
                   {{"name", "KEEP"}, {"value", "k"}, {"type", "PLAINTEXT"}},
                   {{"name", "P"}, {"value", "plain-now"}, {"type", "PLAINTEXT"}},
                   {{"name", "S"}, {"value", "db-secret:password"}, {"type", "SECRETS_MANAGER"}}});
  EXPECT_EQ(started["environment"]["environmentVariables"], expected);
  EXPECT_EQ(got["environment"]["environmentVariables"], expected);
}

TEST_F(FidelityTest, IdempotencyTokenWithOtherParametersIsAMismatch) {
  cb_ok("CreateProject", project("idem"));
  const json in = {{"projectName", "idem"},
                   {"idempotencyToken", "tok-1"},
                   {"environmentVariablesOverride", {{{"name", "A"}, {"value", "1"}}}}};
  const json first = cb_ok("StartBuild", in)["build"];
  EXPECT_EQ(cb_ok("StartBuild", in)["build"]["id"], first["id"]);
  json other = in;
  other["environmentVariablesOverride"][0]["value"] = "2";
  const Answer a = cb("StartBuild", other);
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.type(), "IdempotentParameterMismatchException") << a.text;
  json fewer = in;
  fewer.erase("environmentVariablesOverride");
  EXPECT_EQ(cb("StartBuild", fewer).type(), "IdempotentParameterMismatchException");
  // After the window the token is free again.
  clock_.advance(std::chrono::minutes(6));
  EXPECT_NE(cb_ok("StartBuild", other)["build"]["id"], first["id"]);
}

TEST_F(FidelityTest, VariablesWithoutATypeArePlaintext) {
  json p = project("types");
  p["environment"] = environment({{{"name", "A"}, {"value", "1"}}});
  const json created = cb_ok("CreateProject", p)["project"];
  EXPECT_EQ(created["environment"]["environmentVariables"][0]["type"], "PLAINTEXT");
  const json updated =
      cb_ok("UpdateProject",
            {{"name", "types"},
             {"environment", environment({{{"name", "B"}, {"value", "2"}}})}})["project"];
  EXPECT_EQ(updated["environment"]["environmentVariables"][0]["type"], "PLAINTEXT");
  const json got = cb_ok("BatchGetProjects", {{"names", {"types"}}})["projects"][0];
  EXPECT_EQ(got["environment"]["environmentVariables"],
            json::array({{{"name", "B"}, {"value", "2"}, {"type", "PLAINTEXT"}}}));
}

TEST_F(FidelityTest, CreateAndUpdateValidateWhatTheyStore) {
  expect_invalid("CreateProject", project("s3src", {{"type", "S3"}}),
                 "Project source location is required");
  json p = project("arts");
  p["artifacts"] = {{"type", "S3"}};
  expect_invalid("CreateProject", p,
                 "Invalid artifacts: location must be specified for S3 artifacts");
  p["artifacts"] = {{"type", "S3"}, {"location", "bucket/prefix"}};
  expect_invalid("CreateProject", p, "Invalid artifacts: location should not have a forward-slash");
  p = project("caches");
  p["cache"] = {{"type", "S3"}};
  expect_invalid("CreateProject", p, "Invalid cache: location must be specified for S3 caches");
  p["cache"] = {{"type", "LOCAL"}, {"modes", {"LOCAL_EVERYTHING"}}};
  expect_invalid("CreateProject", p,
                 "1 validation error detected: Value 'LOCAL_EVERYTHING' at 'cache.modes.1' failed "
                 "to satisfy constraint: Member must satisfy enum value set: "
                 "[LOCAL_DOCKER_LAYER_CACHE, LOCAL_SOURCE_CACHE, LOCAL_CUSTOM_CACHE]");
  p = project("pipe", {{"type", "CODEPIPELINE"}});
  expect_invalid("CreateProject", p,
                 "Invalid input: when using CodePipeline both sourceType, and artifactType must "
                 "be set to: CODEPIPELINE");
  p["artifacts"] = {{"type", "CODEPIPELINE"}};
  cb_ok("CreateProject", p);

  cb_ok("CreateProject", project("upd"));
  expect_invalid("UpdateProject", {{"name", "upd"}, {"source", {{"type", "GITHUB"}}}},
                 "Project source location is required");
  expect_invalid("UpdateProject", {{"name", "upd"}, {"artifacts", {{"type", "CODEPIPELINE"}}}},
                 "Invalid input: when using CodePipeline both sourceType, and artifactType must "
                 "be set to: CODEPIPELINE");
  json secondary = {{"name", "upd"},
                    {"secondarySources", {{{"type", "S3"}, {"sourceIdentifier", "lib"}}}}};
  expect_invalid("UpdateProject", secondary, "Project source location is required");
  // Nothing of the refused updates was stored.
  const json got = cb_ok("BatchGetProjects", {{"names", {"upd"}}})["projects"][0];
  EXPECT_EQ(got["source"]["type"], "NO_SOURCE");
  EXPECT_EQ(got["secondarySources"], json::array());

  // StartBuild still checks what its overrides change.
  expect_invalid("StartBuild", {{"projectName", "upd"}, {"sourceTypeOverride", "S3"}},
                 "Invalid source: location must be specified for type S3");
}

TEST_F(FidelityTest, StopBuildOnAFinishedBuildReturnsItUnchanged) {
  cb_ok("CreateProject", project("stop"));
  const json started = cb_ok("StartBuild", {{"projectName", "stop"}})["build"];
  const json stopped = cb_ok("StopBuild", {{"id", started["id"]}})["build"];
  EXPECT_EQ(stopped["buildStatus"], "STOPPED");
  clock_.advance(std::chrono::seconds(30));
  const json again = cb_ok("StopBuild", {{"id", started["id"]}})["build"];
  EXPECT_EQ(again, stopped);
}

TEST_F(FidelityTest, RecordTimesAreMilliseconds) {
  clock_.advance(std::chrono::milliseconds(1234));
  cb_ok("CreateProject", project("times"));
  const json b = cb_ok("StartBuild", {{"projectName", "times"}})["build"];
  clock_.advance(std::chrono::milliseconds(5));
  const json s = cb_ok("StopBuild", {{"id", b["id"]}})["build"];
  auto is_ms = [](const json& t) {
    const double v = t.get<double>() * 1000;
    return std::abs(v - std::round(v)) < 1e-3;
  };
  EXPECT_TRUE(is_ms(s["startTime"])) << s["startTime"];
  EXPECT_TRUE(is_ms(s["endTime"])) << s["endTime"];
  EXPECT_DOUBLE_EQ(s["startTime"].get<double>(), 1700000001.234);
  EXPECT_DOUBLE_EQ(s["endTime"].get<double>(), 1700000001.239);
  for (const auto& p : s["phases"]) {
    EXPECT_TRUE(is_ms(p["startTime"])) << p;
    if (p.contains("endTime")) {
      EXPECT_TRUE(is_ms(p["endTime"])) << p;
    }
  }
}

TEST_F(FidelityTest, ResourcePolicyIsStoredAndGivenBack) {
  cb_ok("CreateProject", project("shared"));
  const std::string arn = kArn + "shared";
  const std::string policy =
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":["codebuild:BatchGetProjects"],"Resource":")" +
      arn + R"("}]})";
  EXPECT_EQ(cb_ok("PutResourcePolicy", {{"resourceArn", arn}, {"policy", policy}}),
            json({{"resourceArn", arn}}));
  EXPECT_EQ(cb_ok("GetResourcePolicy", {{"resourceArn", arn}}), json({{"policy", policy}}));
  expect_invalid("PutResourcePolicy", {{"resourceArn", arn}, {"policy", "{not json"}},
                 "Invalid resource policy: the policy must be a JSON object");
  // A project that does not exist, or the same name in another region.
  for (const std::string& missing :
       {kArn + "nope", std::string("arn:aws:codebuild:eu-west-1:123456789012:project/shared")}) {
    const Answer a = cb("PutResourcePolicy", {{"resourceArn", missing}, {"policy", policy}});
    EXPECT_EQ(a.type(), "ResourceNotFoundException") << a.text;
    EXPECT_EQ(a.message(), "Project cannot be found: " + missing);
  }
  EXPECT_EQ(cb("GetResourcePolicy",
               {{"resourceArn", "arn:aws:codebuild:us-east-1:123456789012:report-group/r"}})
                .type(),
            "ResourceNotFoundException");
  EXPECT_EQ(cb_ok("DeleteResourcePolicy", {{"resourceArn", arn}}), json::object());
  EXPECT_EQ(cb("GetResourcePolicy", {{"resourceArn", arn}}).type(), "ResourceNotFoundException");
  EXPECT_EQ(cb_ok("DeleteResourcePolicy", {{"resourceArn", arn}}), json::object());
  EXPECT_EQ(cb_ok("DeleteResourcePolicy", {{"resourceArn", kArn + "nope"}}), json::object());

  // The policy goes with its project: a new project of the same name has none.
  cb_ok("PutResourcePolicy", {{"resourceArn", arn}, {"policy", policy}});
  cb_ok("DeleteProject", {{"name", "shared"}});
  cb_ok("CreateProject", project("shared"));
  EXPECT_EQ(cb("GetResourcePolicy", {{"resourceArn", arn}}).type(), "ResourceNotFoundException");
}

TEST_F(FidelityTest, VisibilityAndSharedListsOfOneAccount) {
  cb_ok("CreateProject", project("vis"));
  const std::string arn = kArn + "vis";
  EXPECT_EQ(
      cb_ok("UpdateProjectVisibility", {{"projectArn", arn}, {"projectVisibility", "PRIVATE"}}),
      json({{"projectArn", arn}, {"projectVisibility", "PRIVATE"}}));
  const Answer pub =
      cb("UpdateProjectVisibility", {{"projectArn", arn}, {"projectVisibility", "PUBLIC_READ"}});
  EXPECT_EQ(pub.type(), "InvalidInputException") << pub.text;
  EXPECT_EQ(cb_ok("BatchGetProjects", {{"names", {"vis"}}})["projects"][0]["projectVisibility"],
            "PRIVATE");
  EXPECT_EQ(cb("UpdateProjectVisibility",
               {{"projectArn", kArn + "nope"}, {"projectVisibility", "PRIVATE"}})
                .type(),
            "ResourceNotFoundException");
  EXPECT_EQ(cb_ok("ListSharedProjects", {{"sortBy", "ARN"}, {"maxResults", 10}}),
            json({{"projects", json::array()}}));
  EXPECT_EQ(cb_ok("ListSharedReportGroups", json::object()),
            json({{"reportGroups", json::array()}}));
  expect_invalid("ListSharedProjects", {{"nextToken", "x"}}, "Invalid next token");
  EXPECT_EQ(cb("ListSharedProjects", {{"sortBy", "NAME"}}).type(), "InvalidInputException");
}

TEST(FidelityAuthorize, PolicyOperationsNameTheProject) {
  const ArnContext ctx{"us-east-1", "123456789012", nullptr};
  const std::string arn = kArn + "app";
  for (const std::string op : {"PutResourcePolicy", "GetResourcePolicy", "DeleteResourcePolicy"}) {
    EXPECT_EQ(accesses_of(kCb + op, {{"resourceArn", arn}}, ctx),
              std::vector<Access>({{"codebuild:" + op, arn}}));
  }
  EXPECT_EQ(accesses_of(kCb + "UpdateProjectVisibility", {{"projectArn", arn}}, ctx),
            std::vector<Access>({{"codebuild:UpdateProjectVisibility", arn}}));
  EXPECT_EQ(accesses_of(kCb + "ListSharedProjects", json::object(), ctx),
            std::vector<Access>({{"codebuild:ListSharedProjects", "*"}}));
  const std::string group = "arn:aws:codebuild:us-east-1:123456789012:report-group/r";
  EXPECT_EQ(accesses_of(kCb + "GetResourcePolicy", {{"resourceArn", group}}, ctx),
            std::vector<Access>({{"codebuild:GetResourcePolicy", group}}));
}

}  // namespace
}  // namespace kiln::api
