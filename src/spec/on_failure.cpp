// GCC 12 reports -Wmaybe-uninitialized inside <regex>'s std::function members when building
// with -fsanitize (a known false positive). Set before any include so it covers the headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "spec/on_failure.h"

#include <algorithm>
#include <regex>

#include "spec/parse_util.h"
#include "util/string.h"

namespace kiln::spec {
namespace {

tl::unexpected<Error> invalid(const std::string& raw, const std::string& why) {
  return fail(ErrorCode::kInvalidArgument, "invalid value \"" + raw + "\": " + why);
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

Result<OnFailure> parse_on_failure(const std::string& raw) {
  OnFailure out;
  out.raw = raw;
  if (iequals(raw, "ABORT")) {
    out.kind = OnFailure::Kind::kAbort;
    return out;
  }
  if (iequals(raw, "CONTINUE")) {
    out.kind = OnFailure::Kind::kContinue;
    return out;
  }
  const std::string_view text(raw);
  if (text.size() < 5 || !iequals(text.substr(0, 5), "RETRY") ||
      (text.size() > 5 && text[5] != '-')) {
    return invalid(raw,
                   "expected ABORT, CONTINUE, RETRY, RETRY-<count>, RETRY-<regex> or "
                   "RETRY-<count>-<regex>");
  }
  out.kind = OnFailure::Kind::kRetry;
  if (text.size() == 5) return out;  // plain RETRY: 3 times, any message

  std::string_view rest = text.substr(6);
  if (rest.empty()) return invalid(raw, "expected a count or a regular expression after RETRY-");
  std::string_view count = rest;
  std::string_view regex;
  if (const size_t dash = rest.find('-'); dash != std::string_view::npos) {
    if (all_digits(rest.substr(0, dash))) {
      count = rest.substr(0, dash);
      regex = rest.substr(dash + 1);
      if (regex.empty())
        return invalid(raw,
                       "expected a regular expression after RETRY-" + std::string(count) + "-");
    }
  }
  if (all_digits(count)) {
    // Compare as text first: a long run of digits must not overflow.
    const std::string_view digits =
        count.substr(std::min(count.find_first_not_of('0'), count.size()));
    if (digits.size() > 3 || (digits.empty() ? 0 : std::stoi(std::string(digits))) > 100)
      return invalid(raw, "the retry count must be from 0 to 100");
    out.retry_count = digits.empty() ? 0 : std::stoi(std::string(digits));
  } else {
    regex = rest;  // RETRY-<regex>
  }
  if (!regex.empty()) {
    if (regex.size() > kMaxRetryRegexLength)
      return invalid(raw, "the regular expression is longer than " +
                              std::to_string(kMaxRetryRegexLength) + " characters");
    try {
      std::regex compiled{std::string(regex), std::regex::ECMAScript};
    } catch (const std::regex_error& e) {
      return invalid(raw, "invalid regular expression \"" + std::string(regex) + "\": " + e.what());
    }
    out.retry_regex = std::string(regex);
  }
  return out;
}

}  // namespace kiln::spec
