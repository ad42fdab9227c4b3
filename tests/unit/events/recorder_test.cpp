#include "events/recorder.h"

#include <gtest/gtest.h>

#include "events/events_fixture.h"

namespace kiln::events {
namespace {

using nlohmann::json;
using testing::record;

std::vector<std::string> journaled(const Journal& j) {
  std::vector<std::string> out;
  const auto entries = j.read_after(0, 1000);
  for (const auto& e : *entries) out.push_back(milestone_of(json::parse(e.text)));
  return out;
}

TEST(Recorder, JournalsPublishesAndAfterARestartRepeatsNothing) {
  testing::TempDir dir;
  FakeClock clock;
  int woken = 0;
  {
    auto j = Journal::open(dir.path());
    ASSERT_TRUE(j);
    Hub hub(**j);
    auto sub = hub.subscribe([](const std::string&) { return true; }, std::nullopt);
    Recorder rec(**j, hub, {"000000000000", "us-east-1"}, clock, [&] { ++woken; });
    ASSERT_TRUE(rec.load());
    rec.changed({false, "app:u-1", nullptr, record(1)});
    rec.changed({false, "app:u-1", record(1), record(3)});
    EXPECT_EQ(journaled(**j),
              (std::vector<std::string>{"phase:SUBMITTED", "phase:QUEUED", "state:IN_PROGRESS",
                                        "phase:PROVISIONING"}));
    std::string out;
    ASSERT_TRUE(sub->next(out));
    EXPECT_NE(out.find("id: 4\n"), std::string::npos);
    EXPECT_EQ(woken, 2);
    // A batch record is not a build: nothing.
    rec.changed({true, "app:b-1", nullptr, json{{"arn", "x"}, {"complete", true}}});
    EXPECT_EQ((*j)->last_seq(), 4U);
  }
  // Restarted: the feed sees the build for the first time, a phase further on.
  auto j = Journal::open(dir.path());
  ASSERT_TRUE(j);
  Hub hub(**j);
  Recorder rec(**j, hub, {"000000000000", "us-east-1"}, clock, nullptr);
  ASSERT_TRUE(rec.load());
  rec.changed({false, "app:u-1", nullptr, record(4)});
  rec.changed({false, "app:u-1", record(4), record(10, "SUCCEEDED")});
  rec.changed({false, "app:u-1", nullptr, record(10, "SUCCEEDED")});  // and once more
  const auto all = journaled(**j);
  EXPECT_EQ(std::vector<std::string>(all.begin() + 4, all.end()),
            (std::vector<std::string>{"phase:DOWNLOAD_SOURCE", "phase:INSTALL", "phase:PRE_BUILD",
                                      "phase:BUILD", "phase:POST_BUILD", "phase:UPLOAD_ARTIFACTS",
                                      "phase:FINALIZING", "state:final"}));
}

}  // namespace
}  // namespace kiln::events
