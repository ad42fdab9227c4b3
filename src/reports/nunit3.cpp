// NUNIT3XML: <test-run> > <test-suite> (Assembly, TestSuite, TestFixture, ...) nested to any
// depth > <test-case>, one case per <test-case>. Mapping (docs/reports.md), in line with
// NUNITXML's (nunit.cpp):
//   result Passed SUCCEEDED; Failed FAILED, but ERROR when its label is Error or Invalid (an
//   exception, or a test NUnit could not run: NUnit 2's Error and NotRunnable); Skipped
//   SKIPPED (labels Ignored, Explicit); anything else (Inconclusive, Warning) UNKNOWN.
//   prefix = classname (the fullname up to its last dot when there is none), name = name,
//   testSuiteName = the innermost enclosing <test-suite>'s name, duration = duration (seconds;
//   NUnit 3.0 wrote time), message = the <failure> or <reason> message, a line break, then
//   the stack trace.
#include "reports/parsers.h"
#include "reports/test_parse_util.h"

namespace kiln::reports::detail {
namespace {

using Node = XmlReader::Node;

std::string_view map_result(std::string_view result, std::string_view label) {
  if (result == "Passed") return kSucceeded;
  if (result == "Failed") return label == "Error" || label == "Invalid" ? kError : kFailed;
  if (result == "Skipped") return kSkipped;
  return kUnknown;
}

// At <failure> or <reason>: "<message>\n<stack-trace>".
Result<std::string> read_failure(XmlReader& xml) {
  auto texts = child_texts(xml, "message", "stack-trace");
  if (!texts) return tl::unexpected(texts.error());
  return join_message(texts->first, texts->second);
}

Result<TestCase> read_case(XmlReader& xml, std::string_view raw, const std::string& suite) {
  TestCase c;
  c.test_raw_data_path = std::string(raw);
  c.name = xml.attribute("name").value_or("");
  c.prefix = xml.attribute("classname").value_or("");
  if (c.prefix.empty()) c.prefix = before_last_dot(xml.attribute("fullname").value_or(""));
  c.test_suite_name = suite;
  auto duration = xml.attribute("duration");
  if (!duration) duration = xml.attribute("time");
  c.duration_ns = seconds_to_ns(duration);
  c.status = std::string(
      map_result(xml.attribute("result").value_or(""), xml.attribute("label").value_or("")));
  const int depth = xml.depth();
  for (;;) {
    auto n = xml.next();
    if (!n) return tl::unexpected(n.error());
    if (!*n) return tl::unexpected(xml.error_here("the document ends inside <test-case>"));
    if (**n == Node::kEnd && xml.depth() == depth) break;
    if (**n != Node::kStart) continue;
    const std::string_view name = xml.name();
    if (xml.depth() == depth + 1 && (name == "failure" || name == "reason")) {
      auto m = read_failure(xml);
      if (!m) return tl::unexpected(m.error());
      c.message = std::move(*m);
    } else if (auto s = skip_element(xml); !s) {
      return tl::unexpected(s.error());
    }
  }
  return c;
}

}  // namespace

Result<void> parse_nunit3(XmlReader& xml, std::string_view raw, TestCaseSink& sink) {
  if (auto r = to_root(xml); !r) return r;
  if (xml.name() != "test-run") {
    return tl::unexpected(wrong_root(xml, "NUnit 3 XML", "<test-run>"));
  }
  // command-line, filter, environment, settings, properties: skipped.
  return for_each_case(
      xml, "test-suite", "test-case", {}, sink,
      [&](XmlReader& x, const std::string& suite) { return read_case(x, raw, suite); });
}

}  // namespace kiln::reports::detail
