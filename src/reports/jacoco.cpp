// JACOCOXML (§7.1): <report><package name="a/b"><class>...</class><sourcefile name="C.java">
// <line nr mi ci mb cb/>...<counter type="LINE" missed covered/></sourcefile></package>
// </report>, with <group>s around packages in an aggregate report.
//
// One entry per <sourcefile>, named "<package>/<file>" (the file alone in the unnamed package),
// as JaCoCo's own HTML report names it. Counts come from its <line> elements, as JaCoCo's LINE
// and BRANCH counters do: a line with ci > 0 is covered, one with ci = 0 and mi > 0 is missed;
// branches add up cb (covered) and mb (missed). A sourcefile whose <line>s carry no mi/ci (gcovr
// writes bare <line nr=.../>) takes its lines from its own LINE counter, and one whose <line>s
// carry no mb/cb takes its branches from its BRANCH counter (zero when there is none).
// <class> and <method> counters repeat the sourcefile's and are not read.
#include <string>

#include "reports/coverage_count.h"
#include "reports/parsers.h"
#include "reports/test_parse_util.h"

namespace kiln::reports::detail {
namespace {

struct SourceFile {
  std::string path;
  int depth = -1;
  LineTally tally;  // line_data: a <line> had mi or ci; branch_data: mb or cb
};

Result<void> count_line(const XmlReader& xml, SourceFile& f) {
  auto mi = count_attribute(xml, "mi");
  auto ci = count_attribute(xml, "ci");
  auto mb = count_attribute(xml, "mb");
  auto cb = count_attribute(xml, "cb");
  for (auto* r : {&mi, &ci, &mb, &cb}) {
    if (!*r) return fail(std::move(r->error()));
  }
  if (xml.attribute("mi") || xml.attribute("ci")) {
    f.tally.line_data = true;
    if (*ci > 0) {
      ++f.tally.from_lines.lines_covered;
    } else if (*mi > 0) {
      ++f.tally.from_lines.lines_missed;
    }
  }
  if (xml.attribute("mb") || xml.attribute("cb")) {
    f.tally.branch_data = true;
    f.tally.from_lines.branches_covered += *cb;
    f.tally.from_lines.branches_missed += *mb;
  }
  return {};
}

Result<void> read_counter(const XmlReader& xml, SourceFile& f) {
  const auto type = xml.attribute("type");
  if (!type || (*type != "LINE" && *type != "BRANCH")) return {};
  auto missed = count_attribute(xml, "missed");
  if (!missed) return fail(std::move(missed.error()));
  auto covered = count_attribute(xml, "covered");
  if (!covered) return fail(std::move(covered.error()));
  if (*type == "LINE") {
    f.tally.from_summary.lines_covered = *covered;
    f.tally.from_summary.lines_missed = *missed;
  } else {
    f.tally.from_summary.branches_covered = *covered;
    f.tally.from_summary.branches_missed = *missed;
  }
  return {};
}

}  // namespace

Result<std::vector<FileCoverage>> parse_jacoco(XmlReader& xml) {
  FileCounts files;
  std::string package;
  std::optional<SourceFile> file;
  if (auto r = to_root(xml); !r) return fail(std::move(r.error()));
  if (xml.name() != "report") return fail(wrong_root(xml, "JaCoCo XML", "<report>"));
  for (;;) {
    auto node = xml.next();
    if (!node) return fail(std::move(node.error()));
    if (!*node) break;
    if (**node == XmlReader::Node::kEnd) {
      if (file && xml.depth() == file->depth) {
        files.at(file->path) += file->tally.counts();
        file.reset();
      } else if (xml.name() == "package") {
        package.clear();
      }
      continue;
    }
    if (**node != XmlReader::Node::kStart) continue;
    const std::string_view name = xml.name();
    if (name == "package") {
      package = xml.attribute("name").value_or("");
    } else if (name == "sourcefile" && !file) {
      const auto base = xml.attribute("name");
      if (!base) return fail(xml.error_here("<sourcefile> has no name"));
      file.emplace();
      file->path = package.empty() ? *base : package + "/" + *base;
      file->depth = xml.depth();
    } else if (file && name == "line") {
      if (auto r = count_line(xml, *file); !r) return fail(std::move(r.error()));
    } else if (file && name == "counter" && xml.depth() == file->depth + 1) {
      if (auto r = read_counter(xml, *file); !r) return fail(std::move(r.error()));
    }
  }
  return files.take();
}

}  // namespace kiln::reports::detail
