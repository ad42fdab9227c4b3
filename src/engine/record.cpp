#include "engine/record.h"

#include <cmath>

#include "engine/engine.h"

namespace kiln::engine {

const char* to_string(PhaseType p) {
  switch (p) {
    case PhaseType::kSubmitted: return "SUBMITTED";
    case PhaseType::kQueued: return "QUEUED";
    case PhaseType::kProvisioning: return "PROVISIONING";
    case PhaseType::kDownloadSource: return "DOWNLOAD_SOURCE";
    case PhaseType::kInstall: return "INSTALL";
    case PhaseType::kPreBuild: return "PRE_BUILD";
    case PhaseType::kBuild: return "BUILD";
    case PhaseType::kPostBuild: return "POST_BUILD";
    case PhaseType::kUploadArtifacts: return "UPLOAD_ARTIFACTS";
    case PhaseType::kFinalizing: return "FINALIZING";
    case PhaseType::kCompleted: return "COMPLETED";
  }
  return "";
}

const char* to_string(Status s) {
  switch (s) {
    case Status::kSucceeded: return "SUCCEEDED";
    case Status::kFailed: return "FAILED";
    case Status::kFault: return "FAULT";
    case Status::kTimedOut: return "TIMED_OUT";
    case Status::kInProgress: return "IN_PROGRESS";
    case Status::kStopped: return "STOPPED";
  }
  return "";
}

PhaseRecord* BuildRecord::phase(PhaseType t) {
  for (auto& p : phases)
    if (p.type == t) return &p;
  return nullptr;
}

const PhaseRecord* BuildRecord::phase(PhaseType t) const {
  return const_cast<BuildRecord*>(this)->phase(t);
}

std::string build_arn(const std::string& region, const std::string& account,
                      const std::string& build_id) {
  return "arn:aws:codebuild:" + region + ":" + account + ":build/" + build_id;
}

std::string project_arn(const std::string& region, const std::string& account,
                        const std::string& project) {
  return "arn:aws:codebuild:" + region + ":" + account + ":project/" + project;
}

int timeout_in_minutes(double minutes) {
  return static_cast<int>(std::ceil(minutes));
}

long duration_seconds(double start, double end) {
  return static_cast<long>(end - start);
}

double record_time(double epoch_seconds) {
  return std::round(epoch_seconds * 1000.0) / 1000.0;
}

namespace {

// Sets `v` in the list: in place of the variable of the same name, else at the end.
void apply_variable(std::vector<EnvVarRecord>& vars, EnvVarRecord v) {
  for (auto& have : vars) {
    if (have.name == v.name) {
      have = std::move(v);
      return;
    }
  }
  vars.push_back(std::move(v));
}

// Kiln's LOCAL type (a folder on this host) is not one of CodeBuild's SourceType values; the
// record shows such a source as NO_SOURCE with the folder as its location.
std::string record_source_type(const std::string& type) {
  return type == "LOCAL" || type.empty() ? "NO_SOURCE" : type;
}

}  // namespace

BuildRecord record_for(const BuildRequest& req) {
  BuildRecord r;
  const auto& id = req.identity;
  r.id = id.build_id();
  r.arn = build_arn(id.region, id.account, r.id);
  r.build_number = id.build_number;
  r.project_name = id.project;
  r.initiator = id.initiator;
  r.source_version = id.source_version;
  r.resolved_source_version = id.resolved_source_version;
  r.build_batch_arn = id.build_batch_arn;
  r.source_type = record_source_type(req.source.type);
  r.source_location = req.source.location;
  r.buildspec = !req.buildspec_origin.empty() ? req.buildspec_origin
                : req.buildspec_text          ? *req.buildspec_text
                                              : req.buildspec_path;
  for (const auto& s : req.secondary_sources)
    r.secondary_sources.push_back({s.identifier, record_source_type(s.type), s.location});
  r.environment_type = req.environment_type;
  r.image = id.image;
  r.compute_type = req.compute_type;
  r.privileged_mode = req.privileged_mode;
  // The variables the build runs with, as CodeBuild's record shows them: PLAINTEXT values as
  // given, a secret variable's reference (parameter name, secret id), never its value.
  for (const auto& [name, value] : req.project_vars)
    apply_variable(r.environment_variables, {name, value, "PLAINTEXT"});
  for (const auto& v : req.project_secret_vars)
    apply_variable(r.environment_variables, {v.name, v.reference, v.type_name()});
  for (const auto& [name, value] : req.override_vars)
    apply_variable(r.environment_variables, {name, value, "PLAINTEXT"});
  for (const auto& v : req.override_secret_vars)
    apply_variable(r.environment_variables, {v.name, v.reference, v.type_name()});
  r.log_group = "/aws/codebuild/" + id.project;
  r.log_stream = id.uuid;
  r.timeout_minutes = timeout_in_minutes(req.timeout_minutes);
  r.queued_timeout_minutes = req.queued_timeout_minutes;
  r.region = id.region;
  r.account = id.account;
  return r;
}

std::vector<PhaseRecord> queue_phases(double submitted, std::optional<double> launched) {
  PhaseRecord sub{PhaseType::kSubmitted, Status::kSucceeded, submitted, submitted, 0, {}, false};
  PhaseRecord queued{PhaseType::kQueued, std::nullopt, submitted, std::nullopt,
                     std::nullopt,       {},           false};
  if (launched) {
    queued.status = Status::kSucceeded;
    queued.end_time = *launched;
    queued.duration_seconds = duration_seconds(submitted, *launched);
  }
  return {sub, queued};
}

nlohmann::json to_json(const PhaseRecord& p) {
  nlohmann::json j;
  j["phaseType"] = to_string(p.type);
  j["startTime"] = record_time(p.start_time);
  // The final COMPLETED entry carries only phaseType and startTime (§3.1).
  if (p.type == PhaseType::kCompleted) return j;
  if (p.status) j["phaseStatus"] = to_string(*p.status);
  if (p.end_time) j["endTime"] = record_time(*p.end_time);
  if (p.duration_seconds) j["durationInSeconds"] = *p.duration_seconds;
  if (p.emit_contexts && p.end_time) {
    auto& ctx = j["contexts"] = nlohmann::json::array();
    if (p.contexts.empty()) ctx.push_back({{"statusCode", ""}, {"message", ""}});
    for (const auto& c : p.contexts)
      ctx.push_back({{"statusCode", c.status_code}, {"message", c.message}});
  }
  return j;
}

namespace {

nlohmann::json artifact_json(const ArtifactRecord& a) {
  nlohmann::json j{{"location", a.location}};
  if (!a.sha256.empty()) j["sha256sum"] = a.sha256;
  if (!a.md5.empty()) j["md5sum"] = a.md5;
  if (!a.identifier.empty()) j["artifactIdentifier"] = a.identifier;
  return j;
}

}  // namespace

nlohmann::json to_json(const BuildRecord& r) {
  nlohmann::json j;
  j["id"] = r.id;
  j["arn"] = r.arn;
  j["buildNumber"] = r.build_number;
  j["startTime"] = record_time(r.start_time);
  if (r.end_time) j["endTime"] = record_time(*r.end_time);
  j["currentPhase"] = to_string(r.current_phase);
  j["buildStatus"] = to_string(r.build_status);
  j["buildComplete"] = r.build_complete;
  j["projectName"] = r.project_name;
  if (!r.source_version.empty()) j["sourceVersion"] = r.source_version;
  if (!r.resolved_source_version.empty()) j["resolvedSourceVersion"] = r.resolved_source_version;
  j["initiator"] = r.initiator;

  auto& phases = j["phases"] = nlohmann::json::array();
  for (const auto& p : r.phases) phases.push_back(to_json(p));

  nlohmann::json source{{"type", r.source_type}};
  if (!r.source_location.empty()) source["location"] = r.source_location;
  if (!r.buildspec.empty()) source["buildspec"] = r.buildspec;
  j["source"] = source;
  auto& secondary = j["secondarySources"] = nlohmann::json::array();
  for (const auto& s : r.secondary_sources)
    secondary.push_back(
        {{"type", s.type}, {"location", s.location}, {"sourceIdentifier", s.identifier}});
  auto& versions = j["secondarySourceVersions"] = nlohmann::json::array();
  for (const auto& [id, version] : r.secondary_source_versions)
    versions.push_back({{"sourceIdentifier", id}, {"sourceVersion", version}});

  nlohmann::json env{{"type", r.environment_type},
                     {"image", r.image},
                     {"computeType", r.compute_type},
                     {"privilegedMode", r.privileged_mode},
                     {"imagePullCredentialsType", "CODEBUILD"}};
  auto& vars = env["environmentVariables"] = nlohmann::json::array();
  for (const auto& v : r.environment_variables)
    vars.push_back({{"name", v.name}, {"value", v.value}, {"type", v.type}});
  j["environment"] = env;

  j["logs"] = {{"groupName", r.log_group},
               {"streamName", r.log_stream},
               {"cloudWatchLogsArn", "arn:aws:logs:" + r.region + ":" + r.account + ":log-group:" +
                                         r.log_group + ":log-stream:" + r.log_stream},
               {"cloudWatchLogs", {{"status", "ENABLED"}}},
               {"s3Logs", {{"status", "DISABLED"}, {"encryptionDisabled", false}}}};
  j["timeoutInMinutes"] = r.timeout_minutes;
  j["queuedTimeoutInMinutes"] = r.queued_timeout_minutes;
  j["artifacts"] = r.artifacts ? artifact_json(*r.artifacts) : nlohmann::json{{"location", ""}};
  auto& sec = j["secondaryArtifacts"] = nlohmann::json::array();
  for (const auto& a : r.secondary_artifacts) sec.push_back(artifact_json(a));
  auto& exported = j["exportedEnvironmentVariables"] = nlohmann::json::array();
  for (const auto& [name, value] : r.exported_variables)
    exported.push_back({{"name", name}, {"value", value}});
  j["reportArns"] = r.report_arns;
  if (!r.build_batch_arn.empty()) j["buildBatchArn"] = r.build_batch_arn;
  j["encryptionKey"] = "arn:aws:kms:" + r.region + ":" + r.account + ":alias/aws/s3";
  return j;
}

}  // namespace kiln::engine
