// A problem found in a buildspec, with its position, printed as docs/reference/design.md §3.2 says:
//   buildspec.yml:12:7: error: message
//       source line
//         ^
#pragma once

#include <string>
#include <vector>

#include "spec/buildspec.h"

namespace kiln::spec {

struct Diagnostic {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  Mark mark;            // line 0 = no position (e.g. the file is missing)
  std::string message;  // CodeBuild's wording where CodeBuild has one (§1.9)
  // YAML syntax errors, and errors of the `batch` section (whose context is DOWNLOAD_BATCHSPEC's,
  // parse_batch.cpp): the line go-yaml puts in its message, which CodeBuild shows as
  // "<message> at line N" (phase_context_message). It is not always mark.line: go-yaml reports
  // 0 for the first line and a 0-based line for parser (as opposed to scanner) errors.
  // -1 = not a syntax error; the message is used verbatim.
  int yaml_line = -1;
  // Reported before every other diagnostic, whatever its position: set on what CodeBuild checks
  // before the rest of the file (the version, which decides how the rest is read), so that the
  // first error listed is the one CodeBuild stops at.
  bool leading = false;
};

// Orders diagnostics as `kiln lint` prints them: leading ones first, then by position (those
// without a position first). Stable.
void sort_diagnostics(std::vector<Diagnostic>& ds);

// Renders one diagnostic. `source` is the whole buildspec text, used for the quoted line.
std::string format_diagnostic(const std::string& file, const std::string& source,
                              const Diagnostic& d);

bool has_errors(const std::vector<Diagnostic>& ds);

}  // namespace kiln::spec
