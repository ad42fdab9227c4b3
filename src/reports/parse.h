// Report file parsers: every test and coverage format of §7.1, over one open file.
//
// XML formats stream through libxml2's xmlTextReader (reports/xml_reader.h): no tree of the
// file is built, so a 100,000-case JUnit file costs bounded memory. Hostile XML is refused, not
// expanded: no external entities or DTDs are loaded, nothing touches the network, entity
// expansion is off, and depth and size are capped (ParseLimits). JSON formats (CUCUMBERJSON,
// SIMPLECOV) are read whole, under a smaller size cap.
//
// Errors: kInvalidArgument with a message "<display name>:<line>:<column>: <what>" (line and
// column where the parser knows them), for a file that is not well-formed, does not match the
// format, or exceeds a limit. A parser never throws, and never aborts the build: the caller
// decides what the report's status becomes. Cases parsed before an error have already reached
// the sink.
//
// Thread safety: the functions are reentrant; a sink is used by one thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "reports/report.h"
#include "util/error.h"

namespace kiln::reports {

struct ParseLimits {
  std::uint64_t max_xml_bytes = 512ull << 20;  // streamed
  std::uint64_t max_json_bytes = 64ull << 20;  // read whole
  int max_depth = 256;                         // element (or JSON) nesting
};

// Where a parser's test cases go, as it reads them.
class TestCaseSink {
 public:
  virtual ~TestCaseSink() = default;
  virtual void add(TestCase c) = 0;
};

// Keeps what CodeBuild keeps of a report's cases (§7.3): all of them in the summary, at most
// kMaxTestCases in the list, FAILED and ERROR ones first, then the others in file order.
// Names are cut to kMaxNameChars and messages to kMaxMessageChars.
class TestCollector : public TestCaseSink {
 public:
  void add(TestCase c) override;
  const TestSummary& summary() const { return summary_; }
  bool truncated() const { return truncated_; }
  // The kept cases, failures first; leaves the collector empty of cases.
  std::vector<TestCase> take_cases();

 private:
  TestSummary summary_;
  bool truncated_ = false;
  std::vector<TestCase> failed_;
  std::vector<TestCase> others_;
};

// Parses one test-format file (type_of(format) == kTest) read from `fd` (borrowed, read from
// its current offset). `display_name` names the file in errors; `raw_data_path` becomes each
// case's test_raw_data_path.
[[nodiscard]] Result<void> parse_test_file(Format format, int fd, std::string_view display_name,
                                           std::string_view raw_data_path, TestCaseSink& sink,
                                           const ParseLimits& limits = {});

// Parses one coverage-format file (type_of(format) == kCodeCoverage): one entry per source file
// the report covers, in the file's order.
[[nodiscard]] Result<std::vector<FileCoverage>> parse_coverage_file(Format format, int fd,
                                                                    std::string_view display_name,
                                                                    const ParseLimits& limits = {});

// Which format a file is, from its first bytes (auto-discover, §7.6): nullopt when none matches.
std::optional<Format> sniff_format(std::string_view head);

}  // namespace kiln::reports
