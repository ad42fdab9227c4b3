// A project's webhook as CreateWebhook and UpdateWebhook take it and BatchGetProjects shows it
// (docs/reference/codebuild-api.md "Webhooks", "##### Webhook"; docs/server.md "Webhooks").
//
// The Webhook object is kept in the stored Project under "webhook", without its secret: the secret
// is sealed in the SecretStore as a source credential named webhook_secret_name(project), which
// ListSourceCredentials does not show. Only CreateWebhook's answer and a rotating UpdateWebhook's
// carry it, as in CodeBuild.
// Thread safety: pure functions.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/api_error.h"

namespace kiln::api {

// The source types whose git hosts send webhooks CodeBuild understands.
inline constexpr std::array<std::string_view, 5> kWebhookSourceTypes = {
    "GITHUB", "GITHUB_ENTERPRISE", "GITLAB", "GITLAB_SELF_MANAGED", "BITBUCKET"};

// The SecretStore source-credential server type that holds `project`'s webhook secret:
// "webhook:<project>". No real server type contains ':', so these never collide with imported
// credentials.
std::string webhook_secret_name(std::string_view project);
bool is_webhook_secret_name(std::string_view server_type);

// Where git hosts post deliveries: "http://<host>/webhooks/<project>", <host> being the Host
// header the CreateWebhook request came with (the address its client reached the server at).
// A missing Host header, or one with characters a host cannot have, gives "localhost".
std::string webhook_payload_url(const std::string* host, std::string_view project);

// InvalidInputException unless the project's source is of one of kWebhookSourceTypes.
ApiResult<void> check_webhook_source(const nlohmann::json& project);

// The webhook settings of a CreateWebhook (`create`) or UpdateWebhook input, validated: the
// members given among branchFilter, filterGroups (normalised by webhook::filter_groups_to_json),
// buildType, pullRequestBuildPolicy and, for CreateWebhook only, manualCreation and
// scopeConfiguration. filterGroups and branchFilter are compiled with RE2 here, so a pattern
// that could not run at delivery time is refused now.
ApiResult<nlohmann::json> webhook_settings(const nlohmann::json& in, bool create);

// `stored` (a Project's "webhook") with `settings` (from webhook_settings) applied: the members
// given replace the stored ones, the others stay (UpdateWebhook is a partial update).
nlohmann::json webhook_apply(nlohmann::json stored, const nlohmann::json& settings);

}  // namespace kiln::api
