// Test helpers: parsing report files from disk (tests/corpus/reports, tests/data/reports) or
// from a string, through the public entry points of reports/parse.h.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "reports/parse.h"
#include "reports/report.h"

namespace kiln::testing {

// tests/unit/reports/<file> -> the repository root (relative under CCACHE_BASEDIR: run the
// tests from the build folder, as every unit test is).
inline std::filesystem::path repo_root() {
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path();
}

inline Result<std::vector<reports::FileCoverage>> parse_coverage_path(
    reports::Format format, const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(errno_error(ErrorCode::kIo, "open " + path.string()));
  auto r = reports::parse_coverage_file(format, fd, path.filename().string());
  ::close(fd);
  return r;
}

inline Result<void> parse_test_path(reports::Format format, const std::filesystem::path& path,
                                    reports::TestCaseSink& sink) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(errno_error(ErrorCode::kIo, "open " + path.string()));
  auto r = reports::parse_test_file(format, fd, path.filename().string(), path.filename().string(),
                                    sink);
  ::close(fd);
  return r;
}

// Parses `text` as a coverage file named "cov.xml", through a temporary file.
inline Result<std::vector<reports::FileCoverage>> parse_coverage_text(reports::Format format,
                                                                      const std::string& text) {
  std::FILE* f = std::tmpfile();
  if (f == nullptr) return fail(errno_error(ErrorCode::kIo, "tmpfile"));
  std::fwrite(text.data(), 1, text.size(), f);
  std::fflush(f);
  std::rewind(f);
  auto r = reports::parse_coverage_file(format, ::fileno(f), "cov.xml");
  std::fclose(f);
  return r;
}

inline reports::Coverage total_of(const std::vector<reports::FileCoverage>& files) {
  reports::Coverage sum;
  for (const auto& f : files) sum += f.counts;
  return sum;
}

}  // namespace kiln::testing
