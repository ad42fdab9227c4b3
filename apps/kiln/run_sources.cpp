#include "run_sources.h"

#include <cstdlib>
#include <filesystem>

#include "engine/variables.h"
#include "source/git_source.h"

namespace kiln::app {

namespace fs = std::filesystem;

namespace {

bool starts_with(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

Result<source::SourceSpec> source_from_arg(const std::string& arg, const std::string& flag) {
  source::SourceSpec s;
  if (starts_with(arg, "s3://")) {
    s.type = "S3";
    s.location = arg.substr(5);
    if (s.location.find('/') == std::string::npos)
      return fail(ErrorCode::kInvalidArgument, "source " + arg + " names no object");
    return s;
  }
  if (source::looks_like_git_url(arg) && !fs::is_directory(arg)) {
    s.type = "GIT";
    s.location = arg;
    return s;
  }
  std::error_code ec;
  const fs::path dir = fs::weakly_canonical(arg, ec);
  if (ec || !fs::is_directory(dir))
    return fail(ErrorCode::kNotFound, flag == "-s" ? "source folder not found: " + arg
                                                   : "secondary source not found: " + flag);
  s.type = "LOCAL";
  s.location = dir.string();
  return s;
}

fs::path default_cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return fs::path(x) / "kiln";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache" / "kiln";
  return fs::temp_directory_path() / "kiln-cache";
}

}  // namespace

Result<void> apply_run_sources(const RunOptions& o, engine::BuildRequest& req) {
  auto primary = source_from_arg(o.source, "-s");
  if (!primary) return tl::unexpected(std::move(primary.error()));
  req.source = std::move(*primary);
  if (o.in_place && !req.source.is_local())
    return fail(ErrorCode::kInvalidArgument, "--in-place needs a source folder");
  req.source.version = o.source_version;
  req.source.git_clone_depth = o.git_clone_depth;
  req.source.fetch_submodules = o.git_submodules;

  for (const auto& arg : o.secondary_sources) {
    const auto eq = arg.find('=');
    if (eq == std::string::npos)
      return fail(ErrorCode::kInvalidArgument, "--secondary-source wants ID=SOURCE, got " + arg);
    const std::string id = arg.substr(0, eq);
    if (!engine::valid_variable_name(id))
      return fail(ErrorCode::kInvalidArgument, "invalid secondary source identifier: " + id);
    auto s = source_from_arg(arg.substr(eq + 1), arg);
    if (!s) return tl::unexpected(std::move(s.error()));
    s->identifier = id;
    s->git_clone_depth = o.git_clone_depth;
    s->fetch_submodules = o.git_submodules;
    req.secondary_sources.push_back(std::move(*s));
  }
  for (const auto& arg : o.secondary_versions) {
    const auto eq = arg.find('=');
    bool found = false;
    for (auto& s : req.secondary_sources) {
      if (eq != std::string::npos && s.identifier == arg.substr(0, eq)) {
        s.version = arg.substr(eq + 1);
        found = true;
      }
    }
    if (!found)
      return fail(ErrorCode::kInvalidArgument,
                  "--secondary-source-version " + arg + " names no secondary source");
  }

  if (starts_with(o.artifacts, "s3://")) {
    const std::string rest = o.artifacts.substr(5);
    const auto slash = rest.find('/');
    artifacts::S3ArtifactTarget t;
    t.bucket = rest.substr(0, slash);
    t.path = slash == std::string::npos ? "" : rest.substr(slash + 1);
    t.packaging = req.packaging;
    // As with a local folder: the buildspec's name wins, else "artifacts[.zip]".
    t.name = req.packaging == artifacts::Packaging::kZip ? "artifacts.zip" : "artifacts";
    t.override_name = true;
    if (t.bucket.empty()) return fail(ErrorCode::kInvalidArgument, "-a s3:// needs a bucket");
    req.s3_artifacts.push_back(t);
    req.s3_default_secondary = true;
    req.artifacts_dir = req.build_root / "artifacts";
  } else {
    req.artifacts_dir = fs::absolute(o.artifacts);
  }

  if (o.cache_type != "NO_CACHE" && o.cache_type != "LOCAL" && o.cache_type != "S3")
    return fail(ErrorCode::kInvalidArgument, "--cache must be NO_CACHE, LOCAL or S3");
  req.cache.type = o.cache_type;
  req.cache.location = o.cache_location;
  req.cache.modes = o.cache_modes;
  if (req.cache.type == "LOCAL" && req.cache.modes.empty())
    req.cache.modes = {"LOCAL_SOURCE_CACHE", "LOCAL_CUSTOM_CACHE"};
  if (req.cache.type == "S3" && req.cache.location.empty())
    return fail(ErrorCode::kInvalidArgument, "--cache S3 needs --cache-location bucket/prefix");
  req.cache.local_root = o.cache_dir.empty() ? default_cache_dir() : fs::absolute(o.cache_dir);
  return {};
}

}  // namespace kiln::app
