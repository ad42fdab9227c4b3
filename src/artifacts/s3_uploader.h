// The ArtifactUploader for projects whose artifacts go to S3 (ProjectArtifacts type S3,
// docs/reference/codebuild-semantics.md §5.3). Each artifact is first produced by
// LocalArtifactUploader in the build's own staging folder (same globbing, same CLIENT_ERRORs), then
// streamed to S3 (multipart for large zips) with the metadata `x-amz-meta-codebuild-buildarn:
// <build ARN>`.
//
// Object keys (docs/artifacts.md "S3"):
//   <path>/<name>                 namespaceType NONE
//   <path>/<build uuid>/<name>    namespaceType BUILD_ID (the buildspec's s3-prefix replaces
//                                 <path> when set)
//   <name> is the project's `name`, or the buildspec's (shell-expanded) `name` when
//   overrideArtifactName is set; ".zip" is never appended (§5.3). `name` "/" (or empty) puts
//   the artifact at <path> itself. packaging ZIP uploads one object; NONE uploads every file
//   under <key>/.
//
// Encryption: encryptionDisabled sends no SSE header; otherwise the project's encryptionKey is
// requested as SSE-KMS with that key, and without a key SSE-S3 (AES256) is requested, because
// S3-compatible stores rarely have a KMS (CodeBuild's default is the aws/s3 KMS key). A key the
// store cannot use fails the upload: nothing is stored unencrypted instead.
//
// Build.artifacts.location is `arn:aws:s3:::bucket/key`; sha256 and md5 are set for zips.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "artifacts/local_uploader.h"
#include "net/s3_client.h"

namespace kiln::artifacts {

struct S3ArtifactTarget {
  std::string identifier;   // "" for the primary artifact
  std::string type = "S3";  // S3 or NO_ARTIFACTS (a secondary artifact that is not uploaded)
  std::string bucket;       // `location`
  std::string path;
  bool namespace_build_id = false;
  std::string name;
  Packaging packaging = Packaging::kNone;
  bool override_name = false;
  bool encryption_disabled = false;
};

struct S3UploadSettings {
  std::vector<S3ArtifactTarget> targets;  // the primary (identifier "") and secondary ones
  std::string build_uuid;
  std::string build_arn;
  std::string encryption_key;  // the project's encryptionKey; "" = SSE-S3
  // A secondary artifact with no target goes beside the primary, named by its identifier
  // (kiln run -a s3://...); otherwise it is a CLIENT_ERROR, as in CodeBuild.
  bool default_secondary = false;
};

using S3ClientProvider = std::function<Result<net::S3Client*>()>;

class S3ArtifactUploader final : public ArtifactUploader {
 public:
  S3ArtifactUploader(S3ClientProvider s3, S3UploadSettings settings)
      : s3_(std::move(s3)), settings_(std::move(settings)) {}

  // `req.output_dir` is the staging folder.
  [[nodiscard]] Result<UploadResult> upload(const UploadRequest& req, logs::LogSink& log) override;

  // The object key for one artifact (exposed for tests).
  static std::string object_key(const S3ArtifactTarget& t, const std::string& name,
                                const std::string& build_uuid, const std::string& s3_prefix);

 private:
  const S3ArtifactTarget* target_of(const std::string& identifier) const;

  S3ClientProvider s3_;
  S3UploadSettings settings_;
  LocalArtifactUploader local_;
};

}  // namespace kiln::artifacts
