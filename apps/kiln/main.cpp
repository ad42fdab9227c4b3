// kiln: one binary, several front doors (docs/reference/design.md §1). This file only dispatches;
// the work lives in the core library. Exit status: 0 success, 1 build/lint failure or a command
// that could not do its work (a server that cannot start), 2 bad command line (an unknown option,
// or a bad value such as `kiln server --listen` without a port). `kiln worker` (internal) exits 0
// once its build's final record is written, whatever the build's status, 1 when it cannot start the
// build, 2 for a bad command line, and 3 when the server that started it was already gone
// (server/worker_protocol.h).
#include <cstdio>
#include <exception>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"kiln: run AWS CodeBuild buildspecs anywhere"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "kiln 0.1.0");
  auto run = kiln::app::add_run_command(app);
  auto lint = kiln::app::add_lint_command(app);
  auto worker = kiln::app::add_worker_command(app);
  auto server = kiln::app::add_server_command(app);
  auto key = kiln::app::add_key_command(app);
  auto secret = kiln::app::add_secret_command(app);
  auto image = kiln::app::add_image_command(app);
  auto backup = kiln::app::add_backup_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  try {
    if (app.got_subcommand("run")) return run();
    if (app.got_subcommand("lint")) return lint();
    if (app.got_subcommand("worker")) return worker();
    if (app.got_subcommand("server")) return server();
    if (app.got_subcommand("key")) return key();
    if (app.got_subcommand("secret")) return secret();
    if (app.got_subcommand("image")) return image();
    if (app.got_subcommand("backup")) return backup();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kiln: error: %s\n", e.what());
    return 2;
  }
  return 2;
}
