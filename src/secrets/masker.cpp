#include "secrets/masker.h"

#include <algorithm>
#include <cstring>
#include <utility>

// Only the standard library: the fuzz target compiles this file on its own.

namespace kiln::secrets {
namespace {

// Text is sampled every kStride bytes. A match starting at p holds its grams at offsets
// 0..kStride-1 at p..p+kStride-1, and exactly one of those positions is a sample, so a table
// of the grams at those offsets of every pattern finds every match. A larger stride would
// skip more, but the key id pattern's grams past offset 3 are any pair of [A-Z0-9], which
// ordinary text (timestamps, "HTTP") hits all the time.
constexpr std::size_t kStride = 4;
// The second test reads the gram at offset j+2 <= kStride+1 of every pattern.
static_assert(kStride + 3 <= kMinSecretLength && kStride + 3 <= kAccessKeyIdLength);
constexpr std::uint32_t kLowNibble = (1U << kStride) - 1;

std::uint32_t gram(const char* p) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(p[0])) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(p[1])) << 8;
}

constexpr std::uint32_t gram_of(char a, char b) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(a)) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b)) << 8;
}
constexpr std::uint32_t kGramAK = gram_of('A', 'K');
constexpr std::uint32_t kGramAS = gram_of('A', 'S');

template <std::size_t N>
bool has(const std::array<std::uint64_t, N>& bits, std::uint32_t i) {
  return ((bits[i >> 6] >> (i & 63)) & 1U) != 0;
}

template <std::size_t N>
void set(std::array<std::uint64_t, N>& bits, std::uint32_t i) {
  bits[i >> 6] |= std::uint64_t{1} << (i & 63);
}

bool is_key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// How many leading bytes of d[0..n) agree with the access key id pattern (at most 20).
std::size_t key_prefix(const char* d, std::size_t n) {
  const std::size_t m = std::min(n, kAccessKeyIdLength);
  for (std::size_t i = 0; i < m; ++i) {
    bool ok = false;
    switch (i) {
      case 0: ok = d[0] == 'A'; break;
      case 1: ok = d[1] == 'K' || d[1] == 'S'; break;
      case 2: ok = d[2] == 'I'; break;
      case 3: ok = d[3] == 'A'; break;
      default: ok = is_key_char(d[i]); break;
    }
    if (!ok) return i;
  }
  return m;
}

// The reference's own check, kept apart from key_prefix so the two implementations do not
// share a mistake.
bool starts_with_key_id(std::string_view s) {
  if (s.size() < kAccessKeyIdLength) return false;
  if (!s.starts_with("AKIA") && !s.starts_with("ASIA")) return false;
  const std::string_view rest = s.substr(4, kAccessKeyIdLength - 4);
  return std::all_of(rest.begin(), rest.end(), is_key_char);
}

}  // namespace

std::string mask_all(std::string_view text, const std::vector<std::string>& values) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::string_view rest = text.substr(i);
    std::size_t best = starts_with_key_id(rest) ? kAccessKeyIdLength : 0;
    for (const auto& v : values) {
      if (v.size() >= kMinSecretLength && v.size() > best && rest.starts_with(v)) best = v.size();
    }
    if (best > 0) {
      out += kMaskText;
      i += best;
    } else {
      out += text[i];
      ++i;
    }
  }
  return out;
}

Masker::Masker() : flags_(std::size_t{1} << 16) {
  // The key id pattern's grams at offsets 0..5: A[KS], [KS]I, IA, A[A-Z0-9], then any pair of
  // [A-Z0-9] (only the high nibble needs those: offsets 4 and 5).
  const std::string_view key_chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  for (const std::string_view head : {"AKIA", "ASIA"}) index_grams(head);
  for (const char c : key_chars) {
    flags_[gram_of('A', c)] |= offset_bits(3);
    for (const char c2 : key_chars) flags_[gram_of(c, c2)] |= offset_bits(4) | offset_bits(5);
  }
}

// Offsets 0..3 set the low nibble (bit j: the gram is at offset j); offsets 2..5 set the high
// nibble (bit 4+j: the gram is at offset j+2).
std::uint8_t Masker::offset_bits(std::size_t offset) {
  std::uint8_t b = 0;
  if (offset < kStride) b |= static_cast<std::uint8_t>(1U << offset);
  if (offset >= 2 && offset < kStride + 2) b |= static_cast<std::uint8_t>(1U << (offset + 2));
  return b;
}

void Masker::index_grams(std::string_view pattern) {
  for (std::size_t j = 0; j < kStride + 2 && j + 1 < pattern.size(); ++j) {
    flags_[gram(pattern.data() + j)] |= offset_bits(j);
  }
}

bool Masker::add(std::string value) {
  if (value.size() < kMinSecretLength) return false;
  if (std::find(values_.begin(), values_.end(), value) != values_.end()) return true;
  index_grams(value);
  set(first_bytes_, static_cast<unsigned char>(value[0]));
  max_len_ = std::max(max_len_, value.size());
  values_.push_back(std::move(value));
  std::sort(values_.begin(), values_.end(), [](const std::string& a, const std::string& b) {
    const std::uint32_t ga = gram(a.data());
    const std::uint32_t gb = gram(b.data());
    if (ga != gb) return ga < gb;
    if (a.size() != b.size()) return a.size() > b.size();
    return a < b;
  });
  first_grams_.clear();
  for (const auto& v : values_) first_grams_.push_back(static_cast<std::uint16_t>(gram(v.data())));
  return true;
}

// The longest match at d, which has at least max_len_ readable bytes.
std::size_t Masker::longest_at(const char* d) const {
  const std::uint32_t g = gram(d);
  std::size_t best = 0;
  if ((g == kGramAK || g == kGramAS) && key_prefix(d, kAccessKeyIdLength) == kAccessKeyIdLength) {
    best = kAccessKeyIdLength;
  }
  auto it = std::lower_bound(first_grams_.begin(), first_grams_.end(), g);
  for (auto i = static_cast<std::size_t>(it - first_grams_.begin());
       i < values_.size() && first_grams_[i] == g; ++i) {
    const std::string& v = values_[i];
    if (v.size() <= best) break;  // longest first: nothing further can beat `best`
    if (std::memcmp(d, v.data(), v.size()) == 0) return v.size();
  }
  return best;
}

// The first position in [from, limit) where a match begins, or `limit`; sets *len to the
// match's length. Every position below `limit` has max_len_ readable bytes after it, which
// also covers the gram reads of the last samples (up to limit + kStride + 2, max_len_ >= 20).
std::size_t Masker::find(const char* d, std::size_t from, std::size_t limit,
                         std::size_t* len) const {
  // A match starting at p = q - j (sample q, 0 <= j < kStride) has its gram at offset j at q
  // and its gram at offset j+2 at q+2: bit j of the result.
  auto offsets_at = [&](std::size_t q) {
    return static_cast<std::uint32_t>(flags_[gram(d + q)] & (flags_[gram(d + q + 2)] >> 4) &
                                      kLowNibble);
  };
  // Samples are taken in order and j downwards, so the starts are checked in order.
  auto check = [&](std::size_t q, std::uint32_t offsets) {
    for (std::size_t j = kStride; j-- > 0;) {
      if ((offsets >> j & 1U) == 0 || q < from + j || q - j >= limit) continue;
      const std::size_t p = q - j;
      if ((flags_[gram(d + p)] & 1U) == 0) continue;  // no pattern begins with this gram
      if (const std::size_t l = longest_at(d + p); l > 0) {
        *len = l;
        return p;
      }
    }
    return limit;
  };
  if (values_.empty()) {
    // Only key ids, each with an 'I' at offset 2: memchr finds those at memory speed.
    for (std::size_t i = from + 2; i < limit + 2;) {
      const void* hit = std::memchr(d + i, 'I', limit + 2 - i);
      if (hit == nullptr) break;
      const auto p = static_cast<std::size_t>(static_cast<const char*>(hit) - d) - 2;
      if (const std::size_t l = longest_at(d + p); l > 0) {
        *len = l;
        return p;
      }
      i = p + 3;
    }
    return limit;
  }
  const std::size_t end = limit + kStride - 1;  // samples from, from+4, ... cover the starts
  std::size_t q = from;
  // Ordinary text: 16 samples (64 bytes) per round with no branch per sample. The four-byte
  // test costs two table loads a sample, but two-byte grams alone hit a round in three of log
  // text with 50 values registered, and each hit round cost more than the second load saves.
  // The prefetch matters too: without it the scan waited on memory (the loads are too sparse
  // for the hardware prefetcher here) and ran at a quarter of the speed.
  for (; q + 15 * kStride < end; q += 16 * kStride) {
    __builtin_prefetch(d + q + 1024);
    std::uint32_t any = 0;
    for (std::size_t i = 0; i < 16; ++i) any |= offsets_at(q + i * kStride);
    if (any == 0) continue;
    for (std::size_t i = 0; i < 16; ++i) {
      const std::size_t s = q + i * kStride;
      if (const std::uint32_t offsets = offsets_at(s); offsets != 0) {
        if (const std::size_t p = check(s, offsets); p != limit) return p;
      }
    }
  }
  for (; q < end; q += kStride) {
    if (const std::uint32_t offsets = offsets_at(q); offsets != 0) {
      if (const std::size_t p = check(q, offsets); p != limit) return p;
    }
  }
  return limit;
}

// The decision at data[p], where fewer than max_len_ bytes may follow. With `final`, the data
// is all there is, so a pattern cut short is simply no match.
Masker::TailMatch Masker::tail_at(std::string_view data, std::size_t p, bool final) const {
  TailMatch m;
  const char* d = data.data() + p;
  const std::size_t avail = data.size() - p;
  const std::size_t k = key_prefix(d, avail);
  if (k == kAccessKeyIdLength) {
    m.len = k;
  } else if (k == avail && !final) {
    m.undecided = true;
  }
  if (!has(first_bytes_, static_cast<unsigned char>(d[0]))) return m;
  for (const auto& v : values_) {
    if (v.size() <= avail) {
      if (v.size() > m.len && std::memcmp(d, v.data(), v.size()) == 0) m.len = v.size();
    } else if (!final && std::memcmp(d, v.data(), avail) == 0) {
      m.undecided = true;
    }
  }
  return m;
}

// Masks data from its start, deciding the positions below `stop`, and appends the result to
// `out`. Returns the first undecided position (the rest must be carried) or, if the last match
// runs past `stop`, where that match ends.
std::size_t Masker::scan(std::string_view data, std::size_t stop, bool final,
                         std::string& out) const {
  const char* d = data.data();
  const std::size_t n = data.size();
  // Below safe_end every pattern has all its bytes available: the fast path.
  const std::size_t safe_end = n >= max_len_ ? n - max_len_ + 1 : 0;
  const std::size_t limit = std::min(stop, safe_end);
  std::size_t cur = 0;
  std::size_t emitted = 0;
  while (cur < limit) {
    std::size_t len = 0;
    const std::size_t p = find(d, cur, limit, &len);
    if (p == limit) {
      cur = limit;
      break;
    }
    out.append(d + emitted, p - emitted);
    out += kMaskText;
    cur = emitted = p + len;
  }
  // The last few positions, one at a time: at most max_len_ - 1 of them.
  while (cur < stop) {
    const TailMatch m = tail_at(data, cur, final);
    if (m.undecided) break;
    if (m.len == 0) {
      ++cur;
      continue;
    }
    out.append(d + emitted, cur - emitted);
    out += kMaskText;
    cur = emitted = cur + m.len;
  }
  out.append(d + emitted, cur - emitted);
  return cur;
}

void Masker::feed(std::string_view chunk, std::string& out) {
  out.reserve(out.size() + carry_.size() + chunk.size());  // masking never lengthens text
  if (!carry_.empty()) {
    // Decide the carried positions on the carry plus enough of the chunk for any match that
    // starts in the carry, without copying the whole chunk behind it.
    const std::size_t take = std::min(chunk.size(), max_len_);
    std::string bridge;
    bridge.reserve(carry_.size() + take);
    bridge.append(carry_).append(chunk.substr(0, take));
    if (take == chunk.size()) {
      const std::size_t cur = scan(bridge, bridge.size(), false, out);
      carry_.assign(bridge, cur);
      return;
    }
    // Every carried position has more than max_len_ bytes after it in `bridge`, so all of
    // them are decided and `cur` lands in the chunk part.
    const std::size_t cur = scan(bridge, carry_.size(), false, out);
    chunk.remove_prefix(cur - carry_.size());
    carry_.clear();
  }
  const std::size_t cur = scan(chunk, chunk.size(), false, out);
  carry_.assign(chunk.substr(cur));
}

std::string Masker::feed(std::string_view chunk) {
  std::string out;
  feed(chunk, out);
  return out;
}

std::string Masker::finish() {
  std::string out = mask(carry_);
  carry_.clear();
  return out;
}

std::string Masker::mask(std::string_view text) const {
  std::string out;
  out.reserve(text.size());
  scan(text, text.size(), true, out);
  return out;
}

}  // namespace kiln::secrets
