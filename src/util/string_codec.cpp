// The encodings of string.h, on libsodium's codecs. They need no sodium_init(): they are pure
// functions of their arguments.
#include <sodium.h>

#include "util/string.h"

namespace kiln {

namespace {

int sodium_variant(Base64 variant) {
  return variant == Base64::kUrl ? sodium_base64_VARIANT_URLSAFE_NO_PADDING
                                 : sodium_base64_VARIANT_ORIGINAL;
}

}  // namespace

std::string to_hex(std::span<const std::uint8_t> bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');  // sodium writes a terminating NUL
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();
  return out;
}

std::string to_hex(std::string_view bytes) {
  return to_hex(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

std::string base64_encode(std::string_view bytes, Base64 variant) {
  const int v = sodium_variant(variant);
  std::string out(sodium_base64_encoded_len(bytes.size(), v), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), v);
  out.resize(out.find('\0'));  // the length counts a terminating NUL
  return out;
}

std::optional<std::string> base64_decode(std::string_view text, Base64 variant) {
  std::string out(text.size(), '\0');  // base64 never decodes to more bytes than it has
  std::size_t len = 0;
  // No characters to ignore and no end pointer: anything but the whole text is an error.
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &len, nullptr, sodium_variant(variant)) != 0) {
    return std::nullopt;
  }
  out.resize(len);
  return out;
}

}  // namespace kiln
