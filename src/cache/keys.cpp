// Object naming: the cache version and key encoding (build_cache.h), plus the small formatting
// helpers of internal.h.
#include <nettle/sha2.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "cache/build_cache.h"
#include "cache/internal.h"
#include "util/string.h"

namespace kiln::cache {

std::string cache_version(const std::vector<std::string>& paths) {
  sha256_ctx ctx;
  sha256_init(&ctx);
  for (const std::string& p : paths) {
    // Each path is followed by a NUL, which no path contains, so ["ab"] and ["a", "b"] differ.
    sha256_update(&ctx, p.size(), reinterpret_cast<const std::uint8_t*>(p.data()));
    const std::uint8_t nul = 0;
    sha256_update(&ctx, 1, &nul);
  }
  std::uint8_t digest[SHA256_DIGEST_SIZE];
  sha256_digest(&ctx, sizeof digest, digest);
  return to_hex(std::span<const std::uint8_t>(digest, 8));
}

std::string encode_key(const std::string& key) {
  // Byte by byte, so encode(prefix) is a prefix of encode(key) and a fallback key can be
  // searched as a plain prefix of object names. '/' and '%' are escaped, and so is a leading
  // '.', so neither a key nor a namespace (an unchecked cacheNamespace) can be "." or "..".
  std::string out = percent_encode(key, "._-");
  if (!out.empty() && out.front() == '.') out.replace(0, 1, "%2E");
  return out;
}

namespace detail {

std::string human_bytes(std::uint64_t bytes) {
  static const char* const kUnits[] = {"B", "kB", "MB", "GB", "TB"};
  auto value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1000 && unit + 1 < std::size(kUnits)) {
    value /= 1000;
    ++unit;
  }
  char buf[32];
  if (unit == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", value, kUnits[unit]);
  }
  return buf;
}

std::string human_seconds(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", seconds);
  return buf;
}

std::optional<std::string> workspace_relative(const std::string& path,
                                              const std::string& build_src_dir) {
  if (path.empty() || path.front() != '/') return path;
  std::string root = build_src_dir;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (root.empty() || root == "/") return std::nullopt;
  if (path == root) return std::string(".");
  if (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
      path[root.size()] == '/') {
    std::string rel = path.substr(root.size() + 1);
    return rel.empty() ? std::string(".") : rel;
  }
  return std::nullopt;
}

double epoch_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace detail
}  // namespace kiln::cache
