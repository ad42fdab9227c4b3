// JUNITXML: <testsuites> or a single <testsuite>, suites nested to any depth (PHPUnit), each
// <testcase> one case. The counts in suite headers are not read: the cases in the body are
// what a report shows (gotestsum's header says 59 for 60 cases, Surefire's says 3 for one
// flaky case). Mapping (docs/reports.md):
//   <failure> FAILED, <error> ERROR, <skipped> SKIPPED (the worst child wins), none SUCCEEDED;
//   Surefire's <flakyFailure>/<flakyError> alone: the test passed on a rerun, so SUCCEEDED;
//   GoogleTest's status="notrun" (disabled tests) without a child: SKIPPED.
//   prefix = classname, name = name, testSuiteName = the innermost enclosing <testsuite>'s
//   name, duration = time (seconds), message = the child's message attribute and its text.
#include "reports/parsers.h"
#include "reports/test_parse_util.h"

namespace kiln::reports::detail {
namespace {

using Node = XmlReader::Node;

// Severity of a case's outcome child: a later, worse child replaces an earlier one.
int rank(std::string_view status) {
  if (status == kError) return 3;
  if (status == kFailed) return 2;
  if (status == kSkipped) return 1;
  return 0;
}

std::optional<std::string_view> child_status(std::string_view element) {
  if (element == "failure") return kFailed;
  if (element == "error") return kError;
  if (element == "skipped") return kSkipped;
  return std::nullopt;
}

Result<TestCase> read_case(XmlReader& xml, std::string_view raw, const std::string& suite) {
  TestCase c;
  c.test_raw_data_path = std::string(raw);
  c.name = xml.attribute("name").value_or("");
  c.prefix = xml.attribute("classname").value_or("");
  c.test_suite_name = suite;
  c.duration_ns = seconds_to_ns(xml.attribute("time"));
  const std::string gtest_status = xml.attribute("status").value_or("");
  c.status = std::string(kSucceeded);
  bool has_outcome = false;

  const int depth = xml.depth();
  for (;;) {
    auto n = xml.next();
    if (!n) return tl::unexpected(n.error());
    if (!*n) return tl::unexpected(xml.error_here("the document ends inside <testcase>"));
    if (**n == Node::kEnd && xml.depth() == depth) break;
    if (**n != Node::kStart) continue;
    const auto status = xml.depth() == depth + 1 ? child_status(xml.name()) : std::nullopt;
    if (!status) {
      if (auto s = skip_element(xml); !s) return tl::unexpected(s.error());
      continue;
    }
    const std::string message = xml.attribute("message").value_or("");
    auto text = element_text(xml);
    if (!text) return tl::unexpected(text.error());
    if (!has_outcome || rank(*status) > rank(c.status)) {
      c.status = std::string(*status);
      c.message = join_message(message, *text);
      has_outcome = true;
    }
  }
  if (!has_outcome && (gtest_status == "notrun" || gtest_status == "disabled")) {
    c.status = std::string(kSkipped);
  }
  return c;
}

}  // namespace

Result<void> parse_junit(XmlReader& xml, std::string_view raw, TestCaseSink& sink) {
  if (auto r = to_root(xml); !r) return r;
  if (xml.name() != "testsuites" && xml.name() != "testsuite") {
    return tl::unexpected(wrong_root(xml, "JUnit XML", "<testsuites> or <testsuite>"));
  }
  // Below the root, everything but suites and cases (properties, system-out) is skipped.
  return for_each_case(
      xml, "testsuite", "testcase", {}, sink,
      [&](XmlReader& x, const std::string& suite) { return read_case(x, raw, suite); });
}

}  // namespace kiln::reports::detail
