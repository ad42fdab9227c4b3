// What the server's watchers of builds get (server/build_feed.h): a Build or BuildBatch record
// as stored, beside the record this feed saw before it. The store tells of every write through
// WriteObserver (store.h); the feed turns those writes into Changes, in order, on one thread.
//
// Watchers (build events, build status reporting) compare `before` with `after` to see what
// happened: a new phase ended, the build started, the build completed. `before` is null the
// first time the feed sees a record: a new build, or one that was already stored when the
// server started (a restart); a watcher then decides from `after` alone.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace kiln::store {

struct BuildChange {
  bool batch = false;     // a BuildBatch record; otherwise a Build
  std::string id;         // "<project>:<uuid>"
  nlohmann::json before;  // null when first seen
  nlohmann::json after;   // the record as just stored (never null)
};

class ChangeListener {
 public:
  virtual ~ChangeListener() = default;
  // Called on the feed's one thread, in the order of the writes. Must be quick: a listener that
  // talks to the network queues the work for a thread of its own.
  virtual void changed(const BuildChange& change) = 0;
};

}  // namespace kiln::store
