#include "events/targets.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "events/eventbridge.h"
#include "util/files.h"
#include "util/unique_fd.h"

namespace kiln::events {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::size_t kPage = 64;
constexpr std::chrono::milliseconds kFirstDelay{1000};
constexpr std::chrono::milliseconds kMaxDelay{60000};

void log_error(const std::string& rule, const std::string& what) {
  std::fprintf(stderr, "kiln server: event target %s: %s\n", rule.c_str(), what.c_str());
}

bool retryable(const Result<net::HttpResponse>& r) {
  return !r || r->status >= 500 || r->status == 429;
}

std::string describe(const Result<net::HttpResponse>& r) {
  if (!r) return r.error().describe();
  return "HTTP " + std::to_string(r->status);
}

}  // namespace

TargetWorker::TargetWorker(Rule rule, const Journal& journal, fs::path events_dir, WorkerDeps deps)
    : rule_(std::move(rule)),
      journal_(journal),
      cursor_path_(events_dir / "cursors" / (rule_.name + ".json")),
      dead_letter_path_(events_dir / "dead-letter" / (rule_.name + ".jsonl")),
      deps_(std::move(deps)) {}

Result<void> TargetWorker::start() {
  if (auto r = make_private_dir(cursor_path_.parent_path()); !r) return r;
  if (auto r = make_private_dir(dead_letter_path_.parent_path()); !r) return r;
  auto text = read_file(cursor_path_);
  if (text) {
    const auto j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("seq") || !j["seq"].is_number_unsigned())
      return tl::unexpected(Error(ErrorCode::kParse, cursor_path_.string() + ": not a cursor"));
    cursor_ = j["seq"].get<std::uint64_t>();
    return {};
  }
  if (text.error().code() != ErrorCode::kNotFound) return tl::unexpected(text.error());
  // A new rule gets the events from now on; its cursor is written at once, so the events of
  // this run are due to it even if the server dies before the first one.
  cursor_ = journal_.last_seq();
  return write_file_atomic(cursor_path_, json{{"seq", cursor_}}.dump() + "\n", 0600);
}

void TargetWorker::save_cursor(std::uint64_t seq) {
  cursor_ = seq;
  if (auto w = write_file_atomic(cursor_path_, json{{"seq", seq}}.dump() + "\n", 0600); !w)
    log_error(rule_.name, "cannot save the cursor: " + w.error().describe());
}

void TargetWorker::dead_letter(const Entry& e, int attempts, const std::string& why) {
  json line{{"seq", e.seq},
            {"rule", rule_.name},
            {"attempts", attempts},
            {"error", why},
            {"event", json::parse(e.text, nullptr, false)}};
  const std::string text = line.dump() + "\n";
  const UniqueFd fd(
      ::open(dead_letter_path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
      ::fdatasync(fd.get()) != 0) {
    log_error(rule_.name,
              errno_error(ErrorCode::kIo, "dead letter " + dead_letter_path_.string()).describe());
  }
  log_error(rule_.name, "event " + std::to_string(e.seq) + " dead-lettered after " +
                            std::to_string(attempts) + " attempt(s): " + why);
}

TargetWorker::Outcome TargetWorker::deliver(const Entry& e) {
  if (!client_) client_ = deps_.make_client();
  const net::HttpRequest req = delivery_request(rule_, e.seq, e.text);
  auto delay = kFirstDelay;
  for (int attempt = 1;; ++attempt) {
    auto r = client_->send(req);
    if (r && r->status >= 200 && r->status < 300) return Outcome::kDelivered;
    if (!retryable(r) || attempt >= rule_.max_attempts) {
      dead_letter(e, attempt, describe(r));
      return Outcome::kDeadLettered;
    }
    if (!deps_.sleep(delay)) return Outcome::kStopping;
    delay = std::min(delay * 2, kMaxDelay);
  }
}

void TargetWorker::drain() {
  while (!deps_.stopping()) {
    auto page = journal_.read_after(cursor_, kPage);
    if (!page) {
      log_error(rule_.name, "cannot read the journal: " + page.error().describe());
      return;
    }
    if (page->empty()) return;
    std::uint64_t skipped = 0;  // the last of a run of events that are not this rule's
    for (const auto& e : *page) {
      const auto event = json::parse(e.text, nullptr, /*allow_exceptions=*/false);
      const json detail = event.is_object() ? event.value("detail", json::object()) : json();
      const bool mine = event.is_object() && rule_matches(rule_, detail.value("project-name", ""),
                                                          event.value("detail-type", ""));
      if (!mine) {
        skipped = e.seq;
        continue;
      }
      if (deliver(e) == Outcome::kStopping) {
        if (skipped > cursor_) save_cursor(skipped);
        return;
      }
      skipped = 0;
      save_cursor(e.seq);
      if (deps_.stopping()) return;
    }
    if (skipped > cursor_) save_cursor(skipped);
  }
}

Targets::Targets(std::vector<Rule> rules, const Journal& journal, fs::path events_dir,
                 std::function<std::unique_ptr<net::HttpClient>()> make_client) {
  for (auto& rule : rules) {
    WorkerDeps deps;
    deps.make_client = make_client;
    deps.sleep = [this](std::chrono::milliseconds d) {
      MutexLock lock(mu_);
      // Clang's analysis cannot follow the lock through wait_for's predicate.
      return !cv_.wait_for(mu_, d, [this]() NO_THREAD_SAFETY_ANALYSIS { return stopping_; });
    };
    deps.stopping = [this] {
      MutexLock lock(mu_);
      return stopping_;
    };
    workers_.push_back(
        std::make_unique<TargetWorker>(std::move(rule), journal, events_dir, std::move(deps)));
  }
}

Targets::~Targets() {
  stop();
}

Result<void> Targets::start() {
  for (auto& w : workers_)
    if (auto r = w->start(); !r) return r;
  for (auto& w : workers_) threads_.emplace_back([this, &w] { loop(*w); });
  return {};
}

void Targets::notify() {
  {
    MutexLock lock(mu_);
    ++generation_;
  }
  cv_.notify_all();
}

void Targets::stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void Targets::loop(TargetWorker& w) {
  std::uint64_t seen = 0;
  for (;;) {
    {
      MutexLock lock(mu_);
      if (stopping_) return;
      seen = generation_;
    }
    w.drain();
    MutexLock lock(mu_);
    // A journal that could not be read is tried again after a while, even with no new event.
    cv_.wait_for(mu_, std::chrono::seconds(5),
                 [&]() NO_THREAD_SAFETY_ANALYSIS { return stopping_ || generation_ != seen; });
  }
}

}  // namespace kiln::events
