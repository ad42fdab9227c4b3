#include "spec/yaml_errors.h"

#include <algorithm>
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

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

bool at_break(std::string_view t, size_t i) {
  return i >= t.size() || t[i] == '\n' || t[i] == '\r';
}

// ':' followed by a blank or a line break: the value indicator, in block context.
bool value_indicator(std::string_view t, size_t i) {
  return t[i] == ':' && (i + 1 >= t.size() || is_blank(t[i + 1]) || at_break(t, i + 1));
}

// A 0-based position in the text, tracked while scanning forward.
struct Cursor {
  std::string_view t;
  size_t i;
  int line0;
  size_t line_start;

  int col0() const { return static_cast<int>(i - line_start); }
  bool end() const { return i >= t.size(); }
  // Moves past the line break at i (LF or CRLF); false at the end of the text.
  bool next_line() {
    while (!end() && t[i] != '\n') ++i;
    if (end()) return false;
    ++i;
    ++line0;
    line_start = i;
    return true;
  }
  void skip_blanks() {
    while (!end() && is_blank(t[i])) ++i;
  }
};

// libyaml's scan_to_next_token: past blanks, comments and line breaks.
Cursor next_token(Cursor c) {
  for (;;) {
    c.skip_blanks();
    if (!c.end() && c.t[c.i] == '#')
      while (!at_break(c.t, c.i)) ++c.i;
    if (!c.end() && c.t[c.i] == '\r') ++c.i;
    if (c.end() || c.t[c.i] != '\n') return c;
    c.next_line();
  }
}

// Where libyaml's scanner stands when it finds that the plain key at `c` (a block mapping with
// indentation `indent`) has no ':' on its line, or nothing when the key is fine. libyaml ends the
// scalar at " #", at a line indented `indent` or less, at a comment line, or at the value
// indicator on a later line; the key is stale as soon as the scanner is past its line.
std::optional<Cursor> stale_key(Cursor c, int indent) {
  for (; !at_break(c.t, c.i); ++c.i) {
    if (value_indicator(c.t, c.i)) return std::nullopt;
    if (c.t[c.i] == '#' && c.i > 0 && is_blank(c.t[c.i - 1])) return next_token(c);
  }
  for (;;) {
    if (!c.next_line()) return c;  // the end of the stream
    c.skip_blanks();
    if (at_break(c.t, c.i)) {
      if (c.end()) return c;
      continue;  // a blank line folds into the scalar
    }
    if (c.col0() <= indent || c.t[c.i] == '#') return c;
    for (; !at_break(c.t, c.i); ++c.i) {
      if (value_indicator(c.t, c.i)) return c;
      if (c.t[c.i] == '#' && is_blank(c.t[c.i - 1])) return c;
    }
  }
}

// Whether a line that starts at column 0 with `ch` starts a plain scalar.
bool starts_plain(char ch) {
  constexpr std::string_view kIndicators = " \t\r\n#-?:,[]{}&*!|>'\"%@`";
  return kIndicators.find(ch) == std::string_view::npos;
}

// Whether the line at `c` holds a value indicator (before any comment): a mapping key line.
bool has_value_indicator(Cursor c) {
  for (; !at_break(c.t, c.i); ++c.i) {
    if (value_indicator(c.t, c.i)) return true;
    if (c.t[c.i] == '#' && c.i > 0 && is_blank(c.t[c.i - 1])) return false;
  }
  return false;
}

// What a line leaves open for the next ones, roughly as libyaml would see it: enough to tell
// that a line at column 0 continues a quoted scalar, a flow collection or a block scalar.
struct Open {
  char quote = 0;         // '"' or '\'' while a quoted scalar runs on
  int flow = 0;           // depth of [ and {
  int block_indent = -1;  // the indentation of a line that started a block scalar (| or >)
};

// Whether byte j of the line starts a token: the line's first, or after a flow indicator, or
// after an indicator (':', '-', '?') and a blank. A quote elsewhere is part of a plain scalar.
bool token_start(std::string_view line, size_t j) {
  size_t k = j;
  while (k > 0 && is_blank(line[k - 1])) --k;
  if (k == 0) return true;
  const char p = line[k - 1];
  if (p == '[' || p == '{' || p == ',') return true;
  return k < j && (p == ':' || p == '-' || p == '?');
}

void carry(std::string_view line, Open& open) {
  const int indent = static_cast<int>(std::min(line.find_first_not_of(' '), line.size()));
  for (size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (open.quote == '"') {
      if (ch == '\\')
        ++i;
      else if (ch == '"')
        open.quote = 0;
    } else if (open.quote == '\'') {
      if (ch == '\'' && i + 1 < line.size() && line[i + 1] == '\'')
        ++i;
      else if (ch == '\'')
        open.quote = 0;
    } else if (ch == '#' && (i == 0 || is_blank(line[i - 1]))) {
      return;
    } else if ((ch == '"' || ch == '\'') && token_start(line, i)) {
      open.quote = ch;
    } else if ((ch == '[' || ch == '{') && (open.flow > 0 || token_start(line, i))) {
      ++open.flow;
    } else if ((ch == ']' || ch == '}') && open.flow > 0) {
      --open.flow;
    } else if ((ch == '|' || ch == '>') && open.flow == 0 && token_start(line, i)) {
      open.block_indent = indent;
      return;
    }
  }
}

Diagnostic multiline_key_error(int line0, int col0, const Cursor& stop) {
  Diagnostic d = syntax_error(line0, col0, "could not find expected ':'", ErrorClass::kScanner);
  d.yaml_line = stop.line0 + 1;  // after the key's line, so never go-yaml's "line 0"
  return d;
}

}  // namespace

std::optional<Diagnostic> multiline_key(const std::string& text, size_t pos, int line0, int col0) {
  if (col0 < 0 || pos < static_cast<size_t>(col0) || pos >= text.size()) return std::nullopt;
  const Cursor key{text, pos, line0, pos - static_cast<size_t>(col0)};
  // An explicit key (`? key` then `: value`) may take any number of lines.
  size_t before = pos;
  while (before > key.line_start && is_blank(text[before - 1])) --before;
  if (before > key.line_start && text[before - 1] == '?') return std::nullopt;
  const auto stop = stale_key(key, col0);
  if (!stop) return std::nullopt;
  return multiline_key_error(line0, col0, *stop);
}

std::optional<Diagnostic> multiline_root_key_before(const std::string& text, int line0, int col0) {
  Cursor c{text, 0, 0, 0};
  bool in_mapping = false;  // a key line at column 0 was seen: the root is a block mapping
  Open open;
  for (; std::pair(c.line0, 0) <= std::pair(line0, col0); c.next_line()) {
    const std::string_view rest = c.t.substr(c.i);
    const std::string_view line = rest.substr(0, rest.find('\n'));
    // A line inside a quoted scalar, a flow collection or a block scalar is no key, whatever its
    // column.
    bool inside = open.quote != 0 || open.flow > 0;
    if (open.block_indent >= 0) {
      const size_t indent = line.find_first_not_of(' ');
      const bool blank = line.find_first_not_of(" \t\r") == std::string_view::npos;
      if (blank || static_cast<int>(indent) > open.block_indent) {
        if (c.end()) break;
        continue;
      }
      open.block_indent = -1;
    }
    const char first = c.end() ? '\n' : c.t[c.i];
    if (inside) {
      // the line only continues what an earlier one opened
    } else if (rest.starts_with("---") || rest.starts_with("...")) {
      if (in_mapping) return std::nullopt;  // the next document: go-yaml never reads it
    } else if (starts_plain(first)) {
      if (!in_mapping) {
        if (!has_value_indicator(c)) return std::nullopt;  // the root is not a block mapping
        in_mapping = true;
      } else if (auto stop = stale_key(c, 0)) {
        // yaml-cpp often fails on such a key itself, at or after its start, under another name.
        return multiline_key_error(c.line0, 0, *stop);
      }
    } else if (!in_mapping && !is_blank(first) && !at_break(c.t, c.i) && first != '#') {
      return std::nullopt;  // a quoted key, a list, a directive: not worth guessing
    }
    carry(line, open);
    if (c.end()) break;
  }
  return std::nullopt;
}

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
