#include "engine/record_json.h"

#include "engine/engine.h"

namespace kiln::engine {

using nlohmann::json;

namespace {

// j[key] as a number, or `fallback` when j is not an object or has no number there: the stored
// text may be anything a crash or an older Kiln left, and these edits must not throw.
double number_or(const json& j, const char* key, double fallback) {
  if (!j.is_object()) return fallback;
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

std::string phase_type_of(const json& phase) {
  if (!phase.is_object()) return "";
  const auto it = phase.find("phaseType");
  return it != phase.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

json queued_build(const BuildRequest& req, double submitted, const ProjectSettings& settings) {
  BuildRecord r = record_for(req);
  r.start_time = submitted;
  r.current_phase = PhaseType::kQueued;
  r.phases = queue_phases(submitted, std::nullopt);
  json build = to_json(r);
  build["source"] = settings.source;
  build["secondarySources"] = settings.secondary_sources;
  build["cache"] = settings.cache;
  return build;
}

void merge_worker_record(json& worker, const json& stored, double launched) {
  if (!worker.is_object()) return;
  const double submitted = number_or(stored, "startTime", launched);
  worker["startTime"] = record_time(submitted);
  if (stored.is_object() && stored.contains("source")) worker["source"] = stored["source"];
  auto& phases = worker["phases"];
  if (!phases.is_array()) return;
  const auto queue = queue_phases(submitted, launched);
  for (auto& p : phases) {
    const std::string type = phase_type_of(p);
    for (const auto& q : queue) {
      if (type == to_string(q.type)) p = to_json(q);
    }
  }
}

bool build_complete(const json& build) {
  if (!build.is_object()) return false;
  const auto it = build.find("buildComplete");
  return it != build.end() && it->is_boolean() && it->get<bool>();
}

void end_build(json& build, const std::string& status, double now, const std::string& context_code,
               const std::string& context_message) {
  if (build_complete(build)) return;
  if (!build.is_object()) build = json::object();
  auto& phases = build["phases"];
  if (!phases.is_array()) phases = json::array();
  if (!phases.empty()) {
    auto& last = phases.back();
    if (last.is_object() && !last.contains("endTime")) {
      const double start = number_or(last, "startTime", now);
      last["phaseStatus"] = status;
      last["endTime"] = record_time(now);
      last["durationInSeconds"] = duration_seconds(start, now);
      last["contexts"] =
          json::array({{{"statusCode", context_code}, {"message", context_message}}});
    }
  }
  phases.push_back(
      {{"phaseType", to_string(PhaseType::kCompleted)}, {"startTime", record_time(now)}});
  build["currentPhase"] = to_string(PhaseType::kCompleted);
  build["buildStatus"] = status;
  build["buildComplete"] = true;
  build["endTime"] = record_time(now);
}

}  // namespace kiln::engine
