// Private helpers shared by the files of src/cache/ (not part of the layer's interface).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "logs/log_sink.h"
#include "source/archive_extract.h"
#include "util/error.h"

namespace kiln::cache::detail {

// Limits for extracting a cache object. Caches are big by nature (a node_modules or .m2 is
// often several GB and 100k+ files), so the source-zip defaults would refuse real caches; the
// limits still stop a hostile or corrupt object (an S3 cache can be written by any build with
// access to the bucket) before it fills the disk:
//   max_total_bytes 64 GiB   the largest CodeBuild disk is 824 GB; no sane cache is near this
//   max_entries     10 M     a big monorepo's node_modules is ~1 M entries
//   max_ratio       1000     zstd -3 gives 3-20x on dependency trees; 1000 leaves room for
//                            zero-filled files while a bomb (zstd reaches ~30000x) is stopped
//   ratio floor     1 GiB    the ratio is not enforced below 1 GiB, so small caches of very
//                            compressible files (logs, lockfiles, sparse data) are never refused
inline source::ExtractLimits extract_limits() {
  return source::ExtractLimits{.max_total_bytes = 64ULL << 30,
                               .max_entries = 10'000'000,
                               .max_ratio = 1000,
                               .ratio_floor_bytes = 1ULL << 30};
}

// "12.3 MB" (decimal units, as CodeBuild's console shows sizes).
std::string human_bytes(std::uint64_t bytes);
// "0.41 s".
std::string human_seconds(double seconds);

// Maps a `cache.paths` entry to a workspace-relative pattern: an absolute path inside
// `build_src_dir` loses that prefix ("/codebuild/src/node_modules/**/*" ->
// "node_modules/**/*"); everything else is returned as written. nullopt for an absolute path
// outside it (a host path under the process executor, which kiln never writes).
std::optional<std::string> workspace_relative(const std::string& path,
                                              const std::string& build_src_dir);

// Absolute `cache.paths` outside CODEBUILD_SRC_DIR (absolute.cpp, docs/cache.md "Absolute
// paths"). Each is copied as a unit: its wildcard-free part (/root/.m2 for /root/.m2/**/*),
// outermost units only. mirror_absolute copies every unit that exists in the environment to
// the same path below `mirror` and returns the patterns to pack there (/root/.m2/**/* as
// root/.m2/**/*); a pattern that names `/` itself is skipped with a log line.
// restore_absolute copies back exactly those units that `mirror` holds: never anything
// outside the units the buildspec names, whatever the archive held.
struct AbsolutePaths {
  std::vector<std::string> patterns;  // as written
  std::vector<std::string> units;     // the folders (or files) copied, outermost only
};
AbsolutePaths absolute_units(const std::vector<std::string>& patterns, logs::LogSink& log);
[[nodiscard]] Result<std::vector<std::string>> mirror_absolute(const AbsolutePaths& paths,
                                                               int env_root,
                                                               const std::filesystem::path& mirror);
[[nodiscard]] Result<void> restore_absolute(const AbsolutePaths& paths,
                                            const std::filesystem::path& mirror, int env_root);

// Object names are '/'-separated with no empty, "." or ".." component, no leading '/', no
// NUL, and no component starting ".~tmp-" (the local store's temp files). kPathEscape if not.
[[nodiscard]] Result<void> check_object_name(const std::string& name);

// Removes a temporary file when the restore or save that made it ends, on every path.
struct RemoveOnExit {
  explicit RemoveOnExit(std::filesystem::path p) : path(std::move(p)) {}
  std::filesystem::path path;
  RemoveOnExit(const RemoveOnExit&) = delete;
  RemoveOnExit& operator=(const RemoveOnExit&) = delete;
  ~RemoveOnExit() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

// Seconds since the epoch, from the system clock (object mtimes are wall-clock).
double epoch_now();

// A steady-clock budget for one restore or save.
class Budget {
 public:
  explicit Budget(std::chrono::milliseconds timeout)
      : start_(std::chrono::steady_clock::now()), timeout_(timeout) {}
  double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  bool expired() const { return std::chrono::steady_clock::now() - start_ > timeout_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  std::chrono::steady_clock::time_point start_;
  std::chrono::milliseconds timeout_;
};

}  // namespace kiln::cache::detail
