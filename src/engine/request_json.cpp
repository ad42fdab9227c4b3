#include "engine/request_json.h"

namespace kiln::engine {
namespace {

using nlohmann::json;

json vars_to_json(const VarList& vars) {
  json out = json::array();
  for (const auto& [name, value] : vars) out.push_back({{"name", name}, {"value", value}});
  return out;
}

VarList vars_from_json(const json& j) {
  VarList out;
  for (const auto& v : j)
    out.emplace_back(v.at("name").get<std::string>(), v.at("value").get<std::string>());
  return out;
}

json secret_vars_to_json(const std::vector<SecretVar>& vars) {
  json out = json::array();
  for (const auto& v : vars)
    out.push_back({{"name", v.name}, {"type", v.type_name()}, {"reference", v.reference}});
  return out;
}

std::vector<SecretVar> secret_vars_from_json(const json& j) {
  std::vector<SecretVar> out;
  for (const auto& v : j) {
    const bool param = v.at("type").get<std::string>() == "PARAMETER_STORE";
    out.push_back({v.at("name").get<std::string>(),
                   param ? SecretVar::Kind::kParameterStore : SecretVar::Kind::kSecretsManager,
                   v.at("reference").get<std::string>()});
  }
  return out;
}

json source_to_json(const source::SourceSpec& s) {
  return {{"identifier", s.identifier},
          {"type", s.type},
          {"location", s.location},
          {"version", s.version},
          {"gitCloneDepth", s.git_clone_depth},
          {"fetchSubmodules", s.fetch_submodules},
          {"insecureSsl", s.insecure_ssl}};
}

template <typename T>
void read(const json& j, const char* key, T& out) {
  if (const auto it = j.find(key); it != j.end() && !it->is_null()) out = it->get<T>();
}

source::SourceSpec source_from_json(const json& j) {
  source::SourceSpec s;
  read(j, "identifier", s.identifier);
  read(j, "type", s.type);
  read(j, "location", s.location);
  read(j, "version", s.version);
  read(j, "gitCloneDepth", s.git_clone_depth);
  read(j, "fetchSubmodules", s.fetch_submodules);
  read(j, "insecureSsl", s.insecure_ssl);
  return s;
}

json target_to_json(const artifacts::S3ArtifactTarget& t) {
  return {{"identifier", t.identifier},
          {"type", t.type},
          {"bucket", t.bucket},
          {"path", t.path},
          {"namespaceBuildId", t.namespace_build_id},
          {"name", t.name},
          {"packaging", t.packaging == artifacts::Packaging::kZip ? "ZIP" : "NONE"},
          {"overrideName", t.override_name},
          {"encryptionDisabled", t.encryption_disabled}};
}

artifacts::S3ArtifactTarget target_from_json(const json& j) {
  artifacts::S3ArtifactTarget t;
  read(j, "identifier", t.identifier);
  read(j, "type", t.type);
  read(j, "bucket", t.bucket);
  read(j, "path", t.path);
  read(j, "namespaceBuildId", t.namespace_build_id);
  read(j, "name", t.name);
  std::string packaging;
  read(j, "packaging", packaging);
  t.packaging = packaging == "ZIP" ? artifacts::Packaging::kZip : artifacts::Packaging::kNone;
  read(j, "overrideName", t.override_name);
  read(j, "encryptionDisabled", t.encryption_disabled);
  return t;
}

const char* copy_mode_name(workspace::CopyMode m) {
  switch (m) {
    case workspace::CopyMode::kAuto: return "auto";
    case workspace::CopyMode::kReflink: return "reflink";
    case workspace::CopyMode::kCopy: return "copy";
    case workspace::CopyMode::kHardlink: return "hardlink";
  }
  return "auto";
}

workspace::CopyMode copy_mode_from(const std::string& s) {
  if (s == "reflink") return workspace::CopyMode::kReflink;
  if (s == "copy") return workspace::CopyMode::kCopy;
  if (s == "hardlink") return workspace::CopyMode::kHardlink;
  return workspace::CopyMode::kAuto;
}

}  // namespace

json request_to_json(const BuildRequest& req) {
  const auto& id = req.identity;
  json j;
  j["identity"] = {{"project", id.project},
                   {"uuid", id.uuid},
                   {"buildNumber", id.build_number},
                   {"region", id.region},
                   {"account", id.account},
                   {"initiator", id.initiator},
                   {"image", id.image},
                   {"sourceVersion", id.source_version},
                   {"resolvedSourceVersion", id.resolved_source_version},
                   {"sourceRepoUrl", id.source_repo_url},
                   {"batchIdentifier", id.batch_identifier}};
  j["source"] = source_to_json(req.source);
  json secondary = json::array();
  for (const auto& s : req.secondary_sources) secondary.push_back(source_to_json(s));
  j["secondarySources"] = std::move(secondary);
  j["buildRoot"] = req.build_root.string();
  j["inPlace"] = req.in_place;
  j["copyMode"] = copy_mode_name(req.copy_mode);
  j["buildspecPath"] = req.buildspec_path;
  if (req.buildspec_text) j["buildspecText"] = *req.buildspec_text;
  j["projectVars"] = vars_to_json(req.project_vars);
  j["overrideVars"] = vars_to_json(req.override_vars);
  j["projectSecretVars"] = secret_vars_to_json(req.project_secret_vars);
  j["overrideSecretVars"] = secret_vars_to_json(req.override_secret_vars);
  j["imageEnv"] = req.image_env;
  j["environmentType"] = req.environment_type;
  j["computeType"] = req.compute_type;
  j["timeoutMinutes"] = req.timeout_minutes;
  j["queuedTimeoutMinutes"] = req.queued_timeout_minutes;
  j["packaging"] = req.packaging == artifacts::Packaging::kNone ? "NONE" : "ZIP";
  j["artifactsDir"] = req.artifacts_dir.string();
  json targets = json::array();
  for (const auto& t : req.s3_artifacts) targets.push_back(target_to_json(t));
  j["s3Artifacts"] = std::move(targets);
  j["s3DefaultSecondary"] = req.s3_default_secondary;
  j["encryptionKey"] = req.encryption_key;
  j["cache"] = {{"type", req.cache.type},
                {"location", req.cache.location},
                {"modes", req.cache.modes},
                {"namespace", req.cache.namespace_name},
                {"localRoot", req.cache.local_root.string()},
                {"maxBytes", req.cache.max_bytes},
                {"maxAgeSeconds", req.cache.max_age_seconds}};
  j["executor"] = req.executor_name;
  j["privilegedMode"] = req.privileged_mode;
  j["networkMode"] = req.network_mode;
  j["imageDir"] = req.image_dir.string();
  j["maxBuilds"] = req.max_builds;
  return j;
}

Result<BuildRequest> request_from_json(const json& j) {
  if (!j.is_object()) return fail(ErrorCode::kParse, "build request: not a JSON object");
  try {
    BuildRequest req;
    if (const auto it = j.find("identity"); it != j.end()) {
      auto& id = req.identity;
      read(*it, "project", id.project);
      read(*it, "uuid", id.uuid);
      read(*it, "buildNumber", id.build_number);
      read(*it, "region", id.region);
      read(*it, "account", id.account);
      read(*it, "initiator", id.initiator);
      read(*it, "image", id.image);
      read(*it, "sourceVersion", id.source_version);
      read(*it, "resolvedSourceVersion", id.resolved_source_version);
      read(*it, "sourceRepoUrl", id.source_repo_url);
      read(*it, "batchIdentifier", id.batch_identifier);
    }
    std::string text;
    if (const auto it = j.find("source"); it != j.end()) req.source = source_from_json(*it);
    if (const auto it = j.find("secondarySources"); it != j.end()) {
      for (const auto& s : *it) req.secondary_sources.push_back(source_from_json(s));
    }
    read(j, "buildRoot", text);
    req.build_root = text;
    read(j, "inPlace", req.in_place);
    text.clear();
    read(j, "copyMode", text);
    req.copy_mode = copy_mode_from(text);
    read(j, "buildspecPath", req.buildspec_path);
    if (const auto it = j.find("buildspecText"); it != j.end() && it->is_string()) {
      req.buildspec_text = it->get<std::string>();
    }
    if (const auto it = j.find("projectVars"); it != j.end())
      req.project_vars = vars_from_json(*it);
    if (const auto it = j.find("overrideVars"); it != j.end())
      req.override_vars = vars_from_json(*it);
    if (const auto it = j.find("projectSecretVars"); it != j.end())
      req.project_secret_vars = secret_vars_from_json(*it);
    if (const auto it = j.find("overrideSecretVars"); it != j.end())
      req.override_secret_vars = secret_vars_from_json(*it);
    read(j, "imageEnv", req.image_env);
    read(j, "environmentType", req.environment_type);
    read(j, "computeType", req.compute_type);
    read(j, "timeoutMinutes", req.timeout_minutes);
    read(j, "queuedTimeoutMinutes", req.queued_timeout_minutes);
    text.clear();
    read(j, "packaging", text);
    req.packaging = text == "NONE" ? artifacts::Packaging::kNone : artifacts::Packaging::kZip;
    text.clear();
    read(j, "artifactsDir", text);
    req.artifacts_dir = text;
    if (const auto it = j.find("s3Artifacts"); it != j.end()) {
      for (const auto& t : *it) req.s3_artifacts.push_back(target_from_json(t));
    }
    read(j, "s3DefaultSecondary", req.s3_default_secondary);
    read(j, "encryptionKey", req.encryption_key);
    if (const auto it = j.find("cache"); it != j.end()) {
      read(*it, "type", req.cache.type);
      read(*it, "location", req.cache.location);
      read(*it, "modes", req.cache.modes);
      read(*it, "namespace", req.cache.namespace_name);
      text.clear();
      read(*it, "localRoot", text);
      req.cache.local_root = text;
      read(*it, "maxBytes", req.cache.max_bytes);
      read(*it, "maxAgeSeconds", req.cache.max_age_seconds);
    }
    read(j, "executor", req.executor_name);
    read(j, "privilegedMode", req.privileged_mode);
    read(j, "networkMode", req.network_mode);
    text.clear();
    read(j, "imageDir", text);
    req.image_dir = text;
    read(j, "maxBuilds", req.max_builds);
    return req;
  } catch (const json::exception& e) {
    return fail(ErrorCode::kParse, std::string("build request: ") + e.what());
  }
}

}  // namespace kiln::engine
