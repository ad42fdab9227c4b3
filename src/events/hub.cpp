#include "events/hub.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace kiln::events {

std::string sse_message(std::uint64_t seq, const std::string& detail_type,
                        const std::string& text) {
  // A JSON dump has no raw newline, so the event is one data: line.
  return "id: " + std::to_string(seq) + "\nevent: " + detail_type + "\ndata: " + text + "\n\n";
}

Subscription::Subscription(const Journal& journal, const HubLimits& limits, ProjectFilter filter,
                           std::optional<std::uint64_t> last_id)
    : journal_(journal),
      limits_(limits),
      filter_(std::move(filter)),
      replaying_(last_id.has_value()),
      last_sent_(last_id.value_or(0)),
      last_write_(std::chrono::steady_clock::now()) {}

void Subscription::send(std::uint64_t seq, const std::string& text, std::string& out) {
  if (seq <= last_sent_) return;  // replayed already
  last_sent_ = seq;
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return;
  const auto detail = j.value("detail", nlohmann::json::object());
  if (!filter_(detail.value("project-name", ""))) return;
  out += sse_message(seq, j.value("detail-type", ""), text);
}

bool Subscription::next(std::string& out) {
  const auto now = std::chrono::steady_clock::now();
  if (replaying_) {
    auto page = journal_.read_after(last_sent_, limits_.replay_page);
    if (!page) return false;  // the journal cannot be read: end; the reader retries
    for (const auto& e : *page) send(e.seq, e.text, out);
    if (page->size() < limits_.replay_page) replaying_ = false;
  } else {
    std::deque<Entry> ready;
    {
      MutexLock lock(mu_);
      if (dropped_) return false;
      ready.swap(queue_);
      queued_bytes_ = 0;
    }
    for (const auto& e : ready) send(e.seq, e.text, out);
  }
  if (!out.empty()) {
    last_write_ = now;
  } else if (now - last_write_ >= limits_.keepalive) {
    out = ": keepalive\n\n";
    last_write_ = now;
  }
  return true;
}

void Subscription::push(std::uint64_t seq, const std::string& text) {
  MutexLock lock(mu_);
  if (dropped_) return;
  if (queued_bytes_ + text.size() > limits_.max_queued_bytes) {
    dropped_ = true;  // a slow reader costs a reconnect, never the server's memory
    queue_.clear();
    queued_bytes_ = 0;
    return;
  }
  queue_.push_back({seq, text});
  queued_bytes_ += text.size();
}

std::shared_ptr<Subscription> Hub::subscribe(ProjectFilter filter,
                                             std::optional<std::uint64_t> last_id) {
  MutexLock lock(mu_);
  std::erase_if(subs_, [](const auto& w) { return w.expired(); });
  if (subs_.size() >= limits_.max_subscribers) return nullptr;
  auto sub = std::make_shared<Subscription>(journal_, limits_, std::move(filter), last_id);
  subs_.push_back(sub);
  return sub;
}

void Hub::publish(std::uint64_t seq, const std::string& text) {
  MutexLock lock(mu_);
  std::erase_if(subs_, [](const auto& w) { return w.expired(); });
  for (const auto& w : subs_)
    if (auto s = w.lock()) s->push(seq, text);
}

std::size_t Hub::subscribers() const {
  MutexLock lock(mu_);
  std::erase_if(subs_, [](const auto& w) { return w.expired(); });
  return subs_.size();
}

}  // namespace kiln::events
