// libFuzzer target for the report parsers (reports/parse.h), which read files a build wrote:
// anything the build's commands, or a dependency they ran, chose to put there.
//
// Each input is written to a memfd and parsed as every XML format (the five test formats and
// the three coverage formats), then as the two JSON formats, under small limits. Errors are
// expected (most inputs are not reports); what must never happen is a crash, a sanitizer
// report, a hang, or a case that breaks the model's rules: a status outside the five, or a
// summary that does not count every case. libxml2 itself is loaded with dlopen and is not
// instrumented: the feedback comes from Kiln's side of the reader and the parsers.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

#include "reports/parse.h"

namespace {

using kiln::reports::Format;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool write_all(int fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool known_status(const std::string& s) {
  for (std::string_view st : kiln::reports::kTestStatuses) {
    if (s == st) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = ::memfd_create("report", MFD_CLOEXEC);
  check(fd >= 0);
  check(write_all(fd, data, size));
  kiln::reports::ParseLimits limits;
  limits.max_xml_bytes = 1 << 20;
  limits.max_json_bytes = 1 << 20;
  limits.max_depth = 64;
  for (Format f : kiln::reports::kAllFormats) {
    check(::lseek(fd, 0, SEEK_SET) == 0);
    if (kiln::reports::type_of(f) == kiln::reports::ReportType::kTest) {
      kiln::reports::TestCollector sink;
      auto r = kiln::reports::parse_test_file(f, fd, "fuzz.xml", "fuzz.xml", sink, limits);
      check(r || !r.error().message().empty());
      std::int64_t counted = 0;
      for (const auto& [status, n] : sink.summary().status_counts) {
        check(known_status(status));
        counted += n;
      }
      check(counted == sink.summary().total);
      const auto cases = sink.take_cases();
      check(cases.size() <= kiln::reports::kMaxTestCases);
      for (const auto& c : cases) {
        check(known_status(c.status));
        check(c.duration_ns >= 0);
      }
    } else {
      auto r = kiln::reports::parse_coverage_file(f, fd, "fuzz.xml", limits);
      if (r) {
        for (const auto& file : *r) {
          check(file.counts.line_percentage() >= 0 && file.counts.line_percentage() <= 100);
        }
      }
    }
  }
  ::close(fd);
  (void)kiln::reports::sniff_format(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
