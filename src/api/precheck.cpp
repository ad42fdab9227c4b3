#include "api/precheck.h"

#include <chrono>
#include <string>

#include "auth/amz_date.h"
#include "http/wire.h"
#include "util/string.h"
#include "webhook/delivery.h"
#include "webhook/signature.h"

namespace kiln::api {
namespace {

http::Response refusal(std::string_view type, const std::string& message, int status = 400) {
  http::Response r = http::json_error(status, type, message);
  r.headers.emplace_back("X-Amzn-ErrorType", std::string(type));
  r.headers.emplace_back("Connection", "close");
  return r;
}

std::optional<http::Response> precheck_delivery(const http::Request& head) {
  if (head.method != "POST")
    return refusal("MethodNotAllowed", "webhook deliveries are POSTs", 405);
  // Only the headers are needed to tell the provider and its signature header.
  const auto provider = webhook::detect_provider(webhook_headers(head));
  if (!provider) {
    return refusal("InvalidInputException",
                   "not a webhook delivery: " + provider.error().message());
  }
  const char* signature = webhook::signature_header(*provider);
  if (head.header(signature) != nullptr) return std::nullopt;
  return refusal("InvalidSignatureException",
                 "the delivery is not signed: " + std::string(signature) +
                     " is missing (give the webhook its secret at the git host)",
                 401);
}

}  // namespace

webhook::Headers webhook_headers(const http::Request& req) {
  webhook::Headers h;
  for (const auto& [name, value] : req.headers) h.emplace(name, value);  // the first one wins
  return h;
}

std::optional<http::Response> precheck_request(const http::Request& head,
                                               const auth::KeyLookup& keys, std::int64_t now,
                                               bool allow_anonymous,
                                               std::int64_t max_skew_seconds) {
  if (head.path.starts_with("/webhooks/")) return precheck_delivery(head);
  const std::string* header = head.header("authorization");
  if (header == nullptr) {
    if (allow_anonymous) return std::nullopt;
    return refusal("MissingAuthenticationTokenException", "Missing Authentication Token");
  }
  auto auth = auth::parse_authorization(*header);
  if (!auth) return refusal(auth.error().type, auth.error().message);
  const auto key = keys.find(auth->access_key_id);
  if (!key || !key->active) {
    return refusal("UnrecognizedClientException",
                   "The security token included in the request is invalid.");
  }
  // The date's shape and scope are auth::verify's to judge, with its exact messages; only a
  // date far from now (a replayed or stale request) is refused here.
  const std::string* date = head.header("x-amz-date");
  if (date == nullptr) {
    return refusal("IncompleteSignatureException",
                   "Authorization header requires existence of a 'X-Amz-Date' header.");
  }
  const std::string_view shown = trim(*date, " \t");
  const auto when = auth::parse_amz_date(shown);
  if (!when) {
    return refusal("IncompleteSignatureException",
                   "Date must be in ISO-8601 'basic format'. Got '" + std::string(shown) +
                       "'. See http://en.wikipedia.org/wiki/ISO_8601");
  }
  if (*when < now - max_skew_seconds) {
    return refusal("InvalidSignatureException", "Signature expired: " + std::string(shown) +
                                                    " is now earlier than " +
                                                    auth::format_amz_date(now - max_skew_seconds));
  }
  if (*when > now + max_skew_seconds) {
    return refusal("InvalidSignatureException", "Signature not yet current: " + std::string(shown) +
                                                    " is still later than " +
                                                    auth::format_amz_date(now + max_skew_seconds));
  }
  return std::nullopt;
}

Precheck make_precheck(const auth::KeyLookup& keys, const Clock& clock, bool allow_anonymous,
                       std::int64_t max_skew_seconds) {
  return [&keys, &clock, allow_anonymous, max_skew_seconds](const http::Request& head) {
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
    return precheck_request(head, keys, now, allow_anonymous, max_skew_seconds);
  };
}

bool is_file_work(const http::Request& head) {
  if (head.path.starts_with("/logs/")) return true;
  if (head.path == "/events") return true;  // a Last-Event-ID replay reads the journal
  const std::string* target = head.header("x-amz-target");
  return target != nullptr && target->starts_with("Logs_20140328.");
}

}  // namespace kiln::api
