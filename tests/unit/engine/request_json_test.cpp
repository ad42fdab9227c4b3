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
  req.source_dir = "";
  req.build_root = "/data/builds/u-1";
  req.buildspec_text = "version: 0.2\n";
  req.project_vars = {{"A", "1"}};
  req.override_vars = {{"B", "2"}, {"A", "3"}};
  req.image_env = {{"PATH", "/bin"}};
  req.timeout_minutes = 5;
  req.queued_timeout_minutes = 9;
  req.packaging = artifacts::Packaging::kNone;
  req.copy_mode = workspace::CopyMode::kHardlink;
  req.secondary_sources = {{"two", "/src/two"}};

  auto back = request_from_json(nlohmann::json::parse(request_to_json(req).dump()));
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(back->identity.build_id(), "p1:u-1");
  EXPECT_EQ(back->identity.build_number, 7);
  EXPECT_EQ(back->identity.region, "eu-west-1");
  EXPECT_TRUE(back->source_dir.empty());
  EXPECT_EQ(back->build_root, "/data/builds/u-1");
  EXPECT_EQ(back->buildspec_text, "version: 0.2\n");
  EXPECT_EQ(back->override_vars, req.override_vars);
  EXPECT_EQ(back->image_env, req.image_env);
  EXPECT_EQ(back->timeout_minutes, 5);
  EXPECT_EQ(back->queued_timeout_minutes, 9);
  EXPECT_EQ(back->packaging, artifacts::Packaging::kNone);
  EXPECT_EQ(back->copy_mode, workspace::CopyMode::kHardlink);
  ASSERT_EQ(back->secondary_sources.size(), 1u);
  EXPECT_EQ(back->secondary_sources[0].dir, "/src/two");
}

TEST(RequestJson, WrongTypesAreParseErrors) {
  auto r = request_from_json(nlohmann::json::parse(R"({"timeoutMinutes": "soon"})"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kParse);
  EXPECT_FALSE(request_from_json(nlohmann::json::array()));
}

}  // namespace
}  // namespace kiln::engine
