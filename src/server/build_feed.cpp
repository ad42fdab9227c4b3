#include "server/build_feed.h"

#include <exception>
#include <utility>

#include "server/server_log.h"

namespace kiln::server {

BuildFeed::~BuildFeed() {
  stop();
}

void BuildFeed::add(store::ChangeListener& listener) {
  listeners_.push_back(&listener);
}

void BuildFeed::start() {
  thread_ = std::thread([this] { loop(); });
}

void BuildFeed::stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BuildFeed::build_written(const std::string& id, const std::string& json) {
  push({false, id, json});
}

void BuildFeed::batch_written(const std::string& id, const std::string& json) {
  push({true, id, json});
}

void BuildFeed::push(Write w) {
  {
    MutexLock lock(mu_);
    queue_.push_back(std::move(w));
  }
  cv_.notify_one();
}

void BuildFeed::loop() {
  for (;;) {
    std::deque<Write> batch;
    {
      MutexLock lock(mu_);
      while (queue_.empty() && !stopping_) cv_.wait(mu_);
      if (queue_.empty()) return;  // stopping, and everything was handed out
      batch.swap(queue_);
    }
    for (auto& w : batch) hand_out(w);
  }
}

void BuildFeed::hand_out(Write& w) {
  store::BuildChange change;
  change.batch = w.batch;
  change.id = std::move(w.id);
  change.after = nlohmann::json::parse(w.json, nullptr, /*allow_exceptions=*/false);
  if (!change.after.is_object()) {
    log("build feed: the stored record of " + change.id + " is not a JSON object; skipped");
    return;
  }
  const std::string key = (change.batch ? "B:" : "b:") + change.id;
  auto it = last_.find(key);
  if (it != last_.end()) change.before = it->second;
  for (auto* l : listeners_) {
    try {
      l->changed(change);
    } catch (const std::exception& e) {
      log("build feed: a listener failed on " + change.id + ": " + e.what());
    }
  }
  // Builds say buildComplete, batches complete (CodeBuild's shapes).
  const bool done = change.after.value(change.batch ? "complete" : "buildComplete", false);
  if (done) {
    if (it != last_.end()) last_.erase(it);
  } else {
    last_[key] = std::move(change.after);
  }
}

}  // namespace kiln::server
