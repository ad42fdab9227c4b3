// kiln run (docs/reference/design.md §3.1): builds a BuildRequest from flags, runs the engine on
// the executor
// --executor names (process, sandbox or docker), prints the summary and writes the record.
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "build_folder.h"
#include "commands.h"
#include "engine/engine.h"
#include "engine/executor_factory.h"
#include "engine/services.h"
#include "reports/junit_out.h"
#include "run_batch.h"
#include "run_options.h"
#include "run_sources.h"
#include "signals.h"
#include "source/local_git.h"
#include "spec/parser.h"
#include "summary.h"
#include "util/escape.h"
#include "util/files.h"
#include "util/json_text.h"
#include "util/safe_read.h"
#include "util/unique_fd.h"

extern char** environ;

namespace kiln::app {

namespace fs = std::filesystem;

namespace {

int usage_error(const std::string& message) {
  std::fprintf(stderr, "kiln run: %s\n", message.c_str());
  return 2;
}

// Project names follow CodeBuild's pattern [A-Za-z0-9][A-Za-z0-9\-_]{1,149}.
std::string project_name_from(const fs::path& dir) {
  std::string name = dir.filename().string();
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '-';
  if (name.empty() || !std::isalnum(static_cast<unsigned char>(name[0]))) name = "p" + name;
  if (name.size() < 2) name += "-project";
  return name.substr(0, 150);
}

std::string initiator() {
  if (const char* u = std::getenv("USER"); u && *u) return u;
  if (const passwd* pw = ::getpwuid(::getuid())) return pw->pw_name;
  return "kiln";
}

exec::EnvMap host_environment() {
  exec::EnvMap env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    const auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

Result<engine::VarList> override_variables(const RunOptions& o) {
  engine::VarList vars;
  for (const auto& f : o.env_files) {
    auto text = read_file(f);
    if (!text) return fail(std::move(text.error()).with("--env-file"));
    auto parsed = engine::parse_env_file(*text, f);
    if (!parsed) return fail(std::move(parsed.error()));
    vars.insert(vars.end(), parsed->begin(), parsed->end());
  }
  // -e comes after --env-file, so a flag on the command line wins over the file.
  for (const auto& e : o.env) {
    auto kv = engine::parse_env_assignment(e);
    if (!kv) return fail(std::move(kv.error()).with("-e"));
    vars.push_back(std::move(*kv));
  }
  return vars;
}

std::optional<workspace::CopyMode> copy_mode(const std::string& s) {
  if (s == "auto") return workspace::CopyMode::kAuto;
  if (s == "reflink") return workspace::CopyMode::kReflink;
  if (s == "copy") return workspace::CopyMode::kCopy;
  if (s == "hardlink") return workspace::CopyMode::kHardlink;
  return std::nullopt;
}

// Whether the buildspec is to run as a batch (docs/batch.md "kiln run --batch"): with --batch,
// or when it has `batch` and no `phases`. With both, it runs as a single build, and says so.
// Only a local folder's (or -b FILE's) buildspec can be read before the build; a git or S3
// source without --batch runs as a single build, which fails on a batch-only buildspec saying
// to use --batch. A buildspec that cannot be read or parsed is left to the engine to report.
bool runs_as_batch(const RunOptions& o, const engine::BuildRequest& req) {
  if (o.batch) return true;
  std::string text;
  std::string shown = req.buildspec_origin;
  if (req.buildspec_text) {
    text = *req.buildspec_text;
  } else if (req.source.is_local()) {
    shown = req.buildspec_path.empty() ? "buildspec.yml" : req.buildspec_path;
    auto read = read_file_beneath(req.source.location, shown, spec::kMaxBuildspecBytes);
    if (!read) return false;
    text = std::move(*read);
  } else {
    return false;
  }
  const spec::BatchShape shape = spec::batch_shape(text, shown);
  if (shape == spec::BatchShape::kBatchAndPhases)
    std::fprintf(stderr,
                 "kiln run: %s has both `batch` and `phases`: running it as a single build "
                 "(--batch runs the batch)\n",
                 escape_control(shown).c_str());
  return shape == spec::BatchShape::kBatchOnly;
}

// The request kiln run's flags make, without its build folder. Errors are usage errors.
Result<engine::BuildRequest> make_request(const RunOptions& o) {
  auto invalid = [](const std::string& message) {
    return fail(ErrorCode::kInvalidArgument, message);
  };
  if (o.executor != "process" && o.executor != "sandbox" && o.executor != "docker")
    return invalid("--executor must be process, sandbox or docker, not " + o.executor);
  if (o.packaging != "ZIP" && o.packaging != "NONE")
    return invalid("--packaging must be ZIP or NONE, not " + o.packaging);
  if (!(o.timeout_minutes > 0)) return invalid("--timeout must be a positive number of minutes");
  if (o.git_clone_depth < 0) return invalid("--git-clone-depth must be 0 or more");
  if (o.max_batch_builds < 1) return invalid("--max-batch-builds must be 1 or more");
  if (o.batch_timeout_minutes < 0)
    return invalid("--batch-timeout must be a positive number of minutes");
  auto mode = copy_mode(o.workspace_mode);
  if (!mode) return invalid("--workspace must be auto, reflink, copy or hardlink");
  auto overrides = override_variables(o);
  if (!overrides) return invalid(overrides.error().describe());

  engine::BuildRequest req;
  req.packaging = o.packaging == "NONE" ? artifacts::Packaging::kNone : artifacts::Packaging::kZip;
  if (auto applied = apply_run_sources(o, req); !applied) return invalid(applied.error().message());
  // A folder source's name is the default project name; a URL's last component otherwise.
  fs::path source = req.source.location;
  if (!req.source.is_local()) {
    std::string last = req.source.location;
    while (!last.empty() && last.back() == '/') last.pop_back();
    last = last.substr(last.rfind('/') + 1);
    if (last.size() > 4 && last.substr(last.size() - 4) == ".git") last.resize(last.size() - 4);
    if (last.size() > 4 && last.substr(last.size() - 4) == ".zip") last.resize(last.size() - 4);
    source = last;
  }

  auto& id = req.identity;
  id.project = o.project.empty() ? project_name_from(source) : o.project;
  id.uuid = make_uuid();
  id.initiator = initiator();
  // The host has no image; the container executors default to the curated standard image.
  id.image = !o.image.empty() ? o.image : o.executor == "process" ? "kiln/host" : "kiln/standard";
  if (const char* region = std::getenv("AWS_REGION"); region && *region) id.region = region;
  if (auto head = req.source.is_local() ? source::read_git_head(source) : std::nullopt) {
    id.resolved_source_version = head->commit;
    id.source_version = head->commit;
  }
  if (!o.source_version.empty()) id.source_version = o.source_version;

  req.in_place = o.in_place;
  req.copy_mode = *mode;
  req.buildspec_path = o.buildspec;
  if (fs::path(o.buildspec).is_absolute()) {
    // A file the user named on their own command line may lie anywhere (the engine opens a
    // relative one beneath the source), but it is still a regular file of bounded size: -b
    // /dev/zero or a FIFO must fail at once, not exhaust memory or hang.
    auto text = read_regular_file(o.buildspec, spec::kMaxBuildspecBytes);
    if (!text) return invalid("-b " + text.error().message());
    req.buildspec_text = std::move(*text);
    req.buildspec_origin = o.buildspec;
    req.buildspec_path.clear();
  }
  req.override_vars = std::move(*overrides);
  req.image_env = host_environment();
  req.timeout_minutes = o.timeout_minutes;
  req.executor_name = o.executor;
  req.compute_type = o.compute_type;
  req.network_mode = o.network;
  req.privileged_mode = o.privileged;
  req.image_dir = o.image_dir;
  std::error_code ec;
  if (!o.reports_dir.empty()) req.reports_dir = fs::absolute(o.reports_dir, ec);
  return req;
}

int run_single(const RunOptions& o, engine::BuildRequest req, secrets::SecretResolver& resolver,
               exec::CancelToken& cancel) {
  auto folder = BuildFolder::make();
  if (!folder) return usage_error(folder.error().describe());
  req.build_root = folder->path();
  if (!req.s3_artifacts.empty()) req.artifacts_dir = req.build_root / "artifacts";
  auto made = engine::make_executor(req);
  if (!made) {
    folder->release(false);
    return usage_error(made.error().describe());
  }
  exec::Executor& executor = **made;
  engine::BuildServices services(req, {});
  logs::FdSink out(STDOUT_FILENO);
  SystemClock clock;
  std::vector<reports::Report> made_reports;
  engine::EngineDeps deps{
      executor,        services.uploader(), out, clock, resolver, nullptr, &services.sources(),
      services.cache()};
  deps.on_reports = [&made_reports](const std::vector<reports::Report>& r) { made_reports = r; };
  engine::Engine eng(std::move(deps));
  const engine::BuildRecord record = eng.run(req, cancel);
  out.flush();

  const SummaryStyle style{!o.no_color && ::isatty(STDOUT_FILENO) == 1};
  print_summary(record, style);
  print_report_summary(made_reports, style);
  if (!o.junit_out.empty()) {
    auto w = reports::write_junit_file(made_reports, o.junit_out);
    if (!w) std::fprintf(stderr, "kiln run: --junit-out: %s\n", w.error().describe().c_str());
  }
  if (!o.json.empty()) {
    auto w = write_file_atomic(o.json, json_text(engine::to_json(record), 2) + "\n");
    if (!w) std::fprintf(stderr, "kiln run: %s\n", w.error().describe().c_str());
  }
  folder->release(o.keep_workspace);
  if (o.keep_workspace)
    std::fprintf(stderr, "kiln run: workspace kept at %s\n", req.build_root.c_str());
  return record.build_status == engine::Status::kSucceeded ? 0 : 1;
}

int run_build(const RunOptions& o) {
  auto req = make_request(o);
  if (!req) return usage_error(req.error().message());
  const bool batch = runs_as_batch(o, *req);
  if (!batch && (!o.only.empty() || o.combine_artifacts || o.batch_timeout_minutes > 0))
    return usage_error("--only, --combine-artifacts and --batch-timeout apply to batch builds");
  if (batch && o.in_place)
    return usage_error("--in-place cannot run a batch: its builds run side by side");
  if (batch && o.combine_artifacts && !req->s3_artifacts.empty())
    return usage_error("--combine-artifacts writes to a folder: -a s3:// is not supported");

  SystemClock clock;
  auto secrets = SecretSources::make(o.secrets, clock);
  if (!secrets) return usage_error(secrets.error().describe());
  sweep_build_folders();
  if (o.executor != "process") {
    for (const auto& line : engine::sweep_leftovers(o.executor))
      std::fprintf(stderr, "kiln run: %s\n", line.c_str());
  }
  auto token = exec::CancelToken::create();
  if (!token) return usage_error(token.error().describe());
  exec::CancelToken& cancel = *token;
  install_signal_handlers(cancel);
  if (batch) return run_batch(BatchInputs{o, std::move(*req), (*secrets)->resolver(), cancel});
  return run_single(o, std::move(*req), (*secrets)->resolver(), cancel);
}

}  // namespace

std::function<int()> add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  auto* cmd = app.add_subcommand("run", "Run a buildspec on a local source tree");
  cmd->add_option("-s,--source", o->source,
                  "Source folder (default .), git URL, or s3://bucket/key.zip");
  cmd->add_option("-b,--buildspec", o->buildspec,
                  "Buildspec: relative to the source (opened beneath it) or an absolute path");
  cmd->add_option("-a,--artifacts", o->artifacts,
                  "Artifacts folder (default ./kiln-artifacts) or s3://bucket/path");
  cmd->add_option("-e,--env", o->env, "NAME=VALUE; highest precedence, like StartBuild overrides");
  cmd->add_option("--env-file", o->env_files, "File of NAME=VALUE lines");
  cmd->add_option("--executor", o->executor, "process | sandbox | docker");
  cmd->add_option("-i,--image", o->image,
                  "Build image (sandbox, docker; default kiln/standard); CodeBuild names map to "
                  "curated images");
  cmd->add_option("--compute-type", o->compute_type,
                  "CPU and memory limits of sandbox and docker builds (default "
                  "BUILD_GENERAL1_SMALL: 2 vCPUs, 3 GB)");
  cmd->add_option("--network", o->network,
                  "bridge (default) | none | host; sandbox also host-loopback (bridge that "
                  "reaches the host's 127.0.0.1)");
  cmd->add_flag("--privileged", o->privileged,
                "privilegedMode: the build may run a Docker daemon (docker executor)");
  cmd->add_option("--image-dir", o->image_dir,
                  "Curated image store (default $KILN_IMAGE_DIR or ~/.local/share/kiln/images)");
  cmd->add_option("--timeout", o->timeout_minutes, "Build timeout in minutes (fractions allowed)");
  cmd->add_option("--secondary-source", o->secondary_sources, "ID=DIR, ID=GIT-URL or ID=s3://B/K");
  cmd->add_option("--secondary-source-version", o->secondary_versions, "ID=REF");
  cmd->add_option("--source-version", o->source_version,
                  "Git branch, tag, commit or pr/N; S3 object version (CODEBUILD_SOURCE_VERSION)");
  cmd->add_option("--git-clone-depth", o->git_clone_depth, "Shallow clone depth (0 = full)");
  cmd->add_flag("--git-submodules", o->git_submodules, "Fetch git submodules");
  cmd->add_option("--cache", o->cache_type, "NO_CACHE (default), LOCAL or S3");
  cmd->add_option("--cache-location", o->cache_location, "S3 cache: bucket/prefix");
  cmd->add_option("--cache-mode", o->cache_modes,
                  "LOCAL cache modes (default LOCAL_SOURCE_CACHE and LOCAL_CUSTOM_CACHE)");
  cmd->add_option("--cache-dir", o->cache_dir,
                  "Where LOCAL caches live (default $XDG_CACHE_HOME/kiln or ~/.cache/kiln)");
  cmd->add_option("--project", o->project, "Project name (default: the source folder's name)");
  cmd->add_option("--json", o->json,
                  "Write the build record to FILE (a batch: its BuildBatch, with `builds`)");
  cmd->add_option("--reports-dir", o->reports_dir,
                  "Write each test or coverage report as CodeBuild's Report JSON into DIR");
  cmd->add_option("--junit-out", o->junit_out,
                  "Write every test report merged into one JUnit XML FILE");
  cmd->add_option("--packaging", o->packaging, "ZIP (default) or NONE (folders)");
  cmd->add_option("--workspace", o->workspace_mode, "auto | reflink | copy | hardlink");
  cmd->add_flag("--in-place", o->in_place, "Build in the source folder itself");
  cmd->add_flag("--no-color", o->no_color, "No colours in the summary");
  cmd->add_flag("--keep-workspace", o->keep_workspace, "Keep the build folder afterwards");
  cmd->add_flag("--batch", o->batch,
                "Run the buildspec's `batch` section (automatic when it has no `phases`)");
  cmd->add_option("--parallel", o->parallel,
                  "Batch builds run at once (default: the number of cores)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--only", o->only,
                  "Batch: run only these builds (ID[,ID]) and their dependencies")
      ->delimiter(',');
  cmd->add_flag("--combine-artifacts", o->combine_artifacts,
                "Batch: the builds' primary artifacts in one output, a folder per build");
  cmd->add_option("--batch-timeout", o->batch_timeout_minutes,
                  "Batch: stop the whole batch after MINUTES (buildBatchConfig.timeoutInMins)");
  cmd->add_option("--max-batch-builds", o->max_batch_builds,
                  "Batch: refuse a batch of more builds (maximumBuildsAllowed; default 100)");
  add_secret_options(*cmd, o->secrets);
  return [o]() { return run_build(*o); };
}

}  // namespace kiln::app
