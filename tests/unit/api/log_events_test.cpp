#include "api/log_events.h"

#include <gtest/gtest.h>

namespace kiln::api {
namespace {

TEST(LogEvents, LinesTakeTheLastAgentTimestamp) {
  const auto events = split_log(
      "early output\n"
      "[Container] 2026/11/22 06:42:52.992104 Running command echo hi\n"
      "hi\n"
      "[Container] 2026/11/22 06:42:53.500000 Phase complete: BUILD State: SUCCEEDED\n"
      "partial line without newline");
  ASSERT_EQ(events.size(), 5u);
  const std::int64_t t0 = 1795329772992;  // 2026-11-22T06:42:52.992Z
  EXPECT_EQ(events[0].timestamp_ms, t0);  // before any stamp: the first stamp
  EXPECT_EQ(events[1].timestamp_ms, t0);
  EXPECT_EQ(events[2].timestamp_ms, t0);
  EXPECT_EQ(events[2].message, "hi");
  EXPECT_EQ(events[3].timestamp_ms, t0 + 508);
  EXPECT_EQ(events[4].message, "partial line without newline");
}

TEST(LogEvents, NotAnAgentLine) {
  EXPECT_EQ(agent_line_time("[Container] soon"), -1);
  EXPECT_EQ(agent_line_time("[Container] 2026-11-22 06:42:52.992104 x"), -1);
  EXPECT_EQ(agent_line_time("plain"), -1);
  EXPECT_TRUE(split_log("").empty());
}

}  // namespace
}  // namespace kiln::api
