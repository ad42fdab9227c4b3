// CloudWatch Logs' filter pattern syntax, as FilterLogEvents takes it
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html), compiled
// once per call and matched against each event's message. What Kiln supports (docs/server.md,
// "Filter patterns"):
//
// - Text: terms separated by spaces, all of which must appear (case-sensitive substrings); a
//   quoted term ("Invalid user") is one term with its spaces; `-term` must not appear; `?term`
//   starts an alternative: `?ERROR ?WARN` matches either, and unprefixed terms after a `?term`
//   join its group (`?ERROR Main ?WARN` = (ERROR and Main) or WARN), as CDK's anyTermGroup
//   writes them.
// - `%regex%`: the message contains a match of the regex (RE2 syntax; CloudWatch refuses
//   parentheses, and so does Kiln).
// - JSON: `{ $.a.b[0] = "x" && ($.n > 5 || $.ok IS TRUE) }` on messages that are JSON: string
//   `=`/`!=` (quoted or bare, `*` as a wildcard, or a %regex%), numeric `= != < > <= >=`,
//   `IS TRUE`, `IS FALSE`, `IS NULL`, `NOT EXISTS`, `[*]` for any element of an array. A message
//   that is not JSON matches no JSON pattern.
// - Space-delimited patterns (`[ip, user, ...]`) are refused: Kiln does not implement them.
//
// Errors: compile() fails with the text of CloudWatch's InvalidParameterException ("Invalid
// filter pattern", or a more precise one CloudWatch uses); never a pattern that matches nothing.
// Thread safety: a compiled pattern is immutable and may be matched from any thread.
#pragma once

#include <memory>
#include <string_view>

#include "util/error.h"

namespace kiln::api {

class FilterPattern {
 public:
  // Compiles `text`. Empty or blank text matches every message.
  [[nodiscard]] static Result<FilterPattern> compile(std::string_view text);

  [[nodiscard]] bool matches(std::string_view message) const;

  struct Node;  // the compiled tree (filter_pattern.cpp)

 private:
  std::shared_ptr<const Node> root_;  // null: matches everything
};

}  // namespace kiln::api
