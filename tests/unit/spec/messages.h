// Shared by the parser tests: diagnostics as "error LINE:COL message" strings, so a test can
// assert every problem and its position in one comparison.
#pragma once

#include <string>
#include <vector>

#include "spec/parser.h"

namespace kiln::spec::testing {

inline std::vector<std::string> messages(const ParseOutcome& out) {
  std::vector<std::string> m;
  for (const auto& d : out.diagnostics)
    m.push_back(std::string(d.severity == Diagnostic::Severity::kError ? "error " : "warning ") +
                std::to_string(d.mark.line) + ":" + std::to_string(d.mark.column) + " " +
                d.message);
  return m;
}

}  // namespace kiln::spec::testing
