// NUNIT3XML: results and labels, classname, nearest suite, durations and messages.
#include <gtest/gtest.h>

#include "reports/parse_fixture.h"

namespace kiln::reports {
namespace {

using fixture::parse_corpus;
using fixture::parse_text;

TEST(Nunit3Parser, ResultsAndLabelsMapToStatuses) {
  const auto p =
      parse_text(Format::kNunit3Xml, R"(<test-run id="2" testcasecount="7" result="Failed">
  <command-line><![CDATA[nunit3-console x.dll]]></command-line>
  <test-suite type="Assembly" name="x.dll">
    <test-suite type="TestFixture" name="CalcTests" fullname="N.CalcTests">
      <test-case name="Adds" fullname="N.CalcTests.Adds" classname="N.CalcTests" result="Passed" duration="0.25"/>
      <test-case name="Divides" fullname="N.CalcTests.Divides" classname="N.CalcTests" result="Failed" duration="0.001">
        <failure><message><![CDATA[Expected: 2]]></message><stack-trace><![CDATA[at N.CalcTests.Divides()]]></stack-trace></failure>
        <output><![CDATA[printed]]></output>
      </test-case>
      <test-case name="Throws" classname="N.CalcTests" result="Failed" label="Error"/>
      <test-case name="Bad" classname="N.CalcTests" result="Failed" label="Invalid"/>
      <test-case name="Later" classname="N.CalcTests" result="Skipped" label="Ignored">
        <reason><message><![CDATA[not now]]></message></reason>
      </test-case>
      <test-case name="Maybe" classname="N.CalcTests" result="Inconclusive"/>
      <test-case name="Old" fullname="N.CalcTests.Old" result="Passed" time="2"/>
    </test-suite>
  </test-suite>
</test-run>)");
  ASSERT_TRUE(p.result) << p.error();
  ASSERT_EQ(p.cases.size(), 7u);
  const TestCase want{"reports/t.xml", "N.CalcTests", "Adds", "SUCCEEDED", 250000000, "",
                      "CalcTests"};
  EXPECT_EQ(p.cases[0], want);
  EXPECT_EQ(p.cases[1].status, "FAILED");
  EXPECT_EQ(p.cases[1].message, "Expected: 2\nat N.CalcTests.Divides()");
  EXPECT_EQ(p.cases[2].status, "ERROR");
  EXPECT_EQ(p.cases[3].status, "ERROR");
  EXPECT_EQ(p.cases[4].status, "SKIPPED");
  EXPECT_EQ(p.cases[4].message, "not now");
  EXPECT_EQ(p.cases[5].status, "UNKNOWN");
  EXPECT_EQ(p.cases[6].prefix, "N.CalcTests");    // no classname: from the fullname
  EXPECT_EQ(p.cases[6].duration_ns, 2000000000);  // NUnit 3.0's time attribute
}

TEST(Nunit3Parser, RealFile) {
  const auto p = parse_corpus(Format::kNunit3Xml, "nunit3/nunit3-console-3.12-failures.xml");
  ASSERT_TRUE(p.result) << p.error();
  const TestCase* c = p.find("Exception_In_TargetTest");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->prefix, "DotnetTests.XUnitTests.CalculatorTests");
  EXPECT_EQ(c->test_suite_name, "CalculatorTests");
  EXPECT_EQ(c->status, "ERROR");
  EXPECT_EQ(c->duration_ns, 22805000);
  EXPECT_FALSE(c->message.empty());
}

TEST(Nunit3Parser, Nunit2FileIsTheWrongFormat) {
  const auto p = parse_corpus(Format::kNunit3Xml, "nunit/nunit-2.5.3-ignored.xml");
  ASSERT_FALSE(p.result);
  EXPECT_NE(p.error().find("the root element is <test-results>, not <test-run>"), std::string::npos)
      << p.error();
}

}  // namespace
}  // namespace kiln::reports
