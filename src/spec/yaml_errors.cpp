#include "spec/yaml_errors.h"

#include <string_view>
#include <utility>
#include <vector>

namespace kiln::spec::yaml {
namespace {

struct Translation {
  std::string_view yaml_cpp;  // yaml-cpp's message, or its prefix when it ends in ": "
  std::string_view go_yaml;
  ErrorClass cls;
};

// Only the pairs where both libraries stop at the same place for the same reason. The go-yaml
// texts are libyaml's (scanner.c / parser.c), which go-yaml copied.
constexpr Translation kTranslations[] = {
    {"illegal map value", "mapping values are not allowed in this context", ErrorClass::kScanner},
    {"illegal map key", "mapping keys are not allowed in this context", ErrorClass::kScanner},
    {"illegal block entry", "block sequence entries are not allowed in this context",
     ErrorClass::kScanner},
    {"unknown token", "found character that cannot start any token", ErrorClass::kScanner},
    {"illegal tab when looking for indentation", "found character that cannot start any token",
     ErrorClass::kScanner},
    {"unknown escape character: ", "found unknown escape character", ErrorClass::kScanner},
    {"invalid unicode: ", "found invalid Unicode character escape code", ErrorClass::kScanner},
    {"bad character found while scanning hex number", "did not find expected hexdecimal number",
     ErrorClass::kScanner},
    {"illegal document indicator in scalar", "found unexpected document indicator",
     ErrorClass::kScanner},
    {"cannot set zero indentation for a block scalar", "found an indentation indicator equal to 0",
     ErrorClass::kScanner},
    {"unexpected character in block scalar", "did not find expected comment or line break",
     ErrorClass::kScanner},
    {"alias not found after *", "did not find expected alphabetic or numeric character",
     ErrorClass::kScanner},
    {"anchor not found after &", "did not find expected alphabetic or numeric character",
     ErrorClass::kScanner},
    {"end of sequence flow not found", "did not find expected ',' or ']'", ErrorClass::kParser},
    {"end of map flow not found", "did not find expected ',' or '}'", ErrorClass::kParser},
    {"end of map not found", "did not find expected key", ErrorClass::kParser},
    {"end of sequence not found", "did not find expected '-' indicator", ErrorClass::kParser},
    {"YAML major version too large", "found incompatible YAML document", ErrorClass::kParser},
    // yaml-cpp's DepthGuard (500 levels) reports itself as "bad file". go-yaml v2 has no limit.
    {"bad file", "the YAML is nested too deeply", ErrorClass::kScanner},
};

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// The column of a tab in the line's indentation, or -1. Blank and comment-only lines do not
// count: libyaml skips them before it looks at indentation.
int indentation_tab(std::string_view line) {
  size_t i = 0;
  int tab = -1;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
    if (line[i] == '\t' && tab < 0) tab = static_cast<int>(i);
    ++i;
  }
  if (i == line.size() || line[i] == '#' || line[i] == '\r') return -1;
  return tab;
}

int pos_of(const std::vector<std::string_view>& lines, int line0, int col0) {
  int pos = 0;
  for (int i = 0; i < line0 && i < static_cast<int>(lines.size()); ++i)
    pos += static_cast<int>(lines[i].size()) + 1;
  return pos + col0;
}

}  // namespace

std::string alias_name(const std::string& text, int pos) {
  if (pos < 0 || static_cast<size_t>(pos) >= text.size() || text[pos] != '*') return "";
  std::string name;
  for (size_t i = pos + 1; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' || c == '[' || c == ']' ||
        c == '{' || c == '}')
      break;
    name += c;
  }
  return name;
}

Diagnostic syntax_error(int line0, int col0, std::string message, ErrorClass cls) {
  Diagnostic d;
  d.severity = Diagnostic::Severity::kError;
  d.mark = Mark{line0 + 1, col0 + 1};
  d.message = std::move(message);
  if (cls == ErrorClass::kParser)
    d.yaml_line = line0;
  else
    d.yaml_line = line0 == 0 ? 0 : line0 + 1;
  return d;
}

Diagnostic translate_error(const std::string& text, int line0, int col0, const std::string& msg) {
  if (line0 < 0) line0 = 0;
  if (col0 < 0) col0 = 0;
  const auto lines = split_lines(text);
  // A tab where indentation is expected: yaml-cpp notices it late and under various messages.
  for (int l = line0; l >= 0 && l >= line0 - 1 && l < static_cast<int>(lines.size()); --l) {
    const int tab = indentation_tab(lines[l]);
    if (tab >= 0)
      return syntax_error(l, tab, "found character that cannot start any token",
                          ErrorClass::kScanner);
    const bool blank = lines[l].find_first_not_of(" \t\r") == std::string_view::npos;
    if (l != line0 && !blank) break;
  }
  if (msg == "the referenced anchor is not defined") {
    // go-yaml raises this while decoding, without a line, so CodeBuild shows it as is.
    Diagnostic d = syntax_error(line0, col0, "", ErrorClass::kScanner);
    d.message = "unknown anchor '" + alias_name(text, pos_of(lines, line0, col0)) + "' referenced";
    d.yaml_line = -1;
    return d;
  }
  for (const auto& t : kTranslations) {
    const bool prefix = t.yaml_cpp.ends_with(": ");
    if (prefix ? std::string_view(msg).starts_with(t.yaml_cpp) : msg == t.yaml_cpp)
      return syntax_error(line0, col0, std::string(t.go_yaml), t.cls);
  }
  return syntax_error(line0, col0, msg, ErrorClass::kScanner);
}

std::optional<Diagnostic> unterminated_quote(const std::string& text, int pos, int line0,
                                             int col0) {
  if (pos < 0 || static_cast<size_t>(pos) >= text.size()) return std::nullopt;
  const char quote = text[pos];
  if (quote != '"' && quote != '\'') return std::nullopt;
  for (size_t i = pos + 1; i < text.size(); ++i) {
    if (quote == '"' && text[i] == '\\') {
      ++i;  // an escaped character, possibly a quote
    } else if (text[i] == quote) {
      if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
        ++i;  // '' is an escaped single quote
        continue;
      }
      return std::nullopt;
    }
  }
  // go-yaml stops at the end of the stream: that is the line it reports.
  int eof_line0 = 0;
  for (char c : text) eof_line0 += c == '\n';
  Diagnostic d = syntax_error(line0, col0, "found unexpected end of stream", ErrorClass::kScanner);
  d.yaml_line = eof_line0 == 0 ? 0 : eof_line0 + 1;
  return d;
}

}  // namespace kiln::spec::yaml
