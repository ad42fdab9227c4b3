#include "events/recorder.h"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "net/http_client.h"

namespace kiln::events {

Recorder::Recorder(Journal& journal, Hub& hub, Where where, const Clock& clock,
                   std::function<void()> appended)
    : journal_(journal),
      hub_(hub),
      where_(std::move(where)),
      clock_(clock),
      appended_(std::move(appended)) {}

void Recorder::remember(const std::string& build_arn, const std::string& milestone) {
  if (finished_.contains(build_arn)) return;
  if (milestone != "state:final") {
    sent_[build_arn].insert(milestone);
    return;
  }
  // The final state implies all the others. Finished builds are remembered for a bounded
  // while (the last kRememberedFinished), so memory follows the builds in flight, not history.
  sent_.erase(build_arn);
  finished_.insert(build_arn);
  finished_order_.push_back(build_arn);
  if (finished_order_.size() > kRememberedFinished) {
    finished_.erase(finished_order_.front());
    finished_order_.pop_front();
  }
}

Result<void> Recorder::load() {
  constexpr std::size_t kPage = 1000;
  for (std::uint64_t after = 0;;) {
    auto page = journal_.read_after(after, kPage);
    if (!page) return tl::unexpected(page.error());
    for (const auto& e : *page) {
      after = e.seq;
      const auto j = nlohmann::json::parse(e.text, nullptr, /*allow_exceptions=*/false);
      if (!j.is_object() || !j.contains("detail") || !j["detail"].is_object()) continue;
      remember(j["detail"].value("build-id", ""), milestone_of(j));
    }
    if (page->size() < kPage) return {};
  }
}

void Recorder::changed(const store::BuildChange& change) {
  if (change.batch || !change.after.is_object()) return;
  const std::string arn = change.after.value("arn", "");
  static const std::set<std::string> kNone;
  static const std::set<std::string> kFinished = {"state:final"};
  const std::set<std::string>* sent = &kNone;
  if (finished_.contains(arn)) {
    sent = &kFinished;
  } else if (const auto it = sent_.find(arn); it != sent_.end()) {
    sent = &it->second;
  }
  const auto events = build_events(change, *sent, where_, clock_.now());
  bool any = false;
  for (const auto& e : events) {
    auto seq = journal_.append(e.event, clock_.now());
    if (!seq) {
      std::fprintf(stderr, "kiln server: build event lost: %s\n", seq.error().describe().c_str());
      continue;
    }
    remember(arn, e.milestone);
    hub_.publish(*seq, e.event.dump());
    any = true;
  }
  if (any && appended_) appended_();
}

Result<std::unique_ptr<Events>> Events::open(const EventsOptions& options, const Clock& clock) {
  std::unique_ptr<Events> ev(new Events());
  auto journal = Journal::open(options.dir);
  if (!journal) return tl::unexpected(journal.error());
  ev->journal_ = std::move(*journal);
  ev->hub_ = std::make_unique<Hub>(*ev->journal_);
  std::function<void()> appended;
  if (options.targets_file) {
    auto rules = load_rules(*options.targets_file);
    if (!rules) return tl::unexpected(rules.error());
    ev->targets_ = std::make_unique<Targets>(std::move(*rules), *ev->journal_, options.dir,
                                             [] { return net::make_curl_client(); });
    if (auto r = ev->targets_->start(); !r) return tl::unexpected(r.error());
    appended = [t = ev->targets_.get()] { t->notify(); };
  }
  ev->recorder_ = std::make_unique<Recorder>(*ev->journal_, *ev->hub_, options.where, clock,
                                             std::move(appended));
  if (auto r = ev->recorder_->load(); !r) return tl::unexpected(r.error());
  return ev;
}

}  // namespace kiln::events
