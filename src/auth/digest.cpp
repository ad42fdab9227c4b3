#include "auth/digest.h"

#include <nettle/hmac.h>
#include <nettle/sha2.h>

#include "util/string.h"

namespace kiln::auth {

namespace {

const std::uint8_t* bytes(std::string_view s) {
  return reinterpret_cast<const std::uint8_t*>(s.data());
}

Digest hmac_raw(const std::uint8_t* key, std::size_t key_size, std::string_view message) {
  hmac_sha256_ctx ctx;
  hmac_sha256_set_key(&ctx, key_size, key);
  hmac_sha256_update(&ctx, message.size(), bytes(message));
  Digest out;
  hmac_sha256_digest(&ctx, out.size(), out.data());
  return out;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, data.size(), bytes(data));
  Digest out;
  sha256_digest(&ctx, out.size(), out.data());
  return to_hex(out);
}

Digest hmac_sha256(const Digest& key, std::string_view message) {
  return hmac_raw(key.data(), key.size(), message);
}

Digest hmac_sha256(std::string_view key, std::string_view message) {
  return hmac_raw(bytes(key), key.size(), message);
}

Digest derive_signing_key(std::string_view secret, std::string_view date, std::string_view region,
                          std::string_view service) {
  std::string first_key = "AWS4";
  first_key += secret;
  const Digest k_date = hmac_raw(bytes(first_key), first_key.size(), date);
  return hmac_sha256(hmac_sha256(hmac_sha256(k_date, region), service), "aws4_request");
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = static_cast<unsigned char>(
        diff | (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i])));
  }
  return diff == 0;
}

Digest SigningKeyCache::get(std::string_view secret, std::string_view date, std::string_view region,
                            std::string_view service) {
  // date, region and service come from a Credential split on '/', so they hold no '/' and the
  // key is unambiguous whatever the secret contains.
  std::string cache_key;
  cache_key.reserve(date.size() + region.size() + service.size() + secret.size() + 3);
  cache_key.append(date).append("/").append(region).append("/").append(service).append("/");
  cache_key.append(secret);
  {
    std::lock_guard lock(mu_);
    if (auto it = keys_.find(cache_key); it != keys_.end()) return it->second;
  }
  // Derived outside the lock: two threads may both derive the same key, which is harmless.
  const Digest key = derive_signing_key(secret, date, region, service);
  std::lock_guard lock(mu_);
  if (keys_.size() >= capacity_) keys_.clear();
  keys_.emplace(std::move(cache_key), key);
  return key;
}

std::size_t SigningKeyCache::size() const {
  std::lock_guard lock(mu_);
  return keys_.size();
}

}  // namespace kiln::auth
