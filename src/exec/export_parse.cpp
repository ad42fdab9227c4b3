#include "exec/export_parse.h"

#include <string>

#include "exec/shell_script.h"

namespace kiln::exec {

namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One escape of bash's $'...' quoting, starting after the backslash at text[i]. Appends the
// byte(s) it stands for and returns the index after the escape.
std::size_t ansi_c_escape(std::string_view text, std::size_t i, std::string& out) {
  const char c = text[i];
  switch (c) {
    case 'a': out += '\a'; return i + 1;
    case 'b': out += '\b'; return i + 1;
    case 'e':
    case 'E': out += '\x1b'; return i + 1;
    case 'f': out += '\f'; return i + 1;
    case 'n': out += '\n'; return i + 1;
    case 'r': out += '\r'; return i + 1;
    case 't': out += '\t'; return i + 1;
    case 'v': out += '\v'; return i + 1;
    case 'x': {
      int v = 0;
      std::size_t j = i + 1;
      for (; j < text.size() && j < i + 3 && hex_value(text[j]) >= 0; ++j)
        v = v * 16 + hex_value(text[j]);
      out += static_cast<char>(v);
      return j;
    }
    case 'c':
      if (i + 1 < text.size()) out += static_cast<char>(text[i + 1] & 0x1f);
      return i + 2;
    default: break;
  }
  if (c >= '0' && c <= '7') {
    int v = 0;
    std::size_t j = i;
    for (; j < text.size() && j < i + 3 && text[j] >= '0' && text[j] <= '7'; ++j)
      v = v * 8 + (text[j] - '0');
    out += static_cast<char>(v);
    return j;
  }
  out += c;  // \\ \' \" \? and anything unknown stand for themselves
  return i + 1;
}

// Reads one shell word made of quoted and unquoted segments, up to an unquoted newline.
// Returns false if a quote is not closed.
bool read_word(std::string_view text, std::size_t& i, std::string& out) {
  while (i < text.size() && text[i] != '\n') {
    const char c = text[i];
    if (c == '\'') {
      const auto end = text.find('\'', i + 1);
      if (end == std::string_view::npos) return false;
      out.append(text.substr(i + 1, end - i - 1));
      i = end + 1;
    } else if (c == '"') {
      ++i;
      while (i < text.size() && text[i] != '"') {
        if (text[i] == '\\' && i + 1 < text.size() &&
            std::string_view("\"$`\\\n").find(text[i + 1]) != std::string_view::npos) {
          ++i;
        }
        out += text[i++];
      }
      if (i >= text.size()) return false;
      ++i;
    } else if (c == '$' && i + 1 < text.size() && text[i + 1] == '\'') {
      i += 2;
      while (i < text.size() && text[i] != '\'') {
        if (text[i] == '\\' && i + 1 < text.size()) {
          i = ansi_c_escape(text, i + 1, out);
        } else {
          out += text[i++];
        }
      }
      if (i >= text.size()) return false;
      ++i;
    } else if (c == '\\' && i + 1 < text.size()) {
      out += text[i + 1];
      i += 2;
    } else {
      out += c;
      ++i;
    }
  }
  return true;
}

}  // namespace

EnvMap parse_export_p(std::string_view text) {
  EnvMap env;
  std::size_t i = 0;
  while (i < text.size()) {
    for (std::string_view prefix : {"export ", "declare -x "}) {
      if (text.substr(i, prefix.size()) == prefix) {
        i += prefix.size();
        break;
      }
    }
    const std::size_t name_start = i;
    while (i < text.size() && is_name_char(text[i])) ++i;
    const std::string name(text.substr(name_start, i - name_start));
    std::string value;
    bool ok = !name.empty() && i < text.size() && text[i] == '=';
    if (ok) {
      ++i;
      ok = read_word(text, i, value);
    }
    if (ok && !is_shell_internal(name)) env[name] = std::move(value);
    // Skip to the next entry: past this line (a bare `export NAME`, or garbage).
    const auto nl = text.find('\n', i);
    if (nl == std::string_view::npos) break;
    i = nl + 1;
  }
  return env;
}

}  // namespace kiln::exec
