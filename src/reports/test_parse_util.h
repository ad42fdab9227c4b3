// Internal to reports/: what the test-format parsers (junit.cpp, testng.cpp, nunit.cpp,
// nunit3.cpp, trx.cpp) share: walking an element's subtree, durations, messages, and the
// "wrong format" error. Header-only.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "reports/parse.h"
#include "reports/report.h"
#include "reports/xml_reader.h"
#include "util/string.h"

namespace kiln::reports::detail {

// An element's text is kept up to this many bytes: a message keeps kMaxMessageChars at most.
inline constexpr std::size_t kKeepTextBytes = kMaxMessageChars * 4 + 16;

// At a kStart: consumes the element up to its kEnd and returns the text inside it, nested
// elements' text included, cut to kKeepTextBytes.
[[nodiscard]] inline Result<std::string> element_text(XmlReader& xml) {
  const int depth = xml.depth();
  std::string out;
  for (;;) {
    auto n = xml.next();
    if (!n) return tl::unexpected(n.error());
    if (!*n) return tl::unexpected(xml.error_here("the document ends inside an element"));
    if (**n == XmlReader::Node::kText) {
      if (out.size() < kKeepTextBytes) out += xml.text().substr(0, kKeepTextBytes - out.size());
    } else if (**n == XmlReader::Node::kEnd && xml.depth() == depth) {
      return out;
    }
  }
}

// At a kStart: consumes the element up to its kEnd.
[[nodiscard]] inline Result<void> skip_element(XmlReader& xml) {
  const int depth = xml.depth();
  for (;;) {
    auto n = xml.next();
    if (!n) return tl::unexpected(n.error());
    if (!*n) return tl::unexpected(xml.error_here("the document ends inside an element"));
    if (**n == XmlReader::Node::kEnd && xml.depth() == depth) return {};
  }
}

// Nanoseconds from a number of `unit`s written as decimal text ("0.123", "1,234.5" as some
// JUnit writers put it). Missing, negative or not a number: 0.
inline std::int64_t to_ns(const std::optional<std::string>& text, double unit_ns) {
  if (!text) return 0;
  std::string digits;
  for (char ch : *text) {
    if (ch != ',') digits += ch;
  }
  const std::string_view t = trim(digits);
  if (t.empty()) return 0;
  const std::string s(t);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0' || !std::isfinite(v) || v <= 0) return 0;
  const double ns = v * unit_ns;
  if (ns >= 9.2e18) return 0;
  return std::llround(ns);
}

inline std::int64_t seconds_to_ns(const std::optional<std::string>& text) {
  return to_ns(text, 1e9);
}

// A failure's message and its details (stack trace, output), each trimmed, joined by a line
// break when both are there.
inline std::string join_message(std::string_view message, std::string_view details) {
  message = trim(message);
  details = trim(details);
  if (message.empty()) return std::string(details);
  if (details.empty()) return std::string(message);
  return std::string(message) + "\n" + std::string(details);
}

// "a.b.C.method" -> "a.b.C"; "" when there is no dot.
inline std::string before_last_dot(std::string_view full) {
  const auto dot = full.rfind('.');
  return dot == std::string_view::npos ? std::string() : std::string(full.substr(0, dot));
}

// The error for a root element the format does not have.
inline Error wrong_root(const XmlReader& xml, std::string_view format, std::string_view want) {
  return xml.error_here("the root element is <" + std::string(xml.name()) + ">, not " +
                        std::string(want) + ": not a " + std::string(format) +
                        " file (is the report group's file-format right?)");
}

// Moves to the root element's kStart. A document with no element is an error.
[[nodiscard]] inline Result<void> to_root(XmlReader& xml) {
  for (;;) {
    auto n = xml.next();
    if (!n) return tl::unexpected(n.error());
    if (!*n) return tl::unexpected(xml.error_here("the document has no root element"));
    if (**n == XmlReader::Node::kStart) return {};
  }
}

// At a kStart: consumes the element and returns the text of its children named `first` and
// `second` ("message" and "stack-trace", say), "" for one that is missing.
[[nodiscard]] inline Result<std::pair<std::string, std::string>> child_texts(
    XmlReader& xml, std::string_view first, std::string_view second) {
  std::pair<std::string, std::string> out;
  const int depth = xml.depth();
  for (;;) {
    auto n = xml.next();
    if (!n) return tl::unexpected(n.error());
    if (!*n) return tl::unexpected(xml.error_here("the document ends inside an element"));
    if (**n == XmlReader::Node::kEnd && xml.depth() == depth) return out;
    if (**n != XmlReader::Node::kStart) continue;
    const std::string name(xml.name());
    auto text = element_text(xml);
    if (!text) return tl::unexpected(text.error());
    if (name == first) {
      out.first = std::move(*text);
    } else if (name == second) {
      out.second = std::move(*text);
    }
  }
}

// Walks the document below its root (to_root done), where suites (`suite_tag`) nest to any
// depth around cases (`case_tag`). Each case's kStart goes to read_case(xml, name of the
// innermost open suite), which consumes the case and returns Result<TestCase> for the sink.
// Elements named in `pass` are entered; every other element is skipped whole.
template <typename ReadCase>
[[nodiscard]] Result<void> for_each_case(XmlReader& xml, std::string_view suite_tag,
                                         std::string_view case_tag,
                                         std::initializer_list<std::string_view> pass,
                                         TestCaseSink& sink, ReadCase&& read_case) {
  std::vector<std::pair<int, std::string>> suites;  // the open suites: depth, name
  if (xml.name() == suite_tag) suites.emplace_back(xml.depth(), xml.attribute("name").value_or(""));
  for (;;) {
    auto n = xml.next();
    if (!n) return tl::unexpected(n.error());
    if (!*n) return {};
    if (**n == XmlReader::Node::kEnd) {
      if (!suites.empty() && suites.back().first == xml.depth()) suites.pop_back();
      continue;
    }
    if (**n != XmlReader::Node::kStart) continue;
    const std::string_view name = xml.name();
    if (name == suite_tag) {
      suites.emplace_back(xml.depth(), xml.attribute("name").value_or(""));
    } else if (name == case_tag) {
      Result<TestCase> c = read_case(xml, suites.empty() ? std::string() : suites.back().second);
      if (!c) return tl::unexpected(c.error());
      sink.add(std::move(*c));
    } else if (std::find(pass.begin(), pass.end(), name) == pass.end()) {
      if (auto s = skip_element(xml); !s) return s;
    }
  }
}

}  // namespace kiln::reports::detail
