// kiln worker (hidden; docs/server.md): runs one build for `kiln server`. The server starts one
// worker per build, so the worker is the build's supervisor: it is the subreaper of everything
// the build starts, and it dies with the server (PR_SET_PDEATHSIG), killing the build's
// processes on its way out. It runs the same Engine as `kiln run`.
//
// Protocol (command line, records, exit status): server/worker_protocol.h, which the scheduler
// uses too. SIGTERM or SIGINT stop the build (STOPPED). When the request names
// the project's key (engine::kSecretsKeyMember), every parameter and secret the build reads is
// checked against that key's policy in --keys first (server/secret_access.h). A batch's
// DOWNLOAD_SOURCE build (batchspec_only) writes the batchspec to <reportsDir>/batchspec.json.
#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "commands.h"
#include "engine/engine.h"
#include "engine/executor_factory.h"
#include "engine/request_json.h"
#include "engine/services.h"
#include "logs/log_sink.h"
#include "logs/time_index.h"
#include "secrets/secret_store.h"
#include "server/batch_coordinator.h"
#include "server/secret_access.h"
#include "server/worker_protocol.h"
#include "signals.h"
#include "util/files.h"
#include "util/json_text.h"
#include "util/unique_fd.h"

namespace kiln::app {
namespace {

void emit(const engine::BuildRecord& record) {
  // Fails only when the server is gone. Nobody is left to tell (stderr is the same pipe), and
  // the build goes on until the death signal stops it.
  static_cast<void>(server::write_record(STDOUT_FILENO, engine::to_json(record)));
}

int run_worker(const server::WorkerArgs& o) {
  auto token = exec::CancelToken::create();
  if (!token) {
    std::fprintf(stderr, "kiln worker: %s\n", token.error().describe().c_str());
    return server::kWorkerCannotStart;
  }
  exec::CancelToken& cancel = *token;
  install_signal_handlers(cancel);
  // Ask for SIGTERM when the server dies, then check it did not die before we asked.
  if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) {
    std::perror("kiln worker: prctl(PR_SET_PDEATHSIG)");
    return server::kWorkerCannotStart;
  }
  if (o.parent != 0 && ::getppid() != o.parent) return server::kWorkerOrphaned;

  auto text = read_file(o.request);
  if (!text) {
    std::fprintf(stderr, "kiln worker: %s\n", text.error().describe().c_str());
    return server::kWorkerCannotStart;
  }
  const auto json = nlohmann::json::parse(*text, nullptr, false);
  auto req = engine::request_from_json(json);
  if (!req) {
    std::fprintf(stderr, "kiln worker: %s: %s\n", o.request.c_str(),
                 req.error().describe().c_str());
    return server::kWorkerCannotStart;
  }
  UniqueFd log_fd(::open(o.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!log_fd) {
    std::perror(("kiln worker: open " + o.log.string()).c_str());
    return server::kWorkerCannotStart;
  }
  // When each line was read, for the Logs API's event timestamps (logs/time_index.h).
  const auto times = logs::time_index_path(o.log);
  UniqueFd times_fd(::open(times.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!times_fd) {
    std::perror(("kiln worker: open " + times.string()).c_str());
    return server::kWorkerCannotStart;
  }

  auto made = engine::make_executor(*req, o.build_user);
  if (!made) {
    std::fprintf(stderr, "kiln worker: %s\n", made.error().describe().c_str());
    return server::kWorkerCannotStart;
  }
  exec::Executor& executor = **made;
  engine::BuildServices services(*req, {});
  SystemClock clock;
  logs::TimedFileSink log(log_fd.get(), times_fd.get(), clock);
  // Opened only if the build asks for a parameter, a secret or a source credential.
  secrets::LazyStoreResolver store(o.secrets, clock);
  // A second handle, also opened at its first use, names stored secrets' ARNs for the check.
  std::unique_ptr<secrets::SecretStore> described;
  auto secret_arn = [&](const std::string& id) -> std::string {
    std::error_code ec;
    if (!described && std::filesystem::is_directory(o.secrets, ec)) {
      if (auto opened = secrets::open_secret_store(o.secrets, clock))
        described = std::move(*opened);
    }
    if (!described) return "";  // the check then uses the name alone: the read fails anyway
    auto s = described->describe_secret(id);
    if (!s) return "";
    return api::stored_secret_arn(req->identity.region, req->identity.account, s->name,
                                  s->arn_suffix);
  };
  std::optional<server::AuthorizingSecretResolver> authorized;
  if (const auto k = json.find(engine::kSecretsKeyMember);
      k != json.end() && k->is_string() && !k->get<std::string>().empty()) {
    authorized.emplace(
        server::SecretAccessOptions{k->get<std::string>(),
                                    o.keys,
                                    {req->identity.region, req->identity.account, secret_arn}},
        store);
  }
  secrets::SecretResolver& secrets =
      authorized ? static_cast<secrets::SecretResolver&>(*authorized) : store;
  engine::EngineDeps deps{
      executor,        services.uploader(), log, clock, secrets, emit, &services.sources(),
      services.cache()};
  // A batch's DOWNLOAD_SOURCE build hands the batchspec to the server's batch coordinator
  // through its reports folder, which only the server reads (server/batch_coordinator.h).
  if (req->batchspec_only && !req->reports_dir.empty()) {
    deps.on_batchspec = [dir = req->reports_dir](const std::string& spec, const std::string& path) {
      const auto file = dir / server::kBatchspecFile;
      if (auto w = write_file_atomic(file, json_text({{"text", spec}, {"path", path}}), 0600); !w)
        std::fprintf(stderr, "kiln worker: %s\n", w.error().describe().c_str());
    };
  }
  engine::Engine eng(std::move(deps));
  const engine::BuildRecord record = eng.run(*req, cancel);
  log.flush();
  emit(record);
  return server::kWorkerOk;
}

}  // namespace

std::function<int()> add_worker_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("worker", "run one build for kiln server (internal)");
  cmd->group("");  // hidden from --help: only the server starts it
  // The flags are the protocol's (server/worker_protocol.h): CLI11 hands them over unparsed.
  cmd->prefix_command();
  return [cmd] {
    auto args = server::parse_worker_args(cmd->remaining());
    if (!args) {
      std::fprintf(stderr, "%s\n", args.error().describe().c_str());
      return server::kWorkerBadCommandLine;
    }
    return run_worker(*args);
  };
}

}  // namespace kiln::app
