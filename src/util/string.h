// The one home of kiln's string and encoding helpers (after ccache's util/string.hpp): hex,
// base64, percent-encoding, ASCII case, trimming and splitting. Look here before writing a loop
// over characters.
//
// string.cpp holds the text helpers and needs no library, so code compiled without kiln_core
// (the fuzz targets) can take it alone; string_codec.cpp holds hex and base64, which are
// libsodium's (constant-time, and its base64 decoder refuses every non-canonical text).
//
// Thread safety: pure functions. Failure: only std::bad_alloc; decoders report bad input in
// their result.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

// ---- Encodings (string_codec.cpp) ----

// Lowercase hex, two digits a byte: digests, random names, JSON's \u00XX.
std::string to_hex(std::span<const std::uint8_t> bytes);
std::string to_hex(std::string_view bytes);

enum class Base64 {
  kStandard,  // RFC 4648 section 4: '+' and '/', padded with '=' (AWS blobs, sealed secrets)
  kUrl,       // RFC 4648 section 5: '-' and '_', no padding (page tokens)
};

std::string base64_encode(std::string_view bytes, Base64 variant = Base64::kStandard);

// The bytes `text` encodes, or nullopt unless `text` is their canonical encoding in `variant`:
// every character from its alphabet (no whitespace), '=' padding exactly as kStandard needs it
// and none for kUrl, no length that ends inside a byte, and no stray bits in the last
// character. So each byte string has exactly one text. "" decodes to "".
std::optional<std::string> base64_decode(std::string_view text, Base64 variant = Base64::kStandard);

// ---- Percent-encoding (string.cpp) ----

// Every byte outside [A-Za-z0-9] and the characters of `keep` becomes %XX (upper-case hex).
// SigV4's canonical URIs, S3 keys in URLs, git credential URLs and cache object names differ
// only in what they keep.
std::string percent_encode(std::string_view text, std::string_view keep);

// %XX, with hex digits of either case, becomes the byte. A '%' not followed by two hex digits
// is kept as written, and '+' stays '+' (URL userinfo and object names, not form data).
std::string percent_decode(std::string_view text);

// ---- Case and whitespace (string.cpp) ----

// ASCII letters only, as std::tolower/std::toupper in the C locale kiln runs in; every other
// byte, UTF-8 included, is kept.
std::string to_lower(std::string_view text);
std::string to_upper(std::string_view text);

// Equal but for the case of ASCII letters (HTTP header names, buildspec keywords).
bool iequals(std::string_view a, std::string_view b);

// The characters the C locale's isspace() accepts.
inline constexpr std::string_view kWhitespace = " \t\n\v\f\r";

// `text` without the characters of `chars` at its start (trim_left), its end (trim_right) or
// both (trim). A view into `text`.
std::string_view trim(std::string_view text, std::string_view chars = kWhitespace);
std::string_view trim_left(std::string_view text, std::string_view chars = kWhitespace);
std::string_view trim_right(std::string_view text, std::string_view chars = kWhitespace);

// ---- Splitting (string.cpp) ----

enum class SplitMode {
  kKeepEmpty,  // n separators give n + 1 parts: "" is one empty part, "a,,b" is a, "", b
  kSkipEmpty,  // empty parts are dropped: "", "," and "//" give none, "/a//b/" is a, b
};

// The parts of `text` between the `sep`s, in order, as views into `text`.
std::vector<std::string_view> split(std::string_view text, char sep,
                                    SplitMode mode = SplitMode::kKeepEmpty);

}  // namespace kiln
