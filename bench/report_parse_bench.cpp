// Parses one JUnit XML file the way a build's report does (reports::parse_test_file into a
// TestCollector) and prints what it found and how long it took. bench/report_parse.py times
// this binary against `xmllint --stream --noout` on the same file.
//
//   report_parse_bench FILE [FORMAT]     (FORMAT: a file-format name, JUNITXML by default)
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "reports/parse.h"
#include "reports/report.h"

int main(int argc, char** argv) {
  using namespace kiln::reports;
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s FILE [FORMAT]\n", argv[0]);
    return 2;
  }
  const auto format = format_from_name(argc == 3 ? argv[2] : "JUNITXML");
  if (!format || type_of(*format) != ReportType::kTest) {
    std::fprintf(stderr, "not a test report format: %s\n", argv[2]);
    return 2;
  }
  const int fd = ::open(argv[1], O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::perror(argv[1]);
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  TestCollector collector;
  const auto r = parse_test_file(*format, fd, argv[1], argv[1], collector);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ::close(fd);
  if (!r) {
    std::fprintf(stderr, "%s\n", r.error().describe().c_str());
    return 1;
  }
  const auto& s = collector.summary();
  std::printf("cases %lld failed %lld kept %zu truncated %d parse %.3f s\n",
              static_cast<long long>(s.total),
              static_cast<long long>(s.status_counts.count(std::string(kFailed))
                                         ? s.status_counts.at(std::string(kFailed))
                                         : 0),
              collector.take_cases().size(), collector.truncated() ? 1 : 0, secs);
  return 0;
}
