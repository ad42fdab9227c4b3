// The hashing under SigV4: SHA-256, HMAC-SHA256, the derived signing key and a cache of those
// keys, and a constant-time comparison. nettle, not OpenSSL: `kiln` avoids libcrypto at run time
// (ARCHITECTURE.md "Linking").
// Thread safety: the free functions are pure; SigningKeyCache locks internally and may be shared
// by any number of threads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace kiln::auth {

using Digest = std::array<std::uint8_t, 32>;  // in hex: kiln::to_hex (util/string.h)

std::string sha256_hex(std::string_view data);
Digest hmac_sha256(const Digest& key, std::string_view message);
// HMAC-SHA256 with a key of any length (a webhook's or an event target's secret).
Digest hmac_sha256(std::string_view key, std::string_view message);

// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
Digest derive_signing_key(std::string_view secret, std::string_view date, std::string_view region,
                          std::string_view service);

// True when a and b hold the same bytes. The time taken depends on the lengths only, never on
// where the first difference is, so a caller cannot find a signature byte by byte.
bool constant_time_equal(std::string_view a, std::string_view b);

// Derived signing keys by (secret, date, region, service). Deriving one costs four HMACs; a
// client signs every request of a day with the same key, so a hit saves most of verify()'s
// hashing. Bounded: when full it is emptied, which costs one derivation per live key. Entries
// are only added for secrets of known keys, so a caller without a key cannot grow it.
class SigningKeyCache {
 public:
  explicit SigningKeyCache(std::size_t capacity = 256) : capacity_(capacity) {}
  Digest get(std::string_view secret, std::string_view date, std::string_view region,
             std::string_view service);
  std::size_t size() const;

 private:
  mutable std::mutex mu_;
  std::size_t capacity_;
  std::unordered_map<std::string, Digest> keys_;  // "date/region/service/secret"
};

}  // namespace kiln::auth
