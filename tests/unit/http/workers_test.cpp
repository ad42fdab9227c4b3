#include "http/workers.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

namespace kiln::http {
namespace {

using namespace std::chrono_literals;

TEST(HttpWorkerPoolTest, RunsEachFunctionAndDestroysItBeforeStopReturns) {
  WorkerPool pool;
  EXPECT_FALSE(pool.post([] {}));  // not started
  pool.start(3);
  EXPECT_EQ(pool.size(), 3U);
  std::atomic<int> ran{0};
  auto token = std::make_shared<int>(7);
  std::weak_ptr<int> watch = token;
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(pool.post([&ran, token] { ran.fetch_add(1); }));
  }
  token.reset();
  pool.stop();
  EXPECT_EQ(ran.load(), 200);    // queued work runs before stop() returns
  EXPECT_TRUE(watch.expired());  // every copy of the capture died on a pool thread
  EXPECT_FALSE(pool.post([] {}));
  pool.stop();  // idempotent
}

TEST(HttpWorkerPoolTest, ManyTasksShareTheFixedThreads) {
  WorkerPool pool;
  pool.start(2);
  std::mutex mu;
  std::set<std::thread::id> ids;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(pool.post([&] {
      std::lock_guard lk(mu);
      ids.insert(std::this_thread::get_id());
    }));
  }
  pool.stop();
  EXPECT_LE(ids.size(), 2U);
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
