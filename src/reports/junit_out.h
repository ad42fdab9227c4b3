// `kiln run --junit-out FILE` (docs/reports.md): every test report of a build merged into one
// JUnit XML file that CI systems and IDEs read. Beyond CodeBuild.
//
// Shape: one <testsuites> with a <testsuite> per (report, test suite name) pair in report order,
// each with a property `kiln.report` naming the report's ARN and one <testcase> per kept case
// (a report keeps at most 500; the file holds exactly what the reports kept, and its counts are
// those of the file's cases). FAILED cases carry <failure message=...>, ERROR <error>, SKIPPED
// <skipped/>; UNKNOWN cases are plain test cases. Coverage reports are left out.
//
// Every text is escaped for XML 1.0: markup characters become entities, and characters XML
// cannot hold (control characters, invalid UTF-8) become U+FFFD, so any report makes a
// well-formed file.
//
// Thread safety: pure functions.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "reports/report.h"
#include "util/error.h"

namespace kiln::reports {

// `text` escaped for an XML attribute value or character data.
std::string xml_escape(std::string_view text);

// `text` with every byte that is not part of well-formed UTF-8 replaced by U+FFFD: report text
// goes into JSON (which must be UTF-8) and into the build's log.
std::string valid_utf8(std::string_view text);

std::string junit_xml(const std::vector<Report>& reports);

// Writes junit_xml(reports) to `path` atomically. Errors: kIo naming the path.
[[nodiscard]] Result<void> write_junit_file(const std::vector<Report>& reports,
                                            const std::filesystem::path& path);

}  // namespace kiln::reports
