#include "logs/time_index.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace kiln::logs {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kT0 = std::int64_t{1700000000} * 1000;  // FakeClock's start

class TimeIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kiln-time-index-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    log_ = dir_ / "0000-aa.log";
  }
  void TearDown() override {
    if (!HasFailure())
      fs::remove_all(dir_);
    else
      std::fprintf(stderr, "kept %s\n", dir_.c_str());
  }
  static std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // Runs `write` against a TimedFileSink on the log and its index.
  template <typename F>
  void with_sink(F write) {
    const int log_fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    const int idx_fd =
        ::open(time_index_path(log_).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    ASSERT_GE(log_fd, 0);
    ASSERT_GE(idx_fd, 0);
    {
      TimedFileSink sink(log_fd, idx_fd, clock_);
      write(sink);
    }
    ::close(log_fd);
    ::close(idx_fd);
  }

  fs::path dir_;
  fs::path log_;
  FakeClock clock_;
};

TEST_F(TimeIndexTest, TheIndexSitsBesideTheLog) {
  EXPECT_EQ(time_index_path("/d/logs/p/0000-aa.log"), fs::path("/d/logs/p/0000-aa.times"));
}

TEST_F(TimeIndexTest, EachChunkIsStampedWithTheTimeItArrived) {
  with_sink([&](TimedFileSink& sink) {
    sink.agent_line("[Container] start");
    sink.output("line1\n");
    clock_.advance(std::chrono::milliseconds(1000));
    sink.output("line2\n");
    clock_.advance(std::chrono::milliseconds(3));  // under the resolution: no new entry
    sink.output("line3\n");
    clock_.advance(std::chrono::milliseconds(1000));
    sink.output("");  // nothing written, nothing stamped
    sink.output("line4\n");
  });
  EXPECT_EQ(read(log_), "[Container] start\nline1\nline2\nline3\nline4\n");
  const std::string t0 = std::to_string(kT0);
  EXPECT_EQ(read(time_index_path(log_)), "0 " + t0 + "\n24 " + std::to_string(kT0 + 1000) +
                                             "\n36 " + std::to_string(kT0 + 2003) + "\n");
  auto r = TimeIndexReader::open(time_index_path(log_));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->time_at(0), kT0);
  EXPECT_EQ(r->time_at(18), kT0);  // line1
  EXPECT_EQ(r->time_at(24), kT0 + 1000);
  EXPECT_EQ(r->time_at(30), kT0 + 1000);  // line3, within the resolution of line2
  EXPECT_EQ(r->time_at(36), kT0 + 2003);
  EXPECT_EQ(r->time_at(1000), kT0 + 2003);
  const auto b = read_time_bounds(time_index_path(log_));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->first_ms, kT0);
  EXPECT_EQ(b->last_ms, kT0 + 2003);
}

TEST_F(TimeIndexTest, AppendingToAnExistingLogStampsItsRealOffsets) {
  std::ofstream(log_, std::ios::binary) << "old\n";
  with_sink([&](TimedFileSink& sink) { sink.output("new\n"); });
  EXPECT_EQ(read(time_index_path(log_)), "4 " + std::to_string(kT0) + "\n");
  auto r = TimeIndexReader::open(time_index_path(log_));
  EXPECT_EQ(r->time_at(0), -1);
  EXPECT_EQ(r->time_at(4), kT0);
}

TEST_F(TimeIndexTest, ATornOrDamagedIndexIsReadAsFarAsItIsWhole) {
  const auto idx = time_index_path(log_);
  std::ofstream(idx, std::ios::binary) << "0 100\nnonsense\n10 200\n20 3";
  auto r = TimeIndexReader::open(idx);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->time_at(5), 100);
  EXPECT_EQ(r->time_at(15), 200);
  EXPECT_EQ(r->time_at(25), 200);  // "20 3" has no newline: a torn last entry
  const auto b = read_time_bounds(idx);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->first_ms, 100);
  EXPECT_EQ(b->last_ms, 200);
  EXPECT_FALSE(TimeIndexReader::open(dir_ / "none.times"));
  EXPECT_FALSE(read_time_bounds(dir_ / "none.times"));
  std::ofstream(idx, std::ios::binary | std::ios::trunc) << "";
  EXPECT_FALSE(read_time_bounds(idx));
}

TEST_F(TimeIndexTest, ALongIndexIsReadInBlocks) {
  const auto idx = time_index_path(log_);
  {
    std::ofstream out(idx, std::ios::binary);
    for (int i = 0; i < 20000; ++i) out << i * 10 << ' ' << 1000 + i << '\n';
  }
  auto r = TimeIndexReader::open(idx);
  for (int i = 0; i < 20000; i += 7) ASSERT_EQ(r->time_at(i * 10 + 5), 1000 + i) << i;
  const auto b = read_time_bounds(idx);
  EXPECT_EQ(b->first_ms, 1000);
  EXPECT_EQ(b->last_ms, 1000 + 19999);
}

}  // namespace
}  // namespace kiln::logs
