#include "batch/record.h"

#include <cmath>
#include <limits>
#include <set>

#include "engine/record.h"
#include "util/json_reader.h"

namespace kiln::batch {

using json = nlohmann::json;

namespace {

constexpr BatchPhaseType kAllPhases[] = {
    BatchPhaseType::kSubmitted,  BatchPhaseType::kDownloadBatchspec,
    BatchPhaseType::kInProgress, BatchPhaseType::kCombineArtifacts,
    BatchPhaseType::kSucceeded,  BatchPhaseType::kFailed,
    BatchPhaseType::kStopped};

// The members to_json writes itself; any other top-level member is a setting (or "kiln").
const std::set<std::string>& own_members() {
  static const std::set<std::string> names{"id",
                                           "arn",
                                           "startTime",
                                           "endTime",
                                           "currentPhase",
                                           "buildBatchStatus",
                                           "sourceVersion",
                                           "resolvedSourceVersion",
                                           "projectName",
                                           "phases",
                                           "buildTimeoutInMinutes",
                                           "queuedTimeoutInMinutes",
                                           "complete",
                                           "initiator",
                                           "buildBatchNumber",
                                           "buildGroups",
                                           "debugSessionEnabled",
                                           "reportArns",
                                           "kiln"};
  return names;
}

json phase_json(const BatchPhase& p) {
  json j{{"phaseType", phase_name(p.type)}};
  if (!p.status.empty()) j["phaseStatus"] = p.status;
  j["startTime"] = engine::record_time(p.start_time);
  if (p.end_time) {
    j["endTime"] = engine::record_time(*p.end_time);
    j["durationInSeconds"] = engine::duration_seconds(p.start_time, *p.end_time);
  }
  // CodeBuild's batches show no contexts member on a phase without any (the CLI examples).
  if (!p.contexts.empty()) {
    auto& ctx = j["contexts"] = json::array();
    for (const auto& c : p.contexts)
      ctx.push_back({{"statusCode", c.status_code}, {"message", c.message}});
  }
  return j;
}

json summary_json(const BuildSummary& s) {
  json j;
  if (!s.arn.empty()) j["arn"] = s.arn;
  if (s.requested_on != 0) j["requestedOn"] = engine::record_time(s.requested_on);
  j["buildStatus"] = s.build_status;
  if (!s.primary_artifact.is_null()) j["primaryArtifact"] = s.primary_artifact;
  if (!s.secondary_artifacts.is_null()) j["secondaryArtifacts"] = s.secondary_artifacts;
  return j;
}

// A group without a build. CodeBuild creates every member's build when the batch is planned, so
// its not-yet-started groups show a summary with an arn and buildStatus PENDING
// (stop-build-batch.rst, §8.3); the builds it then never runs end STOPPED (retry-build-batch.rst:
// the dependants of a failed build). Kiln creates a build only when the group starts, so such a
// group shows the same statuses without arn or requestedOn: PENDING while it may start, STOPPED
// once it never will (every group of an ended batch has a status: crash safety, docs/batch.md).
json unstarted_summary_json(const BuildGroup& g) {
  return json{{"buildStatus", g.not_started.empty() ? "PENDING" : "STOPPED"}};
}

json group_json(const BuildGroup& g) {
  json j{{"identifier", g.identifier}};
  // The DOWNLOAD_SOURCE group shows no dependsOn; task groups always do, [] included
  // (batch-get-build-batches.rst).
  if (g.identifier != "DOWNLOAD_SOURCE") j["dependsOn"] = g.depends_on;
  j["ignoreFailure"] = g.ignore_failure;
  j["currentBuildSummary"] = g.current ? summary_json(*g.current) : unstarted_summary_json(g);
  if (!g.prior.empty()) {
    auto& prior = j["priorBuildSummaryList"] = json::array();
    for (const auto& s : g.prior) prior.push_back(summary_json(s));
  }
  return j;
}

using Reader = JsonReader;

std::optional<BatchPhaseType> phase_from_name(const std::string& name) {
  for (const auto t : kAllPhases)
    if (name == phase_name(t)) return t;
  return std::nullopt;
}

void read_phase(Reader& rd, const json& j, const std::string& at, BatchPhase& p) {
  std::string type;
  rd.string(j, at, "phaseType", type, true);
  if (!rd.ok()) return;
  const auto t = phase_from_name(type);
  if (!t) return rd.fail_at(Reader::member(at, "phaseType"), "unknown phase type");
  p.type = *t;
  rd.string(j, at, "phaseStatus", p.status);
  if (const auto start = rd.number(j, at, "startTime", true)) p.start_time = *start;
  p.end_time = rd.number(j, at, "endTime");
  rd.each_object(j, at, "contexts", [&](const json& c, const std::string& cat) {
    BatchPhaseContext ctx;
    rd.string(c, cat, "statusCode", ctx.status_code);
    rd.string(c, cat, "message", ctx.message);
    p.contexts.push_back(std::move(ctx));
  });
}

// An artifact member: a ResolvedArtifact object, or a list of them.
void read_artifact(Reader& rd, const json& j, const std::string& at, const char* key,
                   json::value_t type, json& out) {
  if (const json* v =
          rd.get(j, at, key, type,
                 type == json::value_t::array ? "expected an array" : "expected an object"))
    out = *v;
}

void read_summary(Reader& rd, const json& j, const std::string& at, BuildSummary& s) {
  rd.string(j, at, "arn", s.arn);
  if (const auto t = rd.number(j, at, "requestedOn")) s.requested_on = *t;
  rd.string(j, at, "buildStatus", s.build_status, true);
  read_artifact(rd, j, at, "primaryArtifact", json::value_t::object, s.primary_artifact);
  read_artifact(rd, j, at, "secondaryArtifacts", json::value_t::array, s.secondary_artifacts);
}

void read_group(Reader& rd, const json& j, const std::string& at, BuildGroup& g) {
  rd.string(j, at, "identifier", g.identifier, true);
  rd.strings(j, at, "dependsOn", g.depends_on);
  rd.boolean(j, at, "ignoreFailure", g.ignore_failure);
  if (const json* cur =
          rd.get(j, at, "currentBuildSummary", json::value_t::object, "expected an object")) {
    BuildSummary s;
    read_summary(rd, *cur, Reader::member(at, "currentBuildSummary"), s);
    g.current = std::move(s);
  }
  rd.each_object(j, at, "priorBuildSummaryList", [&](const json& p, const std::string& pat) {
    BuildSummary s;
    read_summary(rd, p, pat, s);
    g.prior.push_back(std::move(s));
  });
}

// Kiln's own state, parallel to the shape's buildGroups.
void read_private(Reader& rd, const json& k, BatchRecord& r) {
  const std::string at = "kiln";
  rd.string(k, at, "batchType", r.batch_type);
  rd.boolean(k, at, "fastFail", r.fast_fail);
  rd.boolean(k, at, "combineArtifacts", r.combine_artifacts);
  rd.string(k, at, "ending", r.ending);
  std::size_t i = 0;
  rd.each_object(k, at, "groups", [&](const json& g, const std::string& gat) {
    if (i >= r.groups.size()) return rd.fail_at(gat, "more groups than buildGroups");
    BuildGroup& group = r.groups[i++];
    bool started = group.current.has_value();
    rd.boolean(g, gat, "started", started, true);
    rd.string(g, gat, "buildId", group.build_id);
    rd.string(g, gat, "notStarted", group.not_started);
    // A group without a build shows a PENDING/STOPPED summary that is not a build's.
    if (!started) group.current.reset();
  });
  if (rd.ok() && i != r.groups.size()) rd.fail_at("kiln.groups", "fewer groups than buildGroups");
}

}  // namespace

const char* phase_name(BatchPhaseType t) {
  switch (t) {
    case BatchPhaseType::kSubmitted: return "SUBMITTED";
    case BatchPhaseType::kDownloadBatchspec: return "DOWNLOAD_BATCHSPEC";
    case BatchPhaseType::kInProgress: return "IN_PROGRESS";
    case BatchPhaseType::kCombineArtifacts: return "COMBINE_ARTIFACTS";
    case BatchPhaseType::kSucceeded: return "SUCCEEDED";
    case BatchPhaseType::kFailed: return "FAILED";
    case BatchPhaseType::kStopped: return "STOPPED";
  }
  return "SUBMITTED";
}

BuildGroup* BatchRecord::group(const std::string& identifier) {
  for (auto& g : groups)
    if (g.identifier == identifier) return &g;
  return nullptr;
}

const BuildGroup* BatchRecord::group(const std::string& identifier) const {
  for (const auto& g : groups)
    if (g.identifier == identifier) return &g;
  return nullptr;
}

std::string batch_arn(const std::string& region, const std::string& account,
                      const std::string& batch_id) {
  return "arn:aws:codebuild:" + region + ":" + account + ":build-batch/" + batch_id;
}

json to_json(const BatchRecord& r) {
  json j = json::object();
  // Settings first: a setting never replaces a member the record owns.
  if (r.settings.is_object())
    for (const auto& [key, value] : r.settings.items())
      if (own_members().count(key) == 0) j[key] = value;
  j["id"] = r.id;
  j["arn"] = r.arn;
  j["startTime"] = engine::record_time(r.start_time);
  if (r.end_time) j["endTime"] = engine::record_time(*r.end_time);
  j["currentPhase"] = phase_name(r.current_phase);
  j["buildBatchStatus"] = r.status;
  if (!r.source_version.empty()) j["sourceVersion"] = r.source_version;
  if (!r.resolved_source_version.empty()) j["resolvedSourceVersion"] = r.resolved_source_version;
  j["projectName"] = r.project_name;
  auto& phases = j["phases"] = json::array();
  for (const auto& p : r.phases) phases.push_back(phase_json(p));
  j["buildTimeoutInMinutes"] = r.build_timeout_minutes;
  j["queuedTimeoutInMinutes"] = r.queued_timeout_minutes;
  j["complete"] = r.complete;
  if (!r.initiator.empty()) j["initiator"] = r.initiator;
  j["buildBatchNumber"] = r.batch_number;
  auto& groups = j["buildGroups"] = json::array();
  for (const auto& g : r.groups) groups.push_back(group_json(g));
  j["debugSessionEnabled"] = r.debug_session_enabled;
  if (!r.report_arns.empty()) j["reportArns"] = r.report_arns;

  json priv_groups = json::array();
  for (const auto& g : r.groups)
    priv_groups.push_back({{"started", g.current.has_value()},
                           {"buildId", g.build_id},
                           {"notStarted", g.not_started}});
  j["kiln"] = {{"batchType", r.batch_type},
               {"fastFail", r.fast_fail},
               {"combineArtifacts", r.combine_artifacts},
               {"ending", r.ending},
               {"groups", std::move(priv_groups)}};
  return j;
}

Result<BatchRecord> from_json(const json& j) {
  if (!j.is_object()) return fail(ErrorCode::kParse, "build batch: not a JSON object");
  Reader rd;
  BatchRecord r;
  rd.string(j, "", "id", r.id, true);
  rd.string(j, "", "arn", r.arn, true);
  if (const auto t = rd.number(j, "", "startTime", true)) r.start_time = *t;
  r.end_time = rd.number(j, "", "endTime");
  std::string phase;
  rd.string(j, "", "currentPhase", phase, true);
  if (rd.ok()) {
    const auto t = phase_from_name(phase);
    if (!t)
      rd.fail_at("currentPhase", "unknown phase type");
    else
      r.current_phase = *t;
  }
  rd.string(j, "", "buildBatchStatus", r.status, true);
  rd.string(j, "", "sourceVersion", r.source_version);
  rd.string(j, "", "resolvedSourceVersion", r.resolved_source_version);
  rd.string(j, "", "projectName", r.project_name, true);
  rd.each_object(j, "", "phases", [&](const json& p, const std::string& at) {
    BatchPhase phase_record;
    read_phase(rd, p, at, phase_record);
    r.phases.push_back(std::move(phase_record));
  });
  rd.integer(j, "", "buildTimeoutInMinutes", r.build_timeout_minutes);
  rd.integer(j, "", "queuedTimeoutInMinutes", r.queued_timeout_minutes);
  rd.boolean(j, "", "complete", r.complete, true);
  rd.string(j, "", "initiator", r.initiator);
  rd.integer(j, "", "buildBatchNumber", r.batch_number);
  rd.each_object(j, "", "buildGroups", [&](const json& g, const std::string& at) {
    BuildGroup group;
    read_group(rd, g, at, group);
    r.groups.push_back(std::move(group));
  });
  rd.boolean(j, "", "debugSessionEnabled", r.debug_session_enabled);
  rd.strings(j, "", "reportArns", r.report_arns);
  if (const json* k = rd.get(j, "", "kiln", json::value_t::object, "expected an object", true))
    read_private(rd, *k, r);
  if (!rd.ok()) return fail(ErrorCode::kParse, "build batch: " + rd.error());

  r.settings = json::object();
  for (const auto& [key, value] : j.items())
    if (own_members().count(key) == 0) r.settings[key] = value;
  return r;
}

void strip_internal(json& batch) {
  if (batch.is_object()) batch.erase("kiln");
}

}  // namespace kiln::batch
