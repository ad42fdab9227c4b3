// StartBuild's sources, artifacts and cache: project settings, overrides, and the
// InvalidInputException for each unusable combination.
#include "api/build_io.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

namespace kiln::api {
namespace {

using nlohmann::json;

json project() {
  return json::parse(R"({
    "name": "p",
    "source": {"type": "GITHUB", "location": "https://github.com/o/r.git", "gitCloneDepth": 1,
               "buildspec": "ci/buildspec.yml"},
    "secondarySources": [{"type": "S3", "location": "b/lib.zip", "sourceIdentifier": "lib"}],
    "secondarySourceVersions": [{"sourceIdentifier": "lib", "sourceVersion": "v1"}],
    "sourceVersion": "main",
    "artifacts": {"type": "S3", "location": "out", "path": "x", "namespaceType": "BUILD_ID",
                  "name": "a.zip", "packaging": "ZIP", "overrideArtifactName": true},
    "secondaryArtifacts": [{"type": "S3", "location": "out", "artifactIdentifier": "docs"}],
    "cache": {"type": "LOCAL", "modes": ["LOCAL_SOURCE_CACHE", "LOCAL_CUSTOM_CACHE"]},
    "encryptionKey": "alias/k"
  })");
}

ApiResult<BuildIo> apply(const json& p, const json& in, engine::BuildRequest& req) {
  req.build_root = "/data/builds/u1";
  return apply_build_io(p, in, DataLayout{"/data"}, {1000, 60, {"/tmp"}}, req);
}

TEST(BuildIo, ProjectSettingsBecomeTheRequest) {
  engine::BuildRequest req;
  auto io = apply(project(), json::object(), req);
  ASSERT_TRUE(io) << io.error().message;
  EXPECT_EQ(req.source.type, "GITHUB");
  EXPECT_EQ(req.source.version, "main");
  EXPECT_EQ(req.source.git_clone_depth, 1);
  EXPECT_EQ(req.buildspec_path, "ci/buildspec.yml");
  EXPECT_FALSE(req.buildspec_text);
  ASSERT_EQ(req.secondary_sources.size(), 1u);
  EXPECT_EQ(req.secondary_sources[0].identifier, "lib");
  EXPECT_EQ(req.secondary_sources[0].version, "v1");
  ASSERT_EQ(req.s3_artifacts.size(), 2u);
  EXPECT_EQ(req.s3_artifacts[0].bucket, "out");
  EXPECT_TRUE(req.s3_artifacts[0].namespace_build_id);
  EXPECT_TRUE(req.s3_artifacts[0].override_name);
  EXPECT_EQ(req.s3_artifacts[1].identifier, "docs");
  EXPECT_EQ(req.s3_artifacts[1].packaging, artifacts::Packaging::kNone);  // CodeBuild's default
  EXPECT_EQ(req.artifacts_dir, "/data/builds/u1/artifacts");
  EXPECT_EQ(req.encryption_key, "alias/k");
  EXPECT_EQ(req.cache.type, "LOCAL");
  EXPECT_TRUE(req.cache.has_mode("LOCAL_CUSTOM_CACHE"));
  EXPECT_EQ(req.cache.local_root, "/data/cache");
  EXPECT_EQ(req.cache.max_bytes, 1000u);
}

TEST(BuildIo, StartBuildOverridesWin) {
  engine::BuildRequest req;
  auto io = apply(project(), json::parse(R"({
    "sourceVersion": "pr/7", "gitCloneDepthOverride": 0,
    "gitSubmodulesConfigOverride": {"fetchSubmodules": true},
    "buildspecOverride": "version: 0.2\nphases: {}\n",
    "secondarySourcesVersionOverride": [{"sourceIdentifier": "lib", "sourceVersion": "v2"}],
    "artifactsOverride": {"type": "NO_ARTIFACTS"},
    "cacheOverride": {"type": "S3", "location": "c/prefix"},
    "encryptionKeyOverride": "alias/other"})"),
                  req);
  ASSERT_TRUE(io) << io.error().message;
  EXPECT_EQ(req.source.version, "pr/7");
  EXPECT_EQ(req.source.git_clone_depth, 0);
  EXPECT_TRUE(req.source.fetch_submodules);
  ASSERT_TRUE(req.buildspec_text);  // a buildspec that spans lines is the YAML itself
  EXPECT_EQ(req.secondary_sources[0].version, "v2");
  EXPECT_TRUE(req.s3_artifacts.empty());
  EXPECT_TRUE(req.artifacts_dir.empty());
  EXPECT_EQ(req.cache.type, "S3");
  EXPECT_EQ(req.cache.location, "c/prefix");
  EXPECT_EQ(req.encryption_key, "alias/other");
  EXPECT_EQ(io->cache["type"], "S3");
}

TEST(BuildIo, LocalSourceUnderASourceRootIsResolved) {
  namespace fs = std::filesystem;
  std::string dir = (fs::temp_directory_path() / "kiln-local-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  json p = project();
  p["source"] = {{"type", "LOCAL"}, {"location", dir + "/./"}};
  engine::BuildRequest req;
  req.build_root = "/data/builds/u1";
  auto io = apply_build_io(p, json::object(), DataLayout{"/data"},
                           {0, 0, {fs::temp_directory_path()}}, req);
  fs::remove_all(dir);
  ASSERT_TRUE(io) << io.error().message;
  EXPECT_EQ(req.source.type, "LOCAL");
  EXPECT_EQ(fs::path(req.source.location),
            fs::canonical(fs::temp_directory_path()) / fs::path(dir).filename());
}

TEST(BuildIo, UnusableSettingsAreInvalidInput) {
  const auto error_of = [](json p, const json& in) {
    engine::BuildRequest req;
    auto io = apply(p, in, req);
    EXPECT_FALSE(io);
    return io ? std::string() : io.error().type + ": " + io.error().message;
  };
  json p = project();
  p["source"] = {{"type", "S3"}};
  EXPECT_EQ(error_of(p, json::object()),
            "InvalidInputException: Invalid source: location must be specified for type S3");
  p = project();
  p["source"] = {{"type", "CODEPIPELINE"}};
  EXPECT_EQ(error_of(p, json::object()),
            "InvalidInputException: Invalid source: CODEPIPELINE sources need AWS CodePipeline");
  p = project();
  p["secondarySources"][0].erase("sourceIdentifier");
  EXPECT_EQ(error_of(p, json::object()),
            "InvalidInputException: Invalid secondarySources.1: sourceIdentifier must be "
            "letters, digits, _");
  p = project();
  p["secondaryArtifacts"][0].erase("artifactIdentifier");
  EXPECT_EQ(error_of(p, json::object()),
            "InvalidInputException: Invalid secondaryArtifacts.1: artifactIdentifier must be "
            "specified");
  EXPECT_EQ(error_of(project(), json{{"cacheOverride", {{"type", "S3"}}}}),
            "InvalidInputException: Invalid cache: location must be specified for S3 caches");
  EXPECT_EQ(error_of(project(), json{{"artifactsOverride", {{"type", "S3"}}}}),
            "InvalidInputException: Invalid artifacts: location must be specified for S3 "
            "artifacts");
  const std::string local_error =
      "InvalidInputException: Invalid source: a LOCAL source must be an existing folder under "
      "one of this server's --source-root folders";
  for (const char* where : {"/etc", "/tmp/../etc", "relative", "/tmp/kiln-no-such-folder"}) {
    p = project();
    p["source"] = {{"type", "LOCAL"}, {"location", where}};
    EXPECT_EQ(error_of(p, json::object()), local_error) << where;
  }
  p = project();
  p["source"] = {{"type", "NO_SOURCE"}};
  EXPECT_EQ(error_of(p, json::object()),
            "InvalidInputException: The build has no buildspec: set source.buildspec");
}

}  // namespace
}  // namespace kiln::api
