#include "util/escape.h"

#include <cstdio>

namespace kiln {

namespace {
void append_hex(std::string& out, unsigned char c) {
  char buf[5];
  std::snprintf(buf, sizeof buf, "\\x%02x", c);
  out += buf;
}
}  // namespace

std::string escape_control(std::string_view text, KeepNewlines keep) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const bool kept = c == '\t' || (c == '\n' && keep == KeepNewlines::kYes);
    const bool c1 = c == 0xc2 && i + 1 < text.size() &&
                    static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(text[i + 1]) <= 0x9f;
    if ((c < 0x20 || c == 0x7f) && !kept) {
      append_hex(out, c);
    } else if (c1) {
      append_hex(out, c);
      append_hex(out, static_cast<unsigned char>(text[++i]));
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace kiln
