// kiln server (docs/reference/design.md §3.4; docs/server.md): the CodeBuild API on AWS JSON 1.1 +
// SigV4, with state in SQLite and logs in files, all inside the data folder.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include "api/precheck.h"
#include "api/service.h"
#include "auth/keys.h"
#include "buildstatus/reporter.h"
#include "commands.h"
#include "engine/executor_factory.h"
#include "events/recorder.h"
#include "http/server.h"
#include "net/s3_client.h"
#include "reports/report.h"
#include "secrets/secret_store.h"
#include "server/build_feed.h"
#include "server/cache_invalidation.h"
#include "server/reloading_keys.h"
#include "server/scheduler.h"
#include "server_setup.h"
#include "store/store.h"

extern char** environ;

namespace kiln::app {
namespace {

namespace fs = std::filesystem;

struct ServerOptions {
  std::string data = "./kiln-data";
  std::string listen = "127.0.0.1:7447";
  unsigned max_builds = 0;
  bool allow_anonymous = false;
  bool allow_privileged = false;  // privileged builds can take the host (docs/server.md)
  std::string region = "us-east-1";
  std::string account = "000000000000";
  // Archive (S3) cache eviction per project namespace, applied after each save (docs/cache.md).
  std::uint64_t cache_max_mb = 10240;
  long long cache_max_age_hours = 168;
  int report_expiry_days = reports::kDefaultExpiryDays;  // reports expire (§7.3)
  std::vector<std::string> source_roots;
  std::string executor;   // "" = sandbox where it works (server_setup.h default_executor)
  std::string network;    // "" = the executor's default
  std::string image_dir;  // "" = DATA/images
  // --event-targets: the rules file of build events' HTTP targets (docs/events.md); "" = none
  std::string event_targets;
  std::vector<std::string> status_api_urls;  // PROVIDER=URL (buildstatus/provider_api.h)
  std::string public_url;                    // "" = build statuses link nowhere by default
};

// Exit statuses as apps/kiln/main.cpp documents them: 1 when the server cannot start, 2 for a
// bad option value (as CLI11 gives for a bad option).
int fail_start(const std::string& message) {
  std::fprintf(stderr, "kiln server: %s\n", message.c_str());
  return 1;
}

int fail_usage(const std::string& message) {
  std::fprintf(stderr, "kiln server: %s\n", message.c_str());
  return 2;
}

int run_server(const ServerOptions& o) {
  const auto colon = o.listen.rfind(':');
  if (colon == std::string::npos) return fail_usage("--listen wants HOST:PORT, got " + o.listen);
  int port = 0;
  try {
    port = std::stoi(o.listen.substr(colon + 1));
  } catch (const std::exception&) {
    port = -1;
  }
  if (port < 0 || port > 65535) return fail_usage("--listen: bad port in " + o.listen);
  if (o.report_expiry_days < 1)
    return fail_usage("--report-expiry-days must be at least 1, not " +
                      std::to_string(o.report_expiry_days));

  std::error_code ec;
  fs::create_directories(o.data, ec);
  if (ec) return fail_start("cannot create the data folder " + o.data + ": " + ec.message());
  // Builds and other users must not read the server's state.
  if (::chmod(o.data.c_str(), 0700) != 0)
    return fail_start(errno_error(ErrorCode::kIo, "chmod " + o.data).describe());
  const fs::path root = fs::canonical(o.data, ec);
  if (ec) return fail_start("cannot resolve the data folder " + o.data + ": " + ec.message());
  const api::DataLayout layout{root};
  if (auto h = check_history(layout.root); !h) return fail_start(h.error().describe());

  std::string executor = o.executor;
  if (executor.empty()) {
    auto chosen = default_executor();
    if (!chosen) return fail_start(chosen.error().describe());
    executor = *chosen;
  }
  if (executor != "process" && executor != "sandbox" && executor != "docker")
    return fail_usage("--executor must be process, sandbox or docker, not " + executor);
  // A root server's process builds run as the build user, who must not read this folder.
  std::string build_user;
  fs::path build_home;
  if (executor == "process" && ::geteuid() == 0) {
    auto home = ensure_build_user();
    if (!home) return fail_start(home.error().describe());
    if (auto r = open_builds_to_build_user(layout.root); !r)
      return fail_start(r.error().describe());
    build_user = engine::kBuildUser;
    build_home = *home;
  }

  // Block the stop signals in every thread; main() waits for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto keys = auth::bootstrap(layout.root, o.region);
  if (!keys) return fail_start(keys.error().describe());
  if (keys->new_credentials) {
    std::fprintf(stderr, "kiln server: first start: admin credentials written to %s\n",
                 keys->new_credentials->c_str());
  }
  auto store = store::open_sqlite(layout.database());
  if (!store) return fail_start(store.error().describe());

  SystemClock clock;
  auto secret_store = secrets::open_secret_store(layout.secrets_dir(), clock);
  if (!secret_store) {
    return fail_start("cannot open the secret store in " + layout.secrets_dir().string() + ": " +
                      secret_store.error().describe());
  }
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return fail_start("cannot find my own binary (/proc/self/exe)");
  self[n] = '\0';
  server::SchedulerOptions sched_opts;
  sched_opts.data = layout;
  sched_opts.kiln_binary = self;
  sched_opts.build_user = build_user;
  sched_opts.max_running =
      o.max_builds != 0 ? o.max_builds : std::max(1u, std::thread::hardware_concurrency());
  sched_opts.reports.expiry_days = o.report_expiry_days;
  // Report groups that export to S3 use the S3 endpoint of the server's environment, as
  // artifacts do (docs/server.md).
  sched_opts.reports.s3_config = [] { return net::s3_config_from_env(); };
  // Build events and status reporting watch every build and batch the store writes
  // (server/build_feed.h). Both are made before the feed, so they outlive it (its destructor
  // hands out the last changes) on every return path; they are added before it starts.
  events::EventsOptions events_opts{layout.root / "events", {o.account, o.region}, std::nullopt};
  if (!o.event_targets.empty()) events_opts.targets_file = o.event_targets;
  auto build_events = events::Events::open(events_opts, clock);
  if (!build_events) return fail_start("build events: " + build_events.error().describe());
  buildstatus::ReporterOptions status_opts;
  status_opts.public_url = o.public_url;
  for (const auto& text : o.status_api_urls) {
    auto kv = buildstatus::parse_api_override(text);
    if (!kv) return fail_usage(kv.error().message());
    status_opts.api_urls[kv->first] = kv->second;
  }
  buildstatus::Reporter status_reporter(
      status_opts, net::make_curl_client(),
      [&secrets = **secret_store](const std::string& type) {
        return secrets.source_credential(type);
      },
      [](const std::string& line) { std::fprintf(stderr, "kiln server: %s\n", line.c_str()); });
  server::BuildFeed feed;
  feed.add((*build_events)->recorder());
  feed.add(status_reporter);
  status_reporter.start();
  (*store)->set_observer(&feed);
  feed.start();

  server::Scheduler scheduler(sched_opts, **store, clock);
  auto recovered = scheduler.recover();
  if (!recovered) return fail_start(recovered.error().describe());
  if (*recovered > 0) {
    std::fprintf(stderr, "kiln server: %d build(s) were running when the server stopped: FAILED\n",
                 *recovered);
  }

  // A killed server leaves containers and cgroups behind; they go before any new build starts.
  for (const auto& line : engine::sweep_leftovers(executor))
    std::fprintf(stderr, "kiln server: %s\n", line.c_str());

  api::ServiceOptions svc_opts;
  svc_opts.executor = executor;
  svc_opts.network_mode = o.network;
  svc_opts.max_builds = sched_opts.max_running;
  svc_opts.image_dir =
      fs::absolute(o.image_dir.empty() ? fs::path(o.data) / "images" : fs::path(o.image_dir));
  svc_opts.account = {o.region, o.account};
  svc_opts.data = layout;
  svc_opts.allow_anonymous = o.allow_anonymous;
  svc_opts.allow_privileged = o.allow_privileged;
  svc_opts.cache_max_bytes = o.cache_max_mb << 20;
  svc_opts.cache_max_age_seconds = o.cache_max_age_hours * 3600;
  for (const auto& r : o.source_roots) svc_opts.source_roots.emplace_back(r);
  svc_opts.invalidate_cache = [cache_dir = layout.cache_dir()](const nlohmann::json& project) {
    return server::invalidate_project_cache(project, cache_dir);
  };
  // Builds start from the server's environment, except the server's own AWS credentials (its
  // workers use them for S3): a build gets no credential it was not given.
  for (char** e = environ; e && *e; ++e) {
    const std::string kv = *e;
    const auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    const std::string name = kv.substr(0, eq);
    if (name == "AWS_ACCESS_KEY_ID" || name == "AWS_SECRET_ACCESS_KEY" ||
        name == "AWS_SESSION_TOKEN" || name == "AWS_SHARED_CREDENTIALS_FILE" ||
        name == "AWS_PROFILE" || name == "AWS_CONFIG_FILE")
      continue;
    svc_opts.image_env[name] = kv.substr(eq + 1);
  }
  if (!build_home.empty()) svc_opts.image_env["HOME"] = build_home.string();
  server::ReloadingKeys key_lookup(std::move(keys->keys));
  svc_opts.policies = &key_lookup;
  svc_opts.events = &(*build_events)->hub();
  api::Service service(svc_opts, **store, **secret_store, key_lookup, scheduler, clock);

  http::ServerOptions http_opts;
  http_opts.host = o.listen.substr(0, colon);
  http_opts.port = static_cast<std::uint16_t>(port);
  // Unsigned or stale requests are refused before their body is read; log reads run on workers.
  http_opts.precheck =
      api::make_precheck(key_lookup, clock, o.allow_anonymous, svc_opts.max_skew_seconds);
  http_opts.offload = api::is_file_work;
  http::Server http_server(http_opts, [&](const http::Request& r) { return service.handle(r); });
  if (auto r = http_server.start(); !r) return fail_start(r.error().describe());
  scheduler.start();

  if (executor == "process") {
    std::fprintf(stderr,
                 "kiln server: WARNING: --executor process: builds run UNISOLATED on this host "
                 "as %s, with its network, processes and files (docs/server.md). Use it only "
                 "for builds you trust.\n",
                 build_user.empty() ? "this server's user" : build_user.c_str());
  } else if (executor == "sandbox") {
    if (const auto note = missing_image_note(svc_opts.image_dir); !note.empty())
      std::fprintf(stderr, "kiln server: %s\n", note.c_str());
  }
  if (o.allow_anonymous) {
    std::fprintf(stderr,
                 "kiln server: WARNING: --allow-anonymous: unsigned requests are accepted. Use "
                 "this only on a machine nobody else can reach.\n");
  }
  std::printf("kiln server listening on http://%s:%u (data %s)\n", http_opts.host.c_str(),
              http_server.port(), layout.root.c_str());
  std::printf("credentials: AWS_SHARED_CREDENTIALS_FILE=%s\n",
              (layout.root / "credentials").c_str());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::fprintf(stderr, "kiln server: %s: stopping builds and shutting down\n",
               sig == SIGINT ? "SIGINT" : "SIGTERM");
  http_server.stop_accepting();
  scheduler.shutdown();
  http_server.stop();
  feed.stop();  // then the listeners, which see its last changes
  (*build_events)->stop();
  status_reporter.stop();
  (*store)->set_observer(nullptr);
  return 0;
}

}  // namespace

std::function<int()> add_server_command(CLI::App& app) {
  auto opts = std::make_shared<ServerOptions>();
  CLI::App* cmd = app.add_subcommand("server", "serve the CodeBuild API (AWS JSON 1.1 + SigV4)");
  cmd->add_option("--data", opts->data, "data folder (state, logs, keys)")->capture_default_str();
  cmd->add_option("--executor", opts->executor,
                  "where builds run: sandbox (the default where bubblewrap works), docker, or "
                  "process (unisolated; as root, builds run as the user kiln-build)");
  cmd->add_option("--network", opts->network,
                  "network of sandbox and docker builds: bridge (default), host or none; "
                  "sandbox also host-loopback");
  cmd->add_option("--image-dir", opts->image_dir, "curated image store (default DATA/images)");
  cmd->add_option("--listen", opts->listen, "HOST:PORT to listen on")->capture_default_str();
  cmd->add_option("--max-builds", opts->max_builds,
                  "builds running at once (default: the number of cores)");
  cmd->add_flag("--allow-privileged", opts->allow_privileged,
                "allow privilegedMode builds, for keys with kiln:PrivilegedBuild");
  cmd->add_flag("--allow-anonymous", opts->allow_anonymous,
                "accept unsigned requests (throwaway local use only)");
  cmd->add_option("--region", opts->region, "region in ARNs when a request names none")
      ->capture_default_str();
  cmd->add_option("--account-id", opts->account, "account id in ARNs")->capture_default_str();
  cmd->add_option("--source-root", opts->source_roots,
                  "a folder whose subfolders projects may use as LOCAL sources (repeatable)");
  cmd->add_option("--cache-max-mb", opts->cache_max_mb,
                  "S3 cache: keep at most this many MiB per project (0 = no limit)")
      ->capture_default_str();
  cmd->add_option("--cache-max-age-hours", opts->cache_max_age_hours,
                  "S3 cache: remove objects not written for this long (0 = no limit)")
      ->capture_default_str();
  cmd->add_option("--report-expiry-days", opts->report_expiry_days,
                  "reports (test cases, coverage) are kept this many days")
      ->capture_default_str();
  cmd->add_option("--status-api-url", opts->status_api_urls,
                  "build status: PROVIDER=URL sends GITHUB, GITHUB_ENTERPRISE, GITLAB, "
                  "GITLAB_SELF_MANAGED or BITBUCKET statuses to this API base (repeatable)");
  cmd->add_option("--public-url", opts->public_url,
                  "this server's URL as git hosts' users reach it: build statuses link to "
                  "URL/logs/<project>/<uuid>");
  cmd->add_option("--event-targets", opts->event_targets,
                  "JSON file of HTTP targets for build events (docs/events.md)");
  return [opts] { return run_server(*opts); };
}

}  // namespace kiln::app
