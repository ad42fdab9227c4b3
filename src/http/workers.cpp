#include "http/workers.h"

#include <system_error>
#include <utility>

namespace kiln::http {

bool StreamThreads::spawn(std::function<void()> fn) {
  std::lock_guard lk(mu_);
  if (closed_) return false;
  for (auto it = threads_.begin(); it != threads_.end();) {
    if (it->done->load()) {
      it->thread.join();  // it has returned or is about to
      it = threads_.erase(it);
    } else {
      ++it;
    }
  }
  auto done = std::make_shared<std::atomic<bool>>(false);
  try {
    std::thread t([fn = std::move(fn), done]() mutable {
      fn();
      fn = nullptr;  // what it captured dies here, before close_and_join() can return
      done->store(true);
    });
    threads_.push_back({std::move(t), std::move(done)});
  } catch (const std::system_error&) {
    return false;
  }
  return true;
}

void StreamThreads::close_and_join() {
  std::list<Entry> running;
  {
    std::lock_guard lk(mu_);
    closed_ = true;
    running.swap(threads_);
  }
  for (auto& e : running) e.thread.join();
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
