#include "reports/junit_out.h"

#include <cstdint>
#include <cstdio>
#include <map>

#include "util/files.h"

namespace kiln::reports {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed UTF-8 sequence at s[i] and its code point; 0 when malformed.
std::size_t utf8_sequence(std::string_view s, std::size_t i, std::uint32_t& cp) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b = byte(i);
  std::size_t len;
  std::uint32_t min;
  if (b < 0x80) {
    cp = b;
    return 1;
  } else if ((b & 0xE0) == 0xC0) {
    len = 2, cp = b & 0x1F, min = 0x80;
  } else if ((b & 0xF0) == 0xE0) {
    len = 3, cp = b & 0x0F, min = 0x800;
  } else if ((b & 0xF8) == 0xF0) {
    len = 4, cp = b & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

// The characters XML 1.0 allows (https://www.w3.org/TR/xml/#charsets).
bool xml_char(std::uint32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

std::string seconds(std::int64_t ns) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(ns) / 1e9);
  return buf;
}

struct Suite {
  std::string name;
  std::vector<const TestCase*> cases;
  std::int64_t failures = 0, errors = 0, skipped = 0, duration_ns = 0;
};

void write_case(std::string& out, const TestCase& c) {
  out += "    <testcase classname=\"" + xml_escape(c.prefix) + "\" name=\"" + xml_escape(c.name) +
         "\" time=\"" + seconds(c.duration_ns) + "\"";
  std::string_view element;
  if (c.status == kFailed) element = "failure";
  if (c.status == kError) element = "error";
  if (c.status == kSkipped) element = "skipped";
  if (element.empty()) {
    out += "/>\n";
    return;
  }
  out += ">\n      <" + std::string(element);
  if (!c.message.empty()) out += " message=\"" + xml_escape(c.message) + "\"";
  out += "/>\n    </testcase>\n";
}

}  // namespace

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    std::uint32_t cp = 0;
    const std::size_t len = utf8_sequence(text, i, cp);
    if (len == 0 || !xml_char(cp)) {
      out += kReplacement;
      i += len == 0 ? 1 : len;
      continue;
    }
    switch (cp) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      // Attribute values normalise raw whitespace to spaces; references keep it.
      case '\n': out += "&#10;"; break;
      case '\r': out += "&#13;"; break;
      case '\t': out += "&#9;"; break;
      default: out.append(text.substr(i, len));
    }
    i += len;
  }
  return out;
}

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    std::uint32_t cp = 0;
    const std::size_t len = utf8_sequence(text, i, cp);
    if (len == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    out.append(text.substr(i, len));
    i += len;
  }
  return out;
}

std::string junit_xml(const std::vector<Report>& reports) {
  std::vector<std::pair<const Report*, std::vector<Suite>>> all;
  std::int64_t tests = 0, failures = 0, errors = 0, skipped = 0, duration = 0;
  for (const Report& r : reports) {
    if (r.type != ReportType::kTest) continue;
    std::vector<Suite> suites;
    std::map<std::string, std::size_t> index;
    for (const TestCase& c : r.test_cases) {
      const std::string& name = c.test_suite_name.empty() ? r.name : c.test_suite_name;
      auto [it, added] = index.emplace(name, suites.size());
      if (added) suites.push_back(Suite{name, {}});
      Suite& s = suites[it->second];
      s.cases.push_back(&c);
      s.failures += c.status == kFailed;
      s.errors += c.status == kError;
      s.skipped += c.status == kSkipped;
      s.duration_ns += c.duration_ns;
    }
    for (const Suite& s : suites) {
      tests += static_cast<std::int64_t>(s.cases.size());
      failures += s.failures;
      errors += s.errors;
      skipped += s.skipped;
      duration += s.duration_ns;
    }
    all.emplace_back(&r, std::move(suites));
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<testsuites name=\"kiln\" tests=\"" + std::to_string(tests) + "\" failures=\"" +
         std::to_string(failures) + "\" errors=\"" + std::to_string(errors) + "\" skipped=\"" +
         std::to_string(skipped) + "\" time=\"" + seconds(duration) + "\">\n";
  for (const auto& [report, suites] : all) {
    for (const Suite& s : suites) {
      out += "  <testsuite name=\"" + xml_escape(s.name) + "\" tests=\"" +
             std::to_string(s.cases.size()) + "\" failures=\"" + std::to_string(s.failures) +
             "\" errors=\"" + std::to_string(s.errors) + "\" skipped=\"" +
             std::to_string(s.skipped) + "\" time=\"" + seconds(s.duration_ns) + "\">\n";
      out += "    <properties><property name=\"kiln.report\" value=\"" + xml_escape(report->arn) +
             "\"/></properties>\n";
      for (const TestCase* c : s.cases) write_case(out, *c);
      out += "  </testsuite>\n";
    }
  }
  out += "</testsuites>\n";
  return out;
}

Result<void> write_junit_file(const std::vector<Report>& reports,
                              const std::filesystem::path& path) {
  return write_file_atomic(path, junit_xml(reports));
}

}  // namespace kiln::reports
