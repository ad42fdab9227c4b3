// kiln worker (hidden; docs/server.md): runs one build for `kiln server`. The server starts one
// worker per build, so the worker is the build's supervisor: it is the subreaper of everything
// the build starts, and it dies with the server (PR_SET_PDEATHSIG), killing the build's
// processes on its way out. It runs the same Engine as `kiln run`.
//
// Protocol: the request is a JSON file (engine::request_to_json); the log is appended to --log
// as the build prints; at every phase change one line of JSON, the Build record, goes to stdout
// (a pipe to the server). SIGTERM or SIGINT stop the build (STOPPED). When the request names
// the project's key (engine::kSecretsKeyMember), every parameter and secret the build reads is
// checked against that key's policy in --keys first (server/secret_access.h).
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
#include "secrets/secret_store.h"
#include "server/secret_access.h"
#include "signals.h"
#include "util/files.h"
#include "util/json_text.h"

namespace kiln::app {
namespace {

struct WorkerOptions {
  std::string request;
  std::string log;
  std::string secrets;     // the server's secret store folder
  std::string keys;        // the server's keys.json: the project key's policy
  std::string build_user;  // process builds run as this user (engine::make_executor)
  int parent = 0;
};

void emit(const engine::BuildRecord& record) {
  const std::string line = json_text(engine::to_json(record)) + "\n";
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the server is gone; the build goes on until the death signal
    done += static_cast<std::size_t>(n);
  }
}

int run_worker(const WorkerOptions& o) {
  exec::CancelToken cancel;
  install_signal_handlers(cancel);
  // Ask for SIGTERM when the server dies, then check it did not die before we asked.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (o.parent != 0 && ::getppid() != o.parent) return 3;

  auto text = read_file(o.request);
  if (!text) {
    std::fprintf(stderr, "kiln worker: %s\n", text.error().describe().c_str());
    return 2;
  }
  const auto json = nlohmann::json::parse(*text, nullptr, false);
  auto req = engine::request_from_json(json);
  if (!req) {
    std::fprintf(stderr, "kiln worker: %s: %s\n", o.request.c_str(),
                 req.error().describe().c_str());
    return 2;
  }
  const int log_fd = ::open(o.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    std::perror(("kiln worker: open " + o.log).c_str());
    return 2;
  }

  auto made = engine::make_executor(*req, o.build_user);
  if (!made) {
    std::fprintf(stderr, "kiln worker: %s\n", made.error().describe().c_str());
    return 2;
  }
  exec::Executor& executor = **made;
  engine::BuildServices services(*req, {});
  logs::FdSink log(log_fd);
  SystemClock clock;
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
  engine::Engine eng({executor, services.uploader(), log, clock, secrets, emit, &services.sources(),
                      services.cache()});
  const engine::BuildRecord record = eng.run(*req, cancel);
  log.flush();
  emit(record);
  ::close(log_fd);
  return 0;
}

}  // namespace

std::function<int()> add_worker_command(CLI::App& app) {
  auto opts = std::make_shared<WorkerOptions>();
  CLI::App* cmd = app.add_subcommand("worker", "run one build for kiln server (internal)");
  cmd->group("");  // hidden from --help: only the server starts it
  cmd->add_option("--request", opts->request, "build request JSON file")->required();
  cmd->add_option("--log", opts->log, "log file, appended as the build prints")->required();
  cmd->add_option("--secrets", opts->secrets, "the server's secret store folder")->required();
  cmd->add_option("--keys", opts->keys, "the server's keys.json (the project key's policy)");
  cmd->add_option("--build-user", opts->build_user, "run process builds as this user");
  cmd->add_option("--parent", opts->parent, "the server's pid; exit if it is already gone");
  return [opts] { return run_worker(*opts); };
}

}  // namespace kiln::app
