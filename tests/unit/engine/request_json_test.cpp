#include "engine/request_json.h"

#include <gtest/gtest.h>

namespace kiln::engine {
namespace {

TEST(RequestJson, RoundTrips) {
  BuildRequest req;
  req.identity.project = "p1";
  req.identity.uuid = "u-1";
  req.identity.build_number = 7;
  req.identity.region = "eu-west-1";
  req.identity.initiator = "admin";
  req.identity.webhook = {{"CODEBUILD_WEBHOOK_EVENT", "PULL_REQUEST_CREATED"}};
  req.source.type = "GITHUB";
  req.source.location = "https://example.com/o/r.git";
  req.source.version = "pr/7";
  req.source.git_clone_depth = 1;
  req.source.fetch_submodules = true;
  req.build_root = "/data/builds/u-1";
  req.buildspec_text = "version: 0.2\n";
  req.project_vars = {{"A", "1"}};
  req.override_vars = {{"B", "2"}, {"A", "3"}};
  req.image_env = {{"PATH", "/bin"}};
  req.timeout_minutes = 5;
  req.queued_timeout_minutes = 9;
  req.packaging = artifacts::Packaging::kNone;
  req.copy_mode = workspace::CopyMode::kHardlink;
  source::SourceSpec two;
  two.identifier = "two";
  two.type = "S3";
  two.location = "bucket/two.zip";
  two.version = "v9";
  req.secondary_sources = {two};
  artifacts::S3ArtifactTarget t;
  t.bucket = "out";
  t.path = "p";
  t.namespace_build_id = true;
  t.name = "a.zip";
  t.packaging = artifacts::Packaging::kZip;
  t.override_name = true;
  req.s3_artifacts = {t};
  req.encryption_key = "alias/k";
  req.cache.type = "LOCAL";
  req.cache.modes = {"LOCAL_CUSTOM_CACHE"};
  req.cache.local_root = "/data/cache";
  req.cache.max_bytes = 1000;
  req.cache.max_age_seconds = 60;
  req.max_builds = 3;

  auto back = request_from_json(nlohmann::json::parse(request_to_json(req).dump()));
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(back->identity.build_id(), "p1:u-1");
  EXPECT_EQ(back->identity.build_number, 7);
  EXPECT_EQ(back->identity.region, "eu-west-1");
  EXPECT_EQ(back->identity.webhook, req.identity.webhook);
  EXPECT_EQ(back->source.type, "GITHUB");
  EXPECT_EQ(back->source.location, "https://example.com/o/r.git");
  EXPECT_EQ(back->source.version, "pr/7");
  EXPECT_EQ(back->source.git_clone_depth, 1);
  EXPECT_TRUE(back->source.fetch_submodules);
  EXPECT_EQ(back->build_root, "/data/builds/u-1");
  EXPECT_EQ(back->buildspec_text, "version: 0.2\n");
  EXPECT_EQ(back->override_vars, req.override_vars);
  EXPECT_EQ(back->image_env, req.image_env);
  EXPECT_EQ(back->timeout_minutes, 5);
  EXPECT_EQ(back->queued_timeout_minutes, 9);
  EXPECT_EQ(back->packaging, artifacts::Packaging::kNone);
  EXPECT_EQ(back->copy_mode, workspace::CopyMode::kHardlink);
  ASSERT_EQ(back->secondary_sources.size(), 1u);
  EXPECT_EQ(back->secondary_sources[0].identifier, "two");
  EXPECT_EQ(back->secondary_sources[0].type, "S3");
  EXPECT_EQ(back->secondary_sources[0].version, "v9");
  ASSERT_EQ(back->s3_artifacts.size(), 1u);
  EXPECT_EQ(back->s3_artifacts[0].bucket, "out");
  EXPECT_TRUE(back->s3_artifacts[0].namespace_build_id);
  EXPECT_EQ(back->s3_artifacts[0].packaging, artifacts::Packaging::kZip);
  EXPECT_TRUE(back->s3_artifacts[0].override_name);
  EXPECT_EQ(back->encryption_key, "alias/k");
  EXPECT_EQ(back->cache.type, "LOCAL");
  EXPECT_EQ(back->cache.modes, req.cache.modes);
  EXPECT_EQ(back->cache.local_root, "/data/cache");
  EXPECT_EQ(back->cache.max_bytes, 1000u);
  EXPECT_EQ(back->cache.max_age_seconds, 60);
  EXPECT_EQ(back->max_builds, 3u);  // the sandbox sizes pids.max by it
}

// The message a request fails with: the path of its first member of the wrong type.
std::string parse_error(const char* text) {
  auto r = request_from_json(nlohmann::json::parse(text));
  if (r) return "parsed";
  EXPECT_EQ(r.error().code(), ErrorCode::kParse);
  return r.error().message();
}

TEST(RequestJson, NotAnObject) {
  EXPECT_EQ(parse_error("[]"), "build request: not a JSON object");
}

TEST(RequestJson, TopLevelMembers) {
  EXPECT_EQ(parse_error(R"({"timeoutMinutes": "soon"})"),
            "build request: timeoutMinutes: expected a number");
  EXPECT_EQ(parse_error(R"({"computeType": 3})"), "build request: computeType: expected a string");
  EXPECT_EQ(parse_error(R"({"privilegedMode": "yes"})"),
            "build request: privilegedMode: expected a boolean");
  EXPECT_EQ(parse_error(R"({"buildRoot": ["/x"]})"), "build request: buildRoot: expected a string");
}

TEST(RequestJson, NestedObjectMembers) {
  EXPECT_EQ(parse_error(R"({"identity": {"buildNumber": "7"}})"),
            "build request: identity.buildNumber: expected a number");
  EXPECT_EQ(parse_error(R"({"identity": "p1"})"), "build request: identity: expected an object");
  EXPECT_EQ(parse_error(R"({"source": {"fetchSubmodules": 1}})"),
            "build request: source.fetchSubmodules: expected a boolean");
  EXPECT_EQ(parse_error(R"({"cache": {"localRoot": false}})"),
            "build request: cache.localRoot: expected a string");
}

TEST(RequestJson, ListItems) {
  EXPECT_EQ(parse_error(R"({"projectVars": [{"name": "A", "value": "1"},
                                            {"name": "B", "value": "2"},
                                            {"name": 3, "value": "3"}]})"),
            "build request: projectVars[2].name: expected a string");
  EXPECT_EQ(parse_error(R"({"overrideVars": [{"name": "A"}]})"),
            "build request: overrideVars[0].value: missing");
  EXPECT_EQ(parse_error(R"({"overrideVars": [{"name": "A", "value": null}]})"),
            "build request: overrideVars[0].value: expected a string");
  EXPECT_EQ(parse_error(R"({"projectSecretVars": [{"name": "A", "type": "PARAMETER_STORE"}]})"),
            "build request: projectSecretVars[0].reference: missing");
  EXPECT_EQ(parse_error(R"({"overrideVars": {"A": "1"}})"),
            "build request: overrideVars: expected an array");
  EXPECT_EQ(parse_error(R"({"s3Artifacts": ["bucket"]})"),
            "build request: s3Artifacts[0]: expected an object");
  EXPECT_EQ(parse_error(R"({"secondarySources": [{}, {"gitCloneDepth": "1"}]})"),
            "build request: secondarySources[1].gitCloneDepth: expected a number");
}

TEST(RequestJson, StringCollections) {
  EXPECT_EQ(parse_error(R"({"imageEnv": {"PATH": "/bin", "N": 1}})"),
            "build request: imageEnv.N: expected a string");
  EXPECT_EQ(parse_error(R"({"imageEnv": ["PATH=/bin"]})"),
            "build request: imageEnv: expected an object of strings");
  EXPECT_EQ(parse_error(R"({"cache": {"modes": ["LOCAL_SOURCE_CACHE", 2]}})"),
            "build request: cache.modes[1]: expected a string");
}

// The first problem is reported, and absent or null members keep their defaults.
TEST(RequestJson, FirstProblemAndDefaults) {
  EXPECT_EQ(parse_error(R"({"timeoutMinutes": "x", "computeType": 1})"),
            "build request: computeType: expected a string");  // read before timeoutMinutes
  auto r = request_from_json(nlohmann::json::parse(R"({"timeoutMinutes": null, "x": 1})"));
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->timeout_minutes, BuildRequest().timeout_minutes);
}

}  // namespace
}  // namespace kiln::engine
