// COBERTURAXML (§7.1): <coverage><packages><package><classes><class filename=...><methods>
// <method><lines>...</lines></method></methods><lines><line number hits branch
// condition-coverage="50% (1/2)"/></lines></class>...
//
// Counts come from the class's own <line> elements: a line with hits > 0 is covered, with 0
// missed; a line's condition-coverage "(c/t)" adds c covered and t - c missed branches. The
// <line>s inside <method> repeat the class's lines and are not counted again. The root's
// lines-valid / branches-valid and the rates are not read: writers leave them out (Cobertura
// 1.9, simplecov-cobertura) or compute them differently from their own lines (istanbul's
// branches-valid counts branches no <line> carries); the lines are the tool's own record.
// Classes with the same filename (nested and compiler-generated classes) make one file.
#include <charconv>
#include <string>

#include "reports/coverage_count.h"
#include "reports/parsers.h"
#include "reports/test_parse_util.h"

namespace kiln::reports::detail {
namespace {

// "50% (1/2)" -> {1, 2}; nullopt when the text is not of that form or c > t.
std::optional<std::pair<std::int64_t, std::int64_t>> parse_condition_coverage(std::string_view s) {
  const auto open = s.find('(');
  const auto slash = s.find('/', open == std::string_view::npos ? 0 : open);
  const auto close = s.find(')', slash == std::string_view::npos ? 0 : slash);
  if (open == std::string_view::npos || slash == std::string_view::npos ||
      close == std::string_view::npos) {
    return std::nullopt;
  }
  const auto covered = parse_count(s.substr(open + 1, slash - open - 1));
  const auto total = parse_count(s.substr(slash + 1, close - slash - 1));
  if (!covered || !total || *covered > *total) return std::nullopt;
  return std::make_pair(*covered, *total);
}

Result<void> count_line(const XmlReader& xml, Coverage& c) {
  auto hits = count_attribute(xml, "hits");
  if (!hits) return fail(std::move(hits.error()));
  (*hits > 0 ? c.lines_covered : c.lines_missed) += 1;
  const auto cond = xml.attribute("condition-coverage");
  if (!cond) return {};
  const auto branches = parse_condition_coverage(*cond);
  if (!branches) {
    return fail(xml.error_here("attribute condition-coverage=\"" + cond->substr(0, 40) +
                               "\" is not \"<percent>% (<covered>/<total>)\""));
  }
  c.branches_covered += branches->first;
  c.branches_missed += branches->second - branches->first;
  return {};
}

}  // namespace

Result<std::vector<FileCoverage>> parse_cobertura(XmlReader& xml) {
  FileCounts files;
  Coverage* current = nullptr;  // the open <class>'s file
  int class_depth = -1;
  int method_depth = -1;  // inside a <method>: its lines repeat the class's
  bool seen_packages = false;
  if (auto r = to_root(xml); !r) return fail(std::move(r.error()));
  if (xml.name() != "coverage") return fail(wrong_root(xml, "Cobertura XML", "<coverage>"));
  for (;;) {
    auto node = xml.next();
    if (!node) return fail(std::move(node.error()));
    if (!*node) break;
    if (**node == XmlReader::Node::kEnd) {
      if (xml.depth() == class_depth) {
        current = nullptr;
        class_depth = -1;
      } else if (xml.depth() == method_depth) {
        method_depth = -1;
      }
      continue;
    }
    if (**node != XmlReader::Node::kStart) continue;
    const std::string_view name = xml.name();
    if (xml.depth() == 1) {
      if (name == "packages") seen_packages = true;
      if (name == "project") {
        return fail(
            xml.error_here("not a Cobertura report: <coverage><project> is Clover's layout"));
      }
    }
    if (name == "class" && current == nullptr) {
      auto path = xml.attribute("filename");
      if (!path) path = xml.attribute("name");
      if (!path) return fail(xml.error_here("<class> has neither filename nor name"));
      current = &files.at(*path);
      class_depth = xml.depth();
    } else if (name == "method" && current != nullptr && method_depth < 0) {
      method_depth = xml.depth();
    } else if (name == "line" && current != nullptr && method_depth < 0) {
      if (auto r = count_line(xml, *current); !r) return fail(std::move(r.error()));
    }
  }
  if (!seen_packages) {
    return fail(xml.error_here("not a Cobertura report: no <packages> element under <coverage>"));
  }
  return files.take();
}

}  // namespace kiln::reports::detail
