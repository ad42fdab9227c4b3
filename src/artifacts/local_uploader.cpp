#include "artifacts/local_uploader.h"

#include <set>

#include "artifacts/collect.h"
#include "util/files.h"
#include "util/rooted_path.h"

namespace kiln::artifacts {

namespace {

constexpr char kNoPrimary[] = "no definition for primary artifacts in buildspec";

// One artifact to produce.
struct Plan {
  std::string identifier;  // empty for the primary
  const spec::ArtifactSpec* spec;
  std::string output_rel;  // under output_dir
  FileList files;
};

UploadResult client_error(std::string message) {
  UploadResult r;
  r.failure = UploadFailure{"CLIENT_ERROR", std::move(message)};
  return r;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Checks the name lexically; escapes through symlinks are caught when it is resolved under the
// (by then existing) output directory.
std::optional<std::string> bad_name(std::string_view name) {
  if (name.front() == '/') return "absolute path not allowed";
  std::string_view last = name.substr(name.rfind('/') + 1);  // npos + 1 == 0
  if (last.empty() || last == "." || last == "..") return "it does not name a file";
  return std::nullopt;
}

}  // namespace

bool valid_artifact_identifier(std::string_view id) {
  if (id.empty() || id.size() >= 128) return false;
  for (char c : id) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

Result<UploadResult> LocalArtifactUploader::upload(const UploadRequest& req, logs::LogSink& log) {
  if (req.artifacts == nullptr || !req.artifacts->present) return UploadResult{};
  const spec::Artifacts& arts = *req.artifacts;
  // CodeBuild requires primary `files` even when only secondary artifacts are wanted.
  if (arts.primary.files.empty()) return client_error(kNoPrimary);

  const auto packaging_of = [&req](const std::string& id) {
    const auto it = req.secondary_packaging.find(id);
    return id.empty() || it == req.secondary_packaging.end() ? req.packaging : it->second;
  };
  const auto suffix_of = [&](const std::string& id) {
    return packaging_of(id) == Packaging::kZip ? std::string(".zip") : std::string();
  };
  std::vector<Plan> plans;
  {
    const spec::ArtifactSpec& p = arts.primary;
    auto name = expand_if_needed(&req.expand, p.name.value_or(""));
    if (!name) return fail(std::move(name.error()).with("while expanding the artifact name"));
    if (name->empty()) *name = req.default_name;
    if (auto why = bad_name(*name))
      return client_error("invalid artifact name " + *name + ": " + *why);
    const std::string suffix = suffix_of("");
    std::string rel = ends_with(*name, suffix) ? *name : *name + suffix;
    plans.push_back(Plan{"", &p, std::move(rel), {}});
  }
  for (const auto& [id, spec] : arts.secondary) {
    if (!valid_artifact_identifier(id)) {
      return client_error("invalid artifact identifier " + id +
                          ": use fewer than 128 letters, digits or underscores");
    }
    plans.push_back(Plan{id, &spec, req.secondary_prefix + id + suffix_of(id), {}});
  }

  CollectContext ctx{req.src_dir, req.source_roots, &req.expand, req.output_dir};
  if (req.open_environment_root && !req.staging_dir.empty()) {
    ctx.environment_root = &req.open_environment_root;
    ctx.staging = req.staging_dir;
  }
  for (Plan& plan : plans) {
    auto c = collect(*plan.spec, ctx, log);
    if (!c) {
      if (!plan.identifier.empty())
        return fail(std::move(c.error()).with("in artifact " + plan.identifier));
      return fail(std::move(c.error()));
    }
    if (c->failure) {
      UploadResult r;
      r.failure = std::move(c->failure);
      return r;
    }
    plan.files = std::move(c->files);
  }

  // Resolve every output under output_dir before writing any of them.
  std::error_code ec;
  std::filesystem::create_directories(req.output_dir, ec);
  if (ec) return fail(ErrorCode::kIo, "create " + req.output_dir.string() + ": " + ec.message());
  std::set<std::string> seen;
  for (Plan& plan : plans) {
    RootedPath::Options opts;
    opts.allow_missing = true;
    opts.follow_final = false;  // the final name is replaced by rename, never written through
    auto out = RootedPath::resolve(req.output_dir, plan.output_rel, opts);
    if (!out) {
      if (out.error().code() != ErrorCode::kPathEscape) return fail(std::move(out.error()));
      return client_error("invalid artifact name " + plan.output_rel + ": " +
                          out.error().message());
    }
    if (out->relative().empty()) {
      return client_error("invalid artifact name " + plan.output_rel + ": it does not name a file");
    }
    if (!seen.insert(out->relative()).second) {
      return client_error("artifact " + out->relative() + " is defined twice");
    }
    plan.output_rel = out->relative();
  }

  UploadResult result;
  const auto out_root = RootedPath::resolve(req.output_dir, "");
  if (!out_root) return fail(out_root.error());
  for (Plan& plan : plans) {
    const std::string parent = plan.output_rel.substr(0, plan.output_rel.rfind('/') + 1);
    if (auto r = make_dirs_beneath(out_root->root(), parent); !r) {
      if (r.error().code() == ErrorCode::kPathEscape) {
        return client_error("invalid artifact name " + plan.output_rel + ": " +
                            r.error().message());
      }
      return fail(std::move(r.error()));
    }
    const std::filesystem::path dest = out_root->root() / plan.output_rel;
    auto written = packaging_of(plan.identifier) == Packaging::kZip
                       ? write_zip(plan.files, dest, options_)
                       : write_folder(plan.files, dest);
    if (!written) return fail(std::move(written.error()));
    ArtifactOutcome o;
    o.identifier = plan.identifier;
    o.location = written->location;
    o.sha256 = std::move(written->sha256);
    o.md5 = std::move(written->md5);
    o.file_count = written->file_count;
    if (plan.identifier.empty()) {
      result.primary = std::move(o);
    } else {
      result.secondary.push_back(std::move(o));
    }
  }
  return result;
}

}  // namespace kiln::artifacts
