// The server's one feed of build and batch changes (store/build_change.h): the store tells it
// of every Build and BuildBatch record it writes (store::WriteObserver), and the feed hands each
// write, with the record it saw before, to its listeners (build events, build status
// reporting) on a thread of its own, so a write never waits for a listener.
//
// What it keeps: the last record of each build and batch not yet complete, so memory follows
// the builds in flight; a completed record is forgotten after its listeners saw it. Writes wait
// in an unbounded queue: they come at the rate builds change phase, a few per build.
//
// Ownership: borrows its listeners, which must outlive stop(). Thread safety: the observer
// calls come from any thread; add() only before start(). A record that is not JSON is logged
// (server's stderr) and skipped; a listener that throws is logged and the feed goes on.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/build_change.h"
#include "store/store.h"
#include "util/thread_annotations.h"

namespace kiln::server {

class BuildFeed final : public store::WriteObserver {
 public:
  BuildFeed() = default;
  ~BuildFeed() override;  // stop()
  BuildFeed(const BuildFeed&) = delete;
  BuildFeed& operator=(const BuildFeed&) = delete;

  void add(store::ChangeListener& listener);  // before start()
  void start();
  // Hands out every write already queued, then joins the thread. Idempotent.
  void stop() EXCLUDES(mu_);

  void build_written(const std::string& id, const std::string& json) override EXCLUDES(mu_);
  void batch_written(const std::string& id, const std::string& json) override EXCLUDES(mu_);

 private:
  struct Write {
    bool batch = false;
    std::string id;
    std::string json;
  };
  void push(Write w) EXCLUDES(mu_);
  void loop() EXCLUDES(mu_);
  void hand_out(Write& w);

  std::vector<store::ChangeListener*> listeners_;
  Mutex mu_;
  std::condition_variable_any cv_;
  std::deque<Write> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  // The feed thread's own: the last record of each build ("b:" + id) and batch ("B:" + id)
  // not yet complete.
  std::map<std::string, nlohmann::json> last_;
  std::thread thread_;
};

}  // namespace kiln::server
