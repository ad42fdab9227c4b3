// `kiln run --junit-out`: the merged file is well-formed JUnit that our own parser reads back
// with the same cases, whatever the names and messages hold.
#include "reports/junit_out.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include "reports/parse.h"
#include "util/unique_fd.h"

namespace kiln::testing {
namespace {

using reports::Report;
using reports::TestCase;

TestCase tc(std::string suite, std::string prefix, std::string name, std::string_view status,
            std::string message = "", std::int64_t ns = 0) {
  TestCase c;
  c.test_suite_name = std::move(suite);
  c.prefix = std::move(prefix);
  c.name = std::move(name);
  c.status = std::string(status);
  c.message = std::move(message);
  c.duration_ns = ns;
  return c;
}

// Parses `xml` as JUNITXML through a memfd, as a report file would be.
std::vector<TestCase> parse_back(const std::string& xml) {
  UniqueFd fd(::memfd_create("junit", MFD_CLOEXEC));
  EXPECT_TRUE(fd);
  EXPECT_EQ(::write(fd.get(), xml.data(), xml.size()), static_cast<ssize_t>(xml.size()));
  EXPECT_EQ(::lseek(fd.get(), 0, SEEK_SET), 0);
  reports::TestCollector sink;
  auto parsed = reports::parse_test_file(reports::Format::kJunitXml, fd.get(), "merged.xml",
                                         "merged.xml", sink);
  EXPECT_TRUE(parsed) << parsed.error().describe() << "\n" << xml;
  std::vector<TestCase> cases = sink.take_cases();
  return cases;
}

TEST(JunitOutTest, EscapesMarkupAndReplacesWhatXmlCannotHold) {
  EXPECT_EQ(reports::xml_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
  EXPECT_EQ(reports::xml_escape("l1\nl2\tx"), "l1&#10;l2&#9;x");
  EXPECT_EQ(reports::xml_escape(std::string("nul\0bel\x07", 8)),
            "nul\xEF\xBF\xBD"
            "bel\xEF\xBF\xBD");
  EXPECT_EQ(reports::xml_escape("bad \xff\xfe utf8"), "bad \xEF\xBF\xBD\xEF\xBF\xBD utf8");
  EXPECT_EQ(reports::xml_escape("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  EXPECT_EQ(reports::xml_escape("caf\xC3\xA9 \xF0\x9F\x98\x80"), "caf\xC3\xA9 \xF0\x9F\x98\x80");
}

TEST(JunitOutTest, MergedFileParsesBackWithEveryCase) {
  Report unit;
  unit.name = "p-unit";
  unit.arn = "arn:aws:codebuild:us-east-1:0:report/p-unit:1";
  unit.test_cases = {
      tc("calc", "calc.Div", "divides <by> zero & \"more\"", reports::kFailed,
         "expected 2\ngot 3 \x01 \xff", 250000000),
      tc("calc", "calc.Add", "adds", reports::kSucceeded, "", 1000000),
      tc("io", "io.Read", "reads", reports::kError, "boom"),
      tc("io", "io.Skip", "skips", reports::kSkipped),
  };
  Report cov;
  cov.type = reports::ReportType::kCodeCoverage;
  cov.name = "p-cov";
  Report other;
  other.name = "p-other";
  other.test_cases = {tc("", "x", "no suite name", reports::kSucceeded)};

  const std::string xml = reports::junit_xml({unit, cov, other});
  EXPECT_NE(xml.find("<testsuites name=\"kiln\" tests=\"5\" failures=\"1\" errors=\"1\" "
                     "skipped=\"1\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<testsuite name=\"p-other\""), std::string::npos) << xml;
  const auto back = parse_back(xml);
  ASSERT_EQ(back.size(), 5u);
  std::map<std::string, TestCase> by_name;
  for (const auto& c : back) by_name[c.name] = c;
  const TestCase& div = by_name.at("divides <by> zero & \"more\"");
  EXPECT_EQ(div.status, "FAILED");
  EXPECT_EQ(div.prefix, "calc.Div");
  EXPECT_EQ(div.message, "expected 2\ngot 3 \xEF\xBF\xBD \xEF\xBF\xBD");
  EXPECT_EQ(div.duration_ns, 250000000);
  EXPECT_EQ(by_name.at("adds").status, "SUCCEEDED");
  EXPECT_EQ(by_name.at("reads").status, "ERROR");
  EXPECT_EQ(by_name.at("skips").status, "SKIPPED");
  EXPECT_EQ(by_name.at("no suite name").status, "SUCCEEDED");
}

TEST(JunitOutTest, NoTestReportsStillMakesAWellFormedFile) {
  EXPECT_TRUE(parse_back(reports::junit_xml({})).empty());
}

}  // namespace
}  // namespace kiln::testing
