// CLOVERXML (§7.1): <coverage><project><metrics/><package><file name path><metrics statements
// coveredstatements conditionals coveredconditionals .../><class/><line num type count
// truecount falsecount/></file></package></project><testproject>...</testproject></coverage>.
//
// Only <project> is read: <testproject> holds the test code's own coverage, which Clover's
// totals leave out. One entry per <file>, named by its path attribute (PHPUnit writes only
// name, the full path). Counts come from the file's <line> elements: type="stmt" is a line,
// covered when count > 0; type="cond" is two branches, true and false, each covered when its
// count > 0; type="method" is neither. A file with no stmt (or no cond) lines takes its lines
// (or branches) from its own <metrics> statements/coveredstatements (conditionals/
// coveredconditionals). Line elements are counted one by one, as gcovr's metrics count them
// (it writes a line once per block); Clover for Java writes one element per line and type, so
// its statement metrics can exceed the lines when two statements share a line.
#include <algorithm>
#include <string>

#include "reports/coverage_count.h"
#include "reports/parsers.h"
#include "reports/test_parse_util.h"

namespace kiln::reports::detail {
namespace {

struct File {
  std::string path;
  int depth = -1;
  LineTally tally;  // line_data: a stmt line; branch_data: a cond line
};

Result<void> count_line(const XmlReader& xml, File& f) {
  const auto type = xml.attribute("type");
  if (type == "stmt") {
    auto count = count_attribute(xml, "count");
    if (!count) return fail(std::move(count.error()));
    f.tally.line_data = true;
    (*count > 0 ? f.tally.from_lines.lines_covered : f.tally.from_lines.lines_missed) += 1;
  } else if (type == "cond") {
    auto t = count_attribute(xml, "truecount");
    if (!t) return fail(std::move(t.error()));
    auto fc = count_attribute(xml, "falsecount");
    if (!fc) return fail(std::move(fc.error()));
    f.tally.branch_data = true;
    (*t > 0 ? f.tally.from_lines.branches_covered : f.tally.from_lines.branches_missed) += 1;
    (*fc > 0 ? f.tally.from_lines.branches_covered : f.tally.from_lines.branches_missed) += 1;
  }
  return {};
}

// covered of total, with a covered count past the total read as the total.
Result<void> read_metrics(const XmlReader& xml, File& f) {
  auto statements = count_attribute(xml, "statements");
  if (!statements) return fail(std::move(statements.error()));
  auto covered_statements = count_attribute(xml, "coveredstatements");
  if (!covered_statements) return fail(std::move(covered_statements.error()));
  auto conditionals = count_attribute(xml, "conditionals");
  if (!conditionals) return fail(std::move(conditionals.error()));
  auto covered_conditionals = count_attribute(xml, "coveredconditionals");
  if (!covered_conditionals) return fail(std::move(covered_conditionals.error()));
  const auto lc = std::min(*covered_statements, *statements);
  const auto bc = std::min(*covered_conditionals, *conditionals);
  f.tally.from_summary = Coverage{lc, *statements - lc, bc, *conditionals - bc};
  return {};
}

}  // namespace

Result<std::vector<FileCoverage>> parse_clover(XmlReader& xml) {
  FileCounts files;
  std::optional<File> file;
  int project_depth = -1;  // inside <project>
  bool seen_project = false;
  if (auto r = to_root(xml); !r) return fail(std::move(r.error()));
  if (xml.name() != "coverage") return fail(wrong_root(xml, "Clover XML", "<coverage>"));
  for (;;) {
    auto node = xml.next();
    if (!node) return fail(std::move(node.error()));
    if (!*node) break;
    if (**node == XmlReader::Node::kEnd) {
      if (file && xml.depth() == file->depth) {
        files.at(file->path) += file->tally.counts();
        file.reset();
      } else if (xml.depth() == project_depth) {
        project_depth = -1;
      }
      continue;
    }
    if (**node != XmlReader::Node::kStart) continue;
    const std::string_view name = xml.name();
    if (xml.depth() == 1 && name == "project") {
      seen_project = true;
      project_depth = 1;
    } else if (project_depth < 0) {
      continue;
    } else if (name == "file" && !file) {
      auto path = xml.attribute("path");
      if (!path) path = xml.attribute("name");
      if (!path) return fail(xml.error_here("<file> has neither path nor name"));
      file.emplace();
      file->path = std::move(*path);
      file->depth = xml.depth();
    } else if (file && name == "line") {
      if (auto r = count_line(xml, *file); !r) return fail(std::move(r.error()));
    } else if (file && name == "metrics" && xml.depth() == file->depth + 1) {
      if (auto r = read_metrics(xml, *file); !r) return fail(std::move(r.error()));
    }
  }
  if (!seen_project) {
    return fail(xml.error_here("not a Clover report: no <project> element under <coverage>"));
  }
  return files.take();
}

}  // namespace kiln::reports::detail
