#include "source/fetcher.h"

#include <cstdint>
#include <cstdio>
#include <system_error>

#include "source/archive_extract.h"
#include "source/git_source.h"
#include "source/local_git.h"

namespace kiln::source {

namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kMaxSourceZip = 8ULL << 30;  // CodeBuild's own S3 source limit is 5 GB

void say(const FetchContext& ctx, std::string_view line) {
  if (ctx.log) ctx.log(line);
}

class RealSourceFetcher final : public SourceFetcher {
 public:
  explicit RealSourceFetcher(S3Provider s3) : s3_(std::move(s3)) {}

  Result<FetchedSource> fetch(const SourceSpec& spec, const fs::path& dest,
                              const FetchContext& ctx) override {
    if (spec.is_local()) return fetch_folder(spec, dest, ctx);
    if (spec.is_git()) return fetch_git(spec, dest, ctx);
    if (spec.type == "S3") return fetch_s3(spec, dest, ctx);
    return fail(ErrorCode::kInvalidArgument,
                "source type " + spec.type + " is not supported by Kiln");
  }

 private:
  static Result<FetchedSource> fetch_folder(const SourceSpec& spec, const fs::path& dest,
                                            const FetchContext& ctx) {
    // copy_tree makes its destination itself.
    std::error_code ec;
    fs::remove(dest, ec);
    auto copied = workspace::copy_tree(spec.location, dest, ctx.copy_mode);
    if (!copied) return fail(std::move(copied.error()).with("copying " + spec.location));
    FetchedSource out;
    out.repo_url = spec.location;
    out.version = spec.version;
    if (auto head = read_git_head(spec.location)) {
      out.resolved_version = head->commit;
      if (out.version.empty()) out.version = head->commit;
    }
    return out;
  }

  static Result<FetchedSource> fetch_git(const SourceSpec& spec, const fs::path& dest,
                                         const FetchContext& ctx) {
    GitCloneRequest g;
    g.url = spec.location;
    g.version = spec.version;
    g.depth = spec.git_clone_depth;
    g.submodules = spec.fetch_submodules;
    g.insecure_ssl = spec.insecure_ssl;
    g.dest = dest;
    g.mirror_dir = ctx.git_mirror_dir;
    g.https_username = ctx.https_username;
    g.https_token = ctx.https_token;
    g.timeout_ms = ctx.timeout_ms;
    g.log = ctx.log;
    auto cloned = git_clone(g, *ctx.cancel);
    if (!cloned) return tl::unexpected(std::move(cloned.error()));
    FetchedSource out;
    out.resolved_version = cloned->commit;
    out.repo_url = spec.location;
    out.version = spec.version;
    return out;
  }

  Result<FetchedSource> fetch_s3(const SourceSpec& spec, const fs::path& dest,
                                 const FetchContext& ctx) {
    auto where = net::parse_s3_location(spec.location);
    if (!where) return tl::unexpected(std::move(where.error()));
    auto client = s3_();
    if (!client) return tl::unexpected(std::move(client.error()));
    const std::string shown = "s3://" + where->bucket + "/" + where->key;
    say(ctx, "Downloading source " + shown +
                 (spec.version.empty() ? "" : " (version " + spec.version + ")"));
    std::error_code ec;
    fs::create_directories(ctx.scratch, ec);
    const fs::path zip =
        ctx.scratch /
        ("source-" + (spec.identifier.empty() ? std::string("primary") : spec.identifier) + ".zip");
    auto got = (*client)->get_to_file(*where, zip, spec.version, kMaxSourceZip);
    if (!got) return tl::unexpected(std::move(got.error()));
    auto extracted = extract_archive(zip, dest);
    fs::remove(zip, ec);
    if (!extracted) return tl::unexpected(std::move(extracted.error()));
    say(ctx, "Extracted " + std::to_string(extracted->files) + " file(s) from " + shown);
    FetchedSource out;
    out.repo_url = shown;
    out.version = !got->version_id.empty() ? got->version_id
                                           : "arn:aws:s3:::" + where->bucket + "/" + where->key;
    return out;
  }

  S3Provider s3_;
};

}  // namespace

std::unique_ptr<SourceFetcher> make_source_fetcher(S3Provider s3) {
  return std::make_unique<RealSourceFetcher>(std::move(s3));
}

std::string git_host(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) {
    // scp-like `git@host:path`
    const auto at = url.find('@');
    const auto colon = url.find(':');
    if (at != std::string_view::npos && colon != std::string_view::npos && at < colon)
      return std::string(url.substr(at + 1, colon - at - 1));
    return "";
  }
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find('/'));
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  if (const auto colon = rest.find(':'); colon != std::string_view::npos)
    rest = rest.substr(0, colon);
  return std::string(rest);
}

std::string mirror_dir_name(const std::string& url) {
  std::string readable;
  for (char c : git_host(url) + "_" + url.substr(url.rfind('/') + 1)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    readable += ok ? c : '_';
  }
  // FNV-1a: stable across builds and platforms, unlike std::hash.
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : url) h = (h ^ c) * 1099511628211ULL;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return readable + "-" + hex;
}

}  // namespace kiln::source
