#include "http/workers.h"

#include <algorithm>
#include <system_error>
#include <utility>

namespace kiln::http {

void WorkerPool::start(unsigned count) {
  std::lock_guard lk(mu_);
  if (started_) return;
  started_ = true;
  for (unsigned i = 0; i < std::max(1U, count); ++i) {
    threads_.emplace_back([this] { run(); });
    count_.fetch_add(1);
  }
}

bool WorkerPool::post(std::function<void()> fn) {
  {
    std::lock_guard lk(mu_);
    if (stopping_ || !started_) return false;
    queue_.push_back(std::move(fn));
  }
  cv_.notify_one();
  return true;
}

void WorkerPool::run() {
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to run
    std::function<void()> fn = std::move(queue_.front());
    queue_.pop_front();
    lk.unlock();
    fn();
    fn = nullptr;  // what it captured dies here, on this thread
    lk.lock();
  }
}

void WorkerPool::stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
    threads.swap(threads_);
  }
  cv_.notify_all();
  for (auto& t : threads) t.join();
}

void Ticker::start(std::chrono::milliseconds period, std::function<void()> tick) {
  thread_ = std::thread([this, period, tick = std::move(tick)] {
    std::unique_lock lk(mu_);
    while (!cv_.wait_for(lk, period, [this] { return stop_; })) {
      lk.unlock();
      tick();
      lk.lock();
    }
  });
}

void Ticker::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace kiln::http
