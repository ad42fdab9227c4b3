// Checks that a delivery comes from the git host that holds the webhook's secret, as each
// provider signs (tests/corpus/webhooks/README.md "Signing a payload in a test"):
// - GitHub and GitHub Enterprise: X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256(secret, body);
// - GitLab: X-Gitlab-Token = the secret itself;
// - Bitbucket Cloud: X-Hub-Signature = "sha256=" + hex HMAC-SHA256(secret, body).
// Every comparison is constant-time (auth::constant_time_equal). Run before the body is parsed.
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "util/error.h"
#include "webhook/event.h"

namespace kiln::webhook {

// Ok when the delivery carries a valid signature for `secret`. An empty `secret` (a webhook
// created without one) accepts any delivery. Errors are kPermission and say what was wrong
// without echoing the expected value: "X-Hub-Signature-256 is missing", "... does not match",
// "... is not of the form sha256=<64 hex digits>".
Result<void> verify_signature(Provider provider, const Headers& headers, std::string_view body,
                              std::string_view secret);

// The lower-case name of the header `provider` signs its deliveries with: x-hub-signature-256,
// x-gitlab-token or x-hub-signature.
const char* signature_header(Provider provider);

// "sha256=<hex>": what GitHub and Bitbucket send for `body` signed with `secret`.
std::string hub_signature(std::string_view secret, std::string_view body);

// A new webhook secret: 32 random bytes (libsodium), as 64 lowercase hex digits.
std::string new_secret();

}  // namespace kiln::webhook
