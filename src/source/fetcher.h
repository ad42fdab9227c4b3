// Where a build's source comes from (docs/reference/codebuild-semantics.md §4, ProjectSource), and
// the one interface the engine uses to put it in place during DOWNLOAD_SOURCE.
//
// SourceFetcher::fetch() fills an empty folder from a SourceSpec: a local folder (kiln run's
// `-s DIR`, copied), a git repository (GITHUB, GITLAB, BITBUCKET, CODECOMMIT, the Enterprise /
// self-managed types, or kiln's GIT for any URL; git_source.h), or an S3 zip (`S3`,
// `bucket/key`, at the version in `version` when given; extracted by extract_archive, which
// refuses hostile archives). The real fetcher is make_source_fetcher(); engine tests use a fake.
//
// Errors are the messages CodeBuild shows in the DOWNLOAD_SOURCE context before
// " for primary source and source version <v>" (the engine adds that part): "repository not
// found", "reference not found", "authentication required", "NoSuchKey: The specified key does
// not exist.", an archive's refusal, ...
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "exec/executor.h"
#include "net/s3_client.h"
#include "util/error.h"
#include "workspace/workspace.h"

namespace kiln::source {

struct SourceSpec {
  std::string identifier;  // "" for the primary source; sourceIdentifier for secondary ones
  // NO_SOURCE, LOCAL (kiln: a folder on this host), S3, CODECOMMIT, GITHUB, GITHUB_ENTERPRISE,
  // GITLAB, GITLAB_SELF_MANAGED, BITBUCKET, GIT (kiln: any git URL), CODEPIPELINE (refused).
  std::string type = "NO_SOURCE";
  std::string location;  // folder, clone URL, or S3 `bucket/key`
  std::string version;   // sourceVersion: git ref / commit / pr/N, or an S3 object version id
  int git_clone_depth = 0;
  bool fetch_submodules = false;
  bool insecure_ssl = false;

  bool is_git() const;
  bool is_local() const { return type == "LOCAL"; }
  bool is_none() const { return type == "NO_SOURCE" || type.empty(); }
};

// What the build learns from the source (CODEBUILD_RESOLVED_SOURCE_VERSION, ...).
struct FetchedSource {
  std::string resolved_version;  // a git commit; "" for S3 and folders without git
  std::string repo_url;          // CODEBUILD_SOURCE_REPO_URL: clone URL or s3://bucket/key
  std::string version;           // CODEBUILD_SOURCE_VERSION: the version asked for, or S3's id
};

struct FetchContext {
  const exec::CancelToken* cancel = nullptr;  // not owned; required
  std::function<void(std::string_view)> log;  // agent lines; may be empty
  std::filesystem::path scratch;              // private folder for downloads (same fs as dest)
  workspace::CopyMode copy_mode = workspace::CopyMode::kAuto;
  // Git over HTTPS: the source credential for this host, if any (never logged).
  std::string https_username;
  std::string https_token;
  std::optional<std::filesystem::path> git_mirror_dir;  // LOCAL_SOURCE_CACHE
  long timeout_ms = 60L * 60 * 1000;
};

class SourceFetcher {
 public:
  virtual ~SourceFetcher() = default;
  // `dest` exists and is empty.
  [[nodiscard]] virtual Result<FetchedSource> fetch(const SourceSpec& spec,
                                                    const std::filesystem::path& dest,
                                                    const FetchContext& ctx) = 0;
};

// Gives the S3 client on first use (S3 sources only), so builds without one never load curl.
using S3Provider = std::function<Result<net::S3Client*>()>;
std::unique_ptr<SourceFetcher> make_source_fetcher(S3Provider s3);

// The host a git source's credential belongs to ("github.com" for GITHUB, the URL's host for
// the others), or "" when the location has no host.
std::string git_host(std::string_view url);

// The folder name of a git source's LOCAL_SOURCE_CACHE mirror: readable, and unique per URL
// (a hash of the whole URL, since two hosts can serve repositories of the same name).
std::string mirror_dir_name(const std::string& url);

}  // namespace kiln::source
