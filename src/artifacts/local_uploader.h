// The ArtifactUploader that writes artifacts to a local directory (kiln run -a DIR, and the
// server's blob directory):
//
//   primary    OUTPUT/<name>.zip        <name> = buildspec `name` after shell expansion, else
//                                       UploadRequest::default_name; slashes make
//                                       subdirectories; ".zip" is not doubled
//   secondary  OUTPUT/<identifier>.zip  in buildspec order
//   Packaging::kNone writes folders OUTPUT/<name>/ and OUTPUT/<identifier>/ instead.
//
// Every artifact is collected (and every CLIENT_ERROR found) before anything is written, so a
// failing phase leaves the output directory as it was. Output paths are resolved under
// output_dir with RootedPath: a name like `../../x` or one that runs through a symlink out of
// output_dir is a CLIENT_ERROR. Existing artifacts of the same name are replaced atomically.
//
// Failures (UploadResult::failure, status CLIENT_ERROR):
//   "no definition for primary artifacts in buildspec"   primary `files` empty
//   "no matching artifact paths found"                   an artifact selected no file
//   "no matching base directory path found for <dir>"    base-directory matched nothing
//   "invalid artifact identifier <id>: ..."              not [A-Za-z0-9_]{1,127}
//   "invalid artifact name <name>: ..."                  escapes, absolute, or empty
//   "artifact <path> is defined twice"                   two artifacts map to one output
// Error results are kiln's own failures (I/O, expander).
// Thread safety: upload() may run concurrently for different builds; it keeps no state.
#pragma once

#include <string_view>

#include "artifacts/uploader.h"
#include "artifacts/zip_writer.h"

namespace kiln::artifacts {

// CodeBuild's rule for artifactIdentifier: fewer than 128 characters, alphanumeric or '_'.
bool valid_artifact_identifier(std::string_view id);

class LocalArtifactUploader final : public ArtifactUploader {
 public:
  explicit LocalArtifactUploader(ZipOptions options = {}) : options_(options) {}

  [[nodiscard]] Result<UploadResult> upload(const UploadRequest& req, logs::LogSink& log) override;

 private:
  ZipOptions options_;
};

}  // namespace kiln::artifacts
