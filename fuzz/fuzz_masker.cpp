// libFuzzer target for the streaming secret masker (docs/secrets.md).
//
// Input layout: byte 0 seeds the chunking; then up to 8 values separated by 0x01 and ended by
// 0x00; the rest is the log text. The text is fed in chunks of 0 to 2 * max_match_length()
// bytes (the sizes come from byte 0 and the text), and the output must equal mask_all() on the
// whole text with the values add() accepted, for every chunking (masker.h's contract). The
// carry must also stay shorter than the longest possible match after every feed, and the
// whole-string mask() must agree. Any difference traps.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "secrets/masker.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::uint32_t rng = static_cast<unsigned char>(in[0]) * 2654435761U + 1;
  in.remove_prefix(1);

  kiln::secrets::Masker masker;
  std::vector<std::string> accepted;
  const std::size_t end = in.find('\0');
  if (end != std::string_view::npos) {
    std::string_view list = in.substr(0, end);
    in.remove_prefix(end + 1);
    for (int i = 0; i < 8 && !list.empty(); ++i) {
      const std::size_t sep = list.find('\x01');
      std::string value(list.substr(0, sep));
      list = sep == std::string_view::npos ? std::string_view() : list.substr(sep + 1);
      const bool too_short = value.size() < kiln::secrets::kMinSecretLength;
      const bool added = masker.add(value);
      check(added != too_short);
      if (added) accepted.push_back(std::move(value));
    }
  }
  const std::string_view text = in;
  const std::string expected = kiln::secrets::mask_all(text, accepted);
  check(masker.mask(text) == expected);

  std::string out;
  std::size_t from = 0;
  const std::size_t span = 2 * masker.max_match_length() + 1;
  while (from < text.size()) {
    rng = rng * 1103515245U + 12345U;
    const std::size_t len = (rng >> 8) % span;
    const std::string_view chunk = text.substr(from, len);
    from += chunk.size();
    out += masker.feed(chunk);
    check(masker.held() < masker.max_match_length());
  }
  out += masker.finish();
  check(masker.held() == 0);
  check(out == expected);
  return 0;
}
