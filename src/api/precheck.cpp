#include "api/precheck.h"

#include <array>
#include <chrono>
#include <string>
#include <utility>

#include "auth/amz_date.h"
#include "http/wire.h"
#include "util/string.h"

namespace kiln::api {
namespace {

http::Response refusal(std::string_view type, const std::string& message) {
  http::Response r = http::json_error(400, type, message);
  r.headers.emplace_back("X-Amzn-ErrorType", std::string(type));
  r.headers.emplace_back("Connection", "close");
  return r;
}

std::optional<http::Response> precheck_delivery(const http::Request& head) {
  auto refuse = [](int status, std::string_view type, const std::string& message) {
    http::Response r = http::json_error(status, type, message);
    r.headers.emplace_back("Connection", "close");
    return r;
  };
  if (head.method != "POST") return refuse(405, "MethodNotAllowed", "webhook deliveries are POSTs");
  // The provider's event header, and the signature header that provider sends with a secret.
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 3> kProviders = {{
      {"x-github-event", "x-hub-signature-256"},
      {"x-gitlab-event", "x-gitlab-token"},
      {"x-event-key", "x-hub-signature"},
  }};
  for (const auto& [event, signature] : kProviders) {
    if (head.header(event) == nullptr) continue;
    if (head.header(signature) != nullptr) return std::nullopt;
    return refuse(401, "InvalidSignatureException",
                  "the delivery is not signed: " + std::string(signature) +
                      " is missing (give the webhook its secret at the git host)");
  }
  return refuse(400, "InvalidInputException",
                "not a webhook delivery: no X-GitHub-Event, X-Gitlab-Event or X-Event-Key header");
}

}  // namespace

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
  const std::string* target = head.header("x-amz-target");
  return target != nullptr && target->starts_with("Logs_20140328.");
}

}  // namespace kiln::api
