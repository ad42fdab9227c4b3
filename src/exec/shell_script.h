// The script a command runs in, and reading back the state it leaves
// (docs/reference/codebuild-semantics.md §2.2).
//
// CodeBuild runs each buildspec command from a generated script and carries the working
// directory and variables to the next command. We do the same: every command gets a fresh shell
// (`sh -c SCRIPT <run dir>/script.sh`, so errors read "script.sh: 4: ..."; a script too long for
// one argument is written to that file instead) whose script is
//
//   1  set -a                          every assignment is exported, so `FOO=bar` carries over
//   2  cd -- '<state.cwd>' || exit 1
//   3  trap '<capture>' EXIT           on any exit: send `export -p` and `pwd`, meet the executor
//   4  <the command text, verbatim>    (line 4, as in CodeBuild's "script.sh: line 4: ..." errors)
//
// The EXIT trap keeps the command's status. It is a handshake over two FIFOs: the shell writes
// `export -p`, NUL, `pwd`, NUL to `ready` and blocks reading `ack` until the executor has
// recorded the shell's children. Nothing touches the disk per command: on ext4, rewriting a
// script file or creating state files cost more than the shell itself. The shell is a child
// subreaper, so at that moment every orphaned daemon of the command is still its child; once it
// exits they would move to the executor and could no longer be told apart from other processes.
//
// Not carried over (as in CodeBuild): functions, aliases, shell options (set -e, pipefail),
// arrays, traps, and unexported-by-design shell variables (PWD, OLDPWD, SHLVL, _). A command that
// replaces the shell (`exec prog`) or resets the EXIT trap leaves no state; the previous state is
// kept.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "exec/executor.h"
#include "util/error.h"

namespace kiln::exec {

// The files of one run directory.
struct ScriptFiles {
  std::filesystem::path script;  // the script's name ($0), and its file when it is too long
  std::filesystem::path ready;   // FIFO: shell -> executor, the captured state
  std::filesystem::path ack;     // FIFO: executor -> shell

  static ScriptFiles in(const std::filesystem::path& dir);
};

// 'text' quoted for the shell; safe for any bytes except NUL.
std::string shell_quote(std::string_view text);

// The script for one command. The capture uses only builtins (`export -p`, `pwd`), so it
// costs no fork and still works when the command emptied PATH.
std::string make_script(std::string_view command, const std::filesystem::path& cwd,
                        const ScriptFiles& files);

// Variables the shell sets by itself or that belong to the capture machinery; they are dropped
// from the captured environment.
bool is_shell_internal(std::string_view name);

// How many NULs end the state the trap sends.
inline constexpr int kCaptureTerminators = 2;

// Parses what the trap sent (`export -p` output, NUL, `pwd` output, NUL); nullopt if it is
// incomplete.
std::optional<ShellState> parse_captured_state(std::string_view sent);

// "sh", "/bin/sh" -> /bin/sh; "bash", "/bin/bash" -> the host's bash. kInvalidArgument for any
// other shell, kNotFound if bash is not installed.
[[nodiscard]] Result<std::string> resolve_shell(std::string_view shell);

}  // namespace kiln::exec
