#include "store/page_token.h"

#include <bit>
#include <charconv>

#include "util/string.h"

namespace kiln::store {

namespace {

tl::unexpected<Error> invalid() {
  return fail(ErrorCode::kInvalidArgument, "invalid nextToken");
}

// Fields: 's' <length> ':' <bytes> | 'i' <decimal> ';' | 'd' <16 hex digits of the bits>.
void put_field(std::string& out, const KeyPart& part) {
  if (const auto* s = std::get_if<std::string>(&part)) {
    out += 's' + std::to_string(s->size()) + ':' + *s;
  } else if (const auto* i = std::get_if<std::int64_t>(&part)) {
    out += 'i' + std::to_string(*i) + ';';
  } else {
    // The bit pattern, so a time round-trips exactly and the next page starts where this ended.
    char hex[17];
    const auto bits = std::bit_cast<std::uint64_t>(std::get<double>(part));
    const auto r = std::to_chars(hex, hex + 16, bits, 16);
    out += 'd' + std::string(16 - (r.ptr - hex), '0') + std::string(hex, r.ptr);
  }
}

// Parses one field of the type `type` at the start of `in` and advances past it.
bool take_field(std::string_view& in, char type, KeyPart& out) {
  if (in.empty() || in.front() != type) return false;
  in.remove_prefix(1);
  const char* end = in.data() + in.size();
  if (type == 's') {
    std::size_t n = 0;
    const auto r = std::from_chars(in.data(), end, n);
    if (r.ec != std::errc() || r.ptr == end || *r.ptr != ':') return false;
    in.remove_prefix(r.ptr + 1 - in.data());
    if (n > in.size()) return false;
    out = std::string(in.substr(0, n));
    in.remove_prefix(n);
    return true;
  }
  if (type == 'i') {
    std::int64_t v = 0;
    const auto r = std::from_chars(in.data(), end, v);
    if (r.ec != std::errc() || r.ptr == end || *r.ptr != ';') return false;
    in.remove_prefix(r.ptr + 1 - in.data());
    out = v;
    return true;
  }
  if (type == 'd') {
    if (in.size() < 16) return false;
    std::uint64_t bits = 0;
    const auto r = std::from_chars(in.data(), in.data() + 16, bits, 16);
    if (r.ec != std::errc() || r.ptr != in.data() + 16) return false;
    in.remove_prefix(16);
    out = std::bit_cast<double>(bits);
    return true;
  }
  return false;
}

}  // namespace

std::string make_page_token(const std::string& listing, const PageKey& last_key) {
  std::string payload;
  put_field(payload, listing);
  for (const KeyPart& part : last_key) put_field(payload, part);
  return base64_encode(payload, Base64::kUrl);
}

Result<PageKey> read_page_token(const std::string& token, const std::string& listing,
                                std::string_view shape) {
  const auto payload = base64_decode(token, Base64::kUrl);
  if (!payload) return invalid();
  std::string_view in = *payload;
  KeyPart part;
  if (!take_field(in, 's', part) || std::get<std::string>(part) != listing) return invalid();
  PageKey key;
  for (const char type : shape) {
    if (!take_field(in, type, part)) return invalid();
    key.push_back(std::move(part));
  }
  if (!in.empty()) return invalid();
  return key;
}

}  // namespace kiln::store
