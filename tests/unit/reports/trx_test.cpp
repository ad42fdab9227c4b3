// VISUALSTUDIOTRX: outcomes, the class from TestDefinitions (after Results in the file),
// hh:mm:ss durations, ErrorInfo messages, and counters that are not believed.
#include <gtest/gtest.h>

#include "reports/parse_fixture.h"

namespace kiln::reports {
namespace {

using fixture::parse_corpus;
using fixture::parse_text;

constexpr std::string_view kTrx = R"(<?xml version="1.0" encoding="utf-8"?>
<TestRun id="1" name="run" xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">
  <Times creation="2021-04-20T08:31:32" />
  <Results>
    <UnitTestResult testId="t1" testName="N.Calc.Adds" outcome="Passed" duration="00:00:01.5000000" />
    <UnitTestResult testId="t2" testName="N.Calc.Divides" outcome="Failed" duration="00:01:00">
      <Output>
        <StdOut>printed</StdOut>
        <ErrorInfo><Message>Assert.Equal() Failure</Message><StackTrace>   at N.Calc.Divides() in Calc.cs:line 9</StackTrace></ErrorInfo>
      </Output>
    </UnitTestResult>
    <UnitTestResult testId="t3" testName="Later" outcome="NotExecuted" />
    <UnitTestResult testId="t4" testName="N.Other.Stuck" outcome="Timeout" duration="1.02:00:00" />
    <UnitTestResult testId="t5" testName="N.Other.Gone" outcome="Aborted" />
    <UnitTestResult testId="t6" testName="N.Other.Hm" outcome="Inconclusive" />
  </Results>
  <TestDefinitions>
    <UnitTest name="Adds" id="t1"><TestMethod className="N.Calc" name="Adds" /></UnitTest>
    <UnitTest name="Divides" id="t2"><TestMethod className="N.Calc" name="Divides" /></UnitTest>
    <UnitTest name="Later" id="t3"><TestMethod className="N.Calc, Calc, Version=1.0.0.0, Culture=neutral" name="Later" /></UnitTest>
  </TestDefinitions>
  <ResultSummary outcome="Failed"><Counters total="6" notExecuted="0" /></ResultSummary>
</TestRun>)";

TEST(TrxParser, ResultsOutcomesAndClasses) {
  const auto p = parse_text(Format::kVisualStudioTrx, kTrx);
  ASSERT_TRUE(p.result) << p.error();
  ASSERT_EQ(p.cases.size(), 6u);
  const TestCase want{"reports/t.xml", "N.Calc", "N.Calc.Adds", "SUCCEEDED",
                      1500000000,      "",       "N.Calc"};
  EXPECT_EQ(p.cases[0], want);
  EXPECT_EQ(p.cases[1].status, "FAILED");
  EXPECT_EQ(p.cases[1].duration_ns, 60000000000);
  EXPECT_EQ(p.cases[1].message, "Assert.Equal() Failure\nat N.Calc.Divides() in Calc.cs:line 9");
  EXPECT_EQ(p.cases[2].status, "SKIPPED");
  EXPECT_EQ(p.cases[2].prefix, "N.Calc");  // assembly-qualified name cut at its comma
  EXPECT_EQ(p.cases[3].status, "FAILED");
  EXPECT_EQ(p.cases[3].duration_ns, 93600000000000);  // a day and two hours
  EXPECT_EQ(p.cases[3].prefix, "N.Other");            // no definition: the testName's class
  EXPECT_EQ(p.cases[4].status, "ERROR");
  EXPECT_EQ(p.cases[5].status, "UNKNOWN");
}

TEST(TrxParser, CountersAreNotBelieved) {
  const auto p =
      parse_corpus(Format::kVisualStudioTrx, "trx/nunit-adapter-silentnotes-not-executed.trx");
  ASSERT_TRUE(p.result) << p.error();
  EXPECT_EQ(p.counts().at("SKIPPED"), 12);  // Counters says notExecuted="0"
}

TEST(TrxParser, XunitV3PseudoTestsWithoutClassName) {
  const auto p = parse_corpus(Format::kVisualStudioTrx, "trx/xunit-v3-failures.trx");
  ASSERT_TRUE(p.result) << p.error();
  const TestCase* real = p.find("DotnetTests.XUnitV3Tests.FixtureTests.Failing_Test");
  ASSERT_NE(real, nullptr);
  EXPECT_EQ(real->prefix, "DotnetTests.XUnitV3Tests.FixtureTests");
  EXPECT_FALSE(real->message.empty());
  // A pseudo-test's TestMethod has no className, and its name is not a dotted path.
  const TestCase* cleanup =
      p.find("[Test Class Cleanup Failure (DotnetTests.XUnitV3Tests.FixtureTests.Passing_Test)]");
  ASSERT_NE(cleanup, nullptr);
  EXPECT_EQ(cleanup->status, "FAILED");
  EXPECT_EQ(cleanup->prefix, "");
}

TEST(TrxParser, WrongRoot) {
  const auto p = parse_text(Format::kVisualStudioTrx, "<testsuites/>");
  ASSERT_FALSE(p.result);
  EXPECT_NE(p.error().find("not a Visual Studio TRX file"), std::string::npos) << p.error();
}

}  // namespace
}  // namespace kiln::reports
