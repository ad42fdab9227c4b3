#include "spec/diagnostic.h"

#include <algorithm>
#include <optional>
#include <string_view>

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

}  // namespace

std::string format_diagnostic(const std::string& file, const std::string& source,
                              const Diagnostic& d) {
  const char* severity = d.severity == Diagnostic::Severity::kError ? "error" : "warning";
  if (d.mark.line <= 0) return file + ": " + severity + ": " + d.message + "\n";

  const int column = std::max(d.mark.column, 1);
  std::string out = file + ":" + std::to_string(d.mark.line) + ":" + std::to_string(column) + ": " +
                    severity + ": " + d.message + "\n";
  const auto line = source_line(source, d.mark.line);
  if (!line) return out;  // e.g. "end of stream" after the last line break
  out += *line;
  out += '\n';
  // The caret goes under the column. Columns count bytes (yaml-cpp's marks do); one space per
  // UTF-8 character keeps it aligned in a terminal, and tabs stay tabs for the same reason.
  const size_t before = static_cast<size_t>(column - 1);
  for (size_t i = 0; i < before; ++i) {
    if (i >= line->size()) {
      out += ' ';
      continue;
    }
    const unsigned char c = static_cast<unsigned char>((*line)[i]);
    if (c == '\t')
      out += '\t';
    else if ((c & 0xC0) != 0x80)  // skip UTF-8 continuation bytes
      out += ' ';
  }
  out += "^\n";
  return out;
}

bool has_errors(const std::vector<Diagnostic>& ds) {
  return std::any_of(ds.begin(), ds.end(), [](const Diagnostic& d) {
    return d.severity == Diagnostic::Severity::kError;
  });
}

}  // namespace kiln::spec
