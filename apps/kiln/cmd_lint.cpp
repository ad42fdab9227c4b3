// kiln lint [-b BUILDSPEC]... (DESIGN §3.2)
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "spec/lint.h"

namespace kiln::app {

std::function<int()> add_lint_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("lint", "Check buildspecs; print FILE:LINE:COL: problems");
  auto files = std::make_shared<std::vector<std::string>>();
  cmd->add_option("-b,--buildspec,files", *files, "Buildspec files (default: buildspec.yml)");
  return [files]() {
    if (files->empty()) files->push_back("buildspec.yml");
    return spec::lint_files(*files, std::cout);
  };
}

}  // namespace kiln::app
