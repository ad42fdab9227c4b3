// The checks a request passes before the HTTP server reads its body (http::ServerOptions::
// precheck, docs/security.md): its SigV4 Authorization header is present and well formed, names
// a known, active key, and its X-Amz-Date is within the skew window. A request that fails is
// answered at once with the error Service::handle would give it (auth::verify's types and
// messages), so an unauthenticated peer cannot make the server hold a 10 MiB body. The signature
// itself covers the body and is checked later by auth::verify. With --allow-anonymous an
// unsigned request passes; a signed one is still checked.
// Webhook deliveries (POST /webhooks/<project>, docs/webhooks.md) carry no SigV4: their
// signature is an HMAC over the body, so the body must be read to check it. Before it is read,
// a delivery must be a POST that names a provider's event and carries that provider's signature
// header (every Kiln webhook has a secret); anything else is refused after its head.
//
// Ownership: the returned function borrows `keys` and `clock`, which must outlive it. Thread
// safety: it may be called from many threads at once (KeyLookup::find is thread-safe).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "auth/sigv4.h"
#include "http/server.h"
#include "util/clock.h"
#include "webhook/event.h"

namespace kiln::api {

using Precheck = std::function<std::optional<http::Response>(const http::Request&)>;

// nullopt: read the body and let Service::handle decide. Else the refusal to send.
std::optional<http::Response> precheck_request(const http::Request& head,
                                               const auth::KeyLookup& keys, std::int64_t now,
                                               bool allow_anonymous, std::int64_t max_skew_seconds);

Precheck make_precheck(const auth::KeyLookup& keys, const Clock& clock, bool allow_anonymous,
                       std::int64_t max_skew_seconds = auth::kDefaultMaxSkewSeconds);

// A request's headers as the webhook layer takes them (names are already lower-case; the first of
// a repeated header wins).
webhook::Headers webhook_headers(const http::Request& req);

// True for requests whose handler reads log files (GET /logs/..., the Logs_ API): the server runs
// them on its workers so they never stall the I/O threads (http::ServerOptions::offload).
bool is_file_work(const http::Request& head);

}  // namespace kiln::api
