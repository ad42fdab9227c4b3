// The live side of GET /events (api/events_http.cpp): each reader is a Subscription that the
// recorder's publish() feeds and the HTTP server's stream producer drains as Server-Sent Events
// (docs/events.md "Streaming").
//
// Bounds: at most `max_subscribers` at once (subscribe() then returns null: the route answers
// 503), and at most `max_queued_bytes` of events waiting for one reader; a reader that falls
// further behind is DROPPED (its stream ends; it reconnects with Last-Event-ID and resumes from
// the journal). A subscription that gave Last-Event-ID first replays the journal after it, then
// the live events, each sequence number once.
//
// Ownership: the Hub borrows the journal; both must outlive every Subscription (the HTTP server
// destroys its producers in stop(), before them). Thread safety: publish() and subscribe() from
// any thread; a Subscription's next() from one thread at a time (the HTTP server's contract).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "events/journal.h"
#include "util/thread_annotations.h"

namespace kiln::events {

struct HubLimits {
  std::size_t max_subscribers = 64;
  std::size_t max_queued_bytes = std::size_t{1} << 20;
  std::chrono::seconds keepalive{15};  // a comment line on a quiet stream, for proxies
  std::size_t replay_page = 100;       // journal entries per producer call while replaying
};

// Which projects' events a reader gets (its ?project= list and its key's rights).
using ProjectFilter = std::function<bool(const std::string& project)>;

class Subscription {
 public:
  Subscription(const Journal& journal, const HubLimits& limits, ProjectFilter filter,
               std::optional<std::uint64_t> last_id);
  // The BodyStream producer: appends whole SSE messages to `out`; false once dropped.
  bool next(std::string& out) EXCLUDES(mu_);
  // From publish(): queues one event, or drops the reader when too far behind.
  void push(std::uint64_t seq, const std::string& text) EXCLUDES(mu_);

 private:
  void send(std::uint64_t seq, const std::string& text, std::string& out);

  const Journal& journal_;
  const HubLimits limits_;
  ProjectFilter filter_;
  // The producer's own (next() is never called concurrently).
  bool replaying_ = false;
  std::uint64_t last_sent_ = 0;
  std::chrono::steady_clock::time_point last_write_;
  Mutex mu_;
  std::deque<Entry> queue_ GUARDED_BY(mu_);
  std::size_t queued_bytes_ GUARDED_BY(mu_) = 0;
  bool dropped_ GUARDED_BY(mu_) = false;
};

class Hub {
 public:
  explicit Hub(const Journal& journal, HubLimits limits = {})
      : journal_(journal), limits_(limits) {}

  // Null when max_subscribers readers are connected.
  std::shared_ptr<Subscription> subscribe(ProjectFilter filter,
                                          std::optional<std::uint64_t> last_id) EXCLUDES(mu_);
  // An event just journaled: to every reader.
  void publish(std::uint64_t seq, const std::string& text) EXCLUDES(mu_);
  std::size_t subscribers() const EXCLUDES(mu_);

 private:
  const Journal& journal_;
  const HubLimits limits_;
  mutable Mutex mu_;
  mutable std::vector<std::weak_ptr<Subscription>> subs_ GUARDED_BY(mu_);
};

// The SSE message of one journaled event: "id: <seq>\nevent: <detail-type>\ndata: <json>\n\n".
std::string sse_message(std::uint64_t seq, const std::string& detail_type, const std::string& text);

}  // namespace kiln::events
