// CodeBuild's EventBridge events, built from what the server's build feed saw change
// (store/build_change.h): "CodeBuild Build State Change" and "CodeBuild Build Phase Change", in
// EventBridge's envelope (docs/events.md; §12 names the detail types and build statuses).
//
// Which events a change sends: the MILESTONES its `after` record has reached and its `before`
// record had not, minus those already sent for that build (`sent`, kept by the recorder across
// restarts from the journal). A milestone is:
//   "phase:<TYPE>"  a phase got its endTime (one Phase Change each, in phase order);
//   "state:IN_PROGRESS"  the build left the queue (a phase after QUEUED exists);
//   "state:final"  buildComplete turned true (the State Change with the final status).
// So a record first seen after a restart (before null) sends only what the journal does not
// already hold, and a build stopped in the queue sends no IN_PROGRESS.
//
// Thread safety: pure functions (build_events draws a random event id).
#pragma once

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/build_change.h"

namespace kiln::events {

inline constexpr const char* kStateChange = "CodeBuild Build State Change";
inline constexpr const char* kPhaseChange = "CodeBuild Build Phase Change";

struct Where {
  std::string account;
  std::string region;
};

struct BuildEvent {
  std::string milestone;  // as above: "phase:BUILD", "state:IN_PROGRESS", "state:final"
  nlohmann::json event;   // the whole EventBridge event
};

// The milestones `record` (a stored Build) has reached, in the order their events are sent.
std::vector<std::string> milestones(const nlohmann::json& record);

// The events `change` sends, given the milestones already sent for its build. A BuildBatch
// change sends none (CodeBuild's EventBridge events are per build; docs/events.md).
std::vector<BuildEvent> build_events(const store::BuildChange& change,
                                     const std::set<std::string>& sent, const Where& where,
                                     std::chrono::system_clock::time_point now);

// The milestone an event already built stands for (the inverse of the above, for the journal).
std::string milestone_of(const nlohmann::json& event);

// CodeBuild's time format in event details, in UTC: "Sep 1, 2017 4:12:29 PM".
std::string detail_time(double epoch_seconds);
// EventBridge's envelope time: "2017-09-01T16:14:28Z".
std::string envelope_time(std::chrono::system_clock::time_point t);

}  // namespace kiln::events
