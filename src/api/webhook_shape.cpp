#include "api/webhook_shape.h"

#include <algorithm>

#include "api/ops_common.h"
#include "api/validate.h"
#include "webhook/filter.h"

namespace kiln::api {
namespace {

using nlohmann::json;

constexpr std::string_view kSecretPrefix = "webhook:";

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == ':' || c == '[' || c == ']' || c == '_';
}

// A filter error of the webhook layer (kInvalidArgument with CodeBuild's text) as the wire shows
// it; anything else is ours.
ApiError filter_error(const Error& e) {
  if (e.code() == ErrorCode::kInvalidArgument) return {"InvalidInputException", e.message(), 400};
  return from_error(e);
}

// PullRequestBuildPolicy (docs/reference/codebuild-api.md "##### PullRequestBuildPolicy").
ApiResult<void> check_pull_request_policy(const json& policy) {
  Fields f(policy, "pullRequestBuildPolicy");
  KILN_API_PASS(f.one_of("requiresCommentApproval", true,
                         {"DISABLED", "ALL_PULL_REQUESTS", "FORK_PULL_REQUESTS"}));
  auto roles = f.list("approverRoles", false, 14);
  if (!roles) return tl::unexpected(roles.error());
  constexpr std::array<std::string_view, 14> kRoles = {
      "GITHUB_READ",  "GITHUB_TRIAGE",  "GITHUB_WRITE",    "GITHUB_MAINTAIN",  "GITHUB_ADMIN",
      "GITLAB_GUEST", "GITLAB_PLANNER", "GITLAB_REPORTER", "GITLAB_DEVELOPER", "GITLAB_MAINTAINER",
      "GITLAB_OWNER", "BITBUCKET_READ", "BITBUCKET_WRITE", "BITBUCKET_ADMIN"};
  for (std::size_t i = 0; *roles && i < (*roles)->size(); ++i) {
    const json& r = (**roles)[i];
    const std::string at = f.path("approverRoles") + "." + std::to_string(i + 1);
    if (!r.is_string() ||
        std::find(kRoles.begin(), kRoles.end(), r.get_ref<const std::string&>()) == kRoles.end()) {
      std::string values;
      for (const auto v : kRoles) values += (values.empty() ? "" : ", ") + std::string(v);
      return constraint_error(r.is_string() ? r.get<std::string>() : r.dump(), at,
                              "Member must satisfy enum value set: [" + values + "]");
    }
  }
  return {};
}

ApiResult<void> check_scope(const json& scope) {
  Fields f(scope, "scopeConfiguration");
  KILN_API_PASS(f.string("name", true, 1));
  KILN_API_PASS(f.string("domain", false));
  KILN_API_PASS(f.one_of("scope", true, {"GITHUB_ORGANIZATION", "GITHUB_GLOBAL", "GITLAB_GROUP"}));
  return {};
}

}  // namespace

std::string webhook_secret_name(std::string_view project) {
  return std::string(kSecretPrefix) + std::string(project);
}

bool is_webhook_secret_name(std::string_view server_type) {
  return server_type.starts_with(kSecretPrefix);
}

std::string webhook_payload_url(const std::string* host, std::string_view project) {
  std::string h = host != nullptr ? *host : "";
  if (h.empty() || h.size() > 255 || !std::all_of(h.begin(), h.end(), host_char)) h = "localhost";
  return "http://" + h + "/webhooks/" + std::string(project);
}

ApiResult<void> check_webhook_source(const json& project) {
  const auto source = project.find("source");
  const std::string type = source != project.end() && source->is_object()
                               ? source->value("type", std::string())
                               : std::string();
  if (std::find(kWebhookSourceTypes.begin(), kWebhookSourceTypes.end(), type) !=
      kWebhookSourceTypes.end())
    return {};
  return invalid_input("Webhooks are not supported for source type " + type +
                       ": the project's source must be GITHUB, GITHUB_ENTERPRISE, GITLAB, "
                       "GITLAB_SELF_MANAGED or BITBUCKET");
}

ApiResult<json> webhook_settings(const json& in, bool create) {
  Fields f(in, "");
  json out = json::object();
  auto branch = f.string("branchFilter", false);
  if (!branch) return tl::unexpected(branch.error());
  if (*branch) {
    // The legacy filter is a regex on the branch name: compiled now, as filter groups are.
    if (auto set = webhook::FilterSet::compile({}, **branch); !set)
      return tl::unexpected(filter_error(set.error()));
    out["branchFilter"] = **branch;
  }
  auto groups = f.list("filterGroups", false, webhook::kMaxFilterGroups);
  if (!groups) return tl::unexpected(groups.error());
  if (*groups) {
    auto parsed = webhook::filter_groups_from_json(**groups);
    if (!parsed) return tl::unexpected(filter_error(parsed.error()));
    if (auto set = webhook::FilterSet::compile(*parsed); !set)
      return tl::unexpected(filter_error(set.error()));
    out["filterGroups"] = webhook::filter_groups_to_json(*parsed);
  }
  auto build_type =
      f.one_of("buildType", false, {"BUILD", "BUILD_BATCH", "RUNNER_BUILDKITE_BUILD"});
  if (!build_type) return tl::unexpected(build_type.error());
  if (*build_type && **build_type == "RUNNER_BUILDKITE_BUILD") {
    return invalid_input(
        "buildType RUNNER_BUILDKITE_BUILD is not supported: Kiln runs no Buildkite runner builds "
        "(docs/server.md \"Webhooks\")");
  }
  if (*build_type) out["buildType"] = **build_type;
  auto policy = f.object("pullRequestBuildPolicy", false);
  if (!policy) return tl::unexpected(policy.error());
  if (*policy) {
    KILN_API_PASS(check_pull_request_policy(**policy));
    out["pullRequestBuildPolicy"] = **policy;
  }
  if (!create) return out;
  auto manual = f.boolean("manualCreation");
  if (!manual) return tl::unexpected(manual.error());
  if (*manual) out["manualCreation"] = **manual;
  auto scope = f.object("scopeConfiguration", false);
  if (!scope) return tl::unexpected(scope.error());
  if (*scope) {
    KILN_API_PASS(check_scope(**scope));
    out["scopeConfiguration"] = **scope;
  }
  return out;
}

json webhook_apply(json stored, const json& settings) {
  for (const auto& [key, value] : settings.items()) stored[key] = value;
  return stored;
}

}  // namespace kiln::api
