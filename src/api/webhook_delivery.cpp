// POST /webhooks/<project>: a git host's delivery to a project's webhook (docs/webhooks.md).
//
// The order is the security model: the request is unauthenticated until its signature checks
// out, so nothing is parsed, stored or started before webhook::verify_signature accepts the exact
// bytes of the body under the project's secret. The HTTP server has already bounded the body
// (ServerOptions::max_body, 413 above it) and the time to send it. Then the delivery id is
// recorded once (a redelivery starts nothing), the filter groups decide, and the build or batch
// is queued exactly as StartBuild or StartBuildBatch would queue it; the scheduler runs it, so
// the answer (202) does not wait for the build.
#include <chrono>
#include <string>

#include "api/precheck.h"
#include "api/service.h"
#include "api/webhook_shape.h"
#include "http/wire.h"
#include "util/json_text.h"
#include "webhook/delivery.h"
#include "webhook/filter.h"
#include "webhook/signature.h"
#include "webhook/variables.h"

namespace kiln::api {
namespace {

using nlohmann::json;

// How long a delivery id is remembered. GitHub's and Bitbucket's redeliveries are manual and
// GitLab retries within minutes; a week covers both with a table that stays small.
constexpr double kDeliveryRetentionSeconds = 7 * 24 * 3600.0;

http::Response answer(int status, const json& body) {
  http::Response r;
  r.status = status;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = json_text(body);
  return r;
}

http::Response refuse(int status, std::string_view type, const std::string& message) {
  return http::json_error(status, type, message);
}

http::Response refuse(const ApiError& e) {
  return http::json_error(e.status, e.type, e.message);
}

}  // namespace

http::Response Service::deliver_webhook(const http::Request& req) {
  const std::string name = req.path.substr(std::string_view("/webhooks/").size());
  if (req.method != "POST") {
    return refuse(405, "MethodNotAllowed", "webhook deliveries are POST requests");
  }
  if (name.empty() || name.size() > 255 || name.find('/') != std::string::npos) {
    return refuse(404, "ResourceNotFoundException", "no webhook at " + req.path);
  }
  // The same answer for a missing project and a project without a webhook: an unauthenticated
  // caller learns nothing about which projects exist.
  auto project = load_project(name);
  if (!project && project.error().type != "ResourceNotFoundException")
    return refuse(project.error());
  const nlohmann::json* hook = nullptr;
  if (project) {
    const auto it = project->find("webhook");
    if (it != project->end() && it->is_object()) hook = &*it;
  }
  if (hook == nullptr) return refuse(404, "ResourceNotFoundException", "no webhook at " + req.path);

  const webhook::Headers headers = webhook_headers(req);
  auto provider = webhook::detect_provider(headers);
  if (!provider) return refuse(400, "InvalidInputException", provider.error().message());
  auto secret = webhook_secret(name);
  if (!secret) return refuse(secret.error());
  if (auto ok = webhook::verify_signature(*provider, headers, req.body, *secret); !ok) {
    return refuse(401, "InvalidSignatureException", ok.error().message());
  }

  auto event = webhook::parse_delivery(headers, req.body);
  if (!event) {
    return refuse(400, "InvalidInputException", "the delivery's body: " + event.error().message());
  }
  if (event->type.empty()) return answer(200, {{"started", false}, {"reason", event->ignored}});

  auto filters = webhook::filter_groups_from_json(hook->value("filterGroups", json::array()));
  if (!filters) return refuse(500, "InternalFailure", filters.error().message());
  auto set = webhook::FilterSet::compile(*filters, hook->value("branchFilter", ""));
  if (!set) return refuse(500, "InternalFailure", set.error().message());
  if (!set->matches(*event)) {
    return answer(200, {{"started", false}, {"reason", "no filter group matches the delivery"}});
  }

  // Recorded only now: a delivery refused above may be sent again once the cause is fixed.
  if (!event->delivery_id.empty()) {
    const double at = std::chrono::duration<double>(clock_.now().time_since_epoch()).count();
    auto fresh =
        store_.record_webhook_delivery(name, event->delivery_id, at, kDeliveryRetentionSeconds);
    if (!fresh) return refuse(500, "InternalFailure", fresh.error().message());
    if (!*fresh) {
      return answer(200, {{"started", false},
                          {"reason", "delivery " + event->delivery_id + " was already received"}});
    }
  }

  // "The status of a build triggered by a webhook is always reported to your source provider"
  // (§9.4): the build's source says so, as StartBuild's override would.
  const json in = {{"projectName", name},
                   {"sourceVersion", webhook::source_version(*event)},
                   {"reportBuildStatusOverride", true}};
  Call c{in,
         event->user_agent.empty() ? webhook::provider_name(event->provider) : event->user_agent,
         options_.account.region, "", req.header("host")};
  for (auto& [var, value] : webhook::webhook_variables(*event)) c.webhook.emplace_back(var, value);
  const bool batch = hook->value("buildType", "BUILD") == "BUILD_BATCH";
  auto queued = batch ? queue_build_batch(*project, c) : queue_build(*project, in, c);
  if (!queued) {
    // Not started: a redelivery (once the limit or the project is fixed) may start it.
    ApiError e = queued.error();
    if (!event->delivery_id.empty()) {
      if (auto forgot = store_.forget_webhook_delivery(name, event->delivery_id); !forgot)
        e.message +=
            " (and a redelivery will be taken for a duplicate: " + forgot.error().describe() + ")";
    }
    return refuse(e);
  }
  const char* member = batch ? "buildBatch" : "build";
  return answer(202, {{"started", true}, {member, (*queued)[member]["id"]}});
}

}  // namespace kiln::api
