#include "http/workers.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>

namespace kiln::http {
namespace {

using namespace std::chrono_literals;

TEST(HttpStreamThreadsTest, RunsEachFunctionAndDestroysItBeforeJoinReturns) {
  StreamThreads threads;
  std::atomic<int> ran{0};
  auto token = std::make_shared<int>(7);
  std::weak_ptr<int> watch = token;
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(threads.spawn([&ran, token] { ran.fetch_add(1); }));
  }
  token.reset();
  threads.close_and_join();
  EXPECT_EQ(ran.load(), 20);
  EXPECT_TRUE(watch.expired());  // every copy of the capture died on its thread
  EXPECT_FALSE(threads.spawn([] {}));
  threads.close_and_join();  // idempotent
}

TEST(HttpStreamThreadsTest, JoinWaitsForRunningThreads) {
  StreamThreads threads;
  std::atomic<bool> finished{false};
  ASSERT_TRUE(threads.spawn([&finished] {
    std::this_thread::sleep_for(100ms);
    finished = true;
  }));
  threads.close_and_join();
  EXPECT_TRUE(finished.load());
}

TEST(HttpTickerTest, TicksUntilStopped) {
  Ticker ticker;
  std::atomic<int> ticks{0};
  ticker.start(10ms, [&ticks] { ticks.fetch_add(1); });
  while (ticks.load() < 3) std::this_thread::sleep_for(5ms);
  const auto t0 = std::chrono::steady_clock::now();
  ticker.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 100ms);
  const int after_stop = ticks.load();
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(ticks.load(), after_stop);
  ticker.stop();  // idempotent
}

TEST(HttpTickerTest, StopWithoutStart) {
  Ticker ticker;
  ticker.stop();
}

}  // namespace
}  // namespace kiln::http
