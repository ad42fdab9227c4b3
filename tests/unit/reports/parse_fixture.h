// What the test-format parser tests share: feeding bytes to parse_test_file through a memfd,
// collecting the cases, and finding tests/corpus/reports.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "reports/parse.h"
#include "util/unique_fd.h"

namespace kiln::reports::fixture {

namespace fs = std::filesystem;

// tests/unit/reports/parse_fixture.h -> the repository root.
inline const fs::path kRepoRoot =
    fs::path(__FILE__).parent_path().parent_path().parent_path().parent_path();
inline const fs::path kReportCorpus = kRepoRoot / "tests" / "corpus" / "reports";

// An fd holding `bytes`, at offset 0.
inline UniqueFd fd_with(std::string_view bytes) {
  UniqueFd fd(::memfd_create("report", MFD_CLOEXEC));
  std::size_t done = 0;
  while (fd && done < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n <= 0) return UniqueFd();
    done += static_cast<std::size_t>(n);
  }
  if (fd) ::lseek(fd.get(), 0, SEEK_SET);
  return fd;
}

class VectorSink : public TestCaseSink {
 public:
  void add(TestCase c) override { cases.push_back(std::move(c)); }
  std::vector<TestCase> cases;
};

struct Parsed {
  Result<void> result;
  std::vector<TestCase> cases;

  // Cases per status, zeros left out.
  std::map<std::string, int> counts() const {
    std::map<std::string, int> out;
    for (const auto& c : cases) ++out[c.status];
    return out;
  }
  // The first case named `name` (nullptr if none).
  const TestCase* find(std::string_view name) const {
    for (const auto& c : cases) {
      if (c.name == name) return &c;
    }
    return nullptr;
  }
  std::string error() const { return result ? std::string() : result.error().message(); }
};

inline Parsed parse_text(Format format, std::string_view text, const ParseLimits& limits = {}) {
  VectorSink sink;
  UniqueFd fd = fd_with(text);
  Result<void> r = parse_test_file(format, fd.get(), "t.xml", "reports/t.xml", sink, limits);
  return Parsed{std::move(r), std::move(sink.cases)};
}

// A file of tests/corpus/reports, e.g. "junit/gotestsum.xml".
inline Parsed parse_corpus(Format format, const std::string& rel) {
  VectorSink sink;
  UniqueFd fd(::open((kReportCorpus / rel).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Parsed{fail(ErrorCode::kNotFound, "no " + rel), {}};
  Result<void> r = parse_test_file(format, fd.get(), rel, rel, sink);
  return Parsed{std::move(r), std::move(sink.cases)};
}

}  // namespace kiln::reports::fixture
