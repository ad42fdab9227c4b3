// Turns a buildspec `artifacts` section into artifacts on disk (UPLOAD_ARTIFACTS phase).
// The engine calls one ArtifactUploader per build; the real one (LocalArtifactUploader) globs
// the workspace and writes zips or folders under an output directory. Tests of the engine use
// a fake (tests/unit/engine/fake_uploader.h).
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "logs/log_sink.h"
#include "spec/buildspec.h"
#include "util/error.h"
#include "util/unique_fd.h"

namespace kiln::artifacts {

enum class Packaging { kZip, kNone };

// Expands shell syntax ($VAR, ${VAR}, $(cmd)) in the build's final shell state. Provided by the
// engine, which runs it through the build's executor so expansion sees exactly the build's env.
// It must not do pathname expansion: `base-directory: 'my-build*'` is a glob kiln matches itself.
// The uploader calls it only for values that contain `$` or a backquote.
using Expander = std::function<Result<std::string>(const std::string&)>;

// A source tree as the build sees it (CODEBUILD_SRC_DIR, CODEBUILD_SRC_DIR_<id>) and where it
// is on this host. An absolute `base-directory` (`$CODEBUILD_SRC_DIR_source1/dist`) must lie
// under one of these; it is mapped to the host path and may not leave it.
struct SourceRoot {
  std::string build_path;
  std::filesystem::path host_path;
};

// Opens the root of the build's environment (exec::Executor::open_root), through which an
// absolute path outside the source trees is read (env_tree.h).
using EnvironmentRoot = std::function<Result<UniqueFd>()>;

struct UploadRequest {
  const spec::Artifacts* artifacts = nullptr;  // not owned; must have present == true
  std::filesystem::path src_dir;               // host path of CODEBUILD_SRC_DIR
  std::filesystem::path output_dir;            // where artifacts are written (created if missing)
  Packaging packaging = Packaging::kZip;
  // A secondary artifact's own packaging (its project secondaryArtifacts entry); identifiers
  // not listed use `packaging`.
  std::map<std::string, Packaging> secondary_packaging;
  std::string default_name = "artifacts";  // primary name when the buildspec has none
  // Put before each secondary artifact's name (a batch member's "<buildIdentifier>_", §5.4).
  std::string secondary_prefix;
  Expander expand;  // for `name` and `base-directory`; may be empty
  // Trees an absolute base-directory may name. Empty means {src_dir as both paths}. The engine
  // lists the primary source first, then secondary sources.
  std::vector<SourceRoot> source_roots;
  // For an absolute base-directory or `files` entry outside source_roots: where it is read
  // from, and a folder private to kiln (invisible to the build; created 0700 when first
  // needed, removed by the caller) that holds the copies while the upload runs. Empty: such
  // paths are a CLIENT_ERROR.
  EnvironmentRoot open_environment_root;
  std::filesystem::path staging_dir;
};

struct ArtifactOutcome {
  std::string identifier;          // empty for the primary artifact
  std::filesystem::path location;  // the zip file, or the folder for Packaging::kNone
  std::string sha256;              // hex; empty for Packaging::kNone
  std::string md5;                 // hex; empty for Packaging::kNone
  std::size_t file_count = 0;
};

// A failure CodeBuild reports in the phase context (e.g. CLIENT_ERROR
// "no matching artifact paths found"), as opposed to an Error, which means kiln itself failed.
struct UploadFailure {
  std::string status_code;
  std::string message;
};

struct UploadResult {
  std::optional<UploadFailure> failure;  // set: the UPLOAD_ARTIFACTS phase FAILED
  std::optional<ArtifactOutcome> primary;
  std::vector<ArtifactOutcome> secondary;  // in buildspec order
};

class ArtifactUploader {
 public:
  virtual ~ArtifactUploader() = default;
  // Writes the agent log lines CodeBuild writes ("Expanding base directory path: .", "Found 3
  // file(s)", "Skipping invalid file path x") to `log`.
  [[nodiscard]] virtual Result<UploadResult> upload(const UploadRequest& req,
                                                    logs::LogSink& log) = 0;
};

}  // namespace kiln::artifacts
