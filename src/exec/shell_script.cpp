#include "exec/shell_script.h"

#include "exec/export_parse.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace kiln::exec {
namespace {

bool executable(const char* path) {
  return ::access(path, X_OK) == 0;
}

}  // namespace

ScriptFiles ScriptFiles::in(const std::filesystem::path& dir) {
  return ScriptFiles{dir / "script.sh", dir / "ready", dir / "ack"};
}

std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

std::string make_script(std::string_view command, const std::filesystem::path& cwd,
                        const ScriptFiles& files) {
  // `__kiln_rc=$?` must come first to keep the command's status. `set +eux` keeps the command's
  // own options from aborting or tracing the capture. `>|` writes even under `set -C`. Both
  // NULs are written whatever fails, so the executor never waits for a third.
  // `read` fails harmlessly if the executor is gone; the shell still exits with the status.
  const std::string capture =
      "__kiln_rc=$?; set +eux; { { export -p; printf '\\0'; command pwd; "
      "printf '\\0'; } >| " +
      shell_quote(files.ready.string()) + " && IFS= read -r __kiln_ack < " +
      shell_quote(files.ack.string()) + "; } 2>/dev/null; exit $__kiln_rc";
  std::string script;
  script += "set -a\n";
  script += "cd -- " + shell_quote(cwd.string()) + " || exit 1\n";
  script += "trap " + shell_quote(capture) + " EXIT\n";
  script += command;
  if (script.back() != '\n') script += '\n';
  return script;
}

bool is_shell_internal(std::string_view name) {
  return name == "PWD" || name == "OLDPWD" || name == "SHLVL" || name == "_" ||
         name.starts_with("__kiln_") || name.starts_with("BASH_FUNC_");
}

std::optional<ShellState> parse_captured_state(std::string_view sent) {
  const auto env_end = sent.find('\0');
  if (env_end == std::string_view::npos) return std::nullopt;
  const auto cwd_end = sent.find('\0', env_end + 1);
  if (cwd_end == std::string_view::npos) return std::nullopt;
  std::string_view cwd = sent.substr(env_end + 1, cwd_end - env_end - 1);
  // pwd prints an absolute path and a newline; anything else means it failed or was cut short.
  if (cwd.size() < 2 || cwd.back() != '\n' || cwd.front() != '/') return std::nullopt;
  cwd.remove_suffix(1);
  return ShellState{std::filesystem::path(cwd), parse_export_p(sent.substr(0, env_end))};
}

Result<std::string> resolve_shell(std::string_view shell) {
  if (shell.empty() || shell == "sh" || shell == "/bin/sh") return std::string("/bin/sh");
  if (shell == "bash" || shell == "/bin/bash" || shell == "/usr/bin/bash") {
    for (const char* p : {"/bin/bash", "/usr/bin/bash", "/usr/local/bin/bash"}) {
      if (executable(p)) return std::string(p);
    }
    return fail(ErrorCode::kNotFound, "env.shell bash: bash is not installed on this host");
  }
  return fail(ErrorCode::kInvalidArgument,
              "unsupported env.shell '" + std::string(shell) + "' (expected sh or bash)");
}

}  // namespace kiln::exec
