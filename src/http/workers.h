// The threads the HTTP server runs besides its I/O threads: a fixed pool for handlers that do
// file work and for streaming producers, and a ticker for the idle sweep. Kept apart from
// server.cpp so they build without Boost and are tested on their own.
//
// Thread safety: every member function may be called from any thread. The destructors join.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln::http {

class WorkerPool {
 public:
  WorkerPool() = default;
  ~WorkerPool() { stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Starts `count` threads (at least one). Throws std::system_error when a thread cannot be
  // made. Only once per pool.
  void start(unsigned count);
  // Queues `fn`; it runs on a pool thread and is destroyed there. False, without queueing it,
  // once stop() has begun or before start().
  bool post(std::function<void()> fn);
  // Refuses new work, runs what is queued, and joins the threads. Idempotent.
  void stop();
  unsigned size() const { return count_.load(); }

 private:
  void run();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  bool started_ = false;
  std::atomic<unsigned> count_{0};
  std::vector<std::thread> threads_;
};

class Ticker {
 public:
  Ticker() = default;
  ~Ticker() { stop(); }
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;

  // Calls `tick` every `period` on a thread of its own until stop(). Throws std::system_error
  // when the thread cannot be made. Only once per Ticker.
  void start(std::chrono::milliseconds period, std::function<void()> tick);
  // Wakes the thread and joins it; returns after a running tick completes. Idempotent.
  void stop();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace kiln::http
