// VISUALSTUDIOTRX: <TestRun> > <Results> > <UnitTestResult>, one case per result (the rows of
// a data-driven test, under <InnerResults>, are part of their parent's case). The class of a
// test is in <TestDefinitions>, which comes after <Results>: results are held until the end
// of the file, then given their class. <ResultSummary><Counters> is not read: the SilentNotes
// file says notExecuted="0" next to 12 NotExecuted results. Mapping (docs/reports.md):
//   outcome Passed, PassedButRunAborted, Completed and Warning SUCCEEDED; Failed and Timeout
//   FAILED; Error, Aborted, NotRunnable and Disconnected ERROR; NotExecuted SKIPPED; anything
//   else (Inconclusive, Pending, InProgress) UNKNOWN.
//   prefix = the TestMethod's className (without one: the testName up to its last dot, when
//   the testName is a dotted path),
//   name = testName, testSuiteName = the className too (.NET has no suite above the class),
//   duration = duration (hh:mm:ss.fffffff), message = <ErrorInfo>'s <Message>, a line break,
//   then its <StackTrace>.
#include <cmath>
#include <cstdlib>
#include <map>
#include <vector>

#include "reports/parsers.h"
#include "reports/test_parse_util.h"

namespace kiln::reports::detail {
namespace {

using Node = XmlReader::Node;

std::string_view map_outcome(std::string_view o) {
  if (o == "Passed" || o == "PassedButRunAborted" || o == "Completed" || o == "Warning") {
    return kSucceeded;
  }
  if (o == "Failed" || o == "Timeout") return kFailed;
  if (o == "Error" || o == "Aborted" || o == "NotRunnable" || o == "Disconnected") return kError;
  if (o == "NotExecuted") return kSkipped;
  return kUnknown;
}

// "hh:mm:ss.fffffff" (hours may pass 23, days come as "d.hh:mm:ss") as nanoseconds; 0 when the
// text is not a duration.
std::int64_t trx_duration_ns(const std::optional<std::string>& text) {
  if (!text) return 0;
  const auto parts = split(*text, ':');
  if (parts.size() != 3) return 0;
  double total = 0;
  double scale = 3600;
  for (std::size_t i = 0; i < 3; ++i) {
    std::string_view p = parts[i];
    if (i == 0) {
      if (const auto dot = p.find('.'); dot != std::string_view::npos) {  // days
        const std::string days(p.substr(0, dot));
        total += std::strtod(days.c_str(), nullptr) * 86400;
        p = p.substr(dot + 1);
      }
    }
    const std::string s(p);
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || v < 0) return 0;
    total += v * scale;
    scale /= 60;
  }
  return std::llround(total * 1e9);
}

// At <ErrorInfo>: "<Message>\n<StackTrace>".
Result<std::string> read_error_info(XmlReader& xml) {
  auto texts = child_texts(xml, "Message", "StackTrace");
  if (!texts) return tl::unexpected(texts.error());
  return join_message(texts->first, texts->second);
}

// At <UnitTestResult>: the case, and the testId its class is found by.
Result<std::pair<std::string, TestCase>> read_result(XmlReader& xml, std::string_view raw) {
  TestCase c;
  c.test_raw_data_path = std::string(raw);
  c.name = xml.attribute("testName").value_or("");
  c.status = std::string(map_outcome(xml.attribute("outcome").value_or("")));
  c.duration_ns = trx_duration_ns(xml.attribute("duration"));
  std::string id = xml.attribute("testId").value_or("");
  const int depth = xml.depth();
  for (;;) {
    auto n = xml.next();
    if (!n) return tl::unexpected(n.error());
    if (!*n) return tl::unexpected(xml.error_here("the document ends inside <UnitTestResult>"));
    if (**n == Node::kEnd && xml.depth() == depth) break;
    if (**n != Node::kStart) continue;
    const std::string_view name = xml.name();
    if (name == "ErrorInfo" && c.message.empty()) {
      auto m = read_error_info(xml);
      if (!m) return tl::unexpected(m.error());
      c.message = std::move(*m);
    } else if (name != "Output") {
      // StdOut, InnerResults, ResultFiles: not part of a case.
      if (auto s = skip_element(xml); !s) return tl::unexpected(s.error());
    }
  }
  return std::make_pair(std::move(id), std::move(c));
}

}  // namespace

Result<void> parse_trx(XmlReader& xml, std::string_view raw, TestCaseSink& sink) {
  if (auto r = to_root(xml); !r) return r;
  if (xml.name() != "TestRun") {
    return tl::unexpected(wrong_root(xml, "Visual Studio TRX", "<TestRun>"));
  }
  std::vector<std::pair<std::string, TestCase>> results;
  std::map<std::string, std::string> class_of;  // UnitTest id -> TestMethod className
  std::string unit_test_id;
  for (;;) {
    auto n = xml.next();
    if (!n) return tl::unexpected(n.error());
    if (!*n) break;
    if (**n != Node::kStart) continue;
    const std::string_view name = xml.name();
    if (name == "UnitTestResult") {
      auto r = read_result(xml, raw);
      if (!r) return tl::unexpected(r.error());
      results.push_back(std::move(*r));
    } else if (name == "UnitTest") {
      unit_test_id = xml.attribute("id").value_or("");
    } else if (name == "TestMethod") {
      // MSTest writes an assembly-qualified name: "Ns.Class, Assembly, Version=...".
      if (auto cls = xml.attribute("className")) {
        class_of[unit_test_id] = std::string(trim(cls->substr(0, cls->find(','))));
      }
    } else if (name == "Times" || name == "TestSettings" || name == "ResultSummary" ||
               name == "TestEntries" || name == "TestLists") {
      if (auto s = skip_element(xml); !s) return s;
    }
  }
  for (auto& [id, c] : results) {
    const auto it = class_of.find(id);
    if (it != class_of.end()) {
      c.prefix = it->second;
    } else if (c.name.find_first_of(" ([") == std::string::npos) {
      c.prefix = before_last_dot(c.name);  // "Ns.Class.Method", not "[Test Class Cleanup ...]"
    }
    c.test_suite_name = c.prefix;
    sink.add(std::move(c));
  }
  return {};
}

}  // namespace kiln::reports::detail
