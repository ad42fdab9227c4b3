#include "events/journal.h"

#include <fstream>

#include <gtest/gtest.h>

#include "events/events_fixture.h"
#include "events/hub.h"

namespace kiln::events {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const auto kDay1 = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
const auto kDay2 = kDay1 + std::chrono::hours(24);

json event(int n, const std::string& project = "app") {
  return {{"id", "e" + std::to_string(n)},
          {"detail-type", "CodeBuild Build Phase Change"},
          {"detail", {{"project-name", project}}}};
}

std::vector<std::uint64_t> seqs(const std::vector<Entry>& entries) {
  std::vector<std::uint64_t> out;
  for (const auto& e : entries) out.push_back(e.seq);
  return out;
}

TEST(Journal, AppendsNumberedLinesAndReadsAfterACursor) {
  testing::TempDir dir;
  auto j = Journal::open(dir.path() / "events");
  ASSERT_TRUE(j) << j.error().describe();
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(*(*j)->append(event(i), kDay1), std::uint64_t(i));
  EXPECT_EQ(*(*j)->append(event(4), kDay2), 4U);  // a new day, a new file
  auto all = (*j)->read_after(0, 100);
  ASSERT_TRUE(all);
  EXPECT_EQ(seqs(*all), (std::vector<std::uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(json::parse((*all)[0].text), event(1));
  EXPECT_EQ(seqs(*(*j)->read_after(2, 100)), (std::vector<std::uint64_t>{3, 4}));
  EXPECT_EQ(seqs(*(*j)->read_after(0, 2)), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_TRUE((*j)->read_after(4, 100)->empty());
  EXPECT_TRUE(fs::exists(dir.path() / "events" / "2023-11-14-000000000001.jsonl"));
  EXPECT_TRUE(fs::exists(dir.path() / "events" / "2023-11-15-000000000004.jsonl"));
}

TEST(Journal, ReopenedItNumbersOnAndATornLastLineIsSkipped) {
  testing::TempDir dir;
  const fs::path events = dir.path() / "events";
  {
    auto j = Journal::open(events);
    ASSERT_TRUE(j);
    ASSERT_TRUE((*j)->append(event(1), kDay1));
    ASSERT_TRUE((*j)->append(event(2), kDay1));
  }
  // A crash in the middle of the third line.
  std::ofstream(events / "2023-11-14-000000000001.jsonl", std::ios::app) << R"({"seq":3,"eve)";
  auto j = Journal::open(events);
  ASSERT_TRUE(j) << j.error().describe();
  EXPECT_EQ((*j)->last_seq(), 2U);
  EXPECT_EQ(seqs(*(*j)->read_after(0, 100)), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(*(*j)->append(event(3), kDay1), 3U);
  auto all = (*j)->read_after(0, 100);
  EXPECT_EQ(seqs(*all), (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(json::parse(all->back().text), event(3));
}

TEST(Journal, AGarbledLineInTheMiddleIsSkipped) {
  testing::TempDir dir;
  fs::create_directories(dir.path() / "events");
  std::ofstream(dir.path() / "events" / "2023-11-14-000000000001.jsonl")
      << R"({"seq":1,"event":{"id":"a"}})"
      << "\nnot json\n"
      << R"({"seq":2,"event":{"id":"b"}})"
      << "\n";
  auto j = Journal::open(dir.path() / "events");
  ASSERT_TRUE(j);
  EXPECT_EQ(seqs(*(*j)->read_after(0, 100)), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ((*j)->last_seq(), 2U);
}

TEST(Hub, LiveEventsOfTheFilteredProjectsAsSse) {
  testing::TempDir dir;
  auto j = Journal::open(dir.path());
  ASSERT_TRUE(j);
  Hub hub(**j);
  auto sub = hub.subscribe([](const std::string& p) { return p == "app"; }, std::nullopt);
  ASSERT_TRUE(sub);
  for (int i = 1; i <= 3; ++i) {
    const auto e = event(i, i == 2 ? "other" : "app");
    hub.publish(*(*j)->append(e, kDay1), e.dump());
  }
  std::string out;
  ASSERT_TRUE(sub->next(out));
  EXPECT_EQ(out, sse_message(1, "CodeBuild Build Phase Change", event(1).dump()) +
                     sse_message(3, "CodeBuild Build Phase Change", event(3).dump()));
  EXPECT_EQ(out.substr(0, out.find("data:")), "id: 1\nevent: CodeBuild Build Phase Change\n");
  out.clear();
  EXPECT_TRUE(sub->next(out));
  EXPECT_EQ(out, "");  // nothing yet
}

TEST(Hub, LastEventIdReplaysTheJournalThenGoesLiveWithoutRepeats) {
  testing::TempDir dir;
  auto j = Journal::open(dir.path());
  ASSERT_TRUE(j);
  HubLimits limits;
  limits.replay_page = 2;
  Hub hub(**j, limits);
  for (int i = 1; i <= 4; ++i) ASSERT_TRUE((*j)->append(event(i), kDay1));
  auto sub = hub.subscribe([](const std::string&) { return true; }, 1);
  // Published while the reader replays: sent once.
  const auto e5 = event(5);
  hub.publish(*(*j)->append(e5, kDay1), e5.dump());
  std::string out;
  while (out.find("id: 5\n") == std::string::npos) ASSERT_TRUE(sub->next(out));
  for (const auto* id : {"id: 2\n", "id: 3\n", "id: 4\n", "id: 5\n"}) {
    EXPECT_EQ(out.find(id), out.rfind(id)) << id;
    EXPECT_NE(out.find(id), std::string::npos) << id;
  }
  EXPECT_EQ(out.find("id: 1\n"), std::string::npos);
  std::string more;
  ASSERT_TRUE(sub->next(more));
  EXPECT_EQ(more, "");
}

TEST(Hub, ASlowReaderIsDroppedAndReadersAreCapped) {
  testing::TempDir dir;
  auto j = Journal::open(dir.path());
  ASSERT_TRUE(j);
  HubLimits limits;
  limits.max_subscribers = 1;
  limits.max_queued_bytes = 100;
  Hub hub(**j, limits);
  auto sub = hub.subscribe([](const std::string&) { return true; }, std::nullopt);
  ASSERT_TRUE(sub);
  EXPECT_FALSE(hub.subscribe([](const std::string&) { return true; }, std::nullopt));
  for (int i = 1; i <= 10; ++i) hub.publish(i, event(i).dump());  // never read: > 100 bytes
  std::string out;
  EXPECT_FALSE(sub->next(out));
  sub.reset();
  EXPECT_TRUE(hub.subscribe([](const std::string&) { return true; }, std::nullopt));
}

}  // namespace
}  // namespace kiln::events
