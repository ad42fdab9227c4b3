// batch/member.h: a member's request from the batch's, and COMBINE_ARTIFACTS (§5.4).
#include "batch/member.h"

#include <gtest/gtest.h>

#include "artifacts/temp_tree.h"

namespace kiln::batch {
namespace {

namespace fs = std::filesystem;
using kiln::testing::TempTree;
using kiln::testing::zip_names;
using Strings = std::vector<std::string>;

engine::BuildRequest batch_request() {
  engine::BuildRequest r;
  r.identity.project = "proj";
  r.identity.uuid = "batch-uuid";
  r.identity.build_number = 7;
  r.identity.image = "aws/codebuild/standard:7.0";
  r.identity.source_version = "main";
  r.buildspec_path = "";
  r.buildspec_text = "version: 0.2\nbatch:\n  build-list: []\n";
  r.buildspec_origin = "/abs/buildspec.yml";
  r.batchspec_only = true;
  r.project_vars = {{"P", "project"}, {"SHARED", "project"}};
  r.override_vars = {{"O", "override"}, {"BOTH", "override"}};
  r.compute_type = "BUILD_GENERAL1_SMALL";
  r.environment_type = "LINUX_CONTAINER";
  r.privileged_mode = false;
  r.artifacts_dir = "/out/artifacts";
  r.packaging = artifacts::Packaging::kZip;
  artifacts::S3ArtifactTarget t;
  t.bucket = "b";
  r.s3_artifacts = {t};
  r.s3_default_secondary = true;
  return r;
}

Member full_member() {
  Member m;
  m.identifier = "linux_big";
  m.buildspec = "ci/linux.yml";
  m.env.compute_type = "BUILD_GENERAL1_LARGE";
  m.env.image = "my/image:1";
  m.env.privileged_mode = true;
  m.env.type = "ARM_CONTAINER";
  m.env.variables = {{"SHARED", "task"}, {"BOTH", "task"}, {"T", "task"}};
  return m;
}

TEST(MemberRequest, TakesTheTaskSettings) {
  const auto base = batch_request();
  auto r = member_request(base, full_member(), "member-uuid",
                          "arn:aws:codebuild:us-east-1:000000000000:build-batch/proj:batch-uuid",
                          false, "/unused");
  EXPECT_EQ(r.identity.uuid, "member-uuid");
  EXPECT_EQ(r.identity.batch_identifier, "linux_big");
  EXPECT_EQ(r.identity.build_batch_arn,
            "arn:aws:codebuild:us-east-1:000000000000:build-batch/proj:batch-uuid");
  EXPECT_EQ(r.identity.project, "proj");
  EXPECT_EQ(r.identity.source_version, "main");
  EXPECT_EQ(r.identity.build_number, 7);
  EXPECT_EQ(r.buildspec_path, "ci/linux.yml");
  EXPECT_FALSE(r.buildspec_text);
  EXPECT_EQ(r.buildspec_origin, "");
  EXPECT_FALSE(r.batchspec_only);
  EXPECT_EQ(r.identity.image, "my/image:1");
  EXPECT_EQ(r.compute_type, "BUILD_GENERAL1_LARGE");
  EXPECT_EQ(r.environment_type, "ARM_CONTAINER");
  EXPECT_TRUE(r.privileged_mode);
  // Without combine: each member uploads its own artifacts, named after it (§5.4).
  EXPECT_EQ(r.artifact_default_name, "linux_big");
  EXPECT_EQ(r.secondary_artifact_prefix, "linux_big_");
  EXPECT_EQ(r.artifacts_dir, "/out/artifacts");
  EXPECT_EQ(r.packaging, artifacts::Packaging::kZip);
  EXPECT_EQ(r.s3_artifacts.size(), 1u);
  EXPECT_EQ(r.override_vars, base.override_vars);
}

// Task variables beat the project's; StartBuild's overrides (kiln run -e) still beat them.
TEST(MemberRequest, VariablePrecedence) {
  auto r = member_request(batch_request(), full_member(), "u", "arn", false, "");
  auto env = engine::compose_environment({}, {{"T", "buildspec"}, {"B", "buildspec"}},
                                         r.project_vars, r.override_vars, {});
  EXPECT_EQ(env.at("P"), "project");
  EXPECT_EQ(env.at("SHARED"), "task");
  EXPECT_EQ(env.at("T"), "task");
  EXPECT_EQ(env.at("B"), "buildspec");
  EXPECT_EQ(env.at("BOTH"), "override");
  EXPECT_EQ(env.at("O"), "override");
}

TEST(MemberRequest, UnsetSettingsKeepTheBatchs) {
  const auto base = batch_request();
  Member m;
  m.identifier = "plain";
  auto r = member_request(base, m, "u", "arn", false, "");
  EXPECT_EQ(r.buildspec_path, base.buildspec_path);
  EXPECT_EQ(r.buildspec_text, base.buildspec_text);
  EXPECT_EQ(r.buildspec_origin, base.buildspec_origin);
  EXPECT_EQ(r.identity.image, base.identity.image);
  EXPECT_EQ(r.compute_type, base.compute_type);
  EXPECT_EQ(r.environment_type, base.environment_type);
  EXPECT_FALSE(r.privileged_mode);
  EXPECT_EQ(r.project_vars, base.project_vars);
  // privileged-mode: false in the task turns the project's true off.
  auto priv = base;
  priv.privileged_mode = true;
  m.env.privileged_mode = false;
  EXPECT_FALSE(member_request(priv, m, "u", "arn", false, "").privileged_mode);
}

TEST(MemberRequest, CombineWritesUnpackagedIntoTheCombineFolder) {
  auto r = member_request(batch_request(), full_member(), "u", "arn", true, "/data/combine");
  EXPECT_EQ(r.artifacts_dir, fs::path("/data/combine/linux_big"));
  EXPECT_EQ(r.packaging, artifacts::Packaging::kNone);
  EXPECT_TRUE(r.s3_artifacts.empty());
  EXPECT_FALSE(r.s3_default_secondary);
  EXPECT_FALSE(r.batchspec_only);
  // combine_artifacts finds the primary by these names.
  EXPECT_EQ(r.artifact_default_name, "linux_big");
  EXPECT_EQ(r.secondary_artifact_prefix, "linux_big_");
}

class CombineTest : public ::testing::Test {
 protected:
  TempTree t_;
  fs::path combine_ = t_.dir("combine");
};

TEST_F(CombineTest, ZipHasAFolderPerBuild) {
  t_.file("combine/linux/linux/app.bin", "linux-app");
  t_.file("combine/linux/linux/docs/readme.txt", "read me");
  t_.file("combine/linux/linux_reports.zip", "secondary, not combined");
  t_.file("combine/linux/linux_extra/e.txt", "secondary folder, not combined");
  t_.file("combine/mac/named-by-buildspec/mac.bin", "mac-app");  // buildspec `name:`
  t_.dir("combine/failed");                                      // no primary artifact
  auto out =
      combine_artifacts(combine_, t_.path("out/batch/combined.zip"), artifacts::Packaging::kZip);
  ASSERT_TRUE(out) << out.error().describe();
  EXPECT_EQ(out->location, t_.path("out/batch/combined.zip"));
  EXPECT_EQ(out->file_count, 3u);
  EXPECT_EQ(out->identifier, "");
  EXPECT_EQ(zip_names(out->location),
            (Strings{"linux/app.bin", "linux/docs/readme.txt", "mac/mac.bin"}));
  for (const auto& item : kiln::testing::read_zip(out->location))
    if (item.path == "mac/mac.bin") {
      EXPECT_EQ(item.content, "mac-app");
    }
  // The hashes of the zip, as the uploader reports them.
  const std::string zip = out->location.string();
  EXPECT_EQ(out->sha256, kiln::testing::run("sha256sum " + zip).substr(0, 64));
  EXPECT_EQ(out->md5, kiln::testing::run("md5sum " + zip).substr(0, 32));
  EXPECT_EQ(out->sha256.size(), 64u);
}

TEST_F(CombineTest, FolderPackaging) {
  t_.file("combine/a/a/x.txt", "ax");
  t_.file("combine/b/b/sub/y.txt", "by");
  auto out = combine_artifacts(combine_, t_.path("out/combined"), artifacts::Packaging::kNone);
  ASSERT_TRUE(out) << out.error().describe();
  EXPECT_EQ(out->file_count, 2u);
  EXPECT_EQ(out->sha256, "");
  EXPECT_EQ(kiln::testing::read_file(t_.path("out/combined/a/x.txt")), "ax");
  EXPECT_EQ(kiln::testing::read_file(t_.path("out/combined/b/sub/y.txt")), "by");
}

// Member builds are untrusted: their links never lead out of their own primary folder.
TEST_F(CombineTest, SymlinksDoNotLeaveTheMembersFolder) {
  t_.file("secret.txt", "secret");
  t_.file("combine/b/b/b-only.txt", "b's");
  t_.file("combine/a/a/real.txt", "real");
  t_.link("combine/a/a/inside", "real.txt");                         // followed: stays inside
  t_.link("combine/a/a/to-secret", t_.path("secret.txt").string());  // absolute, out
  t_.link("combine/a/a/to-b", "../../b/b/b-only.txt");               // into another member
  t_.link("combine/a/a/up", "../..");                                // a directory out
  t_.link("combine/evil", t_.root().string());                       // a member that is a link
  t_.dir("elsewhere/x");
  t_.file("elsewhere/x/stolen.txt", "stolen");
  t_.link("combine/c", t_.path("elsewhere").string());  // c/x would look like a primary
  auto out = combine_artifacts(combine_, t_.path("out.zip"), artifacts::Packaging::kZip);
  ASSERT_TRUE(out) << out.error().describe();
  EXPECT_EQ(zip_names(out->location), (Strings{"a/inside", "a/real.txt", "b/b-only.txt"}));
  for (const auto& item : kiln::testing::read_zip(out->location))
    if (item.path == "a/inside") {
      EXPECT_EQ(item.content, "real");
    }
}

TEST_F(CombineTest, PrimaryFolderLinkIsNotFollowed) {
  t_.file("elsewhere/stolen.txt", "stolen");
  t_.dir("combine/a");
  t_.link("combine/a/a", t_.path("elsewhere").string());
  auto out = combine_artifacts(combine_, t_.path("out.zip"), artifacts::Packaging::kZip);
  ASSERT_TRUE(out) << out.error().describe();
  EXPECT_TRUE(zip_names(out->location).empty());
}

TEST_F(CombineTest, AmbiguousPrimaryIsAnError) {
  t_.file("combine/a/one/x", "1");
  t_.file("combine/a/two/y", "2");
  auto out = combine_artifacts(combine_, t_.path("out.zip"), artifacts::Packaging::kZip);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().message(),
            "build a left more than one artifact folder (one, two): cannot tell its primary "
            "artifact");
  EXPECT_FALSE(fs::exists(t_.path("out.zip")));
}

// No member uploaded anything (their buildspecs have no artifacts): an empty output.
TEST_F(CombineTest, NoMemberArtifacts) {
  auto out =
      combine_artifacts(t_.path("never-made"), t_.path("out.zip"), artifacts::Packaging::kZip);
  ASSERT_TRUE(out) << out.error().describe();
  EXPECT_EQ(out->file_count, 0u);
  EXPECT_TRUE(zip_names(t_.path("out.zip")).empty());
  // A file where the folder should be is an error, not an empty output.
  t_.file("not-a-dir", "x");
  EXPECT_FALSE(
      combine_artifacts(t_.path("not-a-dir"), t_.path("out2.zip"), artifacts::Packaging::kZip));
}

}  // namespace
}  // namespace kiln::batch
