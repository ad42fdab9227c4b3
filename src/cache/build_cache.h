// Build caches (docs/reference/codebuild-semantics.md §6): what a build restores in DOWNLOAD_SOURCE
// and saves after it succeeds. Two kinds, chosen by the project's `cache`:
//
//  - archive caches (`cache.type: S3`, and `kiln run --cache-dir`): the files the buildspec's
//    `cache.paths` select are packed as one tar + zstd object in a CacheStore (S3 or a local
//    folder), under `<namespace>/<version>/...` where the version is a hash of the path list.
//    `key`, `fallback-keys` and `action` follow §6.2 exactly (docs/cache.md).
//  - linked caches (`cache.type: LOCAL` with LOCAL_CUSTOM_CACHE): each directory that
//    `cache.paths` names is a folder on the host that persists between builds of the project
//    and is symlinked into the workspace; container executors mount only those folders.
//
// Nothing here can fail a build: a miss, a corrupt or truncated object, an unreachable store or
// a timeout are logged ("Cache miss ...", "Cache restore failed: ...") and the build goes on
// without a cache. Every transfer has a deadline.
//
// Paths: relative `cache.paths` are relative to CODEBUILD_SRC_DIR. Absolute paths outside it
// (`/root/.m2/**/*`) are the build environment's own (docs/cache.md "Absolute paths"): an
// archive cache copies them out of the environment at save and back in at restore through
// CacheRequest::open_environment_root (artifacts/env_tree.h), so under a sandbox or a container
// they are the environment's paths and never the host's; under the process executor they are
// the host's, as the build's own commands see them. Linked caches still skip them.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "logs/log_sink.h"
#include "net/s3_client.h"
#include "spec/buildspec.h"
#include "util/error.h"
#include "util/unique_fd.h"

namespace kiln::cache {

// --- where archive caches are kept ---------------------------------------------------------

struct CacheObject {
  std::string name;  // '/'-separated, relative to the store's root
  std::uint64_t size = 0;
  double modified = 0;  // epoch seconds
};

class CacheStore {
 public:
  virtual ~CacheStore() = default;
  [[nodiscard]] virtual Result<std::optional<CacheObject>> find(const std::string& name) = 0;
  // Every object whose name starts with `prefix`.
  [[nodiscard]] virtual Result<std::vector<CacheObject>> list(const std::string& prefix) = 0;
  [[nodiscard]] virtual Result<void> fetch(const std::string& name,
                                           const std::filesystem::path& dest) = 0;
  // Replaces the object atomically: a reader sees the old object or the new one, never a part.
  [[nodiscard]] virtual Result<void> put(const std::string& name,
                                         const std::filesystem::path& file) = 0;
  [[nodiscard]] virtual Result<void> remove(const std::string& name) = 0;
  virtual std::string describe() const = 0;  // for the log: "s3://bucket/prefix" or a folder
};

// A folder on this host (the server's DATA/cache/archives, or `kiln run --cache-dir`).
std::unique_ptr<CacheStore> local_cache_store(std::filesystem::path root);
// Objects under `prefix` (bucket + key prefix, CodeBuild's cache `location`) in S3.
// Borrows `client`.
std::unique_ptr<CacheStore> s3_cache_store(net::S3Client& client, net::S3Location prefix);

// Removes objects older than `max_age`, then the least recently modified ones until the total
// is at most `max_bytes` (0 = no limit for either). Returns the number of objects removed.
[[nodiscard]] Result<std::size_t> evict(CacheStore& store, const std::string& prefix,
                                        std::uint64_t max_bytes, std::chrono::seconds max_age,
                                        double now);

// LOCAL caches on this host: every folder directly under `root` (a project's custom-cache
// namespace, a git mirror) is one unit, last used at its mtime (touched at each use) and sized
// by a walk. Units unused for `max_age` go first, then the least recently used until the total
// is at most `max_bytes` (0 = no limit for either). A unit whose `<folder>.lock` a build holds
// is never removed. Returns the number of folders removed.
[[nodiscard]] Result<std::size_t> evict_folders(const std::filesystem::path& root,
                                                std::uint64_t max_bytes,
                                                std::chrono::seconds max_age, double now);

// --- what a build does ---------------------------------------------------------------------

struct CacheRequest {
  // The buildspec's cache section with `key` and `fallback-keys` already expanded by the
  // engine (in the build's shell); `paths` as written.
  spec::Cache spec;
  std::string namespace_name;       // cacheNamespace, or the project name
  std::filesystem::path workspace;  // host path of CODEBUILD_SRC_DIR
  std::string build_src_dir;        // CODEBUILD_SRC_DIR as the build sees it (absolute paths)
  std::filesystem::path scratch;    // an empty private folder on the workspace's file system
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};  // per restore or save
  // LOCAL_CUSTOM_CACHE under an executor that isolates the build: the per-path folders it
  // mounted at PROVISIONING (linked_cache_folders()). Only those can be linked; a folder for a
  // path new to the namespace is created, filled at save with a copy of what the build left at
  // that path, and mounted from the next build on. Unset: the build sees the host (process).
  std::optional<std::vector<std::filesystem::path>> visible_folders;
  // The build environment's root (exec::Executor::open_root), for absolute paths outside
  // CODEBUILD_SRC_DIR; unset: they are skipped with a log line.
  std::function<Result<UniqueFd>()> open_environment_root;
  // An existing folder the build can neither see nor change (the executor's scratch), where
  // the save copies those paths before packing them: `scratch` is in the build folder, which a
  // process the build left running could swap for a symlink while it is read.
  std::filesystem::path private_scratch;
};

// What happened, for the log and for tests.
struct CacheReport {
  enum class Outcome { kSkipped, kHit, kMiss, kSaved, kNotSaved, kFailed };
  Outcome outcome = Outcome::kSkipped;
  std::string key;          // the key restored or saved ("" without a key)
  std::uint64_t bytes = 0;  // archive bytes moved
  std::uint64_t files = 0;
  double seconds = 0;
  std::string detail;  // the reason for kSkipped / kMiss / kNotSaved / kFailed
};

class BuildCache {
 public:
  virtual ~BuildCache() = default;
  // DOWNLOAD_SOURCE, after the source is in place. Logs one line with the outcome, key, bytes
  // and seconds (e.g. "Cache hit: key npm-abc, 12.3 MB, 0.41 s from s3://b/p").
  virtual CacheReport restore(const CacheRequest& req, logs::LogSink& log) = 0;
  // After a build whose phases succeeded (UPLOAD_ARTIFACTS), unless `action: restore`.
  virtual CacheReport save(const CacheRequest& req, logs::LogSink& log) = 0;
};

// Archive cache in `store` (borrowed). `max_bytes` / `max_age` are applied to the namespace
// after each save (0 = unlimited).
std::unique_ptr<BuildCache> archive_cache(CacheStore& store, std::uint64_t max_bytes = 0,
                                          std::chrono::seconds max_age = {});
// LOCAL_CUSTOM_CACHE: per-project folders under `root`; a build that finds them locked by a
// concurrent build of the same project goes on without them.
std::unique_ptr<BuildCache> linked_cache(std::filesystem::path root);
// The folder linked_cache(root) keeps a namespace's cached folders in.
std::filesystem::path linked_cache_dir(const std::filesystem::path& root,
                                       const std::string& namespace_name);
// The per-path folders of a namespace, for PROVISIONING: a container executor mounts each of
// them read-write, never the namespace folder itself, so a build cannot put anything at its top
// level (a symlink to / where a cached folder was). Anything there that is not a real folder (a
// symlink a process build made, a file) is removed first, never followed. Never fails: a
// namespace that cannot be read has no folders.
std::vector<std::filesystem::path> linked_cache_folders(const std::filesystem::path& root,
                                                        const std::string& namespace_name);

// --- the pieces, exposed for tests and benchmarks -------------------------------------------

// "a1b2c3d4e5f6a7b8": 16 hex digits of SHA-256 over the path list (order kept), so caches with
// different path lists never mix (§6.2 "cache version").
std::string cache_version(const std::vector<std::string>& paths);
// A key as an object-name component: [A-Za-z0-9._-] kept, every other byte %XX, so a prefix of
// a key is a prefix of its encoding and no key can name another folder.
std::string encode_key(const std::string& key);

struct PackStats {
  std::uint64_t files = 0;
  std::uint64_t bytes_in = 0;   // file content read
  std::uint64_t bytes_out = 0;  // archive size
};

struct PackOptions {
  int level = 3;  // zstd level
  // Compressor threads, each compressing 'chunk_bytes' of the tar stream as one zstd frame
  // (concatenated frames are one valid zstd stream); 0: compress inline, one frame;
  // -1: min(4, cores).
  int threads = -1;
  std::size_t chunk_bytes = std::size_t{8} << 20;
  std::size_t buffer_bytes = std::size_t{1} << 20;  // file contents are read through this
};

// One tree an archive holds: the files `paths` select under `root`, named `name_prefix/...` in
// the archive ("" for the workspace).
struct PackTree {
  std::filesystem::path root;
  std::vector<std::string> paths;
  std::string name_prefix;
};
// pack_paths over several trees, into one archive; nothing is written when no tree has a valid
// pattern.
[[nodiscard]] Result<PackStats> pack_trees(const std::vector<PackTree>& trees,
                                           const std::filesystem::path& out, logs::LogSink& log,
                                           const PackOptions& options = {});

// Where an archive keeps the copies of absolute paths outside CODEBUILD_SRC_DIR: each at its
// own path below this folder (/root/.m2 as `.kiln-absolute/root/.m2`). The name is reserved: a
// workspace folder of that name is not restored into the workspace.
inline constexpr char kAbsoluteFolder[] = ".kiln-absolute";

// Packs the files `paths` select under `workspace` (artifact glob semantics; a pattern without
// wildcards selects its whole subtree; folders, empty ones included, and symlinks are kept as
// such, never followed) into `out` (created or truncated, mode 0600) as pax tar + zstd.
// Patterns outside the workspace (absolute, `..`), malformed patterns and symlinks whose
// target leaves the workspace are skipped with a log line. No valid pattern: returns zero
// stats and writes nothing. files counts files and symlinks; bytes_in the content read.
[[nodiscard]] Result<PackStats> pack_paths(const std::vector<std::string>& paths,
                                           const std::filesystem::path& workspace,
                                           const std::filesystem::path& out, logs::LogSink& log,
                                           const PackOptions& options = {});
// Unpacks `archive` into `workspace` through source::extract_archive (the archive is not
// trusted; limits for caches in src/cache/internal.h) into a fresh folder under `scratch`,
// then moves each entry into place without following symlinks: folders merge, anything else
// the source already has at a path (a file, a symlink, a folder where the cache has a file) is
// replaced by the cached entry. On an extraction error the workspace is untouched; scratch is
// cleaned either way. Returns files = files + symlinks extracted, bytes_in = archive size,
// bytes_out = file content written.
// The archive's kAbsoluteFolder is never merged into the workspace: it is handed to
// `absolute` (when set) after the merge, then removed.
[[nodiscard]] Result<PackStats> unpack_into(
    const std::filesystem::path& archive, const std::filesystem::path& workspace,
    const std::filesystem::path& scratch,
    const std::function<Result<void>(const std::filesystem::path&)>& absolute = {});

}  // namespace kiln::cache
