// parse.h: TestCollector's limits and order (§7.3), sniff_format, and the dispatch's errors.
#include "reports/parse.h"

#include <gtest/gtest.h>

#include <chrono>

#include "reports/parse_fixture.h"

namespace kiln::reports {
namespace {

using fixture::fd_with;
using fixture::parse_text;

TestCase named(std::string name, std::string_view status, std::int64_t ns = 1) {
  TestCase c;
  c.name = std::move(name);
  c.status = std::string(status);
  c.duration_ns = ns;
  return c;
}

TEST(TestCollector, CountsEveryCaseAndKeepsFailuresFirst) {
  TestCollector col;
  for (int i = 0; i < 600; ++i) col.add(named("ok" + std::to_string(i), kSucceeded));
  col.add(named("bad", kFailed));
  col.add(named("err", kError));
  col.add(named("odd", "WEIRD"));
  EXPECT_TRUE(col.truncated());
  EXPECT_EQ(col.summary().total, 603);
  EXPECT_EQ(col.summary().duration_ns, 603);
  const std::map<std::string, std::int64_t> want{
      {"SUCCEEDED", 600}, {"FAILED", 1}, {"ERROR", 1}, {"SKIPPED", 0}, {"UNKNOWN", 1}};
  EXPECT_EQ(col.summary().status_counts, want);
  const auto cases = col.take_cases();
  ASSERT_EQ(cases.size(), kMaxTestCases);
  EXPECT_EQ(cases[0].name, "bad");
  EXPECT_EQ(cases[1].name, "err");
  EXPECT_EQ(cases[2].name, "ok0");  // then the others in file order
  EXPECT_EQ(cases.back().name, "ok497");
  EXPECT_TRUE(col.take_cases().empty());
}

TEST(TestCollector, SmallReportIsNotTruncatedAndHasAllStatuses) {
  TestCollector col;
  col.add(named("a", kSkipped));
  EXPECT_FALSE(col.truncated());
  EXPECT_EQ(col.summary().status_counts.size(), 5u);
  EXPECT_EQ(col.take_cases().size(), 1u);
}

TEST(TestCollector, CutsNamesAndMessagesByCharacters) {
  TestCollector col;
  TestCase c = named(std::string(1500, 'n'), kFailed);
  std::string msg;
  for (int i = 0; i < 6000; ++i) msg += "\xC3\xA9";  // é, two bytes each
  c.message = msg;
  col.add(std::move(c));
  const auto cases = col.take_cases();
  EXPECT_EQ(cases[0].name.size(), kMaxNameChars);
  EXPECT_EQ(cases[0].message.size(), 2 * kMaxMessageChars);  // 5,000 characters, none split
}

TEST(SniffFormat, EachRootElement) {
  EXPECT_EQ(sniff_format("<?xml version=\"1.0\"?>\n<testsuites>"), Format::kJunitXml);
  EXPECT_EQ(sniff_format("\xEF\xBB\xBF<testsuite name=\"x\">"), Format::kJunitXml);
  EXPECT_EQ(sniff_format("<!-- c --><testng-results>"), Format::kTestNgXml);
  EXPECT_EQ(sniff_format("<TestRun xmlns=\"x\">"), Format::kVisualStudioTrx);
  EXPECT_EQ(sniff_format("<test-results total=\"1\">"), Format::kNunitXml);
  EXPECT_EQ(sniff_format("<test-run id=\"2\">"), Format::kNunit3Xml);
  EXPECT_EQ(sniff_format("<!DOCTYPE report PUBLIC \"-//JACOCO//DTD Report 1.1//EN\" "
                         "\"report.dtd\"><report name=\"x\">"),
            Format::kJacocoXml);
  EXPECT_EQ(sniff_format("<?xml version='1.0'?>\n<!DOCTYPE coverage SYSTEM 'x.dtd'>\n"
                         "<coverage line-rate=\"0.5\">"),
            Format::kCoberturaXml);
  EXPECT_EQ(sniff_format("<?xml version=\"1.0\"?>\n<coverage generated=\"1\" clover=\"4.4\">"),
            Format::kCloverXml);
  EXPECT_EQ(sniff_format("<coverage generated=\"1\">\n  <project timestamp=\"1\">"),
            Format::kCloverXml);
  EXPECT_EQ(sniff_format("[{\"keyword\": \"Feature\", \"elements\": []}]"), Format::kCucumberJson);
  EXPECT_EQ(sniff_format("{\"RSpec\": {\"coverage\": {}}}"), Format::kSimpleCov);
  EXPECT_EQ(sniff_format("<html><body>"), std::nullopt);
  EXPECT_EQ(sniff_format("[1, 2]"), std::nullopt);
  EXPECT_EQ(sniff_format("{\"name\": \"pkg\"}"), std::nullopt);
  EXPECT_EQ(sniff_format("plain text"), std::nullopt);
  EXPECT_EQ(sniff_format(""), std::nullopt);
  EXPECT_EQ(sniff_format("<?xml version=\"1.0\""), std::nullopt);
}

TEST(ParseDispatch, FormatOfTheWrongType) {
  fixture::VectorSink sink;
  UniqueFd fd = fd_with("<coverage/>");
  auto r = parse_test_file(Format::kCoberturaXml, fd.get(), "c.xml", "c.xml", sink);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "c.xml: COBERTURAXML is not a test report format");
  auto c = parse_coverage_file(Format::kJunitXml, fd.get(), "j.xml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(), "j.xml: JUNITXML is not a code coverage format");
}

TEST(ParseDispatch, XmlSizeCapApplies) {
  std::string doc = "<testsuite>";
  for (int i = 0; i < 1000; ++i) doc += "<testcase name=\"t\"/>";
  doc += "</testsuite>";
  ParseLimits limits;
  limits.max_xml_bytes = 2048;
  const auto p = parse_text(Format::kJunitXml, doc, limits);
  ASSERT_FALSE(p.result);
  EXPECT_NE(p.error().find("file is larger than the limit of 2048 bytes"), std::string::npos)
      << p.error();
}

// A 2 GiB file (sparse: a start tag, then zeros) is refused at once, for XML and for JSON.
TEST(ParseDispatch, TwoGigabyteFileIsRefusedQuickly) {
  UniqueFd fd = fd_with("<testsuite><testcase name=\"t\"/>");
  ASSERT_EQ(::ftruncate(fd.get(), off_t{2} << 30), 0);
  const auto start = std::chrono::steady_clock::now();
  fixture::VectorSink sink;
  auto r = parse_test_file(Format::kJunitXml, fd.get(), "big.xml", "big.xml", sink);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message().rfind("big.xml:1:", 0), 0u) << r.error().message();
  ASSERT_EQ(::lseek(fd.get(), 0, SEEK_SET), 0);
  r = parse_test_file(Format::kCucumberJson, fd.get(), "big.json", "big.json", sink);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "big.json:1:1: file is larger than the limit of 67108864 bytes");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(ParseDispatch, ReadsFromTheCurrentOffset) {
  fixture::VectorSink sink;
  UniqueFd fd = fd_with("garbage<testsuite><testcase name=\"t\"/></testsuite>");
  ASSERT_EQ(::lseek(fd.get(), 7, SEEK_SET), 7);
  auto r = parse_test_file(Format::kJunitXml, fd.get(), "j.xml", "j.xml", sink);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(sink.cases.size(), 1u);
}

}  // namespace
}  // namespace kiln::reports
