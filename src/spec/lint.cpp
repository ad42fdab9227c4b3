#include "spec/lint.h"

#include <optional>

#include "spec/diagnostic.h"
#include "spec/parser.h"
#include "util/safe_read.h"

namespace kiln::spec {
namespace {

// The whole file, or nullopt and the message to print. Regular files only, and at most
// kMaxBuildspecBytes: `-b /dev/zero` or a FIFO must neither exhaust memory nor hang.
std::optional<std::string> read_file(const std::string& path, std::string& error) {
  auto text = read_regular_file(path, kMaxBuildspecBytes);
  if (text) return std::move(*text);
  if (text.error().code() == ErrorCode::kNotFound) {
    error = "YAML file does not exist";
  } else if (text.error().code() == ErrorCode::kInvalidArgument) {
    // "<path>: is a directory" -> "cannot read file: is a directory"
    const std::string& m = text.error().message();
    error = "cannot read file: " + (m.starts_with(path + ": ") ? m.substr(path.size() + 2) : m);
  } else {
    error = "cannot read file: " + text.error().message();
  }
  return std::nullopt;
}

}  // namespace

bool lint_text(const std::string& path, const std::string& text, std::ostream& out,
               const ReferenceCheck& check) {
  ParseOutcome outcome = parse_buildspec(text, path);
  if (check && outcome.spec) {
    const Env& env = outcome.spec->env;
    auto look = [&](const auto& pairs, bool parameter) {
      for (const auto& [name, ref] : pairs) {
        auto warning = check(name, parameter, ref);
        if (!warning) continue;
        const auto m = env.reference_marks.find(name);
        outcome.diagnostics.push_back({Diagnostic::Severity::kWarning,
                                       m == env.reference_marks.end() ? Mark{} : m->second,
                                       std::move(*warning)});
      }
    };
    look(env.parameter_store, true);
    look(env.secrets_manager, false);
    sort_diagnostics(outcome.diagnostics);
  }
  for (const auto& d : outcome.diagnostics) out << format_diagnostic(path, text, d);
  return !has_errors(outcome.diagnostics);
}

int lint_files(const std::vector<std::string>& paths, std::ostream& out,
               const ReferenceCheck& check) {
  bool ok = true;
  for (const auto& path : paths) {
    std::string error;
    const auto text = read_file(path, error);
    if (!text) {
      Diagnostic d;
      d.message = error;
      out << format_diagnostic(path, "", d);
      ok = false;
      continue;
    }
    ok = lint_text(path, *text, out, check) && ok;
  }
  return ok ? 0 : 1;
}

}  // namespace kiln::spec
