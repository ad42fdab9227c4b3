// CUCUMBERJSON: scenarios as cases, step statuses folded cucumber's way, hooks, backgrounds,
// and JSON that is not cucumber's.
#include <gtest/gtest.h>

#include "reports/parse_fixture.h"

namespace kiln::reports {
namespace {

using fixture::parse_corpus;
using fixture::parse_text;

constexpr std::string_view kFeature = R"([{
  "uri": "features/calc.feature", "keyword": "Feature", "name": "Calculator",
  "elements": [
    {"type": "background", "keyword": "Background", "name": "",
     "steps": [{"keyword": "Given ", "name": "a calculator", "result": {"status": "passed", "duration": 1000}}]},
    {"type": "scenario", "keyword": "Scenario", "name": "adds",
     "steps": [{"keyword": "When ", "name": "I add", "result": {"status": "passed", "duration": 2000}}]},
    {"type": "scenario", "keyword": "Scenario", "name": "divides",
     "before": [{"result": {"status": "passed", "duration": 5}}],
     "steps": [{"keyword": "When ", "name": "I divide", "result": {"status": "failed", "duration": 7, "error_message": "division by zero"}},
               {"keyword": "Then ", "name": "it shows", "result": {"status": "skipped"}}]},
    {"type": "scenario", "name": "undefined", "steps": [
      {"keyword": "Given ", "name": "something new", "result": {"status": "undefined"}, "match": {}},
      {"keyword": "Then ", "name": "x", "result": {"status": "skipped"}}]},
    {"type": "scenario", "name": "pending", "steps": [{"keyword": "Given ", "name": "p", "result": {"status": "pending"}}]},
    {"type": "scenario", "name": "ambiguous", "steps": [{"keyword": "Given ", "name": "a", "result": {"status": "ambiguous", "error_message": "two"}}]},
    {"type": "scenario", "name": "all skipped", "steps": [{"keyword": "Given ", "name": "s", "result": {"status": "skipped"}}]},
    {"type": "scenario", "name": "hook fails", "steps": [
      {"keyword": "Before", "hidden": true, "result": {"status": "failed", "error_message": "db down"}},
      {"keyword": "Given ", "name": "s", "result": {"status": "skipped"}}]},
    {"type": "scenario", "name": "empty", "steps": []}
  ]},
  {"keyword": "Feature", "name": "No scenarios"}
])";

TEST(CucumberParser, ScenariosAndTheirStatuses) {
  const auto p = parse_text(Format::kCucumberJson, kFeature);
  ASSERT_TRUE(p.result) << p.error();
  ASSERT_EQ(p.cases.size(), 8u);
  // The background's step is the first step of the scenario that follows it.
  const TestCase want{"reports/t.xml", "Calculator", "adds", "SUCCEEDED", 3000, "", "Calculator"};
  EXPECT_EQ(p.cases[0], want);
  EXPECT_EQ(p.cases[1].status, "FAILED");
  EXPECT_EQ(p.cases[1].duration_ns, 12);  // its hook's time too, and not the background's
  EXPECT_EQ(p.cases[1].message, "division by zero");
  EXPECT_EQ(p.cases[2].status, "UNKNOWN");
  EXPECT_EQ(p.cases[2].message, "Undefined step: Given something new");
  EXPECT_EQ(p.cases[3].status, "UNKNOWN");
  EXPECT_EQ(p.cases[3].message, "Pending step: Given p");
  EXPECT_EQ(p.cases[4].status, "ERROR");
  EXPECT_EQ(p.cases[5].status, "SKIPPED");
  EXPECT_EQ(p.cases[6].status, "FAILED");
  EXPECT_EQ(p.cases[6].message, "db down");
  EXPECT_EQ(p.cases[7].status, "SKIPPED");
}

TEST(CucumberParser, NotCucumberJson) {
  auto p = parse_text(Format::kCucumberJson, R"({"meta": {}})");
  ASSERT_FALSE(p.result);
  EXPECT_EQ(p.error(),
            "t.xml:1:1: not cucumber JSON (is the report group's file-format right?): the top "
            "level is not an array");
  p = parse_text(Format::kCucumberJson, R"([{"elements": 3}])");
  ASSERT_FALSE(p.result);
  EXPECT_NE(p.error().find("\"elements\" of feature 0 is not an array"), std::string::npos);
  p = parse_text(Format::kCucumberJson, "[1]");
  ASSERT_FALSE(p.result);
  p = parse_text(Format::kCucumberJson, "[\n{\"name\": \"x\",\n \"elements\": [}]");
  ASSERT_FALSE(p.result);
  EXPECT_EQ(p.error().rfind("t.xml:3:15: not valid JSON", 0), 0u) << p.error();
  p = parse_text(Format::kCucumberJson, "[]");
  ASSERT_TRUE(p.result) << p.error();
  EXPECT_TRUE(p.cases.empty());
}

TEST(CucumberParser, JsonLimits) {
  std::string deep(300, '[');
  deep += std::string(300, ']');
  auto p = parse_text(Format::kCucumberJson, deep);
  ASSERT_FALSE(p.result);
  EXPECT_EQ(p.error(), "t.xml:1:1: JSON nests deeper than 256 levels");
  ParseLimits small;
  small.max_json_bytes = 100;
  p = parse_text(Format::kCucumberJson, std::string(kFeature), small);
  ASSERT_FALSE(p.result);
  EXPECT_EQ(p.error(), "t.xml:1:1: file is larger than the limit of 100 bytes");
  p = parse_text(Format::kCucumberJson, "[{\"name\": \"caf\xE9\"}]");
  ASSERT_FALSE(p.result);
  EXPECT_NE(p.error().find("not valid JSON"), std::string::npos) << p.error();
}

TEST(CucumberParser, RealFiles) {
  auto p = parse_corpus(Format::kCucumberJson, "cucumber/cucumber-jvm-embedding-failed.json");
  ASSERT_TRUE(p.result) << p.error();
  ASSERT_EQ(p.cases.size(), 1u);
  EXPECT_EQ(p.cases[0].status, "FAILED");
  EXPECT_EQ(p.cases[0].message.rfind("java.lang.AssertionError: Connection failed", 0), 0u)
      << p.cases[0].message;
  EXPECT_GT(p.cases[0].duration_ns, 1355975209);
  p = parse_corpus(Format::kCucumberJson, "cucumber/cucumber-jvm-spanish-background.json");
  ASSERT_TRUE(p.result) << p.error();
  ASSERT_EQ(p.cases.size(), 1u);
  EXPECT_FALSE(p.cases[0].prefix.empty());
}

}  // namespace
}  // namespace kiln::reports
