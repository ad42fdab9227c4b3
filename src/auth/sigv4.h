// AWS Signature Version 4, verified server-side for Kiln's AWS JSON 1.1 API (the AWS CLI,
// boto3), exactly as docs/reference/codebuild-api.md §2 describes: the canonical request,
// string to sign and signing key of botocore's SigV4Auth, the checks in the order listed there,
// and the error types and messages of real AWS JSON services (docs/reference/codebuild-api.md
// §1.4), all sent with HTTP 400.
//
// Ownership: SignedRequest only borrows the HTTP layer's buffers for the duration of a call.
// Thread safety: every function may be called concurrently from any thread. Derived signing keys
// are kept in one process-wide, internally locked cache. Nothing here throws.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

namespace kiln::auth {

// What the verifier needs; the HTTP layer fills it.
struct SignedRequest {
  std::string_view method, path, query;  // path as received ("/" or "/codebuild-api"), query raw
  // Lower-case names, raw values. A name may repeat: its values are joined with ',' when signed.
  const std::vector<std::pair<std::string, std::string>>* headers = nullptr;
  std::string_view body;
};

struct AccessKey {
  std::string id;
  std::string secret;
  std::string user;
  bool active = true;
};

class KeyLookup {
 public:
  virtual ~KeyLookup() = default;
  // Called once per request, from any thread; must be thread-safe.
  virtual std::optional<AccessKey> find(std::string_view id) const = 0;
};

// Who sent a verified request; region and service are the client's credential scope (the region
// goes into the ARNs Kiln returns).
struct Identity {
  std::string access_key_id, user, region, service;
};

// An AWS error as the wire wants it: `__type` and `message` (HTTP 400 for all of them).
struct AuthError {
  std::string type;
  std::string message;
};

inline constexpr std::int64_t kDefaultMaxSkewSeconds = 900;

// An AWS region's shape: 1..kMaxRegionLength characters of a-z, 0-9 and '-', starting with a
// letter and not ending with '-' ("us-east-1", "eu-central-2", "local").
inline constexpr std::size_t kMaxRegionLength = 32;
bool valid_region(std::string_view region);

// Checks, in order: Authorization present (MissingAuthenticationTokenException), its algorithm
// and shape (IncompleteSignatureException), the key is known and active
// (UnrecognizedClientException), the scope's service is one of `expected_services` and its
// region has valid_region's shape (InvalidSignatureException), X-Amz-Date is present, well formed
// and on the scope's date (IncompleteSignatureException), it is within `max_skew_seconds` of `now`
// either way (InvalidSignatureException "Signature expired" / "Signature not yet current"), host
// and x-amz-date are signed, and so is x-amz-target when the request has one, since Kiln dispatches
// on it (IncompleteSignatureException), the signature (InvalidSignatureException), and last a
// declared x-amz-content-sha256 against the body. `now` is seconds since the epoch.
// An X-Amz-Security-Token is signed like any header but not checked: Kiln issues no session
// tokens, so a request carrying one is accepted on the strength of its key.
[[nodiscard]] tl::expected<Identity, AuthError> verify(
    const SignedRequest& request, const KeyLookup& keys, std::int64_t now,
    std::span<const std::string_view> expected_services,
    std::int64_t max_skew_seconds = kDefaultMaxSkewSeconds);

// The pieces of verify(), public for tests, for Kiln's own clients (sign_request) and for
// debugging a client whose signature disagrees.

// `AWS4-HMAC-SHA256 Credential=<id>/<date>/<region>/<service>/aws4_request,
// SignedHeaders=<h1;h2>, Signature=<hex>`; errors are IncompleteSignatureException.
struct Authorization {
  std::string access_key_id, date, region, service;
  std::string signed_headers;  // verbatim, as the canonical request needs it
  std::string signature;
  std::string scope() const;  // "<date>/<region>/<service>/aws4_request"
};
[[nodiscard]] tl::expected<Authorization, AuthError> parse_authorization(std::string_view value);

// botocore's canonical URI: dot segments and empty segments removed, then every byte but
// unreserved ones and '/' percent-encoded, so an already-encoded "%20" becomes "%2520".
std::string canonical_uri(std::string_view path);
// Pairs split on '&' and '=', sorted, rejoined; not re-encoded (botocore does the same).
std::string canonical_query(std::string_view query);
// The canonical request over the headers named in `signed_headers` (';'-separated). The payload
// hash is x-amz-content-sha256 when the request has it, else SHA-256 of the body. Fails with
// IncompleteSignatureException when a signed header is absent from the request.
[[nodiscard]] tl::expected<std::string, AuthError> canonical_request(
    const SignedRequest& request, std::string_view signed_headers);
std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request);
// hex(HMAC(kSigning, string_to_sign)); the derived key comes from the shared cache.
std::string compute_signature(std::string_view secret, std::string_view date,
                              std::string_view region, std::string_view service,
                              std::string_view string_to_sign);

// The client side: the Authorization value botocore would send for `request`, signing every
// header in it except authorization and the ones botocore never signs (user-agent, connection,
// expect, ...). The request must carry host and x-amz-date.
std::string sign_request(const SignedRequest& request, const AccessKey& key,
                         std::string_view region, std::string_view service);

}  // namespace kiln::auth
