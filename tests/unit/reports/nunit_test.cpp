// NUNITXML (NUnit 2): statuses, names and messages as CodeBuild's describe-test-cases example
// shows them for NUnit's mock assembly, and the NUnit 2.2 schema without result attributes.
#include <gtest/gtest.h>

#include "reports/parse_fixture.h"

namespace kiln::reports {
namespace {

using fixture::parse_corpus;
using fixture::parse_text;

// CodeBuild's example (aws-cli awscli/examples/codebuild/describe-test-cases.rst) shows two
// cases of this very file: NotRunnableTest and TestWithException, both ERROR.
TEST(NunitParser, MockAssemblyAsCodeBuildShowsIt) {
  const auto p = parse_corpus(Format::kNunitXml, "nunit/nunit-2.5.8-mock-assembly.xml");
  ASSERT_TRUE(p.result) << p.error();
  const TestCase* nr = p.find("NUnit.Tests.Assemblies.MockTestFixture.NotRunnableTest");
  ASSERT_NE(nr, nullptr);
  EXPECT_EQ(nr->prefix, "NUnit.Tests.Assemblies.MockTestFixture");
  EXPECT_EQ(nr->status, "ERROR");
  EXPECT_EQ(nr->duration_ns, 0);
  EXPECT_EQ(nr->message, "No arguments were provided\n");
  EXPECT_EQ(nr->test_suite_name, "MockTestFixture");
  const TestCase* ex = p.find("NUnit.Tests.Assemblies.MockTestFixture.TestWithException");
  ASSERT_NE(ex, nullptr);
  EXPECT_EQ(ex->status, "ERROR");
  EXPECT_EQ(ex->duration_ns, 1000000);
  EXPECT_EQ(ex->message,
            "System.ApplicationException : Intentional Exception\nat "
            "NUnit.Tests.Assemblies.MockTestFixture.TestWithException () [0x00000] in "
            "/home/charlie/Dev/NUnit/nunit-2.5/work/src/tests/mock-assembly/MockAssembly.cs:153\n");
}

TEST(NunitParser, ResultsMapToStatuses) {
  const auto p = parse_text(Format::kNunitXml, R"(<test-results name="x" total="3">
  <environment nunit-version="2.5.8.0"/>
  <test-suite name="Fixture" type="TestFixture"><results>
    <test-case name="N.Fixture.Ok" executed="True" result="Success" time="0.5"/>
    <test-case name="N.Fixture.Bad" executed="True" result="Failure">
      <failure><message><![CDATA[expected 1]]></message><stack-trace><![CDATA[at N.Fixture.Bad()]]></stack-trace></failure>
    </test-case>
    <test-case name="N.Fixture.Off" executed="False" result="Ignored"><reason><message>later</message></reason></test-case>
    <test-case name="N.Fixture.Maybe" executed="True" result="Inconclusive"/>
    <test-case name="N.Fixture.Gone" executed="False" result="Skipped"/>
    <test-case name="N.Fixture.Stop" executed="True" result="Cancelled"/>
  </results></test-suite>
</test-results>)");
  ASSERT_TRUE(p.result) << p.error();
  ASSERT_EQ(p.cases.size(), 6u);
  const TestCase want{"reports/t.xml", "N.Fixture", "N.Fixture.Ok", "SUCCEEDED",
                      500000000,       "",          "Fixture"};
  EXPECT_EQ(p.cases[0], want);
  EXPECT_EQ(p.cases[1].status, "FAILED");
  EXPECT_EQ(p.cases[1].message, "expected 1\nat N.Fixture.Bad()\n");
  EXPECT_EQ(p.cases[2].status, "SKIPPED");
  EXPECT_EQ(p.cases[2].message, "later\n");
  EXPECT_EQ(p.cases[3].status, "UNKNOWN");
  EXPECT_EQ(p.cases[4].status, "SKIPPED");
  EXPECT_EQ(p.cases[5].status, "UNKNOWN");
}

TEST(NunitParser, Nunit22SchemaWithoutResult) {
  const auto p = parse_text(Format::kNunitXml, R"(<test-results total="3">
  <test-suite name="S"><results>
    <test-case name="A.ok" executed="True" success="True" time="0.1"/>
    <test-case name="A.bad" executed="True" success="False"><failure><message>no</message></failure></test-case>
    <test-case name="A.off" executed="False"/>
    <test-case name="A.bad2" executed="True"><failure><message>no</message></failure></test-case>
  </results></test-suite>
</test-results>)");
  ASSERT_TRUE(p.result) << p.error();
  ASSERT_EQ(p.counts(),
            (std::map<std::string, int>{{"FAILED", 2}, {"SKIPPED", 1}, {"SUCCEEDED", 1}}));
  EXPECT_EQ(p.find("A.off")->prefix, "A");
}

TEST(NunitParser, WrongRoot) {
  const auto p = parse_text(Format::kNunitXml, "<test-run/>");
  ASSERT_FALSE(p.result);
  EXPECT_NE(p.error().find("not a NUnit 2 XML file"), std::string::npos) << p.error();
}

}  // namespace
}  // namespace kiln::reports
