// kiln lint [-b BUILDSPEC]... (docs/reference/design.md §3.2). With --parameter, --secrets-store or
// --secrets-from it also looks up the values the buildspec's env/parameter-store and
// env/secrets-manager name, and warns about any too short to be masked in build logs.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "secret_sources.h"
#include "secrets/masker.h"
#include "spec/lint.h"

namespace kiln::app {

namespace {
struct LintOptions {
  std::vector<std::string> files;
  SecretOptions secrets;
};
}  // namespace

std::function<int()> add_lint_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("lint", "Check buildspecs; print FILE:LINE:COL: problems");
  auto o = std::make_shared<LintOptions>();
  cmd->add_option("-b,--buildspec,files", o->files, "Buildspec files (default: buildspec.yml)");
  add_secret_options(*cmd, o->secrets);
  return [o, cmd]() {
    if (o->files.empty()) o->files.push_back("buildspec.yml");
    const bool check =
        cmd->count("--parameter") + cmd->count("--secrets-store") + cmd->count("--secrets-from") >
        0;
    if (!check) return spec::lint_files(o->files, std::cout);
    SystemClock clock;
    auto sources = SecretSources::make(o->secrets, clock);
    if (!sources) {
      std::cerr << "kiln lint: " << sources.error().describe() << "\n";
      return 2;
    }
    auto& resolver = (*sources)->resolver();
    spec::ReferenceCheck short_values =
        [&resolver](const std::string& variable, bool parameter,
                    const std::string& reference) -> std::optional<std::string> {
      auto v = parameter ? resolver.parameter(reference) : resolver.secret(reference);
      if (!v) return "cannot check the value of " + variable + ": " + v.error().message();
      if (v->size() >= secrets::kMinSecretLength) return std::nullopt;
      return "the value of " + variable + " is shorter than " +
             std::to_string(secrets::kMinSecretLength) +
             " characters, so build logs will not mask it";
    };
    return spec::lint_files(o->files, std::cout, short_values);
  };
}

}  // namespace kiln::app
