#include "api/filter_pattern.h"

#include <gtest/gtest.h>

#include <string>

namespace kiln::api {
namespace {

FilterPattern compiled(std::string_view text) {
  auto p = FilterPattern::compile(text);
  EXPECT_TRUE(p.has_value()) << text << ": " << (p ? "" : p.error().message());
  return p ? *p : FilterPattern();
}

std::string refusal(std::string_view text) {
  auto p = FilterPattern::compile(text);
  return p ? "(compiled)" : p.error().message();
}

TEST(FilterPattern, EmptyMatchesEverything) {
  EXPECT_TRUE(compiled("").matches("anything"));
  EXPECT_TRUE(compiled("   ").matches(""));
  EXPECT_TRUE(compiled("\"\"").matches("x"));
}

TEST(FilterPattern, AllTermsMustAppearCaseSensitive) {
  const auto p = compiled("ERROR MainThread");
  EXPECT_TRUE(p.matches("[ERROR] in MainThread: boom"));
  EXPECT_FALSE(p.matches("[ERROR] in worker"));
  EXPECT_FALSE(p.matches("[error] in MainThread"));
}

TEST(FilterPattern, QuotedPhraseKeepsItsSpaces) {
  const auto p = compiled("\"Invalid user\" sshd");
  EXPECT_TRUE(p.matches("sshd[1]: Invalid user bob"));
  EXPECT_FALSE(p.matches("sshd[1]: Invalid  user bob"));
  EXPECT_FALSE(p.matches("user Invalid sshd"));
  EXPECT_TRUE(compiled(R"("say \"hi\"")").matches(R"(they say "hi")"));
}

TEST(FilterPattern, ExcludedTerms) {
  const auto p = compiled("ERROR -Exiting");
  EXPECT_TRUE(p.matches("ERROR disk full"));
  EXPECT_FALSE(p.matches("ERROR Exiting now"));
  EXPECT_FALSE(p.matches("all good"));
  EXPECT_TRUE(compiled("-\"no such\"").matches("found it"));
  EXPECT_FALSE(compiled("-\"no such\"").matches("no such file"));
}

TEST(FilterPattern, AlternativesAndTheirGroups) {
  const auto either = compiled("?ERROR ?WARN");
  EXPECT_TRUE(either.matches("WARN low disk"));
  EXPECT_TRUE(either.matches("ERROR"));
  EXPECT_FALSE(either.matches("INFO"));
  // CDK's anyTermGroup: `?"ERROR" "MainThread" ?"WARN" "Deadlock"`.
  const auto groups = compiled(R"(?"ERROR" "MainThread" ?"WARN" "Deadlock")");
  EXPECT_TRUE(groups.matches("ERROR in MainThread"));
  EXPECT_TRUE(groups.matches("WARN Deadlock detected"));
  EXPECT_FALSE(groups.matches("ERROR in worker"));
  EXPECT_FALSE(groups.matches("WARN slow"));
}

TEST(FilterPattern, Regex) {
  const auto p = compiled("%[Ee]rror|[Ff]ail%");
  EXPECT_TRUE(p.matches("build error"));
  EXPECT_TRUE(p.matches("Failed"));
  EXPECT_FALSE(p.matches("ok"));
  EXPECT_TRUE(compiled("%AUTHORIZED%").matches("[ERROR 401] UNAUTHORIZED REQUEST"));
  EXPECT_TRUE(compiled(R"(%\d{1,3}\.\d{1,3}%)").matches("ip 10.20"));
  EXPECT_TRUE(compiled(R"(%line\(1\)%)").matches("line(1)"));
}

TEST(FilterPattern, JsonStrings) {
  const auto p = compiled(R"({ $.level = "error" })");
  EXPECT_TRUE(p.matches(R"({"level": "error", "msg": "x"})"));
  EXPECT_FALSE(p.matches(R"({"level": "info"})"));
  EXPECT_FALSE(p.matches(R"({"other": "error"})"));
  EXPECT_FALSE(p.matches("level = error"));         // not JSON
  EXPECT_FALSE(p.matches(R"({"level": "error")"));  // broken JSON
  EXPECT_TRUE(compiled("{$.eventType=UpdateTrail}").matches(R"({"eventType":"UpdateTrail"})"));
  const auto ne = compiled("{ $.ip != 123.123.* }");
  EXPECT_FALSE(ne.matches(R"({"ip":"123.123.0.9"})"));
  EXPECT_TRUE(ne.matches(R"({"ip":"10.0.0.1"})"));
  EXPECT_TRUE(compiled(R"({ $.user.name = "Ali*" })").matches(R"({"user":{"name":"Alice"}})"));
  EXPECT_TRUE(compiled("{ $.msg = %tim.out% }").matches(R"({"msg":"a timeout"})"));
}

TEST(FilterPattern, JsonNumbersAndKeywords) {
  EXPECT_TRUE(compiled("{ $.latency > 1000 }").matches(R"({"latency": 1500})"));
  EXPECT_FALSE(compiled("{ $.latency > 1000 }").matches(R"({"latency": 900})"));
  EXPECT_FALSE(compiled("{ $.latency > 1000 }").matches(R"({"latency": "1500"})"));
  EXPECT_TRUE(compiled("{ $.n = 2.5 }").matches(R"({"n": 2.5})"));
  EXPECT_TRUE(compiled("{ $.n <= -1 }").matches(R"({"n": -3})"));
  EXPECT_TRUE(compiled("{ $.ok IS TRUE }").matches(R"({"ok": true})"));
  EXPECT_FALSE(compiled("{ $.ok IS TRUE }").matches(R"({"ok": "true"})"));
  EXPECT_TRUE(compiled("{ $.ok IS FALSE }").matches(R"({"ok": false})"));
  EXPECT_TRUE(compiled("{ $.x IS NULL }").matches(R"({"x": null})"));
  EXPECT_TRUE(compiled("{ $.x NOT EXISTS }").matches(R"({"y": 1})"));
  EXPECT_FALSE(compiled("{ $.x NOT EXISTS }").matches(R"({"x": 1})"));
}

TEST(FilterPattern, JsonArraysAndLogic) {
  EXPECT_TRUE(compiled(R"({ $.tags[1] = "b" })").matches(R"({"tags":["a","b"]})"));
  EXPECT_FALSE(compiled(R"({ $.tags[0] = "b" })").matches(R"({"tags":["a","b"]})"));
  EXPECT_TRUE(compiled(R"({ $.tags[*] = "b" })").matches(R"({"tags":["a","b"]})"));
  const auto p = compiled(R"({ $.c = "Http" && ($.error IS TRUE || $.latency > 1000) })");
  EXPECT_TRUE(p.matches(R"({"c":"Http","error":true})"));
  EXPECT_TRUE(p.matches(R"({"c":"Http","error":false,"latency":2000})"));
  EXPECT_FALSE(p.matches(R"({"c":"Http","error":false,"latency":20})"));
  EXPECT_FALSE(p.matches(R"({"c":"Db","error":true})"));
  EXPECT_TRUE(compiled(R"({$.a = 1 || $.b = 2 && $.c = 3})").matches(R"({"a":1})"));
}

TEST(FilterPattern, MalformedPatternsAreRefused) {
  EXPECT_EQ(refusal("{ $.level = \"error\""),
            "If a filter pattern starts with '{' it must end with '}'");
  for (const char* bad : {"{ }",
                          "{ level = 1 }",
                          "{ $. = 1 }",
                          "{ $.a }",
                          "{ $.a > \"x\" }",
                          "{ $.a > abc }",
                          "{ $.a = }",
                          "{ ($.a = 1 }",
                          "{ $.a = 1 && }",
                          "{ $.a IS MAYBE }",
                          "{ $.a[x] = 1 }",
                          "{ $.a = \"x }",
                          "\"open",
                          "ab\"c",
                          "? x",
                          "- x",
                          "%%",
                          "%abc",
                          "%(a|b)%",
                          "%[%",
                          "{ $.a = %x }"}) {
    EXPECT_EQ(refusal(bad), "Invalid filter pattern") << bad;
  }
  EXPECT_EQ(
      refusal("[ip, user, status = 404]"),
      "Invalid filter pattern: Kiln does not support space-delimited patterns ([w1, w2, ...])");
}

TEST(FilterPattern, DeepNestingIsRefusedNotRecursedWithoutBound) {
  std::string deep = "{ ";
  for (int i = 0; i < 200; ++i) deep += "(";
  deep += "$.a = 1";
  for (int i = 0; i < 200; ++i) deep += ")";
  deep += " }";
  EXPECT_EQ(refusal(deep), "Invalid filter pattern");
}

}  // namespace
}  // namespace kiln::api
