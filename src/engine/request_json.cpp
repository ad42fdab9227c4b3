#include "engine/request_json.h"

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "util/json_reader.h"

namespace kiln::engine {
namespace {

using nlohmann::json;

json vars_to_json(const VarList& vars) {
  json out = json::array();
  for (const auto& [name, value] : vars) out.push_back({{"name", name}, {"value", value}});
  return out;
}

json secret_vars_to_json(const std::vector<SecretVar>& vars) {
  json out = json::array();
  for (const auto& v : vars)
    out.push_back({{"name", v.name}, {"type", v.type_name()}, {"reference", v.reference}});
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

using Reader = JsonReader;

// Each element of the array obj[key] that is an object, with its path; the first that is not
// fails the reader.
template <typename Fn>
void each_object(Reader& r, const json& obj, const char* key, Fn&& fn) {
  const json* list = r.array(obj, "", key);
  if (list == nullptr) return;
  for (std::size_t i = 0; i < list->size() && r.ok(); ++i) {
    const std::string at = Reader::element(key, i);
    if (!(*list)[i].is_object()) return r.fail_at(at, "expected an object");
    fn((*list)[i], at);
  }
}

// Members a list item needs: absent is an error, unlike the request's optional members.
void read_required(Reader& r, const json& obj, const std::string& at, const char* key,
                   std::string& out) {
  if (r.ok() && !obj.contains(key)) return r.fail_at(Reader::member(at, key), "missing");
  r.read(obj, at, key, out);
  if (r.ok() && obj[key].is_null()) r.fail_at(Reader::member(at, key), "expected a string");
}

VarList vars_from_json(Reader& r, const json& j, const char* key) {
  VarList out;
  each_object(r, j, key, [&](const json& v, const std::string& at) {
    std::string name, value;
    read_required(r, v, at, "name", name);
    read_required(r, v, at, "value", value);
    out.emplace_back(std::move(name), std::move(value));
  });
  return out;
}

std::vector<SecretVar> secret_vars_from_json(Reader& r, const json& j, const char* key) {
  std::vector<SecretVar> out;
  each_object(r, j, key, [&](const json& v, const std::string& at) {
    std::string name, type, reference;
    read_required(r, v, at, "name", name);
    read_required(r, v, at, "type", type);
    read_required(r, v, at, "reference", reference);
    out.push_back({std::move(name),
                   type == "PARAMETER_STORE" ? SecretVar::Kind::kParameterStore
                                             : SecretVar::Kind::kSecretsManager,
                   std::move(reference)});
  });
  return out;
}

source::SourceSpec source_from_json(Reader& r, const json& j, const std::string& at) {
  source::SourceSpec s;
  r.read(j, at, "identifier", s.identifier);
  r.read(j, at, "type", s.type);
  r.read(j, at, "location", s.location);
  r.read(j, at, "version", s.version);
  r.read(j, at, "gitCloneDepth", s.git_clone_depth);
  r.read(j, at, "fetchSubmodules", s.fetch_submodules);
  r.read(j, at, "insecureSsl", s.insecure_ssl);
  return s;
}

artifacts::S3ArtifactTarget target_from_json(Reader& r, const json& j, const std::string& at) {
  artifacts::S3ArtifactTarget t;
  r.read(j, at, "identifier", t.identifier);
  r.read(j, at, "type", t.type);
  r.read(j, at, "bucket", t.bucket);
  r.read(j, at, "path", t.path);
  r.read(j, at, "namespaceBuildId", t.namespace_build_id);
  r.read(j, at, "name", t.name);
  std::string packaging;
  r.read(j, at, "packaging", packaging);
  t.packaging = packaging == "ZIP" ? artifacts::Packaging::kZip : artifacts::Packaging::kNone;
  r.read(j, at, "overrideName", t.override_name);
  r.read(j, at, "encryptionDisabled", t.encryption_disabled);
  return t;
}

// A path member: read as a string.
void read_path(Reader& r, const json& j, const std::string& at, const char* key,
               std::filesystem::path& out) {
  std::string text;
  r.read(j, at, key, text);
  out = text;
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
                   {"batchIdentifier", id.batch_identifier},
                   {"buildBatchArn", id.build_batch_arn},
                   {"webhook", vars_to_json(id.webhook)}};
  j["source"] = source_to_json(req.source);
  json secondary = json::array();
  for (const auto& s : req.secondary_sources) secondary.push_back(source_to_json(s));
  j["secondarySources"] = std::move(secondary);
  j["buildRoot"] = req.build_root.string();
  j["inPlace"] = req.in_place;
  j["copyMode"] = copy_mode_name(req.copy_mode);
  j["buildspecPath"] = req.buildspec_path;
  if (req.buildspec_text) j["buildspecText"] = *req.buildspec_text;
  j["batchspecOnly"] = req.batchspec_only;
  j["artifactDefaultName"] = req.artifact_default_name;
  j["secondaryArtifactPrefix"] = req.secondary_artifact_prefix;
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
  j["reportsDir"] = req.reports_dir.string();
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
  Reader r;
  BuildRequest req;
  if (const json* id_json = r.object(j, "", "identity")) {
    auto& id = req.identity;
    const std::string at = "identity";
    r.read(*id_json, at, "project", id.project);
    r.read(*id_json, at, "uuid", id.uuid);
    r.read(*id_json, at, "buildNumber", id.build_number);
    r.read(*id_json, at, "region", id.region);
    r.read(*id_json, at, "account", id.account);
    r.read(*id_json, at, "initiator", id.initiator);
    r.read(*id_json, at, "image", id.image);
    r.read(*id_json, at, "sourceVersion", id.source_version);
    r.read(*id_json, at, "resolvedSourceVersion", id.resolved_source_version);
    r.read(*id_json, at, "sourceRepoUrl", id.source_repo_url);
    r.read(*id_json, at, "batchIdentifier", id.batch_identifier);
    r.read(*id_json, at, "buildBatchArn", id.build_batch_arn);
    id.webhook = vars_from_json(r, *id_json, "webhook");
  }
  if (const json* source = r.object(j, "", "source"))
    req.source = source_from_json(r, *source, "source");
  each_object(r, j, "secondarySources", [&](const json& s, const std::string& at) {
    req.secondary_sources.push_back(source_from_json(r, s, at));
  });
  read_path(r, j, "", "buildRoot", req.build_root);
  r.read(j, "", "inPlace", req.in_place);
  std::string text;
  r.read(j, "", "copyMode", text);
  req.copy_mode = copy_mode_from(text);
  r.read(j, "", "buildspecPath", req.buildspec_path);
  if (const auto it = j.find("buildspecText"); it != j.end() && it->is_string())
    req.buildspec_text = it->get<std::string>();
  r.read(j, "", "batchspecOnly", req.batchspec_only);
  r.read(j, "", "artifactDefaultName", req.artifact_default_name);
  r.read(j, "", "secondaryArtifactPrefix", req.secondary_artifact_prefix);
  req.project_vars = vars_from_json(r, j, "projectVars");
  req.override_vars = vars_from_json(r, j, "overrideVars");
  req.project_secret_vars = secret_vars_from_json(r, j, "projectSecretVars");
  req.override_secret_vars = secret_vars_from_json(r, j, "overrideSecretVars");
  r.read(j, "", "imageEnv", req.image_env);
  r.read(j, "", "environmentType", req.environment_type);
  r.read(j, "", "computeType", req.compute_type);
  r.read(j, "", "timeoutMinutes", req.timeout_minutes);
  r.read(j, "", "queuedTimeoutMinutes", req.queued_timeout_minutes);
  text.clear();
  r.read(j, "", "packaging", text);
  req.packaging = text == "NONE" ? artifacts::Packaging::kNone : artifacts::Packaging::kZip;
  read_path(r, j, "", "artifactsDir", req.artifacts_dir);
  read_path(r, j, "", "reportsDir", req.reports_dir);
  each_object(r, j, "s3Artifacts", [&](const json& t, const std::string& at) {
    req.s3_artifacts.push_back(target_from_json(r, t, at));
  });
  r.read(j, "", "s3DefaultSecondary", req.s3_default_secondary);
  r.read(j, "", "encryptionKey", req.encryption_key);
  if (const json* cache = r.object(j, "", "cache")) {
    const std::string at = "cache";
    r.read(*cache, at, "type", req.cache.type);
    r.read(*cache, at, "location", req.cache.location);
    r.read(*cache, at, "modes", req.cache.modes);
    r.read(*cache, at, "namespace", req.cache.namespace_name);
    read_path(r, *cache, at, "localRoot", req.cache.local_root);
    r.read(*cache, at, "maxBytes", req.cache.max_bytes);
    r.read(*cache, at, "maxAgeSeconds", req.cache.max_age_seconds);
  }
  r.read(j, "", "executor", req.executor_name);
  r.read(j, "", "privilegedMode", req.privileged_mode);
  r.read(j, "", "networkMode", req.network_mode);
  read_path(r, j, "", "imageDir", req.image_dir);
  r.read(j, "", "maxBuilds", req.max_builds);
  if (!r.ok()) return fail(ErrorCode::kParse, "build request: " + r.error());
  return req;
}

}  // namespace kiln::engine
