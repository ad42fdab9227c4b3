// The threads the HTTP server runs besides its I/O threads: one per streaming response (its
// producer may block) and a ticker for the idle sweep. Kept apart from server.cpp so they build
// without Boost and are tested on their own.
//
// Thread safety: every member function may be called from any thread. The destructors join.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

namespace kiln::http {

class StreamThreads {
 public:
  StreamThreads() = default;
  ~StreamThreads() { close_and_join(); }
  StreamThreads(const StreamThreads&) = delete;
  StreamThreads& operator=(const StreamThreads&) = delete;

  // Runs `fn` on a new thread and destroys it there, before the thread counts as finished.
  // False, without running it, once close_and_join() has begun or when no thread can be made.
  bool spawn(std::function<void()> fn);
  // Refuses new threads and waits for the running ones. Idempotent.
  void close_and_join();

 private:
  struct Entry {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::mutex mu_;
  std::list<Entry> threads_;  // finished ones are joined by the next spawn()
  bool closed_ = false;
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
