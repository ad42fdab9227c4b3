#include "api/project_shape.h"

#include <algorithm>

#include "api/ops_common.h"
#include "api/validate.h"
#include "api/webhook_shape.h"
#include "util/json_text.h"

namespace kiln::api {
namespace {

using nlohmann::json;

// A fleet's name or ARN in restrictions.fleetsAllowed: the model bounds neither; an ARN of a
// fleet (name 2..128) fits well within this.
constexpr std::size_t kMaxFleetName = 2048;

ApiResult<void> check_list_of(const json* list, const std::string& where,
                              ApiResult<void> (*check)(const json&, const std::string&, bool)) {
  if (list == nullptr) return {};
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string at = where + "." + std::to_string(i + 1);
    if (!(*list)[i].is_object()) return invalid_input(at + " must be an object");
    KILN_API_PASS(check((*list)[i], at, true));
  }
  return {};
}

// Validates every member CreateProject and UpdateProject share; `required` for CreateProject.
ApiResult<void> check_project_members(const json& in, bool create) {
  Fields f(in, "");
  KILN_API_PASS(f.string("description", false, 0, 255));
  auto source = f.object("source", create);
  if (!source) return tl::unexpected(source.error());
  if (*source) KILN_API_PASS(check_source(**source, "source", false));
  auto secondary = f.list("secondarySources", false, 12);
  if (!secondary) return tl::unexpected(secondary.error());
  KILN_API_PASS(check_list_of(*secondary, "secondarySources", check_source));
  KILN_API_PASS(f.string("sourceVersion", false));
  auto versions = f.list("secondarySourceVersions", false, 12);
  if (!versions) return tl::unexpected(versions.error());
  if (*versions) KILN_API_PASS(check_source_versions(**versions, "secondarySourceVersions"));
  auto artifacts = f.object("artifacts", create);
  if (!artifacts) return tl::unexpected(artifacts.error());
  if (*artifacts) KILN_API_PASS(check_artifacts(**artifacts, "artifacts", false));
  auto secondary_artifacts = f.list("secondaryArtifacts", false, 12);
  if (!secondary_artifacts) return tl::unexpected(secondary_artifacts.error());
  KILN_API_PASS(check_list_of(*secondary_artifacts, "secondaryArtifacts", check_artifacts));
  auto cache = f.object("cache", false);
  if (!cache) return tl::unexpected(cache.error());
  if (*cache) KILN_API_PASS(check_cache(**cache, "cache"));
  auto env = f.object("environment", create);
  if (!env) return tl::unexpected(env.error());
  if (*env) KILN_API_PASS(check_environment(**env, "environment"));
  KILN_API_PASS(f.string("serviceRole", create, 1));
  KILN_API_PASS(f.integer("timeoutInMinutes", false, 5, 2160));
  KILN_API_PASS(f.integer("queuedTimeoutInMinutes", false, 5, 480));
  KILN_API_PASS(f.string("encryptionKey", false, 1));
  auto tags = f.list("tags", false, 50);
  if (!tags) return tl::unexpected(tags.error());
  KILN_API_PASS(check_tags(*tags));
  KILN_API_PASS(f.boolean("badgeEnabled"));
  KILN_API_PASS(f.integer("concurrentBuildLimit", false, 1, 10000));
  KILN_API_PASS(f.integer("autoRetryLimit", false, 0, 10));
  auto batch = f.object("buildBatchConfig", false);
  if (!batch) return tl::unexpected(batch.error());
  if (*batch) KILN_API_PASS(check_build_batch_config(**batch, "buildBatchConfig"));
  return {};
}

// The stored project's size, against kMaxProjectBytes.
ApiResult<void> check_project_size(const json& project) {
  const std::size_t size = json_text(project).size();
  if (size <= kMaxProjectBytes) return {};
  return invalid_input("The project would be " + std::to_string(size) +
                       " bytes as stored; Kiln's limit is " + std::to_string(kMaxProjectBytes) +
                       " bytes");
}

// Copies the members a Project carries over from the input, as given.
void copy_members(json& project, const json& in) {
  for (const char* key : {"description",
                          "source",
                          "secondarySources",
                          "sourceVersion",
                          "secondarySourceVersions",
                          "artifacts",
                          "secondaryArtifacts",
                          "cache",
                          "environment",
                          "serviceRole",
                          "timeoutInMinutes",
                          "queuedTimeoutInMinutes",
                          "encryptionKey",
                          "tags",
                          "vpcConfig",
                          "logsConfig",
                          "fileSystemLocations",
                          "buildBatchConfig",
                          "concurrentBuildLimit",
                          "autoRetryLimit"}) {
    if (const auto it = in.find(key); it != in.end() && !it->is_null()) project[key] = *it;
  }
  if (const auto it = in.find("badgeEnabled"); it != in.end() && it->is_boolean()) {
    project["badge"] = {{"badgeEnabled", it->get<bool>()}};
  }
  if (const auto env = project.find("environment"); env != project.end() && env->is_object()) {
    if (const auto vars = env->find("environmentVariables"); vars != env->end())
      with_variable_types(*vars);
  }
  // An empty buildBatchConfig turns batch builds off (docs/server.md "Build batches"): the project
  // then has none, as one created without it.
  if (const auto b = project.find("buildBatchConfig");
      b != project.end() && b->is_object() && b->empty())
    project.erase(b);
}

// CodeBuild's cross-member rule: a project in a pipeline takes its source from CodePipeline and
// gives its artifacts back to it, so either both are CODEPIPELINE or neither is.
ApiResult<void> check_pipeline_pairing(const json& project) {
  const auto type_of = [&](const char* member) {
    const auto it = project.find(member);
    return it != project.end() && it->is_object() ? it->value("type", "") : std::string();
  };
  if ((type_of("source") == "CODEPIPELINE") != (type_of("artifacts") == "CODEPIPELINE")) {
    return invalid_input(
        "Invalid input: when using CodePipeline both sourceType, and artifactType must be set to: "
        "CODEPIPELINE");
  }
  return {};
}

}  // namespace

// Tag key 1..127 and value 0..255 characters (docs/reference/codebuild-api.md §3.5, Tag).
ApiResult<void> check_tags(const json* tags) {
  if (tags == nullptr) return {};
  for (std::size_t i = 0; i < tags->size(); ++i) {
    const std::string at = "tags." + std::to_string(i + 1);
    if (!(*tags)[i].is_object()) return invalid_input(at + " must be an object");
    Fields t((*tags)[i], at);
    KILN_API_PASS(t.string("key", false, 1, 127));
    KILN_API_PASS(t.string("value", false, 0, 255));
  }
  return {};
}

void with_variable_types(json& list) {
  if (!list.is_array()) return;
  for (auto& v : list) {
    if (v.is_object() && (!v.contains("type") || v["type"].is_null())) v["type"] = "PLAINTEXT";
  }
}

ApiResult<void> check_build_batch_config(const json& config, const std::string& where) {
  Fields f(config, where);
  KILN_API_PASS(f.string("serviceRole", false, 1));
  KILN_API_PASS(f.boolean("combineArtifacts"));
  KILN_API_PASS(f.integer("timeoutInMins", false, 5, 2160));
  KILN_API_PASS(
      f.one_of("batchReportMode", false, {"REPORT_INDIVIDUAL_BUILDS", "REPORT_AGGREGATED_BATCH"}));
  auto restrictions = f.object("restrictions", false);
  if (!restrictions) return tl::unexpected(restrictions.error());
  if (!*restrictions) return {};
  Fields r(**restrictions, f.path("restrictions"));
  KILN_API_PASS(r.integer("maximumBuildsAllowed", false, 1, kMaxBatchBuildsAllowed));
  auto compute = r.list("computeTypesAllowed", false, kMaxBatchRestrictionItems);
  if (!compute) return tl::unexpected(compute.error());
  for (std::size_t i = 0; *compute && i < (*compute)->size(); ++i) {
    const json& t = (**compute)[i];
    const std::string at = r.path("computeTypesAllowed") + "." + std::to_string(i + 1);
    if (!t.is_string()) return invalid_input(at + " must be a string");
    const auto& type = t.get_ref<const std::string&>();
    if (std::find(kComputeTypes.begin(), kComputeTypes.end(), type) == kComputeTypes.end()) {
      std::string values;
      for (const auto v : kComputeTypes) values += (values.empty() ? "" : ", ") + std::string(v);
      return constraint_error(type, at, "Member must satisfy enum value set: [" + values + "]");
    }
  }
  auto fleets = r.list("fleetsAllowed", false, kMaxBatchRestrictionItems);
  if (!fleets) return tl::unexpected(fleets.error());
  for (std::size_t i = 0; *fleets && i < (*fleets)->size(); ++i) {
    const json& name = (**fleets)[i];
    const std::string at = r.path("fleetsAllowed") + "." + std::to_string(i + 1);
    if (!name.is_string() || name.get_ref<const std::string&>().empty() ||
        name.get_ref<const std::string&>().size() > kMaxFleetName)
      return invalid_input(at + " must be a string of 1 to " + std::to_string(kMaxFleetName) +
                           " characters");
  }
  return {};
}

ApiResult<void> check_source(const json& source, const std::string& where, bool secondary) {
  Fields f(source, where);
  auto type = f.one_of("type", true, kSourceTypes);
  if (!type) return tl::unexpected(type.error());
  auto location = f.string("location", false);
  if (!location) return tl::unexpected(location.error());
  auto buildspec = f.string("buildspec", false, 0, kMaxBuildspecLength);
  if (!buildspec) return tl::unexpected(buildspec.error());
  KILN_API_PASS(f.integer("gitCloneDepth", false, 0, 1 << 30));
  auto submodules = f.object("gitSubmodulesConfig", false);
  if (!submodules) return tl::unexpected(submodules.error());
  if (*submodules)
    KILN_API_PASS(Fields(**submodules, f.path("gitSubmodulesConfig")).boolean("fetchSubmodules"));
  KILN_API_PASS(f.boolean("insecureSsl"));
  auto report = f.boolean("reportBuildStatus");
  if (!report) return tl::unexpected(report.error());
  // ProjectSource.reportBuildStatus: "If this is set and you use a different source provider,
  // an invalidInputException is thrown" (docs/reference/codebuild-api.md; the wording is Kiln's).
  if (report->value_or(false) && std::find(kWebhookSourceTypes.begin(), kWebhookSourceTypes.end(),
                                           **type) == kWebhookSourceTypes.end())
    return invalid_input("Invalid " + where +
                         ": reportBuildStatus is not supported for source "
                         "type " +
                         **type);
  auto status_config = f.object("buildStatusConfig", false);
  if (!status_config) return tl::unexpected(status_config.error());
  if (*status_config) {
    Fields sc(**status_config, f.path("buildStatusConfig"));
    KILN_API_PASS(sc.string("context", false));
    KILN_API_PASS(sc.string("targetUrl", false));
  }
  auto id = f.string("sourceIdentifier", secondary, 1);
  if (!id) return tl::unexpected(id.error());
  if (**type == "NO_SOURCE" && (!*buildspec || (*buildspec)->empty())) {
    return invalid_input("Invalid " + where + ": buildspec must be specified for NO_SOURCE");
  }
  // CodeBuild's own text (seen for a CODECOMMIT source without one); every type but NO_SOURCE
  // and CODEPIPELINE names where the source is.
  if (**type != "NO_SOURCE" && **type != "CODEPIPELINE" && (!*location || (*location)->empty()))
    return invalid_input("Project source location is required");
  return {};
}

ApiResult<void> check_cache(const json& cache, const std::string& where) {
  Fields f(cache, where);
  auto type = f.one_of("type", true, {"NO_CACHE", "S3", "LOCAL"});
  if (!type) return tl::unexpected(type.error());
  auto location = f.string("location", false);
  if (!location) return tl::unexpected(location.error());
  auto modes = f.list("modes", false, 3);
  if (!modes) return tl::unexpected(modes.error());
  for (std::size_t i = 0; *modes && i < (*modes)->size(); ++i) {
    const json& m = (**modes)[i];
    const std::string at = f.path("modes") + "." + std::to_string(i + 1);
    if (!m.is_string()) return invalid_input(at + " must be a string");
    const auto& mode = m.get_ref<const std::string&>();
    if (mode != "LOCAL_DOCKER_LAYER_CACHE" && mode != "LOCAL_SOURCE_CACHE" &&
        mode != "LOCAL_CUSTOM_CACHE") {
      return constraint_error(mode, at,
                              "Member must satisfy enum value set: [LOCAL_DOCKER_LAYER_CACHE, "
                              "LOCAL_SOURCE_CACHE, LOCAL_CUSTOM_CACHE]");
    }
  }
  if (**type == "S3" && (!*location || (*location)->empty()))
    return invalid_input("Invalid cache: location must be specified for S3 caches");
  return {};
}

ApiResult<void> check_source_versions(const json& list, const std::string& where) {
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string at = where + "." + std::to_string(i + 1);
    if (!list[i].is_object()) return invalid_input(at + " must be an object");
    Fields v(list[i], at);
    KILN_API_PASS(v.string("sourceIdentifier", true, 1));
    KILN_API_PASS(v.string("sourceVersion", true, 1));
  }
  return {};
}

ApiResult<void> check_environment_variables(const json& list, const std::string& where) {
  if (list.size() > kMaxEnvironmentVariables) {
    return constraint_error("[" + std::to_string(list.size()) + " items]", where,
                            "Member must have length less than or equal to " +
                                std::to_string(kMaxEnvironmentVariables));
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string at = where + "." + std::to_string(i + 1);
    if (!list[i].is_object()) return invalid_input(at + " must be an object");
    Fields v(list[i], at);
    KILN_API_PASS(v.string("name", true, 1, kMaxVariableName));
    KILN_API_PASS(v.string("value", true, 0, kMaxVariableValue));
    KILN_API_PASS(v.one_of("type", false, {"PLAINTEXT", "PARAMETER_STORE", "SECRETS_MANAGER"}));
  }
  return {};
}

ApiResult<void> check_environment(const json& env, const std::string& where) {
  Fields f(env, where);
  KILN_API_PASS(f.one_of("type", true, kEnvironmentTypes));
  KILN_API_PASS(f.string("image", true, 1));
  KILN_API_PASS(f.one_of("computeType", true, kComputeTypes));
  KILN_API_PASS(f.boolean("privilegedMode"));
  KILN_API_PASS(f.string("certificate", false));
  KILN_API_PASS(f.one_of("imagePullCredentialsType", false, {"CODEBUILD", "SERVICE_ROLE"}));
  auto vars = f.list("environmentVariables", false, kMaxEnvironmentVariables);
  if (!vars) return tl::unexpected(vars.error());
  if (*vars) KILN_API_PASS(check_environment_variables(**vars, where + ".environmentVariables"));
  return {};
}

ApiResult<void> check_artifacts(const json& artifacts, const std::string& where, bool secondary) {
  Fields f(artifacts, where);
  KILN_API_PASS(f.one_of("type", true, {"CODEPIPELINE", "S3", "NO_ARTIFACTS"}));
  KILN_API_PASS(f.string("location", false));
  KILN_API_PASS(f.string("path", false));
  KILN_API_PASS(f.one_of("namespaceType", false, {"NONE", "BUILD_ID"}));
  KILN_API_PASS(f.string("name", false));
  KILN_API_PASS(f.one_of("packaging", false, {"NONE", "ZIP"}));
  KILN_API_PASS(f.boolean("overrideArtifactName"));
  KILN_API_PASS(f.boolean("encryptionDisabled"));
  KILN_API_PASS(f.string("artifactIdentifier", secondary, 1));
  // CodeBuild names the primary artifacts (and their override) "artifacts" in its messages.
  const std::string what = secondary ? where : "artifacts";
  const std::string type = artifacts.value("type", "");
  const std::string location = artifacts.value("location", "");
  if (type == "S3" && location.empty())
    return invalid_input("Invalid " + what + ": location must be specified for S3 artifacts");
  // CodeBuild's text: the location is a bucket name; a prefix belongs in `path`.
  if (type == "S3" && location.find('/') != std::string::npos)
    return invalid_input("Invalid " + what + ": location should not have a forward-slash");
  return {};
}

ApiResult<json> project_from_create(const json& in, const Account& account, double now) {
  Fields f(in, "");
  auto name = f.string("name", true, 2, 150);
  if (!name) return tl::unexpected(name.error());
  if (!valid_project_name(**name)) {
    return constraint_error(**name, "name",
                            "Member must satisfy regular expression pattern: "
                            "[A-Za-z0-9][A-Za-z0-9\\-_]{1,149}");
  }
  KILN_API_PASS(check_project_members(in, true));
  json p = {
      {"name", **name},
      {"arn", "arn:aws:codebuild:" + account.region + ":" + account.id + ":project/" + **name},
      {"secondarySources", json::array()},
      {"secondarySourceVersions", json::array()},
      {"secondaryArtifacts", json::array()},
      {"cache", {{"type", "NO_CACHE"}}},
      {"timeoutInMinutes", 60},
      {"queuedTimeoutInMinutes", 480},
      {"tags", json::array()},
      {"created", now},
      {"lastModified", now},
      {"badge", {{"badgeEnabled", false}}},
      {"logsConfig",
       {{"cloudWatchLogs", {{"status", "ENABLED"}}},
        {"s3Logs", {{"status", "DISABLED"}, {"encryptionDisabled", false}}}}},
      {"projectVisibility", "PRIVATE"}};
  copy_members(p, in);
  KILN_API_PASS(check_pipeline_pairing(p));
  KILN_API_PASS(check_project_size(p));
  return p;
}

ApiResult<json> project_apply_update(json project, const json& in, double now) {
  KILN_API_PASS(check_project_members(in, false));
  copy_members(project, in);
  KILN_API_PASS(check_pipeline_pairing(project));
  project["lastModified"] = now;
  KILN_API_PASS(check_project_size(project));
  return project;
}

}  // namespace kiln::api
