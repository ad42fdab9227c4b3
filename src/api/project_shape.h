// Projects as the API shows them: validating CreateProject/UpdateProject input and building the
// stored `Project` JSON (docs/reference/codebuild-api.md §3.4, §3.5), with CodeBuild's defaults
// filled in. Thread safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <string>
#include <string_view>

#include "api/api_error.h"

namespace kiln::api {

// Enums of the model (docs/reference/codebuild-api.md §3.5.1) that requests are checked against.
// Source types add Kiln's GIT (any git URL) and LOCAL (a folder under one of the server's
// --source-root).
inline constexpr std::array<std::string_view, 11> kSourceTypes = {
    "CODECOMMIT",          "CODEPIPELINE", "GITHUB",    "GITLAB",
    "GITLAB_SELF_MANAGED", "S3",           "BITBUCKET", "GITHUB_ENTERPRISE",
    "NO_SOURCE",           "GIT",          "LOCAL"};
inline constexpr std::array<std::string_view, 12> kEnvironmentTypes = {
    "WINDOWS_CONTAINER",
    "LINUX_CONTAINER",
    "LINUX_GPU_CONTAINER",
    "ARM_CONTAINER",
    "WINDOWS_SERVER_2019_CONTAINER",
    "WINDOWS_SERVER_2022_CONTAINER",
    "LINUX_LAMBDA_CONTAINER",
    "ARM_LAMBDA_CONTAINER",
    "LINUX_EC2",
    "ARM_EC2",
    "WINDOWS_EC2",
    "MAC_ARM"};
inline constexpr std::array<std::string_view, 12> kComputeTypes = {
    "BUILD_GENERAL1_SMALL",  "BUILD_GENERAL1_MEDIUM",   "BUILD_GENERAL1_LARGE",
    "BUILD_GENERAL1_XLARGE", "BUILD_GENERAL1_2XLARGE",  "BUILD_LAMBDA_1GB",
    "BUILD_LAMBDA_2GB",      "BUILD_LAMBDA_4GB",        "BUILD_LAMBDA_8GB",
    "BUILD_LAMBDA_10GB",     "ATTRIBUTE_BASED_COMPUTE", "CUSTOM_INSTANCE_TYPE"};

// Bounds on what a project or a build may carry (docs/server.md "Request limits"). The model
// gives none for environment variables; 4096 characters is the bound real CodeBuild answered
// ("EnvironmentVariable should be at most 4096 characters"). The project cap bounds the members
// Kiln stores without reading (vpcConfig, fileSystemLocations, ...), so that BatchGetProjects'
// answers stay bounded.
inline constexpr std::size_t kMaxEnvironmentVariables = 500;  // per list
inline constexpr std::size_t kMaxVariableName = 255;
inline constexpr std::size_t kMaxVariableValue = 4096;
// An inline buildspec (source.buildspec, buildspecOverride).
inline constexpr std::size_t kMaxBuildspecLength = std::size_t{256} * 1024;
// The stored Project JSON.
inline constexpr std::size_t kMaxProjectBytes = std::size_t{1024} * 1024;

struct Account {
  std::string region = "us-east-1";
  std::string id = "000000000000";
};

// CreateProject's input -> the Project to store. `now` in epoch seconds.
ApiResult<nlohmann::json> project_from_create(const nlohmann::json& in, const Account& account,
                                              double now);

// UpdateProject: the members given replace the stored ones.
ApiResult<nlohmann::json> project_apply_update(nlohmann::json project, const nlohmann::json& in,
                                               double now);

// Validators shared with StartBuild's overrides; `where` is the member path for messages.
ApiResult<void> check_source(const nlohmann::json& source, const std::string& where,
                             bool secondary);
ApiResult<void> check_environment(const nlohmann::json& env, const std::string& where);
ApiResult<void> check_artifacts(const nlohmann::json& artifacts, const std::string& where,
                                bool secondary);
ApiResult<void> check_environment_variables(const nlohmann::json& list, const std::string& where);
ApiResult<void> check_cache(const nlohmann::json& cache, const std::string& where);
// A ProjectBuildBatchConfig (a project's buildBatchConfig, StartBuildBatch's
// buildBatchConfigOverride; docs/reference/codebuild-api.md §3.5). The model bounds none of its
// numbers; Kiln's bounds are in docs/server.md "Request limits".
ApiResult<void> check_build_batch_config(const nlohmann::json& config, const std::string& where);
// Limits on a ProjectBuildBatchConfig (docs/server.md "Request limits").
inline constexpr long long kMaxBatchBuildsAllowed = 10000;     // restrictions.maximumBuildsAllowed
inline constexpr std::size_t kMaxBatchRestrictionItems = 100;  // computeTypes/fleetsAllowed
// Gives each EnvironmentVariable in `list` without a `type` CodeBuild's default, PLAINTEXT, as
// CodeBuild stores and answers it.
void with_variable_types(nlohmann::json& list);
// A `tags` list (null: none), as Create/UpdateProject and Create/UpdateReportGroup take it.
ApiResult<void> check_tags(const nlohmann::json* tags);
// A list of ProjectSourceVersion ({sourceIdentifier, sourceVersion}).
ApiResult<void> check_source_versions(const nlohmann::json& list, const std::string& where);

}  // namespace kiln::api
