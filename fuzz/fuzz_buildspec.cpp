// libFuzzer target for the buildspec parser (docs/reference/design.md).
//
// Feeds arbitrary bytes to parse_buildspec() and renders every diagnostic, so both the parser
// and format_diagnostic() (which indexes into the source by line and column) see hostile input.
// The only expected outcome is "no crash, no hang, no sanitizer report". The invariants checked
// below are the parser's header contracts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "spec/diagnostic.h"
#include "spec/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const kiln::spec::ParseOutcome outcome = kiln::spec::parse_buildspec(text, "buildspec.yml");
  // parser.h: the spec is set iff there are no errors.
  if (outcome.spec.has_value() == kiln::spec::has_errors(outcome.diagnostics)) std::abort();
  size_t total = 0;
  for (const auto& d : outcome.diagnostics) {
    total += kiln::spec::format_diagnostic("buildspec.yml", text, d).size();
    total += kiln::spec::phase_context_message(d).size();
  }
  return total == static_cast<size_t>(-1) ? 1 : 0;  // keep the work observable
}
