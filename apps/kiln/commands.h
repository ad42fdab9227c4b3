// The kiln subcommands. Each registers its flags on a CLI11 subcommand and returns the
// process exit status from run(); main() is the single exception boundary.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace kiln::app {

// Registers `kiln run` and returns the function that executes it after parsing.
std::function<int()> add_run_command(CLI::App& app);
std::function<int()> add_lint_command(CLI::App& app);
std::function<int()> add_worker_command(CLI::App& app);
std::function<int()> add_server_command(CLI::App& app);
std::function<int()> add_key_command(CLI::App& app);
std::function<int()> add_secret_command(CLI::App& app);
std::function<int()> add_image_command(CLI::App& app);
std::function<int()> add_backup_command(CLI::App& app);

}  // namespace kiln::app
