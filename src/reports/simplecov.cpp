// SIMPLECOV (§7.1): the JSON that simplecov itself writes, in its two shapes.
//
// - `.resultset.json`: {"<command name>": {"coverage": {"<file>": <lines>}, "timestamp": n}}
//   where <lines> is an array of hit counts (null for a line that is not code), or, from
//   SimpleCov 0.18, {"lines": [...], "branches": {"<condition>": {"<branch>": hits}}}.
//   Several commands are merged as SimpleCov's ResultMerger does: hits of the same line (and
//   of the same branch) add up, so a file two test suites ran counts its lines once.
// - The JSON formatter's `coverage.json`: {"meta": {...}, "coverage": {"<file>": {"lines":
//   [...], "branches": [{"coverage": hits, ...}]}}, "groups": {...}}. "ignored" in `lines` (a
//   nocov line) and in a branch's `coverage` is not counted, as SimpleCov leaves skipped lines
//   out of its totals.
//
// A line or branch is covered when its hits are > 0 and missed when they are 0. Files come in
// the JSON object's order (nlohmann::json keeps members sorted by name).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "reports/parsers.h"

namespace kiln::reports::detail {
namespace {

using nlohmann::json;

struct FileHits {
  std::vector<std::optional<std::int64_t>> lines;  // nullopt: not a line of code
  std::map<std::string, std::int64_t> branches;    // branch key -> hits
};
using Files = std::map<std::string, FileHits>;

Error bad(std::string_view display, const std::string& where, std::string_view what) {
  return Error(ErrorCode::kInvalidArgument,
               std::string(display) + ": " + where + ": " + std::string(what));
}

std::int64_t add_hits(std::int64_t a, std::int64_t b) {
  return a > std::numeric_limits<std::int64_t>::max() - b ? std::numeric_limits<std::int64_t>::max()
                                                          : a + b;
}

// A hit count: nullopt for null and "ignored" (not counted); negative counts read as 0.
Result<std::optional<std::int64_t>> read_hits(const json& v, std::string_view display,
                                              const std::string& where) {
  if (v.is_null()) return std::optional<std::int64_t>();
  if (v.is_string() && v.get_ref<const std::string&>() == "ignored") {
    return std::optional<std::int64_t>();
  }
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    return std::optional<std::int64_t>(static_cast<std::int64_t>(
        std::min<std::uint64_t>(u, std::numeric_limits<std::int64_t>::max())));
  }
  if (v.is_number_integer())
    return std::optional<std::int64_t>(std::max<std::int64_t>(0, v.get<std::int64_t>()));
  if (v.is_number_float()) return std::optional<std::int64_t>(v.get<double>() > 0 ? 1 : 0);
  return fail(bad(display, where, "a hit count must be a number, null or \"ignored\""));
}

Result<void> merge_lines(const json& lines, FileHits& into, std::string_view display,
                         const std::string& where) {
  if (!lines.is_array()) return fail(bad(display, where, "not an array of hit counts"));
  if (into.lines.size() < lines.size()) into.lines.resize(lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto hits = read_hits(lines[i], display, where + "[" + std::to_string(i) + "]");
    if (!hits) return fail(std::move(hits.error()));
    if (!*hits) continue;
    auto& slot = into.lines[i];
    slot = add_hits(slot.value_or(0), **hits);
  }
  return {};
}

// SimpleCov 0.18+ resultset branches: {"[:if, 0, 3, 4, 3, 20]": {"[:then, 1, ...]": hits}}.
Result<void> merge_branch_map(const json& conditions, FileHits& into, std::string_view display,
                              const std::string& where) {
  if (!conditions.is_object()) return fail(bad(display, where, "not an object"));
  for (const auto& [cond, branches] : conditions.items()) {
    if (!branches.is_object()) return fail(bad(display, where + "." + cond, "not an object"));
    for (const auto& [branch, v] : branches.items()) {
      auto hits = read_hits(v, display, where + "." + cond + "." + branch);
      if (!hits) return fail(std::move(hits.error()));
      if (!*hits) continue;
      auto& slot = into.branches[cond + "\n" + branch];
      slot = add_hits(slot, **hits);
    }
  }
  return {};
}

// The JSON formatter's branches: [{"type": ..., "start_line": ..., "coverage": hits}].
Result<void> read_branch_list(const json& list, FileHits& into, std::string_view display,
                              const std::string& where) {
  if (!list.is_array()) return fail(bad(display, where, "not an array"));
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    if (!list[i].is_object()) return fail(bad(display, at, "not an object"));
    const auto it = list[i].find("coverage");
    if (it == list[i].end()) return fail(bad(display, at, "member 'coverage' is missing"));
    auto hits = read_hits(*it, display, at + ".coverage");
    if (!hits) return fail(std::move(hits.error()));
    if (*hits) into.branches["#" + std::to_string(i)] = **hits;
  }
  return {};
}

// One file's entry of a `coverage` object, in either shape.
Result<void> merge_file(const json& entry, FileHits& into, std::string_view display,
                        const std::string& where) {
  if (entry.is_array()) return merge_lines(entry, into, display, where);
  if (!entry.is_object()) return fail(bad(display, where, "not an array or an object"));
  const auto lines = entry.find("lines");
  if (lines == entry.end()) return fail(bad(display, where, "member 'lines' is missing"));
  if (auto r = merge_lines(*lines, into, display, where + ".lines"); !r) return r;
  const auto branches = entry.find("branches");
  if (branches == entry.end() || branches->is_null()) return {};
  if (branches->is_array()) return read_branch_list(*branches, into, display, where + ".branches");
  return merge_branch_map(*branches, into, display, where + ".branches");
}

Result<void> merge_coverage(const json& coverage, Files& files, std::string_view display,
                            const std::string& where) {
  if (!coverage.is_object()) return fail(bad(display, where, "not an object"));
  for (const auto& [path, entry] : coverage.items()) {
    if (auto r = merge_file(entry, files[path], display, where + "." + path); !r) return r;
  }
  return {};
}

// The formatter's coverage.json has a top-level "coverage" whose members are files; in a
// resultset, a command that happened to be named "coverage" would hold a "coverage" itself.
bool is_formatter_shape(const json& doc) {
  const auto it = doc.find("coverage");
  if (it == doc.end() || !it->is_object()) return false;
  return doc.contains("meta") || !it->contains("coverage");
}

}  // namespace

Result<std::vector<FileCoverage>> parse_simplecov(const nlohmann::json& doc,
                                                  std::string_view display) {
  if (!doc.is_object()) {
    return fail(bad(display, "document",
                    "not a JSON object (neither a SimpleCov .resultset.json "
                    "nor a coverage.json)"));
  }
  Files files;
  if (is_formatter_shape(doc)) {
    if (auto r = merge_coverage(*doc.find("coverage"), files, display, "coverage"); !r) {
      return fail(std::move(r.error()));
    }
  } else {
    if (doc.empty()) return fail(bad(display, "document", "no SimpleCov results"));
    for (const auto& [command, result] : doc.items()) {
      if (!result.is_object() || !result.contains("coverage")) {
        return fail(bad(display, command,
                        "member 'coverage' is missing (not a SimpleCov .resultset.json)"));
      }
      if (auto r = merge_coverage(*result.find("coverage"), files, display, command + ".coverage");
          !r) {
        return fail(std::move(r.error()));
      }
    }
  }
  std::vector<FileCoverage> out;
  out.reserve(files.size());
  for (const auto& [path, hits] : files) {
    FileCoverage f{path, {}};
    for (const auto& line : hits.lines) {
      if (!line) continue;
      (*line > 0 ? f.counts.lines_covered : f.counts.lines_missed) += 1;
    }
    for (const auto& [key, n] : hits.branches) {
      (n > 0 ? f.counts.branches_covered : f.counts.branches_missed) += 1;
    }
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace kiln::reports::detail
