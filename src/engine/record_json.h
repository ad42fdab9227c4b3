// The Build as the server stores it: JSON text in the store, written by the API while a build is
// queued, by the scheduler from the worker's records while it runs, and by whoever ends a build
// that no engine is running (stopped or timed out while queued, a worker that died, a server
// that stopped). Each of them goes through these functions, which build on the record's own
// (engine/record.h), so the stored Build has one shape whichever path wrote it last.
// Thread safety: pure functions. They never throw, whatever JSON they are given.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "engine/record.h"

namespace kiln::engine {

struct BuildRequest;  // engine/engine.h

// Build.source, secondarySources and cache as the project and the build's overrides state them
// (ProjectSource, ProjectCache, ...), which the engine's request does not keep whole.
struct ProjectSettings {
  nlohmann::json source;
  nlohmann::json secondary_sources;
  nlohmann::json cache;
};

// The Build of a build the scheduler has not launched: record_for(req) with SUBMITTED ended and
// QUEUED open at `submitted`, currentPhase QUEUED, and `settings` in place of the engine's view
// of the sources. req.identity.build_number must be the store's number for the build.
nlohmann::json queued_build(const BuildRequest& req, double submitted,
                            const ProjectSettings& settings);

// The worker's record starts its own clock and knows the source only as the engine saw it.
// Merges what the stored record (`stored`, the queued Build) knows into `worker`: the build's
// startTime, SUBMITTED and QUEUED spanning submission to `launched` (queue_phases), and
// `source`.
void merge_worker_record(nlohmann::json& worker, const nlohmann::json& stored, double launched);

// Ends a build at its current phase: that phase gets `status`, its end and duration and the one
// context, a COMPLETED entry is appended, buildStatus becomes `status` and buildComplete true.
// No-op if the build is complete already.
void end_build(nlohmann::json& build, const std::string& status, double now,
               const std::string& context_code, const std::string& context_message);

bool build_complete(const nlohmann::json& build);

}  // namespace kiln::engine
