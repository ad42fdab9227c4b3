// Text that came from a buildspec, an archive or a build, made safe to print on a terminal or
// to write as one log line. Shared by `kiln lint`, `kiln run` and the engine's agent lines.
#pragma once

#include <string>
#include <string_view>

namespace kiln {

enum class KeepNewlines { kNo, kYes };

// Control characters as `\xNN`: C0 (except tab, and line feed with KeepNewlines::kYes), DEL,
// and C1 (U+0080..U+009F, written in UTF-8 as C2 80..C2 9F: some terminals act on them like
// ESC [). So quoted text can neither send escape sequences (colours, titles, OSC 52 clipboard
// writes), ring the bell, return the cursor to overwrite a line, nor, without kYes, start a
// line that looks like one of kiln's own. Everything else, invalid UTF-8 included, is kept.
std::string escape_control(std::string_view text, KeepNewlines keep = KeepNewlines::kNo);

}  // namespace kiln
