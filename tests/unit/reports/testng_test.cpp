// TESTNGXML: statuses, config methods left out, prefix, suite, duration-ms and messages.
#include <gtest/gtest.h>

#include "reports/parse_fixture.h"

namespace kiln::reports {
namespace {

using fixture::parse_corpus;
using fixture::parse_text;

TEST(TestNgParser, MethodsBecomeCasesAndConfigMethodsDoNot) {
  const auto p =
      parse_text(Format::kTestNgXml, R"x(<testng-results skipped="0" failed="1" total="4">
  <reporter-output><line><![CDATA[noise]]></line></reporter-output>
  <suite name="Suite A">
    <groups/>
    <test name="Test A">
      <class name="com.x.CalcTest">
        <test-method status="PASS" signature="setUp()" name="setUp" is-config="true" duration-ms="3"/>
        <test-method status="PASS" signature="adds()" name="adds" duration-ms="12"/>
        <test-method status="FAIL" signature="divides()" name="divides" duration-ms="5">
          <params><param index="0"><value><![CDATA[0]]></value></param></params>
          <exception class="java.lang.ArithmeticException">
            <message><![CDATA[/ by zero]]></message>
            <full-stacktrace><![CDATA[java.lang.ArithmeticException: / by zero
	at com.x.CalcTest.divides(CalcTest.java:20)]]></full-stacktrace>
          </exception>
        </test-method>
        <test-method status="SKIP" name="later" duration-ms="0"/>
        <test-method status="FAIL" name="bare"><exception class="java.lang.Error"/></test-method>
        <test-method status="WEIRD" name="odd"/>
      </class>
    </test>
  </suite>
</testng-results>)x");
  ASSERT_TRUE(p.result) << p.error();
  ASSERT_EQ(p.cases.size(), 5u);
  const TestCase want{"reports/t.xml", "com.x.CalcTest", "adds", "SUCCEEDED", 12000000, "",
                      "Suite A"};
  EXPECT_EQ(p.cases[0], want);
  EXPECT_EQ(p.cases[1].status, "FAILED");
  EXPECT_EQ(p.cases[1].message,
            "/ by zero\njava.lang.ArithmeticException: / by zero\n\tat "
            "com.x.CalcTest.divides(CalcTest.java:20)");
  EXPECT_EQ(p.cases[2].status, "SKIPPED");
  EXPECT_EQ(p.cases[3].message, "java.lang.Error");  // no message: the exception's class
  EXPECT_EQ(p.cases[4].status, "UNKNOWN");
  EXPECT_EQ(p.find("setUp"), nullptr);
}

TEST(TestNgParser, WrongRoot) {
  const auto p = parse_text(Format::kTestNgXml, "<testsuite/>");
  ASSERT_FALSE(p.result);
  EXPECT_EQ(p.error(),
            "t.xml:1:1: the root element is <testsuite>, not <testng-results>: not a TestNG XML "
            "file (is the report group's file-format right?)");
}

TEST(TestNgParser, RealFileWithConfigMethods) {
  const auto p = parse_corpus(Format::kTestNgXml, "testng/testng-exception-message.xml");
  ASSERT_TRUE(p.result) << p.error();
  ASSERT_EQ(p.cases.size(), 1u);  // setUp is is-config
  EXPECT_EQ(p.cases[0].name, "b");
  EXPECT_EQ(p.cases[0].prefix, "gov.nasa.jpl.FoobarTests");
  EXPECT_EQ(p.cases[0].test_suite_name, "Ant suite");
  EXPECT_EQ(p.cases[0].duration_ns, 2035000000);
  EXPECT_EQ(p.cases[0].message.rfind("Test <a href=", 0), 0u) << p.cases[0].message;
  EXPECT_NE(p.cases[0].message.find("\njava.lang.AssertionError: Test"), std::string::npos);
}

}  // namespace
}  // namespace kiln::reports
