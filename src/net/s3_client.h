// A small S3 client for what builds need: source zips, artifacts and caches, against AWS or any
// S3-compatible endpoint (MinIO, moto, Ceph). Requests are signed with SigV4 (by libcurl) and
// bodies are streamed from and to files, never held in memory whole. Objects at or above
// `multipart_threshold` are sent as a multipart upload of `part_size` parts.
//
// Addressing: path-style (`endpoint/bucket/key`) whenever an endpoint is configured, because
// S3-compatible servers on loopback cannot serve virtual-host buckets; virtual-host style for
// AWS itself (`https://bucket.s3.<region>.amazonaws.com/key`).
//
// Errors: kNotFound for NoSuchKey / NoSuchBucket / NoSuchVersion / a 404, kPermission for
// AccessDenied / 403, kInvalidArgument for other 4xx, kIo for 5xx and transport failures
// (kTimeout when the request timed out). The message is "<Code>: <Message>" from S3's XML error
// body (e.g. "NoSuchKey: The specified key does not exist."), which is also what CodeBuild shows in
// its phase contexts.
//
// Thread safety: one S3Client per thread (it borrows one HttpClient).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/http_client.h"
#include "util/error.h"

namespace kiln::net {

struct S3Config {
  std::string endpoint;  // "" = AWS (virtual-host style); else e.g. "http://127.0.0.1:5000"
  std::string region = "us-east-1";
  AwsCredentials credentials;
  long timeout_ms = 300'000;  // per request (a part, a small object, a listing page)
  long connect_timeout_ms = 10'000;
  std::uint64_t multipart_threshold = 64ULL << 20;
  std::uint64_t part_size = 16ULL << 20;  // S3's minimum is 5 MiB (except the last part)
};

// The SDKs' environment: AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL for the endpoint;
// default_aws_credentials(); default_aws_region(). Credentials may be absent only when the
// endpoint is set (requests then go unsigned).
[[nodiscard]] Result<S3Config> s3_config_from_env();

struct S3Location {
  std::string bucket;
  std::string key;  // may be empty (a bucket, or a prefix of "")
};

// Accepts "s3://bucket/key", "arn:aws:s3:::bucket/key" and "bucket/key" (CodeBuild's
// `location` forms). kInvalidArgument for an empty bucket.
[[nodiscard]] Result<S3Location> parse_s3_location(std::string_view text);

enum class Sse { kNone, kAes256, kKms };

struct PutOptions {
  std::vector<std::pair<std::string, std::string>> metadata;  // sent as x-amz-meta-<name>
  std::string content_type;                                   // "" = binary/octet-stream
  Sse sse = Sse::kNone;
  std::string kms_key_id;  // with kKms; "" = the store's default key
};

struct PutResult {
  std::string etag;        // without quotes
  std::string version_id;  // "" when the bucket is not versioned
  std::uint64_t bytes = 0;
  int parts = 0;  // 0 for a single PUT
};

struct ObjectInfo {
  std::string key;
  std::uint64_t size = 0;
  std::string etag;          // without quotes
  double last_modified = 0;  // epoch seconds
  std::string version_id;    // from GetObject / HeadObject; "" in listings
  std::vector<std::pair<std::string, std::string>> metadata;  // x-amz-meta-*, names lower case
};

class S3Client {
 public:
  S3Client(HttpClient& http, S3Config config) : http_(http), config_(std::move(config)) {}

  // Streams `file` to the object (multipart at or above the threshold; a failed multipart upload
  // is aborted so no parts are left behind).
  [[nodiscard]] Result<PutResult> put_file(const S3Location& to, const std::filesystem::path& file,
                                           const PutOptions& options = {});
  [[nodiscard]] Result<PutResult> put_bytes(const S3Location& to, std::string_view bytes,
                                            const PutOptions& options = {});
  // Streams the object (at `version_id` when not empty) into `dest`, created or truncated with
  // mode 0600. Stops with kInvalidArgument once more than `max_bytes` arrive; on any error
  // `dest` is removed.
  [[nodiscard]] Result<ObjectInfo> get_to_file(const S3Location& from,
                                               const std::filesystem::path& dest,
                                               const std::string& version_id = "",
                                               std::uint64_t max_bytes = UINT64_MAX);
  // nullopt when there is no such object (or bucket).
  [[nodiscard]] Result<std::optional<ObjectInfo>> head(const S3Location& at,
                                                       const std::string& version_id = "");
  // Every object whose key starts with `prefix` (ListObjectsV2, all pages), in key order.
  [[nodiscard]] Result<std::vector<ObjectInfo>> list(const std::string& bucket,
                                                     const std::string& prefix);
  // Succeeds when the object is already gone.
  [[nodiscard]] Result<void> remove(const S3Location& at);

  const S3Config& config() const { return config_; }

 private:
  Result<PutResult> put_multipart(const S3Location& to, int fd, std::uint64_t size,
                                  const PutOptions& options);

  HttpClient& http_;
  S3Config config_;
};

}  // namespace kiln::net
