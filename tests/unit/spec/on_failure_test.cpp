// on-failure values, docs/reference/codebuild-semantics.md §3.4 (choices in docs/buildspec.md).
#include "spec/on_failure.h"

#include <gtest/gtest.h>

namespace kiln::spec {
namespace {

OnFailure ok(const std::string& raw) {
  auto r = parse_on_failure(raw);
  EXPECT_TRUE(r) << raw << ": " << (r ? "" : r.error().message());
  return r ? *r : OnFailure{};
}

std::string error(const std::string& raw) {
  auto r = parse_on_failure(raw);
  EXPECT_FALSE(r) << raw;
  return r ? "" : r.error().message();
}

TEST(OnFailure, AbortAndContinueInAnyCase) {
  EXPECT_EQ(ok("ABORT").kind, OnFailure::Kind::kAbort);
  EXPECT_EQ(ok("abort").kind, OnFailure::Kind::kAbort);
  EXPECT_EQ(ok("CONTINUE").kind, OnFailure::Kind::kContinue);
  EXPECT_EQ(ok("Continue").kind, OnFailure::Kind::kContinue);
  EXPECT_EQ(ok("Continue").raw, "Continue");
}

TEST(OnFailure, PlainRetryUsesTheDefaults) {
  const OnFailure f = ok("RETRY");
  EXPECT_EQ(f.kind, OnFailure::Kind::kRetry);
  EXPECT_EQ(f.retry_count, 3);
  EXPECT_EQ(f.retry_regex, ".*");
  EXPECT_EQ(f.raw, "RETRY");
  EXPECT_EQ(ok("retry").kind, OnFailure::Kind::kRetry);
}

TEST(OnFailure, RetryCount) {
  const OnFailure f = ok("RETRY-4");
  EXPECT_EQ(f.retry_count, 4);
  EXPECT_EQ(f.retry_regex, ".*");
  EXPECT_EQ(ok("RETRY-0").retry_count, 0);
  EXPECT_EQ(ok("RETRY-100").retry_count, 100);
  EXPECT_EQ(ok("RETRY-007").retry_count, 7);
}

TEST(OnFailure, RetryCountOutOfRange) {
  EXPECT_EQ(error("RETRY-101"),
            "invalid value \"RETRY-101\": the retry count must be from 0 to 100");
  EXPECT_EQ(error("RETRY-99999999999999999999"),
            "invalid value \"RETRY-99999999999999999999\": the retry count must be from 0 to 100");
  EXPECT_EQ(error("RETRY-101-x"),
            "invalid value \"RETRY-101-x\": the retry count must be from 0 to 100");
}

TEST(OnFailure, RetryRegex) {
  const OnFailure f = ok("RETRY-invalid+");
  EXPECT_EQ(f.retry_count, 3);
  EXPECT_EQ(f.retry_regex, "invalid+");
  // The docs' own example, with "Retry" in mixed case and dashes inside the regex.
  const OnFailure g = ok("Retry-.*Error: Unable to connect to database.*");
  EXPECT_EQ(g.retry_count, 3);
  EXPECT_EQ(g.retry_regex, ".*Error: Unable to connect to database.*");
  EXPECT_EQ(ok("RETRY-3x-y").retry_regex, "3x-y");  // not digits-only before the dash
}

TEST(OnFailure, RetryCountAndRegex) {
  const OnFailure f = ok("RETRY-3-.*x");
  EXPECT_EQ(f.retry_count, 3);
  EXPECT_EQ(f.retry_regex, ".*x");
  const OnFailure g = ok("RETRY-8-invalid+");
  EXPECT_EQ(g.retry_count, 8);
  EXPECT_EQ(g.retry_regex, "invalid+");
  const OnFailure h = ok("Retry-3-.*connection timed out.*");
  EXPECT_EQ(h.retry_count, 3);
  EXPECT_EQ(h.retry_regex, ".*connection timed out.*");
  EXPECT_EQ(ok("RETRY-2-a-b").retry_regex, "a-b");  // only the first dash separates
}

TEST(OnFailure, InvalidRegex) {
  const std::string message = error("RETRY-(unclosed");
  EXPECT_TRUE(message.starts_with(
      "invalid value \"RETRY-(unclosed\": invalid regular expression \"(unclosed\": "))
      << message;
  EXPECT_TRUE(error("RETRY-2-[")
                  .starts_with("invalid value \"RETRY-2-[\": invalid regular expression \"[\": "));
}

TEST(OnFailure, RegexTooLong) {
  const std::string raw = "RETRY-" + std::string(kMaxRetryRegexLength + 1, 'a');
  EXPECT_EQ(error(raw), "invalid value \"" + raw + "\": the regular expression is longer than " +
                            std::to_string(kMaxRetryRegexLength) + " characters");
  EXPECT_EQ(ok("RETRY-" + std::string(kMaxRetryRegexLength, 'a')).kind, OnFailure::Kind::kRetry);
}

TEST(OnFailure, MissingPartAfterADash) {
  EXPECT_EQ(error("RETRY-"),
            "invalid value \"RETRY-\": expected a count or a regular expression after RETRY-");
  EXPECT_EQ(error("RETRY-3-"),
            "invalid value \"RETRY-3-\": expected a regular expression after RETRY-3-");
}

TEST(OnFailure, UnknownValues) {
  const std::string expected =
      "\": expected ABORT, CONTINUE, RETRY, RETRY-<count>, RETRY-<regex> or RETRY-<count>-<regex>";
  for (const std::string raw : {"", "STOP", "RETRYX", "RETRY3", "ABORT ", "RETR", "-RETRY"})
    EXPECT_EQ(error(raw), "invalid value \"" + raw + expected);
}

}  // namespace
}  // namespace kiln::spec
