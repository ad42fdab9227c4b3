// `kiln lint` (docs/reference/design.md §3.2): checks buildspec files and prints every problem.
//
// Output, for each file in order, each diagnostic in source order, as format_diagnostic()
// renders it ("FILE:LINE:COL: error|warning: message", the source line, a caret). Nothing else is
// printed, so editors can parse it. A file that cannot be read is one error without a position:
//   FILE: error: YAML file does not exist          (CodeBuild's own wording, §1.1)
//   FILE: error: cannot read file: <reason>   ("is a directory", "is a FIFO", "is a device",
//                                              "is larger than 1 MiB, the limit", ...)
// Reads regular files only, at most kMaxBuildspecBytes each (util/safe_read.h), so `-b
// /dev/zero` or a FIFO fails at once. Control characters in anything quoted are escaped.
// Safe to call from any thread as long as `out` is not shared.
#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace kiln::spec {

// Optional check of the values that env/parameter-store and env/secrets-manager name: given the
// variable, whether it is a parameter, and the reference, returns a warning or nothing. `kiln
// lint` uses it to warn about values too short to be masked; spec/ itself fetches nothing.
using ReferenceCheck = std::function<std::optional<std::string>(
    const std::string& variable, bool parameter, const std::string& reference)>;

// Returns 0 when no file has an error (warnings allowed), 1 otherwise.
int lint_files(const std::vector<std::string>& paths, std::ostream& out,
               const ReferenceCheck& check = nullptr);

// Lints one buildspec already in memory; `path` is used in messages only. Returns true when it
// has no errors.
bool lint_text(const std::string& path, const std::string& text, std::ostream& out,
               const ReferenceCheck& check = nullptr);

}  // namespace kiln::spec
