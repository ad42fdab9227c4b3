// evict(): age first, then least recently modified until the total fits (build_cache.h).
#include <algorithm>
#include <vector>

#include "cache/build_cache.h"

namespace kiln::cache {

Result<std::size_t> evict(CacheStore& store, const std::string& prefix, std::uint64_t max_bytes,
                          std::chrono::seconds max_age, double now) {
  auto objects = store.list(prefix);
  if (!objects) return fail(std::move(objects.error()).with("while evicting cache objects"));
  std::size_t removed = 0;
  std::vector<CacheObject> kept;
  const auto age_limit = static_cast<double>(max_age.count());
  for (CacheObject& o : *objects) {
    if (age_limit > 0 && now - o.modified > age_limit) {
      auto r = store.remove(o.name);
      if (!r) return fail(std::move(r.error()).with("while evicting cache objects"));
      ++removed;
    } else {
      kept.push_back(std::move(o));
    }
  }
  if (max_bytes == 0) return removed;
  std::uint64_t total = 0;
  for (const CacheObject& o : kept) total += o.size;
  // Oldest first; the name breaks ties so the order does not depend on the listing.
  std::sort(kept.begin(), kept.end(), [](const CacheObject& a, const CacheObject& b) {
    return a.modified != b.modified ? a.modified < b.modified : a.name < b.name;
  });
  for (const CacheObject& o : kept) {
    if (total <= max_bytes) break;
    auto r = store.remove(o.name);
    if (!r) return fail(std::move(r.error()).with("while evicting cache objects"));
    total -= o.size;
    ++removed;
  }
  return removed;
}

}  // namespace kiln::cache
