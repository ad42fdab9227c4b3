// JUNITXML: statuses, prefix, suite names, durations and messages, on hand-written files and
// on the real ones of tests/corpus/reports/junit.
#include <gtest/gtest.h>

#include "reports/parse_fixture.h"

namespace kiln::reports {
namespace {

using fixture::parse_corpus;
using fixture::parse_text;

TEST(JunitParser, StatusesPrefixSuiteDurationMessage) {
  const auto p = parse_text(Format::kJunitXml, R"(<?xml version="1.0"?>
<testsuites name="all">
  <testsuite name="calc" tests="5">
    <testcase classname="a.CalcTest" name="adds" time="0.25"/>
    <testcase classname="a.CalcTest" name="divides" time="1,234.5">
      <failure message="expected 2" type="AssertionError">at a.CalcTest.divides(CalcTest.java:9)</failure>
    </testcase>
    <testcase classname="a.CalcTest" name="explodes"><error message="NPE"/></testcase>
    <testcase classname="a.CalcTest" name="later"><skipped message="not today"/></testcase>
    <testcase classname="a.CalcTest" name="both"><skipped/><error message="worse"/></testcase>
  </testsuite>
</testsuites>)");
  ASSERT_TRUE(p.result) << p.error();
  ASSERT_EQ(p.cases.size(), 5u);
  const TestCase want_adds{"reports/t.xml", "a.CalcTest", "adds", "SUCCEEDED",
                           250000000,       "",           "calc"};
  EXPECT_EQ(p.cases[0], want_adds);
  EXPECT_EQ(p.cases[1].status, "FAILED");
  EXPECT_EQ(p.cases[1].duration_ns, 1234500000000);
  EXPECT_EQ(p.cases[1].message, "expected 2\nat a.CalcTest.divides(CalcTest.java:9)");
  EXPECT_EQ(p.cases[2].status, "ERROR");
  EXPECT_EQ(p.cases[2].message, "NPE");
  EXPECT_EQ(p.cases[3].status, "SKIPPED");
  EXPECT_EQ(p.cases[3].message, "not today");
  EXPECT_EQ(p.cases[4].status, "ERROR");  // the worst outcome child wins
  EXPECT_EQ(p.cases[4].message, "worse");
}

TEST(JunitParser, NestedSuitesGiveTheInnermostName) {
  const auto p = parse_text(Format::kJunitXml, R"(<testsuites>
  <testsuite name="outer">
    <testsuite name="inner"><testcase name="a"/></testsuite>
    <testcase name="b"/>
  </testsuite>
  <testcase name="c"/>
</testsuites>)");
  ASSERT_TRUE(p.result) << p.error();
  ASSERT_EQ(p.cases.size(), 3u);
  EXPECT_EQ(p.cases[0].test_suite_name, "inner");
  EXPECT_EQ(p.cases[1].test_suite_name, "outer");
  EXPECT_EQ(p.cases[2].test_suite_name, "");
}

TEST(JunitParser, SingleSuiteRootAndEmptySuite) {
  auto p =
      parse_text(Format::kJunitXml, "<testsuite name=\"s\"><testcase name=\"x\"/></testsuite>");
  ASSERT_TRUE(p.result) << p.error();
  ASSERT_EQ(p.cases.size(), 1u);
  EXPECT_EQ(p.cases[0].test_suite_name, "s");
  p = parse_text(Format::kJunitXml, "<testsuite name=\"empty\"/>");
  ASSERT_TRUE(p.result) << p.error();
  EXPECT_TRUE(p.cases.empty());
}

TEST(JunitParser, CdataFailureTextAndEncodedNewlines) {
  const auto p = parse_text(Format::kJunitXml,
                            "<testsuite><testcase name=\"t\"><failure message=\"a&#10;b\">"
                            "<![CDATA[line1\n<tag> & more]]></failure></testcase></testsuite>");
  ASSERT_TRUE(p.result) << p.error();
  EXPECT_EQ(p.cases[0].message, "a\nb\nline1\n<tag> & more");
}

TEST(JunitParser, SurefireFlakyAndRerun) {
  const auto p = parse_text(Format::kJunitXml, R"(<testsuite name="s">
  <testcase name="flaky"><flakyFailure message="first try"><stackTrace>x</stackTrace></flakyFailure></testcase>
  <testcase name="always"><failure message="third try"/><rerunFailure message="second try"/></testcase>
</testsuite>)");
  ASSERT_TRUE(p.result) << p.error();
  EXPECT_EQ(p.cases[0].status, "SUCCEEDED");
  EXPECT_EQ(p.cases[0].message, "");
  EXPECT_EQ(p.cases[1].status, "FAILED");
  EXPECT_EQ(p.cases[1].message, "third try");
}

TEST(JunitParser, GoogleTestNotRunIsSkipped) {
  const auto p = parse_text(Format::kJunitXml,
                            "<testsuites><testsuite name=\"S\"><testcase name=\"DISABLED_x\" "
                            "status=\"notrun\" result=\"suppressed\" time=\"0\" "
                            "classname=\"S\"/></testsuite></testsuites>");
  ASSERT_TRUE(p.result) << p.error();
  EXPECT_EQ(p.cases[0].status, "SKIPPED");
}

TEST(JunitParser, BadDurationsAreZero) {
  const auto p = parse_text(Format::kJunitXml,
                            "<testsuite><testcase name=\"a\" time=\"-1\"/><testcase name=\"b\" "
                            "time=\"soon\"/><testcase name=\"c\" time=\"1e300\"/></testsuite>");
  ASSERT_TRUE(p.result) << p.error();
  for (const auto& c : p.cases) EXPECT_EQ(c.duration_ns, 0) << c.name;
}

TEST(JunitParser, WrongRootAndTruncatedFile) {
  auto p = parse_text(Format::kJunitXml, "<?xml version=\"1.0\"?>\n<testng-results/>");
  ASSERT_FALSE(p.result);
  EXPECT_EQ(p.error(),
            "t.xml:2:1: the root element is <testng-results>, not <testsuites> or <testsuite>: "
            "not a JUnit XML file (is the report group's file-format right?)");
  std::string big = "<testsuite>\n";
  for (int i = 0; i < 3000; ++i) big += "<testcase name=\"t" + std::to_string(i) + "\"/>\n";
  big += "<testcase name=\"cut";  // the file ends mid-tag
  p = parse_text(Format::kJunitXml, big);
  ASSERT_FALSE(p.result);
  EXPECT_EQ(p.error().rfind("t.xml:3002:", 0), 0u) << p.error();
  // The cases before the break have reached the sink already.
  EXPECT_GT(p.cases.size(), 2500u);
}

TEST(JunitParser, RealFilesKeepTheirDetails) {
  auto p = parse_corpus(Format::kJunitXml, "junit/ant-junit-errors.xml");
  ASSERT_TRUE(p.result) << p.error();
  for (const auto& c : p.cases) EXPECT_EQ(c.prefix, "") << c.name;  // no classname there
  p = parse_corpus(Format::kJunitXml, "junit/phpunit-nested-suites.xml");
  ASSERT_TRUE(p.result) << p.error();
  for (const auto& c : p.cases) {
    EXPECT_FALSE(c.test_suite_name.empty()) << c.name;
    EXPECT_EQ(c.test_suite_name, c.prefix) << c.name;  // the innermost suite is the class
  }
  p = parse_corpus(Format::kJunitXml, "junit/surefire-failures-skipped.xml");
  ASSERT_TRUE(p.result) << p.error();
  int failed = 0;
  for (const auto& c : p.cases) {
    if (c.status != "FAILED") continue;
    ++failed;
    EXPECT_NE(c.message.find('\n'), std::string::npos) << c.message;  // message, then stack
    EXPECT_EQ(c.prefix, "action.surefire.report.calc.StringUtilsTest");
  }
  EXPECT_EQ(failed, 2);
}

}  // namespace
}  // namespace kiln::reports
