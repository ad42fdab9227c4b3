// reportBuildStatus and buildStatusConfig in a project's source (docs/webhooks.md "Build
// status"): refused where no git host could take a status, checked for type.
#include <gtest/gtest.h>

#include "api/project_shape.h"

namespace kiln::api {
namespace {

using nlohmann::json;

TEST(BuildStatusShape, ReportBuildStatusOnlyForGitHosts) {
  for (const char* type :
       {"GITHUB", "GITHUB_ENTERPRISE", "GITLAB", "GITLAB_SELF_MANAGED", "BITBUCKET"}) {
    const json s = {{"type", type}, {"location", "https://h/o/r.git"}, {"reportBuildStatus", true}};
    EXPECT_TRUE(check_source(s, "source", false)) << type;
  }
  const json s3 = {{"type", "S3"}, {"location", "b/k.zip"}, {"reportBuildStatus", true}};
  auto r = check_source(s3, "source", false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().type, "InvalidInputException");
  EXPECT_EQ(r.error().message,
            "Invalid source: reportBuildStatus is not supported for source type S3");
  const json off = {{"type", "S3"}, {"location", "b/k.zip"}, {"reportBuildStatus", false}};
  EXPECT_TRUE(check_source(off, "source", false));
}

TEST(BuildStatusShape, BuildStatusConfigMembersAreStrings) {
  json s = {{"type", "GITHUB"},
            {"location", "https://github.com/o/r"},
            {"buildStatusConfig", {{"context", "ci"}, {"targetUrl", "https://x"}}}};
  EXPECT_TRUE(check_source(s, "source", false));
  s["buildStatusConfig"]["context"] = 7;
  auto r = check_source(s, "source", false);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("buildStatusConfig.context"), std::string::npos)
      << r.error().message;
  s["buildStatusConfig"] = "ci";
  EXPECT_FALSE(check_source(s, "source", false));
}

}  // namespace
}  // namespace kiln::api
