// CodeBuild's CreateWebhook, UpdateWebhook and DeleteWebhook (docs/reference/codebuild-api.md
// "Webhooks"; docs/server.md "Webhooks"). One webhook per project, kept in the stored Project
// under "webhook"; its secret is sealed in the SecretStore (webhook_shape.h) and is shown only by
// CreateWebhook and by an UpdateWebhook that rotates it. The secret never goes into a log line or
// an error message.
//
// Every read-modify-write of a stored project holds project_writes_, so two CreateWebhook calls
// for one project cannot both succeed, and UpdateProject cannot write back a project read before
// its webhook changed.
#include "api/ops_common.h"
#include "api/service.h"
#include "api/validate.h"
#include "api/webhook_shape.h"
#include "webhook/signature.h"

namespace kiln::api {
namespace {

using nlohmann::json;

ApiResult<std::string> project_name_of(const json& in) {
  Fields f(in, "");
  auto name = f.string("projectName", true, 2, 150);
  if (!name) return tl::unexpected(name.error());
  if (!valid_project_name(**name)) {
    return constraint_error(**name, "projectName",
                            "Member must satisfy regular expression pattern: "
                            "[A-Za-z0-9][A-Za-z0-9\\-_]{1,149}");
  }
  return **name;
}

// Kiln's wording: CodeBuild's text for a project without a webhook is not documented.
tl::unexpected<ApiError> no_webhook(const json& project) {
  return not_found("Could not find webhook for project: " + project.value("arn", std::string()));
}

}  // namespace

ApiResult<void> Service::store_webhook_secret(const std::string& project,
                                              const std::string& secret) {
  secrets::SecretStore::SourceCredential cred;
  cred.server_type = webhook_secret_name(project);
  cred.auth_type = "WEBHOOK_SECRET";
  cred.token = secret;
  KILN_API_CHECK(secrets_.put_source_credential(cred, true));
  return {};
}

ApiResult<void> Service::forget_webhook_secret(const std::string& project) {
  auto r = secrets_.delete_source_credential(webhook_secret_name(project));
  if (!r && r.error().code() != ErrorCode::kNotFound) return tl::unexpected(from_error(r.error()));
  return {};
}

ApiResult<std::string> Service::webhook_secret(const std::string& project) {
  auto cred = secrets_.source_credential(webhook_secret_name(project));
  if (!cred && cred.error().code() == ErrorCode::kNotFound) {
    return tl::unexpected(
        ApiError{"InternalFailure",
                 "the webhook secret of project " + project + " is not in the store", 500});
  }
  if (!cred) return tl::unexpected(from_error(cred.error()));
  if (cred->token.empty()) {
    return tl::unexpected(
        ApiError{"InternalFailure", "the webhook secret of project " + project + " is empty", 500});
  }
  return std::move(cred->token);
}

ApiResult<json> Service::create_webhook(const Call& c) {
  auto name = project_name_of(c.in);
  if (!name) return tl::unexpected(name.error());
  auto settings = webhook_settings(c.in, true);
  if (!settings) return tl::unexpected(settings.error());

  MutexLock lock(project_writes_);
  auto project = load_project(*name);
  if (!project) return project;
  if (project->contains("webhook")) {
    return api_fail("ResourceAlreadyExistsException",
                    "Webhook already exists for project: " + project->value("arn", std::string()));
  }
  KILN_API_PASS(check_webhook_source(*project));

  const double t = now();
  const std::string payload_url = webhook_payload_url(c.host, *name);
  // Kiln never registers the hook on the git host itself: every webhook is what CodeBuild calls
  // a manual one, and `url` names the same endpoint as payloadUrl (docs/server.md "Webhooks").
  json hook = {{"url", payload_url},      {"payloadUrl", payload_url}, {"buildType", "BUILD"},
               {"manualCreation", false}, {"lastModifiedSecret", t},   {"status", "ACTIVE"}};
  hook = webhook_apply(std::move(hook), *settings);
  (*project)["webhook"] = hook;

  const std::string secret = webhook::new_secret();
  KILN_API_PASS(store_webhook_secret(*name, secret));
  const double created = project->value("created", t);
  const double modified = project->value("lastModified", t);
  if (auto r = store_.update_project({*name, created, modified, project->dump()}); !r) {
    (void)forget_webhook_secret(*name);  // best effort: the next CreateWebhook overwrites it
    return tl::unexpected(from_error(r.error()));
  }
  hook["secret"] = secret;
  return json{{"webhook", std::move(hook)}};
}

ApiResult<json> Service::update_webhook(const Call& c) {
  auto name = project_name_of(c.in);
  if (!name) return tl::unexpected(name.error());
  auto settings = webhook_settings(c.in, false);
  if (!settings) return tl::unexpected(settings.error());
  auto rotate = Fields(c.in, "").boolean("rotateSecret");
  if (!rotate) return tl::unexpected(rotate.error());

  MutexLock lock(project_writes_);
  auto project = load_project(*name);
  if (!project) return project;
  const auto stored = project->find("webhook");
  if (stored == project->end() || !stored->is_object()) return no_webhook(*project);
  json hook = webhook_apply(*stored, *settings);
  std::string secret;
  if (rotate->value_or(false)) {
    secret = webhook::new_secret();
    hook["lastModifiedSecret"] = now();
    KILN_API_PASS(store_webhook_secret(*name, secret));
  }
  (*project)["webhook"] = hook;
  const double t = now();
  KILN_API_CHECK(store_.update_project(
      {*name, project->value("created", t), project->value("lastModified", t), project->dump()}));
  if (!secret.empty()) hook["secret"] = secret;
  return json{{"webhook", std::move(hook)}};
}

ApiResult<json> Service::delete_webhook(const Call& c) {
  auto name = project_name_of(c.in);
  if (!name) return tl::unexpected(name.error());

  MutexLock lock(project_writes_);
  auto project = load_project(*name);
  if (!project) return project;
  if (!project->contains("webhook")) return no_webhook(*project);
  project->erase("webhook");
  const double t = now();
  KILN_API_CHECK(store_.update_project(
      {*name, project->value("created", t), project->value("lastModified", t), project->dump()}));
  // After the project no longer names a webhook: a failure here leaves only a sealed secret no
  // project uses, which the next CreateWebhook for the name replaces.
  KILN_API_PASS(forget_webhook_secret(*name));
  return json::object();
}

}  // namespace kiln::api
