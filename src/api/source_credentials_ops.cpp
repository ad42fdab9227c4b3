// CodeBuild's ImportSourceCredentials, ListSourceCredentials and DeleteSourceCredentials
// (docs/reference/codebuild-api.md §3.2 "Source credentials"): one credential per server type, kept
// encrypted in the SecretStore. A token is never returned, logged or put into an error message.
#include <algorithm>

#include "api/ops_common.h"
#include "api/service.h"
#include "api/validate.h"
#include "api/webhook_shape.h"
#include "util/string.h"

namespace kiln::api {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 5> kServerTypes = {
    "GITHUB", "BITBUCKET", "GITHUB_ENTERPRISE", "GITLAB", "GITLAB_SELF_MANAGED"};
constexpr std::array<std::string_view, 5> kAuthTypes = {
    "OAUTH", "BASIC_AUTH", "PERSONAL_ACCESS_TOKEN", "CODECONNECTIONS", "SECRETS_MANAGER"};

std::string token_arn(const std::string& region, const std::string& account,
                      const std::string& server_type) {
  return "arn:aws:codebuild:" + region + ":" + account + ":token/" + to_lower(server_type);
}

// For these two the "token" is an ARN (a connection or a secret), which CodeBuild shows as the
// credential's resource; for the others it is a real secret and stays hidden.
bool token_is_resource(const std::string& auth_type) {
  return auth_type == "CODECONNECTIONS" || auth_type == "SECRETS_MANAGER";
}

}  // namespace

ApiResult<json> Service::import_source_credentials(const Call& c) {
  Fields f(c.in, "");
  auto username = f.string("username", false, 1);
  if (!username) return tl::unexpected(username.error());
  auto token = sensitive_string(c.in, "token", true, 1, 1 << 20);
  if (!token) return tl::unexpected(token.error());
  auto server = f.one_of("serverType", true, kServerTypes);
  if (!server) return tl::unexpected(server.error());
  auto auth = f.one_of("authType", true, kAuthTypes);
  if (!auth) return tl::unexpected(auth.error());
  auto overwrite = f.boolean("shouldOverwrite");
  if (!overwrite) return tl::unexpected(overwrite.error());
  if (**auth == "BASIC_AUTH" && !*username) {
    return invalid_input("username is required when authType is BASIC_AUTH");
  }
  if (*username && **auth != "BASIC_AUTH") {
    return invalid_input("username is only valid when authType is BASIC_AUTH");
  }

  secrets::SecretStore::SourceCredential cred;
  cred.server_type = **server;
  cred.auth_type = **auth;
  cred.username = username->value_or("");
  cred.token = **token;
  const std::string arn = token_arn(c.region, options_.account.id, cred.server_type);
  if (auto r = secrets_.put_source_credential(cred, overwrite->value_or(true)); !r) {
    if (r.error().code() == ErrorCode::kAlreadyExists) {
      return api_fail("ResourceAlreadyExistsException",
                      "Access token already exists for this server type: " + arn +
                          " (set shouldOverwrite to replace it)");
    }
    return tl::unexpected(from_error(r.error()));
  }
  return json{{"arn", arn}};
}

ApiResult<json> Service::list_source_credentials(const Call& c) {
  KILN_API_TRY(creds, secrets_.list_source_credentials());
  json infos = json::array();
  for (const auto& cred : creds) {
    if (is_webhook_secret_name(cred.server_type)) continue;  // webhooks' own, not credentials
    json info = {{"arn", token_arn(c.region, options_.account.id, cred.server_type)},
                 {"serverType", cred.server_type},
                 {"authType", cred.auth_type}};
    if (token_is_resource(cred.auth_type)) {
      KILN_API_TRY(full, secrets_.source_credential(cred.server_type));
      info["resource"] = full.token;
    }
    infos.push_back(std::move(info));
  }
  return json{{"sourceCredentialsInfos", infos}};
}

ApiResult<json> Service::delete_source_credentials(const Call& c) {
  Fields f(c.in, "");
  auto arn = f.string("arn", true, 1, 1024);
  if (!arn) return tl::unexpected(arn.error());
  // arn:aws:codebuild:<region>:<account>:token/<server type>, for any region: the region is
  // only the caller's signing scope, and credentials are kept once per server.
  const std::string prefix = "arn:aws:codebuild:";
  const std::string middle = ":" + options_.account.id + ":token/";
  const auto at = (*arn)->find(middle);
  std::string server;
  if ((*arn)->starts_with(prefix) && at != std::string::npos) {
    server = to_upper((*arn)->substr(at + middle.size()));
  }
  const bool known =
      std::find(kServerTypes.begin(), kServerTypes.end(), server) != kServerTypes.end();
  if (!known || to_lower(server) != (*arn)->substr(at + middle.size())) {
    return not_found("Could not find source credentials: " + **arn);
  }
  if (auto r = secrets_.delete_source_credential(server); !r) {
    if (r.error().code() == ErrorCode::kNotFound) {
      return not_found("Could not find source credentials: " + **arn);
    }
    return tl::unexpected(from_error(r.error()));
  }
  return json{{"arn", **arn}};
}

}  // namespace kiln::api
