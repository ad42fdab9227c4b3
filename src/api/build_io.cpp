#include "api/build_io.h"

#include "api/project_shape.h"
#include "api/validate.h"
#include "source/git_source.h"

namespace kiln::api {

namespace {

using nlohmann::json;

// The override when StartBuild gave one, else the project's member (or `fallback`).
json effective(const json& project, const char* member, const json& in, const char* override_name,
               json fallback) {
  if (const auto it = in.find(override_name); it != in.end() && !it->is_null()) return *it;
  if (const auto it = project.find(member); it != project.end() && !it->is_null()) return *it;
  return fallback;
}

ApiResult<source::SourceSpec> source_spec(const json& s, const std::string& where) {
  source::SourceSpec out;
  out.type = s.value("type", "NO_SOURCE");
  out.location = s.value("location", "");
  out.identifier = s.value("sourceIdentifier", "");
  if (out.type == "CODEPIPELINE")
    return invalid_input("Invalid " + where + ": CODEPIPELINE sources need AWS CodePipeline");
  if (out.type != "NO_SOURCE" && out.location.empty())
    return invalid_input("Invalid " + where + ": location must be specified for type " + out.type);
  if (const auto d = s.find("gitCloneDepth"); d != s.end() && d->is_number_integer())
    out.git_clone_depth = d->get<int>();
  if (const auto g = s.find("gitSubmodulesConfig"); g != s.end() && g->is_object())
    out.fetch_submodules = g->value("fetchSubmodules", false);
  out.insecure_ssl = s.value("insecureSsl", false);
  return out;
}

ApiResult<artifacts::S3ArtifactTarget> artifact_target(const json& a, const std::string& where) {
  artifacts::S3ArtifactTarget t;
  t.type = a.value("type", "NO_ARTIFACTS");
  t.identifier = a.value("artifactIdentifier", "");
  if (t.type == "CODEPIPELINE")
    return invalid_input("Invalid " + where + ": CODEPIPELINE artifacts need AWS CodePipeline");
  t.bucket = a.value("location", "");
  if (t.type == "S3" && t.bucket.empty())
    return invalid_input("Invalid " + where + ": location must be specified for S3 artifacts");
  t.path = a.value("path", "");
  t.namespace_build_id = a.value("namespaceType", "NONE") == "BUILD_ID";
  t.name = a.value("name", "");
  t.packaging = a.value("packaging", "NONE") == "ZIP" ? artifacts::Packaging::kZip
                                                      : artifacts::Packaging::kNone;
  t.override_name = a.value("overrideArtifactName", false);
  t.encryption_disabled = a.value("encryptionDisabled", false);
  return t;
}

// A LOCAL source's folder, resolved (symlinks included), when it lies under one of `roots`.
ApiResult<std::string> local_source(const std::string& location,
                                    const std::vector<std::filesystem::path>& roots,
                                    const std::string& where) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path p =
      fs::path(location).is_absolute() ? fs::weakly_canonical(location, ec) : fs::path();
  for (const auto& root : roots) {
    if (p.empty() || ec) break;
    const fs::path r = fs::weakly_canonical(root, ec);
    const fs::path rel = p.lexically_relative(r);
    if (!ec && !rel.empty() && *rel.begin() != ".." && fs::is_directory(p, ec)) return p.string();
  }
  return invalid_input("Invalid " + where +
                       ": a LOCAL source must be an existing folder under one "
                       "of this server's --source-root folders");
}

// A git source that git would read from this machine (file://, a path, a `.git` folder) is a
// LOCAL source by another name, so --source-root applies to it too; and it must lie strictly
// inside a root, since git also tries `<path>.git` beside the path it was given. Addresses git
// would hand to a remote helper (ext::, fd::) or read as an option are refused (docs/security.md).
ApiResult<void> check_git_location(const source::SourceSpec& s,
                                   const std::vector<std::filesystem::path>& roots,
                                   const std::string& where) {
  namespace fs = std::filesystem;
  const auto at = source::classify_git_location(s.location);
  if (at.kind == source::GitLocation::Kind::kRefused)
    return invalid_input("Invalid " + where + ": the git URL " + at.reason);
  if (at.kind == source::GitLocation::Kind::kRemote) return {};
  std::error_code ec;
  const fs::path p =
      fs::path(at.path).is_absolute() ? fs::weakly_canonical(at.path, ec) : fs::path();
  for (const auto& root : roots) {
    if (p.empty() || ec) break;
    const fs::path rel = p.lexically_relative(fs::weakly_canonical(root, ec));
    if (!ec && !rel.empty() && rel != "." && *rel.begin() != "..") return {};
  }
  return invalid_input("Invalid " + where +
                       ": a git repository on this server (file:// or a path) must lie inside one "
                       "of this server's --source-root folders");
}

// The list overrides get the checks CreateProject gives the project's members, so that what
// the build reads from them (gitCloneDepth, types) is known to be in range.
ApiResult<void> check_list_overrides(const Fields& f) {
  auto sources = f.list("secondarySourcesOverride", false, 12);
  if (!sources) return tl::unexpected(sources.error());
  auto versions = f.list("secondarySourcesVersionOverride", false, 12);
  if (!versions) return tl::unexpected(versions.error());
  auto artifacts = f.list("secondaryArtifactsOverride", false, 12);
  if (!artifacts) return tl::unexpected(artifacts.error());
  for (std::size_t i = 0; *sources && i < (*sources)->size(); ++i) {
    const json& s = (**sources)[i];
    const std::string at = "secondarySourcesOverride." + std::to_string(i + 1);
    if (!s.is_object()) return invalid_input(at + " must be an object");
    if (auto r = check_source(s, at, true); !r) return r;
  }
  if (*versions) {
    if (auto r = check_source_versions(**versions, "secondarySourcesVersionOverride"); !r) return r;
  }
  for (std::size_t i = 0; *artifacts && i < (*artifacts)->size(); ++i) {
    const json& a = (**artifacts)[i];
    const std::string at = "secondaryArtifactsOverride." + std::to_string(i + 1);
    if (!a.is_object()) return invalid_input(at + " must be an object");
    if (auto r = check_artifacts(a, at, true); !r) return r;
  }
  return {};
}

}  // namespace

ApiResult<BuildIo> apply_build_io(const json& project, const json& in, const DataLayout& data,
                                  const BuildIoOptions& options, engine::BuildRequest& req) {
  Fields f(in, "");
  auto depth = f.integer("gitCloneDepthOverride", false, 0, 1 << 30);
  if (!depth) return tl::unexpected(depth.error());
  auto submodules = f.object("gitSubmodulesConfigOverride", false);
  if (!submodules) return tl::unexpected(submodules.error());
  if (*submodules) {
    auto fetch = Fields(**submodules, "gitSubmodulesConfigOverride").boolean("fetchSubmodules");
    if (!fetch) return tl::unexpected(fetch.error());
  }
  auto insecure = f.boolean("insecureSslOverride");
  if (!insecure) return tl::unexpected(insecure.error());
  auto key = f.string("encryptionKeyOverride", false, 1);
  if (!key) return tl::unexpected(key.error());
  if (auto r = check_list_overrides(f); !r) return tl::unexpected(r.error());
  auto cache_override = f.object("cacheOverride", false);
  if (!cache_override) return tl::unexpected(cache_override.error());
  if (*cache_override) {
    if (auto r = check_cache(**cache_override, "cacheOverride"); !r)
      return tl::unexpected(r.error());
  }

  BuildIo io;
  // The primary source, with StartBuild's overrides.
  io.source = project.value("source", json::object());
  if (const auto t = in.find("sourceTypeOverride"); t != in.end() && t->is_string())
    io.source["type"] = *t;
  if (const auto l = in.find("sourceLocationOverride"); l != in.end() && l->is_string())
    io.source["location"] = *l;
  if (const auto b = in.find("buildspecOverride"); b != in.end() && b->is_string())
    io.source["buildspec"] = *b;
  if (*depth) io.source["gitCloneDepth"] = **depth;
  if (*submodules) io.source["gitSubmodulesConfig"] = **submodules;
  if (*insecure) io.source["insecureSsl"] = **insecure;
  // Build status reporting (buildstatus/reporter.h) reads these from the build's source.
  auto report = f.boolean("reportBuildStatusOverride");
  if (!report) return tl::unexpected(report.error());
  if (*report) io.source["reportBuildStatus"] = **report;
  auto status_config = f.object("buildStatusConfigOverride", false);
  if (!status_config) return tl::unexpected(status_config.error());
  if (*status_config) io.source["buildStatusConfig"] = **status_config;
  if (*report || *status_config) {
    if (auto r = check_source(io.source, "source", false); !r) return tl::unexpected(r.error());
  }
  auto primary = source_spec(io.source, "source");
  if (!primary) return tl::unexpected(primary.error());
  if (primary->is_local()) {
    auto inside = local_source(primary->location, options.source_roots, "source");
    if (!inside) return tl::unexpected(inside.error());
    primary->location = *inside;
  }
  if (primary->is_git()) {
    if (auto ok = check_git_location(*primary, options.source_roots, "source"); !ok)
      return tl::unexpected(ok.error());
  }
  req.source = std::move(*primary);
  req.source.version = in.value("sourceVersion", project.value("sourceVersion", ""));

  // CodeBuild's buildspec member is a path in the source or the YAML itself; YAML spans lines.
  const std::string buildspec = io.source.value("buildspec", "");
  if (req.source.is_none()) {
    if (buildspec.empty()) return invalid_input("The build has no buildspec: set source.buildspec");
    req.buildspec_text = buildspec;
  } else if (buildspec.find('\n') != std::string::npos) {
    req.buildspec_text = buildspec;
  } else {
    req.buildspec_path = buildspec;
  }

  // Secondary sources and their versions.
  io.secondary_sources =
      effective(project, "secondarySources", in, "secondarySourcesOverride", json::array());
  json versions = effective(project, "secondarySourceVersions", in,
                            "secondarySourcesVersionOverride", json::array());
  for (std::size_t i = 0; i < io.secondary_sources.size(); ++i) {
    const std::string where = "secondarySources." + std::to_string(i + 1);
    if (!io.secondary_sources[i].is_object()) return invalid_input(where + " must be an object");
    auto s = source_spec(io.secondary_sources[i], where);
    if (!s) return tl::unexpected(s.error());
    if (s->identifier.empty() || !engine::valid_variable_name(s->identifier))
      return invalid_input("Invalid " + where + ": sourceIdentifier must be letters, digits, _");
    if (s->is_none()) return invalid_input("Invalid " + where + ": NO_SOURCE is not a source");
    if (s->is_local()) {
      auto inside = local_source(s->location, options.source_roots, where);
      if (!inside) return tl::unexpected(inside.error());
      s->location = *inside;
    }
    if (s->is_git()) {
      if (auto ok = check_git_location(*s, options.source_roots, where); !ok)
        return tl::unexpected(ok.error());
    }
    for (const auto& v : versions)
      if (v.is_object() && v.value("sourceIdentifier", "") == s->identifier)
        s->version = v.value("sourceVersion", "");
    req.secondary_sources.push_back(std::move(*s));
  }

  // Artifacts: S3 goes to the configured S3 endpoint, staged in the build's own folder.
  io.artifacts =
      effective(project, "artifacts", in, "artifactsOverride", json{{"type", "NO_ARTIFACTS"}});
  auto target = artifact_target(io.artifacts, "artifacts");
  if (!target) return tl::unexpected(target.error());
  const json secondary =
      effective(project, "secondaryArtifacts", in, "secondaryArtifactsOverride", json::array());
  if (target->type == "S3") {
    req.packaging = target->packaging;
    req.s3_artifacts.push_back(std::move(*target));
    for (std::size_t i = 0; i < secondary.size(); ++i) {
      const std::string where = "secondaryArtifacts." + std::to_string(i + 1);
      auto t = artifact_target(secondary[i], where);
      if (!t) return tl::unexpected(t.error());
      if (t->identifier.empty())
        return invalid_input("Invalid " + where + ": artifactIdentifier must be specified");
      req.s3_artifacts.push_back(std::move(*t));
    }
    req.artifacts_dir = req.build_root / "artifacts";
  }
  req.encryption_key = key->value_or(project.value("encryptionKey", ""));

  // Cache.
  io.cache =
      *cache_override ? **cache_override : project.value("cache", json{{"type", "NO_CACHE"}});
  req.cache.type = io.cache.value("type", "NO_CACHE");
  req.cache.location = io.cache.value("location", "");
  if (const auto m = io.cache.find("modes"); m != io.cache.end() && m->is_array())
    for (const auto& mode : *m)
      if (mode.is_string()) req.cache.modes.push_back(mode.get<std::string>());
  req.cache.namespace_name = io.cache.value("cacheNamespace", "");
  if (req.cache.type == "S3" && req.cache.location.empty())
    return invalid_input("Invalid cache: location must be specified for S3 caches");
  req.cache.local_root = data.cache_dir();
  req.cache.max_bytes = options.cache_max_bytes;
  req.cache.max_age_seconds = options.cache_max_age_seconds;
  return io;
}

}  // namespace kiln::api
