#include "api/build_json.h"

#include <gtest/gtest.h>

namespace kiln::api {
namespace {

using nlohmann::json;

TEST(BuildJson, EndsAQueuedBuild) {
  json b = json::parse(R"({"buildStatus": "IN_PROGRESS", "buildComplete": false,
    "currentPhase": "QUEUED", "phases": [
      {"phaseType": "SUBMITTED", "phaseStatus": "SUCCEEDED", "startTime": 10, "endTime": 10},
      {"phaseType": "QUEUED", "startTime": 10}]})");
  end_build(b, "STOPPED", 72.5, "BUILD_STOPPED", "stopped while queued");
  EXPECT_EQ(b["buildStatus"], "STOPPED");
  EXPECT_TRUE(build_complete(b));
  EXPECT_EQ(b["currentPhase"], "COMPLETED");
  EXPECT_EQ(b["endTime"], 72.5);
  ASSERT_EQ(b["phases"].size(), 3u);
  EXPECT_EQ(b["phases"][1]["phaseStatus"], "STOPPED");
  EXPECT_EQ(b["phases"][1]["durationInSeconds"], 62);
  EXPECT_EQ(b["phases"][1]["contexts"][0]["statusCode"], "BUILD_STOPPED");
  EXPECT_EQ(b["phases"][2]["phaseType"], "COMPLETED");

  const json before = b;
  end_build(b, "FAILED", 99, "X", "y");  // already complete: unchanged
  EXPECT_EQ(b, before);
}

}  // namespace
}  // namespace kiln::api
