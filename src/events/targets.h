// Kiln's notification rules: HTTP targets that get each event as a signed POST
// (docs/events.md "Targets"). Rules come from the JSON file given to `kiln server
// --event-targets`: an array of {name, url, projects, detailTypes?, secret, maxAttempts?}.
//
// Delivery is at-least-once and in journal order per rule. Each rule keeps a CURSOR, the last
// sequence number it is done with (delivered, dead-lettered or not its business), in
// DATA/events/cursors/<rule>.json, written after each event; on start it resumes after it, so an
// event due when the server died is delivered after it starts again (perhaps twice: the
// X-Kiln-Event-Id header is for dedupe). A rule without a cursor starts at the journal's end.
//
// A POST that fails to connect, or is answered 5xx or 429, is tried again after 1 s, 2 s, 4 s,
// ... (at most 60 s), up to maxAttempts tries in all (default 6); then, or at once for any other
// answer that is not 2xx, the event goes to DATA/events/dead-letter/<rule>.jsonl and the rule
// moves on.
//
// Threads: Targets runs one thread per rule, so a slow or dead target holds up only itself;
// TargetWorker is that thread's work, runnable on its own in tests with a fake HttpClient and
// an injected sleep. Errors writing the cursor or the dead letter are logged on stderr; the
// worker goes on (at worst an event is delivered again).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "events/journal.h"
#include "net/http_client.h"
#include "util/error.h"
#include "util/thread_annotations.h"

namespace kiln::events {

struct Rule {
  std::string name;                   // [A-Za-z0-9_-]{1,64}: names its cursor and dead-letter files
  std::string url;                    // http:// or https://
  std::vector<std::string> projects;  // names, or "*" for every project
  std::vector<std::string> detail_types;  // empty: both
  std::string secret;                     // signs each body (never logged)
  int max_attempts = 6;
};

// The rules file's text; errors read "rule 2 (deploy): url must be http:// or https://".
[[nodiscard]] Result<std::vector<Rule>> parse_rules(const std::string& text);
[[nodiscard]] Result<std::vector<Rule>> load_rules(const std::filesystem::path& path);

bool rule_matches(const Rule& rule, const std::string& project, const std::string& detail_type);

// "sha256=<hex of HMAC-SHA256(secret, body)>", the X-Kiln-Signature-256 header's value.
std::string signature(const std::string& secret, const std::string& body);

// The POST of one event to a rule's url, with its headers.
net::HttpRequest delivery_request(const Rule& rule, std::uint64_t seq, const std::string& body);

struct WorkerDeps {
  std::function<std::unique_ptr<net::HttpClient>()> make_client;
  // Waits for the retry delay; false when the server is stopping (the event stays due).
  std::function<bool(std::chrono::milliseconds)> sleep;
  std::function<bool()> stopping;
};

class TargetWorker {
 public:
  // `events_dir` is the journal's folder; cursors/ and dead-letter/ are made beneath it.
  TargetWorker(Rule rule, const Journal& journal, std::filesystem::path events_dir,
               WorkerDeps deps);
  // Reads the cursor (or starts one at the journal's end). Errors: the folders cannot be made.
  [[nodiscard]] Result<void> start();
  // Handles every event after the cursor; returns when caught up or stopping.
  void drain();
  std::uint64_t cursor() const { return cursor_; }
  const Rule& rule() const { return rule_; }

 private:
  enum class Outcome { kDelivered, kDeadLettered, kStopping };
  Outcome deliver(const Entry& e);
  void dead_letter(const Entry& e, int attempts, const std::string& why);
  void save_cursor(std::uint64_t seq);

  Rule rule_;
  const Journal& journal_;
  std::filesystem::path cursor_path_;
  std::filesystem::path dead_letter_path_;
  WorkerDeps deps_;
  std::unique_ptr<net::HttpClient> client_;
  std::uint64_t cursor_ = 0;
};

class Targets {
 public:
  Targets(std::vector<Rule> rules, const Journal& journal, std::filesystem::path events_dir,
          std::function<std::unique_ptr<net::HttpClient>()> make_client);
  ~Targets();  // stop()
  Targets(const Targets&) = delete;
  Targets& operator=(const Targets&) = delete;

  [[nodiscard]] Result<void> start();
  void notify() EXCLUDES(mu_);  // new events are in the journal
  // Wakes every thread (a retry wait ends at once) and joins them; a POST in flight finishes
  // first (its timeout bounds the wait). Idempotent.
  void stop() EXCLUDES(mu_);

 private:
  void loop(TargetWorker& w) EXCLUDES(mu_);

  std::vector<std::unique_ptr<TargetWorker>> workers_;
  Mutex mu_;
  std::condition_variable_any cv_;
  std::uint64_t generation_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace kiln::events
