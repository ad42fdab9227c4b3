// A problem found in a buildspec, with its position, printed as DESIGN §3.2 says:
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
};

// Renders one diagnostic. `source` is the whole buildspec text, used for the quoted line.
std::string format_diagnostic(const std::string& file, const std::string& source,
                              const Diagnostic& d);

bool has_errors(const std::vector<Diagnostic>& ds);

}  // namespace kiln::spec
