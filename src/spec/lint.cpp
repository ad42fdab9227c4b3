#include "spec/lint.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>
#include <tuple>

#include "spec/diagnostic.h"
#include "spec/parser.h"

namespace kiln::spec {
namespace {

// The whole file, or nullopt and the message to print.
std::optional<std::string> read_file(const std::string& path, std::string& error) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) {
    error = "YAML file does not exist";
    return std::nullopt;
  }
  if (std::filesystem::is_directory(status)) {
    error = "cannot read file: Is a directory";
    return std::nullopt;
  }
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::string("cannot read file: ") + std::strerror(errno != 0 ? errno : EIO);
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();  // sets failbit on `text` for an empty file, which is fine
  if (in.bad()) {
    error = std::string("cannot read file: ") + std::strerror(errno != 0 ? errno : EIO);
    return std::nullopt;
  }
  return text.str();
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
    std::stable_sort(outcome.diagnostics.begin(), outcome.diagnostics.end(),
                     [](const Diagnostic& a, const Diagnostic& b) {
                       return std::tie(a.mark.line, a.mark.column) <
                              std::tie(b.mark.line, b.mark.column);
                     });
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
