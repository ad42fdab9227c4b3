// TESTNGXML: <testng-results> > <suite> > <test> > <class> > <test-method>, one case per
// <test-method> (a data provider's invocations are one case each). Configuration methods
// (is-config="true": @BeforeMethod, @AfterClass, ...) are not tests and are left out.
// Mapping (docs/reports.md):
//   status PASS SUCCEEDED, FAIL FAILED, SKIP SKIPPED, anything else UNKNOWN;
//   prefix = the <class> name, name = the method's name, testSuiteName = the <suite> name,
//   duration = duration-ms, message = <exception>'s <message> and <full-stacktrace> (the
//   exception class when there is no message).
#include "reports/parsers.h"
#include "reports/test_parse_util.h"

namespace kiln::reports::detail {
namespace {

using Node = XmlReader::Node;

std::string_view map_status(std::string_view s) {
  if (s == "PASS") return kSucceeded;
  if (s == "FAIL") return kFailed;
  if (s == "SKIP") return kSkipped;
  return kUnknown;
}

// At <exception>: its message and stack trace.
Result<std::string> read_exception(XmlReader& xml) {
  const std::string cls = xml.attribute("class").value_or("");
  auto texts = child_texts(xml, "message", "full-stacktrace");
  if (!texts) return tl::unexpected(texts.error());
  if (trim(texts->first).empty()) texts->first = cls;
  return join_message(texts->first, texts->second);
}

Result<std::optional<TestCase>> read_method(XmlReader& xml, std::string_view raw,
                                            const std::string& cls, const std::string& suite) {
  const bool config = xml.attribute("is-config").value_or("") == "true";
  TestCase c;
  c.test_raw_data_path = std::string(raw);
  c.prefix = cls;
  c.name = xml.attribute("name").value_or("");
  c.test_suite_name = suite;
  c.status = std::string(map_status(xml.attribute("status").value_or("")));
  c.duration_ns = to_ns(xml.attribute("duration-ms"), 1e6);
  const int depth = xml.depth();
  for (;;) {
    auto n = xml.next();
    if (!n) return tl::unexpected(n.error());
    if (!*n) return tl::unexpected(xml.error_here("the document ends inside <test-method>"));
    if (**n == Node::kEnd && xml.depth() == depth) break;
    if (**n != Node::kStart) continue;
    if (xml.name() == "exception" && xml.depth() == depth + 1) {
      auto m = read_exception(xml);
      if (!m) return tl::unexpected(m.error());
      c.message = std::move(*m);
    } else if (auto s = skip_element(xml); !s) {
      return tl::unexpected(s.error());
    }
  }
  if (config) return std::optional<TestCase>();
  return std::optional<TestCase>(std::move(c));
}

}  // namespace

Result<void> parse_testng(XmlReader& xml, std::string_view raw, TestCaseSink& sink) {
  if (auto r = to_root(xml); !r) return r;
  if (xml.name() != "testng-results") {
    return tl::unexpected(wrong_root(xml, "TestNG XML", "<testng-results>"));
  }
  std::string suite;
  std::string cls;
  for (;;) {
    auto n = xml.next();
    if (!n) return tl::unexpected(n.error());
    if (!*n) return {};
    if (**n != Node::kStart) continue;
    const std::string_view name = xml.name();
    if (name == "suite") {
      suite = xml.attribute("name").value_or("");
    } else if (name == "class") {
      cls = xml.attribute("name").value_or("");
    } else if (name == "test-method") {
      auto c = read_method(xml, raw, cls, suite);
      if (!c) return tl::unexpected(c.error());
      if (*c) sink.add(std::move(**c));
    } else if (name != "test" && name != "testng-results") {
      // reporter-output, groups, ...: nothing a report keeps.
      if (auto s = skip_element(xml); !s) return s;
    }
  }
}

}  // namespace kiln::reports::detail
