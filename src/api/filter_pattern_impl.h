// Internals of the filter pattern compiler, shared by filter_pattern.cpp (text terms, %regex%,
// dispatch) and filter_pattern_json.cpp (JSON patterns). Not for other callers.
#pragma once

#include <re2/re2.h>

#include <memory>
#include <string>
#include <string_view>

#include "api/filter_pattern.h"

namespace kiln::api {

struct FilterPattern::Node {
  virtual ~Node() = default;
  [[nodiscard]] virtual bool matches(std::string_view message) const = 0;
};

namespace filter_detail {

inline constexpr std::string_view kInvalid = "Invalid filter pattern";

inline tl::unexpected<Error> invalid(std::string message = std::string(kInvalid)) {
  return fail(ErrorCode::kParse, std::move(message));
}

inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim(std::string_view s);

// `*` matches any run of characters; everything else itself.
bool glob_match(std::string_view glob, std::string_view s);

// The regex between a %regex%'s percent signs (RE2). CloudWatch's regexes may not group:
// unescaped parentheses are refused.
Result<std::shared_ptr<const re2::RE2>> compile_regex(std::string_view body);

// A quoted string starting at s[at] == '"'; `at` ends past the closing quote. `\"` and `\\`
// stand for themselves.
Result<std::string> quoted(std::string_view s, std::size_t& at);

// The JSON pattern between a pattern's braces.
Result<std::unique_ptr<FilterPattern::Node>> compile_json(std::string_view body);

}  // namespace filter_detail
}  // namespace kiln::api
