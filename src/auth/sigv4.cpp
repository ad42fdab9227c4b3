#include "auth/sigv4.h"

#include <algorithm>
#include <array>

#include "auth/amz_date.h"
#include "auth/digest.h"
#include "util/string.h"

namespace kiln::auth {

namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kTerminator = "aws4_request";
constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

constexpr const char* kMissingToken = "MissingAuthenticationTokenException";
constexpr const char* kIncomplete = "IncompleteSignatureException";
constexpr const char* kUnrecognized = "UnrecognizedClientException";
constexpr const char* kInvalid = "InvalidSignatureException";

// AWS's wording, so that clients and people searching for the text find the usual causes.
constexpr const char* kSignatureMismatch =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

// botocore's SIGNED_HEADERS_BLACKLIST: headers proxies may change, so clients never sign them.
constexpr std::array<std::string_view, 11> kNeverSigned = {"connection",
                                                           "expect",
                                                           "keep-alive",
                                                           "proxy-authenticate",
                                                           "proxy-authorization",
                                                           "te",
                                                           "trailer",
                                                           "transfer-encoding",
                                                           "upgrade",
                                                           "user-agent",
                                                           "x-amzn-trace-id"};

tl::unexpected<AuthError> error(const char* type, std::string message) {
  return tl::unexpected<AuthError>(AuthError{type, std::move(message)});
}

bool is_space(char c) {
  return kWhitespace.find(c) != std::string_view::npos;
}

// SigV4's Trimall: outer whitespace dropped, inner runs collapsed to one space.
void append_trimmed_all(std::string& out, std::string_view value) {
  value = trim(value);
  bool in_space = false;
  for (char c : value) {
    if (is_space(c)) {
      in_space = true;
      continue;
    }
    if (in_space) out += ' ';
    in_space = false;
    out += c;
  }
}

const std::string* first_header(const SignedRequest& request, std::string_view name) {
  if (request.headers == nullptr) return nullptr;
  for (const auto& [n, v] : *request.headers) {
    if (n == name) return &v;
  }
  return nullptr;
}

// Every value of a repeated header, each trimmed, joined with ',' (as botocore does).
std::optional<std::string> canonical_header_value(const SignedRequest& request,
                                                  std::string_view name) {
  if (request.headers == nullptr) return std::nullopt;
  std::optional<std::string> out;
  for (const auto& [n, v] : *request.headers) {
    if (n != name) continue;
    if (out) {
      *out += ',';
    } else {
      out.emplace();
    }
    append_trimmed_all(*out, v);
  }
  return out;
}

SigningKeyCache& shared_key_cache() {
  static SigningKeyCache cache;
  return cache;
}

std::string skew_text(std::int64_t seconds) {
  if (seconds % 60 == 0) return std::to_string(seconds / 60) + " min.";
  return std::to_string(seconds) + " sec.";
}

bool is_hex_sha256(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string services_text(std::span<const std::string_view> services) {
  std::string out;
  for (std::size_t i = 0; i < services.size(); ++i) {
    if (i > 0) out += " or ";
    out += "'";
    out += services[i];
    out += "'";
  }
  return out;
}

// Checks 5 and 6: X-Amz-Date present, well formed, on the scope's date, and not too far from now.
tl::expected<void, AuthError> check_date(const SignedRequest& request, const Authorization& auth,
                                         std::int64_t now, std::int64_t max_skew) {
  const std::string* raw = first_header(request, "x-amz-date");
  if (raw == nullptr) {
    return error(kIncomplete, "Authorization header requires existence of a 'X-Amz-Date' header.");
  }
  const std::string_view amz_date = trim(*raw);
  const auto when = parse_amz_date(amz_date);
  if (!when) {
    return error(kIncomplete, "Date must be in ISO-8601 'basic format'. Got '" +
                                  std::string(amz_date) +
                                  "'. See http://en.wikipedia.org/wiki/ISO_8601");
  }
  if (amz_date.substr(0, 8) != auth.date) {
    return error(kIncomplete,
                 "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                 "from HTTP: '" +
                     auth.date + "' != '" + std::string(amz_date.substr(0, 8)) + "', from '" +
                     std::string(amz_date) + "'.");
  }
  if (*when < now - max_skew) {
    return error(kInvalid, "Signature expired: " + std::string(amz_date) + " is now earlier than " +
                               format_amz_date(now - max_skew) + " (" + format_amz_date(now) +
                               " - " + skew_text(max_skew) + ")");
  }
  if (*when > now + max_skew) {
    return error(kInvalid, "Signature not yet current: " + std::string(amz_date) +
                               " is still later than " + format_amz_date(now + max_skew) + " (" +
                               format_amz_date(now) + " + " + skew_text(max_skew) + ")");
  }
  return {};
}

// Check 7: the headers an attacker must not be able to change are covered by the signature.
tl::expected<void, AuthError> check_signed_headers(const SignedRequest& request,
                                                   const Authorization& auth) {
  const auto names = split(auth.signed_headers, ';');
  const auto is_signed = [&](std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  if (!is_signed("host")) {
    return error(kIncomplete, "'Host' must be a 'SignedHeader' in the AWS Authorization.");
  }
  if (!is_signed("x-amz-date")) {
    return error(kIncomplete, "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.");
  }
  // Kiln picks the operation from X-Amz-Target: unsigned, a replayed request could be turned
  // into another operation.
  if (first_header(request, "x-amz-target") != nullptr && !is_signed("x-amz-target")) {
    return error(kIncomplete, "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.");
  }
  return {};
}

// After the signature: a declared payload hash must be the body's, or the body is unsigned.
tl::expected<void, AuthError> check_content_sha256(const SignedRequest& request) {
  const std::string* declared = first_header(request, "x-amz-content-sha256");
  if (declared == nullptr) return {};
  const std::string_view value = trim(*declared);
  if (value == kUnsignedPayload) return {};
  if (!is_hex_sha256(value)) {
    return error(kInvalid, "x-amz-content-sha256 '" + std::string(value) +
                               "' is not supported: send the hex SHA-256 of the body or " +
                               std::string(kUnsignedPayload) + ".");
  }
  if (value != sha256_hex(request.body)) {
    return error(kInvalid,
                 "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  return {};
}

}  // namespace

bool valid_region(std::string_view region) {
  if (region.empty() || region.size() > kMaxRegionLength) return false;
  if (region.front() < 'a' || region.front() > 'z' || region.back() == '-') return false;
  return std::all_of(region.begin(), region.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

std::string Authorization::scope() const {
  return date + "/" + region + "/" + service + "/" + std::string(kTerminator);
}

tl::expected<Authorization, AuthError> parse_authorization(std::string_view value) {
  const std::string_view header = trim(value);
  const auto space = header.find(' ');
  const std::string_view algorithm = header.substr(0, space);
  if (algorithm != kAlgorithm) {
    return error(kIncomplete, "Unsupported AWS 'algorithm': '" + std::string(algorithm) +
                                  "'. Kiln accepts only " + std::string(kAlgorithm) + ".");
  }
  std::string_view credential, signed_headers, signature;
  const std::string_view rest = space == std::string_view::npos ? "" : header.substr(space + 1);
  for (std::string_view part : split(rest, ',')) {
    part = trim(part);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    if (eq == std::string_view::npos) {
      return error(kIncomplete, "'" + std::string(part) +
                                    "' not a valid key=value pair (missing equal-sign) in "
                                    "Authorization header: '" +
                                    std::string(header) + "'.");
    }
    const std::string_view key = part.substr(0, eq), val = part.substr(eq + 1);
    if (key == "Credential") credential = val;
    if (key == "SignedHeaders") signed_headers = val;
    if (key == "Signature") signature = val;
  }
  std::string missing;
  if (credential.empty()) missing += "Authorization header requires 'Credential' parameter. ";
  if (signature.empty()) missing += "Authorization header requires 'Signature' parameter. ";
  if (signed_headers.empty()) {
    missing += "Authorization header requires 'SignedHeaders' parameter. ";
  }
  if (!missing.empty()) return error(kIncomplete, missing + "Authorization=" + std::string(header));

  const auto scope = split(credential, '/');
  if (scope.size() != 5 ||
      std::any_of(scope.begin(), scope.end(), [](std::string_view s) { return s.empty(); })) {
    return error(kIncomplete,
                 "Credential should have exactly 5 non-empty slash-delimited elements, e.g. "
                 "keyID/date/region/service/term, got '" +
                     std::string(credential) + "'.");
  }
  if (scope[4] != kTerminator) {
    return error(kIncomplete, "Credential should be scoped with a valid terminator: '" +
                                  std::string(kTerminator) + "', not '" + std::string(scope[4]) +
                                  "'.");
  }
  return Authorization{std::string(scope[0]), std::string(scope[1]),       std::string(scope[2]),
                       std::string(scope[3]), std::string(signed_headers), std::string(signature)};
}

std::string canonical_uri(std::string_view path) {
  if (path.empty()) return "/";
  // RFC 3986 remove_dot_segments, and empty segments dropped, as botocore's normalize_url_path.
  std::vector<std::string_view> kept;
  for (std::string_view seg : split(path, '/')) {
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!kept.empty()) kept.pop_back();
      continue;
    }
    kept.push_back(seg);
  }
  std::string normalized = path.front() == '/' ? "/" : "";
  for (std::size_t i = 0; i < kept.size(); ++i) {
    if (i > 0) normalized += '/';
    normalized += kept[i];
  }
  if (path.back() == '/' && !kept.empty()) normalized += '/';

  // Python's quote(path, safe='/~').
  return percent_encode(normalized, "_.-~/");
}

std::string canonical_query(std::string_view query) {
  if (query.empty()) return "";
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  for (std::string_view pair : split(query, '&')) {
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) {
      pairs.emplace_back(pair, std::string_view());
    } else {
      pairs.emplace_back(pair.substr(0, eq), pair.substr(eq + 1));
    }
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [key, value] : pairs) {
    if (!out.empty()) out += '&';
    out.append(key).append("=").append(value);
  }
  return out;
}

tl::expected<std::string, AuthError> canonical_request(const SignedRequest& request,
                                                       std::string_view signed_headers) {
  std::string out;
  out.reserve(512);
  out.append(request.method).append("\n");
  out.append(canonical_uri(request.path)).append("\n");
  out.append(canonical_query(request.query)).append("\n");
  for (std::string_view name : split(signed_headers, ';')) {
    auto value = canonical_header_value(request, name);
    if (!value) {
      return error(kIncomplete, "SignedHeaders names '" + std::string(name) +
                                    "', but the request has no such header.");
    }
    out.append(name).append(":").append(*value).append("\n");
  }
  out.append("\n").append(signed_headers).append("\n");
  if (const std::string* declared = first_header(request, "x-amz-content-sha256")) {
    out.append(trim(*declared));
  } else {
    out.append(sha256_hex(request.body));
  }
  return out;
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request) {
  std::string out(kAlgorithm);
  out.append("\n").append(amz_date).append("\n").append(scope).append("\n");
  out.append(sha256_hex(canonical_request));
  return out;
}

std::string compute_signature(std::string_view secret, std::string_view date,
                              std::string_view region, std::string_view service,
                              std::string_view string_to_sign) {
  const Digest key = shared_key_cache().get(secret, date, region, service);
  return to_hex(hmac_sha256(key, string_to_sign));
}

tl::expected<Identity, AuthError> verify(const SignedRequest& request, const KeyLookup& keys,
                                         std::int64_t now,
                                         std::span<const std::string_view> expected_services,
                                         std::int64_t max_skew_seconds) {
  const std::string* header = first_header(request, "authorization");
  if (header == nullptr) return error(kMissingToken, "Missing Authentication Token");
  auto auth = parse_authorization(*header);
  if (!auth) return tl::unexpected(std::move(auth.error()));

  const auto key = keys.find(auth->access_key_id);
  if (!key || !key->active) {
    return error(kUnrecognized, "The security token included in the request is invalid.");
  }
  if (std::find(expected_services.begin(), expected_services.end(), auth->service) ==
      expected_services.end()) {
    return error(kInvalid, "Credential should be scoped to correct service: " +
                               services_text(expected_services) + ".");
  }
  if (!valid_region(auth->region)) {
    // The region goes into every ARN Kiln mints: only a region's shape gets that far. Quoted
    // back cut short, since it is the client's text.
    const std::string shown =
        auth->region.size() > 32 ? auth->region.substr(0, 32) + "..." : auth->region;
    return error(kInvalid, "Credential should be scoped to a valid region, not '" + shown +
                               "'. A region is 1 to " + std::to_string(kMaxRegionLength) +
                               " lowercase letters, digits and '-', such as us-east-1.");
  }
  if (auto ok = check_date(request, *auth, now, max_skew_seconds); !ok) {
    return tl::unexpected(std::move(ok.error()));
  }
  if (auto ok = check_signed_headers(request, *auth); !ok) {
    return tl::unexpected(std::move(ok.error()));
  }
  auto creq = canonical_request(request, auth->signed_headers);
  if (!creq) return tl::unexpected(std::move(creq.error()));
  const std::string sts =
      string_to_sign(trim(*first_header(request, "x-amz-date")), auth->scope(), *creq);
  const std::string expected =
      compute_signature(key->secret, auth->date, auth->region, auth->service, sts);
  if (!constant_time_equal(expected, auth->signature)) return error(kInvalid, kSignatureMismatch);
  if (auto ok = check_content_sha256(request); !ok) return tl::unexpected(std::move(ok.error()));
  return Identity{auth->access_key_id, key->user, auth->region, auth->service};
}

std::string sign_request(const SignedRequest& request, const AccessKey& key,
                         std::string_view region, std::string_view service) {
  std::vector<std::string_view> names;
  if (request.headers != nullptr) {
    for (const auto& [name, value] : *request.headers) {
      if (name == "authorization" ||
          std::find(kNeverSigned.begin(), kNeverSigned.end(), name) != kNeverSigned.end()) {
        continue;
      }
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string signed_headers;
  for (std::string_view name : names) {
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += name;
  }
  const std::string* date_header = first_header(request, "x-amz-date");
  const std::string_view amz_date = date_header != nullptr ? trim(*date_header) : "";
  const std::string_view date = amz_date.substr(0, 8);
  const std::string scope = std::string(date) + "/" + std::string(region) + "/" +
                            std::string(service) + "/" + std::string(kTerminator);
  // Every name comes from the request itself, so building the canonical request cannot fail.
  const std::string creq = canonical_request(request, signed_headers).value_or("");
  const std::string signature =
      compute_signature(key.secret, date, region, service, string_to_sign(amz_date, scope, creq));
  return std::string(kAlgorithm) + " Credential=" + key.id + "/" + scope +
         ", SignedHeaders=" + signed_headers + ", Signature=" + signature;
}

}  // namespace kiln::auth
