// The build events' listener on the server's build feed (server/build_feed.h), and the bundle
// `kiln server` starts: the journal, the SSE hub and the targets (docs/events.md).
//
// For each change the Recorder works out the events (events/eventbridge.h), appends each to the
// journal, then hands it to the hub's readers and wakes the targets. What was already sent for
// each build is rebuilt from the journal when the server starts, so a record the feed sees for
// the first time after a restart repeats nothing (at most one event: one appended just before
// a crash whose record write had not happened, then sent again).
//
// Thread safety: changed() is called on the feed's one thread only. A journal that cannot be
// written is logged on stderr and those events are lost (the build goes on).
#pragma once

#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "events/eventbridge.h"
#include "events/hub.h"
#include "events/journal.h"
#include "events/targets.h"
#include "store/build_change.h"
#include "util/clock.h"

namespace kiln::events {

class Recorder final : public store::ChangeListener {
 public:
  Recorder(Journal& journal, Hub& hub, Where where, const Clock& clock,
           std::function<void()> appended);
  // Reads the journal for what each build was already sent.
  [[nodiscard]] Result<void> load();
  void changed(const store::BuildChange& change) override;

 private:
  void remember(const std::string& build_arn, const std::string& milestone);

  Journal& journal_;
  Hub& hub_;
  Where where_;
  const Clock& clock_;
  std::function<void()> appended_;
  static constexpr std::size_t kRememberedFinished = 10000;
  // Build ARN -> milestones sent, for builds not finished; the finished ones, oldest first.
  std::map<std::string, std::set<std::string>> sent_;
  std::set<std::string> finished_;
  std::deque<std::string> finished_order_;
};

struct EventsOptions {
  std::filesystem::path dir;  // DATA/events
  Where where;
  std::optional<std::filesystem::path> targets_file;  // --event-targets
};

// What `kiln server` owns: construct with open(), feed.add(recorder()), give hub() to the API,
// and stop() after the feed has stopped.
class Events {
 public:
  [[nodiscard]] static Result<std::unique_ptr<Events>> open(const EventsOptions& options,
                                                            const Clock& clock);
  Recorder& recorder() { return *recorder_; }
  Hub& hub() { return *hub_; }
  void stop() {
    if (targets_) targets_->stop();
  }

 private:
  Events() = default;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<Hub> hub_;
  std::unique_ptr<Targets> targets_;
  std::unique_ptr<Recorder> recorder_;
};

}  // namespace kiln::events
