#include "spec/diagnostic.h"

#include <algorithm>
#include <optional>
#include <string_view>
#include <tuple>

#include "util/escape.h"

namespace kiln::spec {
namespace {

// Line `line` (1-based) of `source` without its line break, or nullopt past the end.
std::optional<std::string_view> source_line(const std::string& source, int line) {
  size_t start = 0;
  for (int i = 1; i < line; ++i) {
    start = source.find('\n', start);
    if (start == std::string::npos) return std::nullopt;
    ++start;
  }
  if (start >= source.size()) return std::nullopt;
  size_t end = source.find('\n', start);
  if (end == std::string::npos) end = source.size();
  std::string_view text(source.data() + start, end - start);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);  // CRLF files
  // The parser does not count a byte order mark in columns (yaml_tree.h); it is invisible anyway.
  if (line == 1 && text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  return text;
}

// The second byte of a C1 control in UTF-8 (C2 80..C2 9F), which escape_control() escapes.
bool is_c1_tail(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x80 && u <= 0x9f;
}

}  // namespace

std::string format_diagnostic(const std::string& file, const std::string& source,
                              const Diagnostic& d) {
  // Everything quoted from the buildspec (the message may hold a key; the source line) has its
  // control characters escaped: `kiln lint` prints to a terminal (docs/security.md).
  const char* severity = d.severity == Diagnostic::Severity::kError ? "error" : "warning";
  const std::string shown_file = escape_control(file);
  const std::string message = escape_control(d.message);
  if (d.mark.line <= 0) return shown_file + ": " + severity + ": " + message + "\n";

  const int column = std::max(d.mark.column, 1);
  std::string out = shown_file + ":" + std::to_string(d.mark.line) + ":" + std::to_string(column) +
                    ": " + severity + ": " + message + "\n";
  const auto line = source_line(source, d.mark.line);
  if (!line) return out;  // e.g. "end of stream" after the last line break
  out += escape_control(*line);
  out += '\n';
  // The caret goes under the column. Columns count bytes (yaml-cpp's marks do); one space per
  // UTF-8 character keeps it aligned in a terminal, and tabs stay tabs for the same reason. An
  // escaped byte takes as many spaces as its escape.
  const size_t before = static_cast<size_t>(column - 1);
  for (size_t i = 0; i < before; ++i) {
    if (i >= line->size()) {
      out += ' ';
      continue;
    }
    const auto c = static_cast<unsigned char>((*line)[i]);
    const bool c1 =
        (c == 0xC2 && i + 1 < line->size() && is_c1_tail((*line)[i + 1])) ||
        (i > 0 && static_cast<unsigned char>((*line)[i - 1]) == 0xC2 && is_c1_tail((*line)[i]));
    if (c == '\t')
      out += '\t';
    else if (c < 0x20 || c == 0x7f || c1)
      out += "    ";              // the width of "\xNN"
    else if ((c & 0xC0) != 0x80)  // skip UTF-8 continuation bytes
      out += ' ';
  }
  out += "^\n";
  return out;
}

void sort_diagnostics(std::vector<Diagnostic>& ds) {
  std::stable_sort(ds.begin(), ds.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tuple(!a.leading, a.mark.line, a.mark.column) <
           std::tuple(!b.leading, b.mark.line, b.mark.column);
  });
}

bool has_errors(const std::vector<Diagnostic>& ds) {
  return std::any_of(ds.begin(), ds.end(), [](const Diagnostic& d) {
    return d.severity == Diagnostic::Severity::kError;
  });
}

}  // namespace kiln::spec
