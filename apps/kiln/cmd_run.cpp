// kiln run (DESIGN §3.1): builds a BuildRequest from flags, runs the engine on the process
// executor, prints the summary and writes the record.
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "artifacts/local_uploader.h"
#include "commands.h"
#include "engine/engine.h"
#include "exec/process_executor.h"
#include "run_options.h"
#include "signals.h"
#include "source/local_git.h"
#include "summary.h"
#include "util/files.h"
#include "util/json_text.h"

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

int run_build(const RunOptions& o) {
  std::error_code ec;
  const fs::path source = fs::weakly_canonical(o.source, ec);
  if (ec || !fs::is_directory(source)) return usage_error("source folder not found: " + o.source);
  if (o.executor != "process")
    return usage_error("executor '" + o.executor + "' is not available yet (only 'process')");
  if (o.packaging != "ZIP" && o.packaging != "NONE")
    return usage_error("--packaging must be ZIP or NONE, not " + o.packaging);
  if (!(o.timeout_minutes > 0))
    return usage_error("--timeout must be a positive number of minutes");
  auto mode = copy_mode(o.workspace_mode);
  if (!mode) return usage_error("--workspace must be auto, reflink, copy or hardlink");
  auto overrides = override_variables(o);
  if (!overrides) return usage_error(overrides.error().describe());

  engine::BuildRequest req;
  for (const auto& s : o.secondary_sources) {
    const auto eq = s.find('=');
    if (eq == std::string::npos) return usage_error("--secondary-source wants ID=DIR, got " + s);
    engine::SecondarySource sec{s.substr(0, eq), fs::weakly_canonical(s.substr(eq + 1), ec)};
    if (!engine::valid_variable_name(sec.identifier))
      return usage_error("invalid secondary source identifier: " + sec.identifier);
    if (ec || !fs::is_directory(sec.dir)) return usage_error("secondary source not found: " + s);
    req.secondary_sources.push_back(sec);
  }

  auto& id = req.identity;
  id.project = o.project.empty() ? project_name_from(source) : o.project;
  id.uuid = make_uuid();
  id.initiator = initiator();
  id.image = o.image.empty() ? "kiln/host" : o.image;
  if (const char* region = std::getenv("AWS_REGION"); region && *region) id.region = region;
  if (auto head = source::read_git_head(source)) {
    id.resolved_source_version = head->commit;
    id.source_version = head->commit;
  }
  if (!o.source_version.empty()) id.source_version = o.source_version;

  SystemClock clock;
  auto secrets = SecretSources::make(o.secrets, clock);
  if (!secrets) return usage_error(secrets.error().describe());

  // temp_directory_path() honours TMPDIR.
  std::string root_template = (fs::temp_directory_path(ec) / "kiln-build-XXXXXX").string();
  if (ec || !::mkdtemp(root_template.data()))
    return usage_error("cannot create a build folder in " + root_template);
  req.build_root = root_template;

  req.source_dir = source;
  req.in_place = o.in_place;
  req.copy_mode = *mode;
  req.buildspec_path = o.buildspec;
  req.override_vars = std::move(*overrides);
  req.image_env = host_environment();
  req.timeout_minutes = o.timeout_minutes;
  req.packaging = o.packaging == "NONE" ? artifacts::Packaging::kNone : artifacts::Packaging::kZip;
  req.artifacts_dir = fs::absolute(o.artifacts);
  req.executor_name = o.executor;

  exec::ProcessExecutor executor;
  artifacts::LocalArtifactUploader uploader;
  logs::FdSink out(STDOUT_FILENO);
  exec::CancelToken cancel;
  install_signal_handlers(cancel);

  engine::Engine eng({executor, uploader, out, clock, (*secrets)->resolver(), nullptr});
  const engine::BuildRecord record = eng.run(req, cancel);
  out.flush();

  print_summary(record, SummaryStyle{!o.no_color && ::isatty(STDOUT_FILENO) == 1});
  if (!o.json.empty()) {
    auto w = write_file_atomic(o.json, json_text(engine::to_json(record), 2) + "\n");
    if (!w) std::fprintf(stderr, "kiln run: %s\n", w.error().describe().c_str());
  }
  if (!o.keep_workspace)
    fs::remove_all(req.build_root, ec);
  else
    std::fprintf(stderr, "kiln run: workspace kept at %s\n", req.build_root.c_str());
  return record.build_status == engine::Status::kSucceeded ? 0 : 1;
}

}  // namespace

std::function<int()> add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  auto* cmd = app.add_subcommand("run", "Run a buildspec on a local source tree");
  cmd->add_option("-s,--source", o->source, "Source folder (default .)");
  cmd->add_option("-b,--buildspec", o->buildspec, "Buildspec, relative to the source or absolute");
  cmd->add_option("-a,--artifacts", o->artifacts, "Artifacts folder (default ./kiln-artifacts)");
  cmd->add_option("-e,--env", o->env, "NAME=VALUE; highest precedence, like StartBuild overrides");
  cmd->add_option("--env-file", o->env_files, "File of NAME=VALUE lines");
  cmd->add_option("--executor", o->executor, "process | sandbox | docker");
  cmd->add_option("-i,--image", o->image, "Build image");
  cmd->add_option("--timeout", o->timeout_minutes, "Build timeout in minutes (fractions allowed)");
  cmd->add_option("--secondary-source", o->secondary_sources, "ID=DIR");
  cmd->add_option("--source-version", o->source_version,
                  "Source version (CODEBUILD_SOURCE_VERSION)");
  cmd->add_option("--project", o->project, "Project name (default: the source folder's name)");
  cmd->add_option("--json", o->json, "Write the build record to FILE");
  cmd->add_option("--packaging", o->packaging, "ZIP (default) or NONE (folders)");
  cmd->add_option("--workspace", o->workspace_mode, "auto | reflink | copy | hardlink");
  cmd->add_flag("--in-place", o->in_place, "Build in the source folder itself");
  cmd->add_flag("--no-color", o->no_color, "No colours in the summary");
  cmd->add_flag("--keep-workspace", o->keep_workspace, "Keep the build folder afterwards");
  add_secret_options(*cmd, o->secrets);
  return [o]() { return run_build(*o); };
}

}  // namespace kiln::app
