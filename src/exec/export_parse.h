// Parses the output of the shell builtin `export -p`, which the EXIT trap of every command uses
// to capture the variables it leaves behind (docs/executors.md). A builtin costs no fork and
// exec, which halves the cost of a short command compared with running env(1).
//
// Formats understood (one variable per entry, values may span lines):
//   dash / POSIX sh:  export NAME='value'        ('it'"'"'s' for a quote inside)
//   bash:             declare -x NAME="value"    (\" \$ \` \\ escaped), or NAME=$'a\nb'
//   both:             NAME with no value (exported but unset) is skipped
#pragma once

#include <string_view>

#include "exec/executor.h"

namespace kiln::exec {

// Drops shell-internal variables (is_shell_internal). Malformed entries are skipped.
EnvMap parse_export_p(std::string_view text);

}  // namespace kiln::exec
