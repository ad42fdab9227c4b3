// docs/security.md: the bounds on what one request may store or ask for (finding 8), numbers JSON
// can write but the API cannot hold (finding 11), and the SigV4 scope's region (finding 13), each
// through Service::handle with CodeBuild's exact wording.
#include <gtest/gtest.h>

#include "api/service_fixture.h"
#include "api/validate.h"

namespace kiln::api {
namespace {

using nlohmann::json;

constexpr const char* kCreate = "CodeBuild_20161006.CreateProject";
constexpr const char* kBatchGetProjects = "CodeBuild_20161006.BatchGetProjects";
constexpr const char* kBatchGetBuilds = "CodeBuild_20161006.BatchGetBuilds";
constexpr const char* kStartBuild = "CodeBuild_20161006.StartBuild";

json project(const std::string& name) {
  return {{"name", name},
          {"source", {{"type", "NO_SOURCE"}, {"buildspec", "version: 0.2"}}},
          {"artifacts", {{"type", "NO_ARTIFACTS"}}},
          {"environment",
           {{"type", "LINUX_CONTAINER"},
            {"image", "kiln/host"},
            {"computeType", "BUILD_GENERAL1_SMALL"}}},
          {"serviceRole", "arn:aws:iam::123456789012:role/kiln"}};
}

json variables(std::size_t n, std::size_t value_size = 1) {
  json list = json::array();
  for (std::size_t i = 0; i < n; ++i) {
    list.push_back({{"name", "V" + std::to_string(i)}, {"value", std::string(value_size, 'v')}});
  }
  return list;
}

class RequestLimitsTest : public ServiceTest {
 protected:
  // The answer must be InvalidInputException with exactly `message`.
  void expect_invalid(const char* target, const json& in, const std::string& message) {
    const Answer a = call(target, in);
    EXPECT_EQ(a.status, 400) << a.text;
    EXPECT_EQ(a.type(), "InvalidInputException") << a.text;
    EXPECT_EQ(a.message(), message);
  }
  std::string start_build(const std::string& name) {
    return ok(kStartBuild, {{"projectName", name}})["build"]["id"];
  }
};

// --- Finding 8: amplification --------------------------------------------------------------

TEST_F(RequestLimitsTest, BatchGetProjectsAnswersEachProjectOnce) {
  ok(kCreate, project("dup"));
  const std::string arn = "arn:aws:codebuild:eu-west-1:123456789012:project/dup";
  const json names = {"dup", "dup", arn, "none", "none", "dup"};
  const json out = ok(kBatchGetProjects, {{"names", names}});
  ASSERT_EQ(out["projects"].size(), 1U);
  EXPECT_EQ(out["projects"][0]["name"], "dup");
  EXPECT_EQ(out["projectsNotFound"], json({"none"}));

  json many = json::array();
  for (int i = 0; i < 100; ++i) many.push_back("dup");
  EXPECT_EQ(ok(kBatchGetProjects, {{"names", many}})["projects"].size(), 1U);
}

TEST_F(RequestLimitsTest, BatchListsHoldOneToAHundredNames) {
  json many = json::array();
  for (int i = 0; i < 101; ++i) many.push_back("p" + std::to_string(i));
  expect_invalid(kBatchGetProjects, {{"names", many}},
                 "1 validation error detected: Value '[101 items]' at 'names' failed to satisfy "
                 "constraint: Member must have length less than or equal to 100");
  expect_invalid(kBatchGetProjects, {{"names", json::array()}},
                 "1 validation error detected: Value '[]' at 'names' failed to satisfy "
                 "constraint: Member must have length greater than or equal to 1");
  expect_invalid(kBatchGetProjects, {{"names", {"a", ""}}},
                 "1 validation error detected: Value '' at 'names.2' failed to satisfy "
                 "constraint: Member must have length greater than or equal to 1");
  expect_invalid(kBatchGetBuilds, {{"ids", many}},
                 "1 validation error detected: Value '[101 items]' at 'ids' failed to satisfy "
                 "constraint: Member must have length less than or equal to 100");
  expect_invalid(kBatchGetBuilds, {{"ids", {1}}}, "ids.1 must be a string");
}

TEST_F(RequestLimitsTest, BatchGetAndDeleteBuildsAnswerEachIdOnce) {
  ok(kCreate, project("pp"));
  const std::string id = start_build("pp");
  const json got = ok(kBatchGetBuilds, {{"ids", {id, id, "pp:nope", id, "pp:nope"}}});
  ASSERT_EQ(got["builds"].size(), 1U);
  EXPECT_EQ(got["builds"][0]["id"], id);
  EXPECT_EQ(got["buildsNotFound"], json({"pp:nope"}));

  const json deleted =
      ok("CodeBuild_20161006.BatchDeleteBuilds", {{"ids", {id, id, "pp:nope", "pp:nope"}}});
  EXPECT_EQ(deleted["buildsNotDeleted"],
            json({{{"id", id}, {"statusCode", "BUILD_IN_PROGRESS"}},
                  {{"id", "pp:nope"}, {"statusCode", "BUILD_NOT_FOUND"}}}));
}

TEST_F(RequestLimitsTest, EnvironmentVariablesAreBounded) {
  json in = project("vars");
  in["environment"]["environmentVariables"] = variables(kMaxEnvironmentVariables);
  ok(kCreate, in);

  in["name"] = "vars2";
  in["environment"]["environmentVariables"] = variables(50000);  // the issue's attack
  expect_invalid(kCreate, in,
                 "1 validation error detected: Value '[50000 items]' at "
                 "'environment.environmentVariables' failed to satisfy constraint: Member must "
                 "have length less than or equal to 500");
  in["environment"]["environmentVariables"] = variables(1, 4097);
  expect_invalid(kCreate, in,
                 "1 validation error detected: Value '" + std::string(64, 'v') +
                     "...' at 'environment.environmentVariables.1.value' failed to satisfy "
                     "constraint: Member must have length less than or equal to 4096");
  in["environment"]["environmentVariables"] =
      json::array({{{"name", std::string(256, 'N')}, {"value", "x"}}});
  expect_invalid(kCreate, in,
                 "1 validation error detected: Value '" + std::string(64, 'N') +
                     "...' at 'environment.environmentVariables.1.name' failed to satisfy "
                     "constraint: Member must have length less than or equal to 255");

  expect_invalid(kStartBuild,
                 {{"projectName", "vars"}, {"environmentVariablesOverride", variables(501)}},
                 "1 validation error detected: Value '[501 items]' at "
                 "'environmentVariablesOverride' failed to satisfy constraint: Member must have "
                 "length less than or equal to 500");
}

TEST_F(RequestLimitsTest, StringsAndTagsAreBounded) {
  json in = project("strings");
  in["tags"] = json::array({{{"key", std::string(128, 'k')}, {"value", "v"}}});
  expect_invalid(kCreate, in,
                 "1 validation error detected: Value '" + std::string(64, 'k') +
                     "...' at 'tags.1.key' failed to satisfy constraint: Member must have length "
                     "less than or equal to 127");
  in["tags"] = json::array({{{"key", "k"}, {"value", std::string(256, 'v')}}});
  expect_invalid(kCreate, in,
                 "1 validation error detected: Value '" + std::string(64, 'v') +
                     "...' at 'tags.1.value' failed to satisfy constraint: Member must have "
                     "length less than or equal to 255");
  in = project("strings");
  in["serviceRole"] = std::string(kMaxStringLength + 1, 'r');
  expect_invalid(kCreate, in,
                 "1 validation error detected: Value '" + std::string(64, 'r') +
                     "...' at 'serviceRole' failed to satisfy constraint: Member must have "
                     "length less than or equal to 65536");
  in = project("strings");
  in["source"]["buildspec"] = std::string(kMaxBuildspecLength + 1, 'b');
  expect_invalid(kCreate, in,
                 "1 validation error detected: Value '" + std::string(64, 'b') +
                     "...' at 'source.buildspec' failed to satisfy constraint: Member must have "
                     "length less than or equal to 262144");
}

TEST_F(RequestLimitsTest, AStoredProjectIsBounded) {
  json in = project("big");
  // A member Kiln stores without reading: only the project's size bounds it.
  in["fileSystemLocations"] = json::array({{{"identifier", std::string(kMaxProjectBytes, 'f')}}});
  const Answer a = call(kCreate, in);
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.type(), "InvalidInputException");
  EXPECT_TRUE(a.message().starts_with("The project would be 1049"));
  EXPECT_TRUE(a.message().ends_with(" bytes as stored; Kiln's limit is 1048576 bytes"))
      << a.message();
  EXPECT_EQ(ok("CodeBuild_20161006.ListProjects", json::object())["projects"], json::array());

  ok(kCreate, project("big"));
  const Answer u = call("CodeBuild_20161006.UpdateProject",
                        {{"name", "big"}, {"fileSystemLocations", in["fileSystemLocations"]}});
  EXPECT_EQ(u.status, 400);
  EXPECT_TRUE(u.message().starts_with("The project would be ")) << u.message();
}

TEST_F(RequestLimitsTest, BatchAnswersAreCapped) {
  // Stored rows of 1 MiB, written to the store directly: each is fine, 20 together are over the
  // 16 MiB cap. (CreateProject keeps a project under 1 MiB; the test needs no more than that.)
  const std::string pad(std::size_t{1024} * 1024, 'x');
  json names = json::array();
  json ids = json::array();
  for (int i = 0; i < 20; ++i) {
    const std::string name = "big" + std::to_string(i);
    ASSERT_TRUE(
        store_->create_project({name, 1, 1, R"({"name":")" + name + R"(","pad":")" + pad + "\"}"}));
    names.push_back(name);
    store::BuildRow row;
    row.id = name + ":" + std::to_string(i);
    row.project = name;
    row.json = R"({"id":")" + row.id + R"(","pad":")" + pad + "\"}";
    ASSERT_TRUE(store_->insert_build(row));
    ids.push_back(row.id);
  }
  expect_invalid(kBatchGetProjects, {{"names", names}},
                 "The response would be larger than Kiln's limit of 16 MiB: ask for fewer "
                 "projects per call");
  expect_invalid(kBatchGetBuilds, {{"ids", ids}},
                 "The response would be larger than Kiln's limit of 16 MiB: ask for fewer "
                 "builds per call");
  // Under the cap, the same rows are answered.
  EXPECT_EQ(ok(kBatchGetProjects, {{"names", {"big1", "big2"}}})["projects"].size(), 2U);
  EXPECT_EQ(ok(kBatchGetBuilds, {{"ids", {ids[1], ids[2]}}})["builds"].size(), 2U);
}

// --- Finding 11: numbers ---------------------------------------------------------------------

TEST_F(RequestLimitsTest, UnrepresentableNumbersAreSerializationErrors) {
  for (const char* body : {R"({"x":1e400})", R"({"names":[-1e999]})", R"({"a":[1E+400]})"}) {
    for (const char* sign : {"", "codebuild"}) {
      const Answer a = call_text("CodeBuild_20161006.ListProjects", body, sign);
      EXPECT_EQ(a.status, 400) << body << " " << a.text;
      EXPECT_EQ(a.type(), "SerializationException") << body;
      EXPECT_EQ(a.message(), "The request body holds a number that cannot be represented");
    }
  }
  // The same through the other services' prefixes.
  EXPECT_EQ(call_text("AmazonSSM.GetParameter", R"({"Name":1e400})").type(),
            "SerializationException");
}

TEST_F(RequestLimitsTest, IntegersBeyondLongLongAreRefusedNotWrapped) {
  json in = project("numbers");
  in["timeoutInMinutes"] = 9223372036854775808ULL;  // 2^63: read as long long, it was negative
  expect_invalid(kCreate, in,
                 "1 validation error detected: Value '9223372036854775808' at 'timeoutInMinutes' "
                 "failed to satisfy constraint: Member must have value less than or equal to "
                 "2160");
  in["timeoutInMinutes"] = 18446744073709551615ULL;
  expect_invalid(kCreate, in,
                 "1 validation error detected: Value '18446744073709551615' at "
                 "'timeoutInMinutes' failed to satisfy constraint: Member must have value less "
                 "than or equal to 2160");
  std::string text = project("numbers").dump();
  text.insert(text.size() - 1, R"(,"timeoutInMinutes":18446744073709551616)");
  const Answer beyond = call_text(kCreate, text);  // past 2^64-1, JSON reads it as a double
  EXPECT_EQ(beyond.message(), "timeoutInMinutes must be an integer");
  in["timeoutInMinutes"] = 60.5;
  expect_invalid(kCreate, in, "timeoutInMinutes must be an integer");
}

TEST_F(RequestLimitsTest, IntegerRangesAsCodeBuildDocuments) {
  struct Case {
    const char* member;
    json value;
    std::string constraint;
  };
  const Case cases[] = {
      {"timeoutInMinutes", 4, "greater than or equal to 5"},
      {"timeoutInMinutes", 2161, "less than or equal to 2160"},
      {"queuedTimeoutInMinutes", 4, "greater than or equal to 5"},
      {"queuedTimeoutInMinutes", 481, "less than or equal to 480"},
      {"concurrentBuildLimit", 0, "greater than or equal to 1"},
      {"autoRetryLimit", -1, "greater than or equal to 0"},
  };
  for (const auto& c : cases) {
    json in = project("ranges");
    in[c.member] = c.value;
    expect_invalid(kCreate, in,
                   "1 validation error detected: Value '" + c.value.dump() + "' at '" + c.member +
                       "' failed to satisfy constraint: Member must have value " + c.constraint);
  }
  json in = project("ranges");
  in["source"]["gitCloneDepth"] = -1;
  expect_invalid(kCreate, in,
                 "1 validation error detected: Value '-1' at 'source.gitCloneDepth' failed to "
                 "satisfy constraint: Member must have value greater than or equal to 0");

  ok(kCreate, project("ranges"));
  expect_invalid(kStartBuild,
                 {{"projectName", "ranges"}, {"timeoutInMinutesOverride", 9223372036854775808ULL}},
                 "1 validation error detected: Value '9223372036854775808' at "
                 "'timeoutInMinutesOverride' failed to satisfy constraint: Member must have value "
                 "less than or equal to 2160");
  expect_invalid(kStartBuild, {{"projectName", "ranges"}, {"queuedTimeoutInMinutesOverride", 481}},
                 "1 validation error detected: Value '481' at 'queuedTimeoutInMinutesOverride' "
                 "failed to satisfy constraint: Member must have value less than or equal to 480");
  expect_invalid(kStartBuild, {{"projectName", "ranges"}, {"gitCloneDepthOverride", -1}},
                 "1 validation error detected: Value '-1' at 'gitCloneDepthOverride' failed to "
                 "satisfy constraint: Member must have value greater than or equal to 0");
  // Secondary sources given for one build get the project's checks: their depth was read
  // unchecked as an int.
  const json secondary = {{"type", "S3"},
                          {"location", "bucket/key.zip"},
                          {"sourceIdentifier", "two"},
                          {"gitCloneDepth", 9223372036854775808ULL}};
  expect_invalid(kStartBuild,
                 {{"projectName", "ranges"}, {"secondarySourcesOverride", {secondary}}},
                 "1 validation error detected: Value '9223372036854775808' at "
                 "'secondarySourcesOverride.1.gitCloneDepth' failed to satisfy constraint: Member "
                 "must have value less than or equal to 1073741824");
  const Answer cache =
      call(kStartBuild, {{"projectName", "ranges"}, {"cacheOverride", {{"type", 7}}}});
  EXPECT_EQ(cache.message(), "cacheOverride.type must be a string");
  const Answer artifact =
      call(kStartBuild, {{"projectName", "ranges"},
                         {"secondarySourcesVersionOverride",
                          {{{"sourceIdentifier", "two"}, {"sourceVersion", "main"}}}},
                         {"secondaryArtifactsOverride",
                          {{{"type", "S3"}, {"artifactIdentifier", "a"}, {"packaging", 5}}}}});
  EXPECT_EQ(artifact.message(), "secondaryArtifactsOverride.1.packaging must be a string");

  // Page sizes of the other services.
  const Answer ssm = call("AmazonSSM.GetParametersByPath", {{"Path", "/a"}, {"MaxResults", 11}});
  EXPECT_EQ(ssm.type(), "ValidationException");
  EXPECT_EQ(ssm.message(),
            "1 validation error detected: Value '11' at 'MaxResults' failed to satisfy "
            "constraint: Member must have value less than or equal to 10");
  const Answer sm = call("secretsmanager.ListSecrets", {{"MaxResults", 9223372036854775808ULL}});
  EXPECT_EQ(sm.type(), "InvalidParameterException");
  EXPECT_EQ(sm.message(),
            "1 validation error detected: Value '9223372036854775808' at 'MaxResults' failed to "
            "satisfy constraint: Member must have value less than or equal to 100");
}

// --- Finding 13: the region of the SigV4 scope -----------------------------------------------

TEST_F(RequestLimitsTest, ARegionThatIsNotARegionNeverReachesAnArn) {
  for (const std::string& region : {std::string("us-east-1\"}"), std::string(2000, 'a')}) {
    const Answer a = call_text(kCreate, project("scoped").dump(), "codebuild", region);
    EXPECT_EQ(a.status, 400);
    EXPECT_EQ(a.type(), "InvalidSignatureException");
    EXPECT_TRUE(a.message().starts_with("Credential should be scoped to a valid region, not '"))
        << a.message();
  }
  EXPECT_EQ(ok("CodeBuild_20161006.ListProjects", json::object())["projects"], json::array());
  const Answer good = call_text(kCreate, project("scoped").dump(), "codebuild", "ap-south-2");
  ASSERT_EQ(good.status, 200) << good.text;
  EXPECT_EQ(good.body["project"]["arn"],
            "arn:aws:codebuild:ap-south-2:123456789012:project/scoped");
}

}  // namespace
}  // namespace kiln::api
