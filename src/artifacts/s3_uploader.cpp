#include "artifacts/s3_uploader.h"

#include <chrono>
#include <cstdio>
#include <system_error>

#include "artifacts/collect.h"

namespace kiln::artifacts {

namespace fs = std::filesystem;

namespace {

UploadResult client_error(std::string message) {
  UploadResult r;
  r.failure = UploadFailure{"CLIENT_ERROR", std::move(message)};
  return r;
}

std::string trim_slashes(std::string s) {
  while (!s.empty() && s.front() == '/') s.erase(s.begin());
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

std::string join_key(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "/" + b;
}

std::string human_bytes(std::uint64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(n) / 1e6);
  return buf;
}

}  // namespace

std::string S3ArtifactUploader::object_key(const S3ArtifactTarget& t, const std::string& name,
                                           const std::string& build_uuid,
                                           const std::string& s3_prefix) {
  std::string key = trim_slashes(t.namespace_build_id && !s3_prefix.empty() ? s3_prefix : t.path);
  if (t.namespace_build_id) key = join_key(key, build_uuid);
  return join_key(key, trim_slashes(name));
}

const S3ArtifactTarget* S3ArtifactUploader::target_of(const std::string& identifier) const {
  for (const auto& t : settings_.targets)
    if (t.identifier == identifier) return &t;
  return nullptr;
}

Result<UploadResult> S3ArtifactUploader::upload(const UploadRequest& req, logs::LogSink& log) {
  if (req.artifacts == nullptr || !req.artifacts->present) return UploadResult{};
  if (settings_.default_secondary && !settings_.targets.empty()) {
    for (const auto& [id, s] : req.artifacts->secondary) {
      if (target_of(id) != nullptr) continue;
      S3ArtifactTarget t = settings_.targets.front();
      t.identifier = id;
      t.name = id + (t.packaging == Packaging::kZip ? ".zip" : "");
      t.override_name = false;
      settings_.targets.push_back(std::move(t));
    }
  }
  // No pointer into settings_.targets is taken before this point.
  const S3ArtifactTarget* primary = target_of("");
  if (primary == nullptr) return fail(ErrorCode::kInternal, "no primary artifact target");

  // Staged under neutral names: the final names are computed (and expanded) once, here.
  spec::Artifacts staged = *req.artifacts;
  staged.primary.name.reset();
  UploadRequest local = req;
  local.artifacts = &staged;
  local.default_name = "primary";
  local.packaging = primary->packaging;
  std::map<std::string, std::string> names;  // identifier -> object name
  const auto name_for = [&](const S3ArtifactTarget& t,
                            const spec::ArtifactSpec& s) -> Result<std::string> {
    if (t.override_name && s.name && !s.name->empty())
      return expand_if_needed(&req.expand, *s.name);
    return t.name;
  };
  {
    auto n = name_for(*primary, req.artifacts->primary);
    if (!n) return fail(std::move(n.error()).with("while expanding the artifact name"));
    names[""] = *n;
  }
  staged.secondary.clear();
  for (const auto& [id, s] : req.artifacts->secondary) {
    const S3ArtifactTarget* t = target_of(id);
    if (t == nullptr) {
      return client_error("secondary artifact " + id +
                          " is not defined in the project's secondaryArtifacts");
    }
    if (t->type != "S3") continue;  // NO_ARTIFACTS: produced nowhere
    auto n = name_for(*t, s);
    if (!n) return fail(std::move(n.error()).with("while expanding artifact name " + id));
    names[id] = *n;
    local.secondary_packaging[id] = t->packaging;
    staged.secondary.emplace_back(id, s);
  }

  auto produced = local_.upload(local, log);
  if (!produced || produced->failure) return produced;

  auto client = s3_();
  if (!client) return client_error("Failed to upload artifacts: " + client.error().describe());

  net::PutOptions put;
  put.metadata.emplace_back("codebuild-buildarn", settings_.build_arn);
  const auto send = [&](ArtifactOutcome& o) -> std::optional<UploadFailure> {
    const S3ArtifactTarget& t = *target_of(o.identifier);
    const spec::ArtifactSpec* s = &req.artifacts->primary;
    for (const auto& [id, spec] : staged.secondary)
      if (id == o.identifier) s = &spec;
    net::PutOptions opts = put;
    if (!t.encryption_disabled) {
      opts.sse = settings_.encryption_key.empty() ? net::Sse::kAes256 : net::Sse::kKms;
      opts.kms_key_id = settings_.encryption_key;
    }
    const std::string key =
        object_key(t, names[o.identifier], settings_.build_uuid, s->s3_prefix.value_or(""));
    const auto start = std::chrono::steady_clock::now();
    std::uint64_t bytes = 0;
    std::size_t count = 0;
    if (t.packaging == Packaging::kZip) {
      if (key.empty()) return UploadFailure{"CLIENT_ERROR", "artifact name is empty"};
      auto r = (*client)->put_file({t.bucket, key}, o.location, opts);
      if (!r)
        return UploadFailure{"CLIENT_ERROR", "Failed to upload artifacts: " + r.error().message()};
      bytes = r->bytes;
      count = 1;
    } else {
      std::error_code ec;
      for (fs::recursive_directory_iterator it(o.location, ec), end; !ec && it != end;
           it.increment(ec)) {
        if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
        const std::string rel = fs::relative(it->path(), o.location, ec).generic_string();
        auto r = (*client)->put_file({t.bucket, join_key(key, rel)}, it->path(), opts);
        if (!r)
          return UploadFailure{"CLIENT_ERROR",
                               "Failed to upload artifacts: " + r.error().message()};
        bytes += r->bytes;
        ++count;
      }
      if (ec) return UploadFailure{"CLIENT_ERROR", "Failed to upload artifacts: " + ec.message()};
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    char took[32];
    std::snprintf(took, sizeof took, "%.2f", secs);
    log.agent_line("Uploaded " + std::to_string(count) + " object(s), " + human_bytes(bytes) +
                   " in " + took + " s to s3://" + t.bucket + "/" + key);
    o.location = key.empty() ? "arn:aws:s3:::" + t.bucket : "arn:aws:s3:::" + t.bucket + "/" + key;
    return std::nullopt;
  };
  if (produced->primary) {
    if (auto f = send(*produced->primary)) return client_error(f->message);
  }
  for (auto& o : produced->secondary) {
    if (auto f = send(o)) return client_error(f->message);
  }
  return produced;
}

}  // namespace kiln::artifacts
