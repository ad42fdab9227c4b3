// NUNITXML (NUnit 2): <test-results> > <test-suite> > <results> > ... > <test-case>, one case
// per <test-case>, not-run ones included (the root's total leaves them out: the mock-assembly
// file says 21 for 28 cases). Mapping, after CodeBuild's own describe-test-cases example
// (NotRunnable is ERROR, the name is NUnit's full name, the message is the reason or failure
// message, a line break, then the stack trace):
//   result Success SUCCEEDED, Failure FAILED, Error and NotRunnable ERROR, Ignored and Skipped
//   SKIPPED, anything else (Inconclusive, Cancelled) UNKNOWN. NUnit 2.2 writes no result:
//   executed="False" is SKIPPED, success="False" or a <failure> child FAILED, else SUCCEEDED.
//   prefix = the name up to its last dot, testSuiteName = the innermost enclosing
//   <test-suite>'s name, duration = time (seconds).
#include "reports/parsers.h"
#include "reports/test_parse_util.h"

namespace kiln::reports::detail {
namespace {

using Node = XmlReader::Node;

std::string_view map_result(std::string_view r) {
  if (r == "Success") return kSucceeded;
  if (r == "Failure") return kFailed;
  if (r == "Error" || r == "NotRunnable") return kError;
  if (r == "Ignored" || r == "Skipped") return kSkipped;
  return kUnknown;
}

// At <failure> or <reason>: "<message>\n<stack-trace>\n", as CodeBuild writes it.
Result<std::string> read_failure(XmlReader& xml) {
  auto texts = child_texts(xml, "message", "stack-trace");
  if (!texts) return tl::unexpected(texts.error());
  std::string out(trim(texts->first));
  out += '\n';
  const std::string_view st = trim(texts->second);
  if (!st.empty()) {
    out += st;
    out += '\n';
  }
  return out;
}

Result<TestCase> read_case(XmlReader& xml, std::string_view raw, const std::string& suite) {
  TestCase c;
  c.test_raw_data_path = std::string(raw);
  c.name = xml.attribute("name").value_or("");
  c.prefix = before_last_dot(c.name);
  c.test_suite_name = suite;
  c.duration_ns = seconds_to_ns(xml.attribute("time"));
  const auto result = xml.attribute("result");
  const bool executed = xml.attribute("executed").value_or("True") != "False";
  const bool success = xml.attribute("success").value_or("True") != "False";
  bool has_failure = false;
  const int depth = xml.depth();
  for (;;) {
    auto n = xml.next();
    if (!n) return tl::unexpected(n.error());
    if (!*n) return tl::unexpected(xml.error_here("the document ends inside <test-case>"));
    if (**n == Node::kEnd && xml.depth() == depth) break;
    if (**n != Node::kStart) continue;
    const std::string_view name = xml.name();
    if (xml.depth() == depth + 1 && (name == "failure" || name == "reason")) {
      has_failure = has_failure || name == "failure";
      auto m = read_failure(xml);
      if (!m) return tl::unexpected(m.error());
      c.message = std::move(*m);
    } else if (auto s = skip_element(xml); !s) {
      return tl::unexpected(s.error());
    }
  }
  if (result) {
    c.status = std::string(map_result(*result));
  } else if (!executed) {
    c.status = std::string(kSkipped);
  } else if (!success || has_failure) {
    c.status = std::string(kFailed);
  } else {
    c.status = std::string(kSucceeded);
  }
  return c;
}

}  // namespace

Result<void> parse_nunit(XmlReader& xml, std::string_view raw, TestCaseSink& sink) {
  if (auto r = to_root(xml); !r) return r;
  if (xml.name() != "test-results") {
    return tl::unexpected(wrong_root(xml, "NUnit 2 XML", "<test-results>"));
  }
  return for_each_case(
      xml, "test-suite", "test-case", {"results"}, sink,
      [&](XmlReader& x, const std::string& suite) { return read_case(x, raw, suite); });
}

}  // namespace kiln::reports::detail
