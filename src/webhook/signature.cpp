// How each git host signs a delivery (tests/corpus/webhooks/README.md "Signing a payload in a
// test"), checked in constant time. Nettle, not OpenSSL, for the HMAC: kiln does not load
// libcrypto at run time (ARCHITECTURE.md "Linking").
#include "webhook/signature.h"

#include <nettle/sha2.h>
#include <sodium.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "auth/digest.h"
#include "util/string.h"

namespace kiln::webhook {

namespace {

constexpr std::string_view kPrefix = "sha256=";
constexpr std::size_t kHexDigits = 64;

const std::uint8_t* bytes(std::string_view s) {
  return reinterpret_cast<const std::uint8_t*>(s.data());
}

std::string hmac_hex(std::string_view key, std::string_view message) {
  return to_hex(std::span<const std::uint8_t>(auth::hmac_sha256(key, message)));
}

std::string sha256_raw(std::string_view data) {
  sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, data.size(), bytes(data));
  std::string out(SHA256_DIGEST_SIZE, '\0');
  sha256_digest(&ctx, out.size(), reinterpret_cast<std::uint8_t*>(out.data()));
  return out;
}

bool is_hex(std::string_view s) {
  for (char c : s) {
    const bool digit = c >= '0' && c <= '9';
    const bool lower = c >= 'a' && c <= 'f';
    const bool upper = c >= 'A' && c <= 'F';
    if (!digit && !lower && !upper) return false;
  }
  return true;
}

const std::string* header(const Headers& headers, const std::string& name) {
  const auto it = headers.find(name);
  return it == headers.end() ? nullptr : &it->second;
}

tl::unexpected<Error> refused(const std::string& what) {
  return fail(ErrorCode::kPermission, what);
}

// GitHub's X-Hub-Signature-256 and Bitbucket Cloud's X-Hub-Signature: "sha256=<hex>".
Result<void> verify_hub(const Headers& headers, const std::string& name, const char* display,
                        std::string_view body, std::string_view secret) {
  const std::string* value = header(headers, name);
  if (value == nullptr) return refused(std::string(display) + " is missing");
  const std::string_view v = trim(*value);
  if (!v.starts_with(kPrefix) || v.size() != kPrefix.size() + kHexDigits ||
      !is_hex(v.substr(kPrefix.size()))) {
    return refused(std::string(display) + " is not of the form sha256=<64 hex digits>");
  }
  // Hex digits of either case name the same bytes; the expected value is lowercase.
  const std::string got = to_lower(v.substr(kPrefix.size()));
  if (!auth::constant_time_equal(got, hmac_hex(secret, body))) {
    return refused(std::string(display) + " does not match the body signed with the secret");
  }
  return {};
}

// GitLab sends the secret itself. Compared as SHA-256 digests, so neither the time taken nor an
// early length mismatch tells a caller how long the secret is.
Result<void> verify_gitlab(const Headers& headers, std::string_view secret) {
  const std::string* value = header(headers, signature_header(Provider::kGitLab));
  if (value == nullptr) return refused("X-Gitlab-Token is missing");
  if (!auth::constant_time_equal(sha256_raw(*value), sha256_raw(secret))) {
    return refused("X-Gitlab-Token does not match the secret");
  }
  return {};
}

}  // namespace

const char* signature_header(Provider provider) {
  switch (provider) {
    case Provider::kGitHub: return "x-hub-signature-256";
    case Provider::kGitLab: return "x-gitlab-token";
    case Provider::kBitbucket: return "x-hub-signature";
  }
  return "x-hub-signature-256";
}

Result<void> verify_signature(Provider provider, const Headers& headers, std::string_view body,
                              std::string_view secret) {
  if (secret.empty()) return {};
  switch (provider) {
    case Provider::kGitHub:
      return verify_hub(headers, signature_header(provider), "X-Hub-Signature-256", body, secret);
    case Provider::kBitbucket:
      return verify_hub(headers, signature_header(provider), "X-Hub-Signature", body, secret);
    case Provider::kGitLab: return verify_gitlab(headers, secret);
  }
  return refused("unknown provider");
}

std::string hub_signature(std::string_view secret, std::string_view body) {
  return std::string(kPrefix) + hmac_hex(secret, body);
}

std::string new_secret() {
  if (sodium_init() < 0) {
    // No Result to return here; libsodium fails to initialise only without a random source,
    // where kiln cannot make secrets at all (secrets/seal.cpp stops the same way).
    std::fputs("kiln: libsodium cannot be initialised (sodium_init failed)\n", stderr);
    std::abort();
  }
  std::array<std::uint8_t, 32> raw{};
  randombytes_buf(raw.data(), raw.size());
  std::string hex = to_hex(std::span<const std::uint8_t>(raw));
  sodium_memzero(raw.data(), raw.size());
  return hex;
}

}  // namespace kiln::webhook
