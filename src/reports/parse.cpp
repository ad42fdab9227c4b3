// The dispatch of parse.h: opens a file as XML (streamed) or JSON (read whole, capped), then
// hands it to the format's parser (parsers.h). Also TestCollector and sniff_format.
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "reports/parse.h"
#include "reports/parsers.h"
#include "util/string.h"

namespace kiln::reports {
namespace {

using nlohmann::json;

// Cuts `s` to at most `max` characters (UTF-8 code points), never inside one.
void cut_chars(std::string& s, std::size_t max) {
  if (s.size() <= max) return;  // bytes bound code points
  std::size_t chars = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;  // continuation byte
    if (chars == max) {
      s.resize(i);
      return;
    }
    ++chars;
  }
}

bool is_test_status(std::string_view s) {
  for (std::string_view st : kTestStatuses) {
    if (s == st) return true;
  }
  return false;
}

// Reads the rest of `fd`, refusing more than `max` bytes.
Result<std::string> read_capped(int fd, std::string_view display, std::uint64_t max) {
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errno_error(ErrorCode::kIo, "read " + std::string(display)));
    if (n == 0) return out;
    if (out.size() + static_cast<std::size_t>(n) > max) {
      return fail(ErrorCode::kInvalidArgument, std::string(display) +
                                                   ":1:1: file is larger than the limit of " +
                                                   std::to_string(max) + " bytes");
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
}

struct TooDeep {};

// Line and column of byte `offset` of `text` (1-based).
std::string position(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  std::size_t line = 1;
  std::size_t col = 1;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

// Parses JSON text with a nesting cap. nlohmann's parser reports depth through its callback;
// throwing from there is the only way to stop it, so the exception never leaves this function.
Result<json> parse_json(const std::string& text, std::string_view display, int max_depth) {
  const auto cb = [max_depth](int depth, json::parse_event_t, json&) {
    if (depth > max_depth) throw TooDeep{};
    return true;
  };
  try {
    return json::parse(text, cb, true);
  } catch (const TooDeep&) {
    return fail(ErrorCode::kInvalidArgument, std::string(display) +
                                                 ":1:1: JSON nests deeper than " +
                                                 std::to_string(max_depth) + " levels");
  } catch (const json::parse_error& e) {
    // nlohmann's byte is 1-based and points after the offending character.
    const std::size_t at = e.byte > 0 ? e.byte - 1 : 0;
    std::string what = e.what();
    if (const auto p = what.find("parse error"); p != std::string::npos) what = what.substr(p);
    return fail(ErrorCode::kInvalidArgument,
                std::string(display) + ":" + position(text, at) + ": not valid JSON: " + what);
  } catch (const json::exception& e) {
    return fail(ErrorCode::kInvalidArgument,
                std::string(display) + ":1:1: not valid JSON: " + e.what());
  }
}

Result<json> read_json(int fd, std::string_view display, const ParseLimits& limits) {
  auto text = read_capped(fd, display, limits.max_json_bytes);
  if (!text) return fail(text.error());
  return parse_json(*text, display, limits.max_depth);
}

// The text from the first element's '<' on, skipping a BOM, the XML declaration, comments, PIs
// and a DOCTYPE.
std::optional<std::string_view> root_element(std::string_view s) {
  if (s.starts_with("\xEF\xBB\xBF")) s.remove_prefix(3);
  for (;;) {
    s = trim_left(s);
    if (s.starts_with("<?")) {
      const auto e = s.find("?>");
      if (e == std::string_view::npos) return std::nullopt;
      s.remove_prefix(e + 2);
    } else if (s.starts_with("<!--")) {
      const auto e = s.find("-->");
      if (e == std::string_view::npos) return std::nullopt;
      s.remove_prefix(e + 3);
    } else if (s.starts_with("<!")) {
      // A DOCTYPE, possibly with an internal subset in brackets.
      const auto bracket = s.find('[');
      const auto close = s.find('>');
      if (close == std::string_view::npos) return std::nullopt;
      if (bracket != std::string_view::npos && bracket < close) {
        const auto e = s.find("]>", bracket);
        if (e == std::string_view::npos) return std::nullopt;
        s.remove_prefix(e + 2);
      } else {
        s.remove_prefix(close + 1);
      }
    } else if (s.starts_with("<")) {
      return s;
    } else {
      return std::nullopt;
    }
  }
}

}  // namespace

void TestCollector::add(TestCase c) {
  if (!is_test_status(c.status)) c.status = std::string(kUnknown);
  cut_chars(c.name, kMaxNameChars);
  cut_chars(c.message, kMaxMessageChars);
  if (summary_.status_counts.empty()) {
    for (std::string_view st : kTestStatuses) summary_.status_counts[std::string(st)] = 0;
  }
  ++summary_.total;
  ++summary_.status_counts[c.status];
  summary_.duration_ns += c.duration_ns;
  if (summary_.total > static_cast<std::int64_t>(kMaxTestCases)) truncated_ = true;
  const bool failed = c.status == kFailed || c.status == kError;
  // Each list keeps at most kMaxTestCases: take_cases() needs no more of either.
  auto& list = failed ? failed_ : others_;
  if (list.size() < kMaxTestCases) list.push_back(std::move(c));
}

std::vector<TestCase> TestCollector::take_cases() {
  std::vector<TestCase> out = std::move(failed_);
  for (auto& c : others_) {
    if (out.size() >= kMaxTestCases) break;
    out.push_back(std::move(c));
  }
  failed_.clear();
  others_.clear();
  return out;
}

Result<void> parse_test_file(Format format, int fd, std::string_view display_name,
                             std::string_view raw_data_path, TestCaseSink& sink,
                             const ParseLimits& limits) {
  if (type_of(format) != ReportType::kTest) {
    return fail(ErrorCode::kInvalidArgument, std::string(display_name) + ": " +
                                                 std::string(format_name(format)) +
                                                 " is not a test report format");
  }
  if (format == Format::kCucumberJson) {
    auto doc = read_json(fd, display_name, limits);
    if (!doc) return fail(doc.error());
    return detail::parse_cucumber(*doc, display_name, raw_data_path, sink);
  }
  auto xml = XmlReader::open(fd, display_name, limits.max_xml_bytes, limits.max_depth);
  if (!xml) return fail(xml.error());
  XmlReader& r = **xml;
  switch (format) {
    case Format::kJunitXml: return detail::parse_junit(r, raw_data_path, sink);
    case Format::kTestNgXml: return detail::parse_testng(r, raw_data_path, sink);
    case Format::kNunitXml: return detail::parse_nunit(r, raw_data_path, sink);
    case Format::kNunit3Xml: return detail::parse_nunit3(r, raw_data_path, sink);
    case Format::kVisualStudioTrx: return detail::parse_trx(r, raw_data_path, sink);
    default: break;
  }
  return fail(ErrorCode::kInternal, "unhandled test format " + std::string(format_name(format)));
}

Result<std::vector<FileCoverage>> parse_coverage_file(Format format, int fd,
                                                      std::string_view display_name,
                                                      const ParseLimits& limits) {
  if (type_of(format) != ReportType::kCodeCoverage) {
    return fail(ErrorCode::kInvalidArgument, std::string(display_name) + ": " +
                                                 std::string(format_name(format)) +
                                                 " is not a code coverage format");
  }
  if (format == Format::kSimpleCov) {
    auto doc = read_json(fd, display_name, limits);
    if (!doc) return fail(doc.error());
    return detail::parse_simplecov(*doc, display_name);
  }
  auto xml = XmlReader::open(fd, display_name, limits.max_xml_bytes, limits.max_depth);
  if (!xml) return fail(xml.error());
  XmlReader& r = **xml;
  switch (format) {
    case Format::kCloverXml: return detail::parse_clover(r);
    case Format::kCoberturaXml: return detail::parse_cobertura(r);
    case Format::kJacocoXml: return detail::parse_jacoco(r);
    default: break;
  }
  return fail(ErrorCode::kInternal,
              "unhandled coverage format " + std::string(format_name(format)));
}

std::optional<Format> sniff_format(std::string_view head) {
  std::string_view s = head;
  if (s.starts_with("\xEF\xBB\xBF")) s.remove_prefix(3);
  s = trim_left(s);
  if (s.starts_with("[")) {
    // cucumber's JSON: an array of features, each with "keyword" and "elements".
    if (s.find("\"keyword\"") != std::string_view::npos ||
        s.find("\"elements\"") != std::string_view::npos) {
      return Format::kCucumberJson;
    }
    return std::nullopt;
  }
  if (s.starts_with("{")) {
    // SimpleCov: .resultset.json ({"<command>": {"coverage": ...}}) or coverage.json
    // ({"meta": ..., "coverage": ...}).
    if (s.find("\"coverage\"") != std::string_view::npos) return Format::kSimpleCov;
    return std::nullopt;
  }
  const auto at_root = root_element(s);
  if (!at_root) return std::nullopt;
  s = *at_root;
  std::string_view name = s.substr(1, s.find_first_of(" \t\r\n/>") - 1);
  if (const auto colon = name.find(':'); colon != std::string_view::npos) {
    name.remove_prefix(colon + 1);
  }
  const std::optional<std::string_view> root = name;
  if (*root == "testsuites" || *root == "testsuite") return Format::kJunitXml;
  if (*root == "testng-results") return Format::kTestNgXml;
  if (*root == "TestRun") return Format::kVisualStudioTrx;
  if (*root == "test-results") return Format::kNunitXml;
  if (*root == "test-run") return Format::kNunit3Xml;
  if (*root == "report") return Format::kJacocoXml;
  if (*root == "coverage") {
    // Clover's root is <coverage clover="..."> with <project> inside; Cobertura's has
    // line-rate and <sources>/<packages>.
    const auto tag_end = s.find('>');
    const std::string_view tag = s.substr(0, tag_end);
    if (tag.find("clover=") != std::string_view::npos ||
        s.find("<project") != std::string_view::npos) {
      return Format::kCloverXml;
    }
    return Format::kCoberturaXml;
  }
  return std::nullopt;
}

}  // namespace kiln::reports
