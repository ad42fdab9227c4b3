// Internal to the XML coverage parsers (clover.cpp, cobertura.cpp, jacoco.cpp): reading the
// count attributes coverage tools write, and collecting per-file counts in file order.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "reports/report.h"
#include "reports/xml_reader.h"
#include "util/error.h"

namespace kiln::reports::detail {

// A non-negative count as written: "12", " 12 ", and "12.0" (some writers print counts as
// floats); nullopt for anything else. Values past int64 saturate.
inline std::optional<std::int64_t> parse_count(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (s.empty() || s.size() > 64) return std::nullopt;
  const std::string text(s);
  char* end = nullptr;
  const double d = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(d) || d < 0) return std::nullopt;
  if (d >= 9.2e18) return INT64_MAX;
  return static_cast<std::int64_t>(d);
}

// The count attribute `name` of the current start tag: `absent` when it is missing, an error
// naming the attribute when it is not a count.
inline Result<std::int64_t> count_attribute(const XmlReader& xml, std::string_view name,
                                            std::int64_t absent = 0) {
  const auto v = xml.attribute(name);
  if (!v) return absent;
  const auto n = parse_count(*v);
  if (!n) {
    return fail(xml.error_here("attribute " + std::string(name) + "=\"" + v->substr(0, 40) +
                               "\" is not a count"));
  }
  return *n;
}

// One file's counts from its line elements, with its own summary (Clover's <metrics>, JaCoCo's
// counters) standing in for a kind its lines do not carry.
struct LineTally {
  Coverage from_lines;
  Coverage from_summary;
  bool line_data = false;    // a line element carried line hits
  bool branch_data = false;  // a line element carried branch counts

  Coverage counts() const {
    const Coverage& lines = line_data ? from_lines : from_summary;
    const Coverage& branches = branch_data ? from_lines : from_summary;
    return Coverage{lines.lines_covered, lines.lines_missed, branches.branches_covered,
                    branches.branches_missed};
  }
};

// Per-file counts in the order files first appear; a file named twice (a Cobertura file with
// several classes, a JaCoCo package in two groups) is one entry whose counts add up.
class FileCounts {
 public:
  Coverage& at(const std::string& path) {
    const auto [it, added] = index_.try_emplace(path, files_.size());
    if (added) files_.push_back(FileCoverage{path, {}});
    return files_[it->second].counts;
  }
  std::vector<FileCoverage> take() { return std::move(files_); }

 private:
  std::vector<FileCoverage> files_;
  std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace kiln::reports::detail
