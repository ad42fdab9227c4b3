// The `on-failure` value of a phase (docs/reference/codebuild-semantics.md §3.4):
//   ABORT | CONTINUE | RETRY | RETRY-<count> | RETRY-<regex> | RETRY-<count>-<regex>
//
// The docs' own examples write `Retry-...`, so the keywords are matched in any letter case.
// After "RETRY-": a remainder of digits only is the count; digits followed by '-' are the count
// and the rest is the regex ("RETRY-3-.*x" = 3 and ".*x"); anything else is the regex
// ("RETRY-invalid+"). The count must be 0..100 and the regex must compile as ECMAScript.
// Internal to spec/; docs/buildspec.md has the user-facing version.
#pragma once

#include <string>

#include "spec/buildspec.h"
#include "util/error.h"

namespace kiln::spec {

// The longest regex accepted. std::regex compiles recursively: an unbounded pattern is an
// unbounded stack. Real retry patterns are a few dozen characters.
inline constexpr size_t kMaxRetryRegexLength = 512;

// On failure the Error (kInvalidArgument) message reads `invalid value "<raw>": <why>`; the
// caller adds which phase it belongs to.
Result<OnFailure> parse_on_failure(const std::string& raw);

}  // namespace kiln::spec
