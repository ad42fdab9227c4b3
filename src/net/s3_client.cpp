// Payload hashing: every signed request carries "x-amz-content-sha256: UNSIGNED-PAYLOAD".
// S3 refuses a signed request without that header, and curl 7.88 (Debian 12) neither adds it
// for service "s3" nor can hash a body it reads through CURLOPT_READFUNCTION: it signs the hash
// of an empty body instead, which AWS rejects. When the header is given, curl signs it and uses
// its value as the canonical request's payload hash (checked against a recomputed signature).
// Hashing each body ourselves would read every file twice; TLS already protects it in transit.
#include "net/s3_client.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <functional>

#include "net/s3_xml.h"
#include "util/unique_fd.h"

namespace kiln::net {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

using Fd = kiln::UniqueFd;

std::string describe(const S3Location& at) {
  return "s3://" + at.bucket + "/" + at.key;
}

std::string url(const S3Config& c, const std::string& bucket, const std::string& key,
                const Params& query) {
  std::string out;
  if (c.endpoint.empty()) {
    out =
        "https://" + bucket + ".s3." + c.region + ".amazonaws.com/" + s3wire::uri_encode(key, true);
  } else {
    std::string_view base = c.endpoint;
    while (base.ends_with('/')) base.remove_suffix(1);
    out = std::string(base) + "/" + s3wire::uri_encode(bucket, false);
    if (!key.empty()) out += "/" + s3wire::uri_encode(key, true);
  }
  return out + s3wire::query_string(query);
}

HttpRequest request(const S3Config& c, std::string method, std::string to) {
  HttpRequest r;
  r.method = std::move(method);
  r.url = std::move(to);
  r.timeout_ms = c.timeout_ms;
  r.connect_timeout_ms = c.connect_timeout_ms;
  if (!c.credentials.access_key_id.empty()) {
    r.sigv4_region = c.region;
    r.sigv4_service = "s3";
    r.credentials = c.credentials;
    r.headers.emplace_back("x-amz-content-sha256", "UNSIGNED-PAYLOAD");  // see the top
  }
  return r;
}

// Sends `r`; a non-2xx answer becomes S3's error. `failure` is what a body callback recorded
// when it aborted the transfer, which is the real reason then.
Result<HttpResponse> exchange(HttpClient& http, const HttpRequest& r,
                              std::optional<Error>* failure = nullptr) {
  auto resp = http.send(r);
  if (failure != nullptr && failure->has_value()) return fail(std::move(**failure));
  if (!resp) return fail(std::move(resp.error()));
  if (resp->status < 200 || resp->status >= 300)
    return fail(s3wire::error_from_answer(resp->status, resp->body));
  return resp;
}

void add_put_headers(HttpRequest& r, const PutOptions& o) {
  r.headers.emplace_back("content-type",
                         o.content_type.empty() ? "binary/octet-stream" : o.content_type);
  for (const auto& [name, value] : o.metadata) r.headers.emplace_back("x-amz-meta-" + name, value);
  if (o.sse == Sse::kAes256) r.headers.emplace_back("x-amz-server-side-encryption", "AES256");
  if (o.sse == Sse::kKms) {
    r.headers.emplace_back("x-amz-server-side-encryption", "aws:kms");
    if (!o.kms_key_id.empty())
      r.headers.emplace_back("x-amz-server-side-encryption-aws-kms-key-id", o.kms_key_id);
  }
}

// "null" is the version of an object written while versioning was off (moto sends it for every
// put to an unversioned bucket); callers are promised "" there.
std::string version_of(const HttpResponse& resp) {
  std::string v = resp.header("x-amz-version-id").value_or("");
  return v == "null" ? "" : v;
}

ObjectInfo info_from_headers(const HttpResponse& resp, const std::string& key) {
  ObjectInfo info;
  info.key = key;
  info.etag = s3wire::unquote(resp.header("etag").value_or(""));
  info.version_id = version_of(resp);
  info.last_modified = s3wire::parse_http_date(resp.header("last-modified").value_or(""));
  info.size = std::strtoull(resp.header("content-length").value_or("0").c_str(), nullptr, 10);
  static constexpr std::string_view kMeta = "x-amz-meta-";
  for (const auto& [name, value] : resp.headers)
    if (name.starts_with(kMeta)) info.metadata.emplace_back(name.substr(kMeta.size()), value);
  return info;
}

PutResult put_result(const HttpResponse& resp, std::uint64_t bytes, int parts) {
  return {s3wire::unquote(resp.header("etag").value_or("")), version_of(resp), bytes, parts};
}

}  // namespace

Result<S3Config> s3_config_from_env() {
  S3Config c;
  for (const char* name : {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"}) {
    const char* v = std::getenv(name);
    if (v != nullptr && *v != '\0') {
      c.endpoint = v;
      break;
    }
  }
  c.region = default_aws_region();
  auto creds = default_aws_credentials();
  if (creds) {
    c.credentials = std::move(*creds);
  } else if (c.endpoint.empty()) {
    return fail(std::move(creds.error()).with("S3 at AWS needs credentials"));
  }
  return c;
}

Result<S3Location> parse_s3_location(std::string_view text) {
  std::string_view rest = text;
  if (rest.starts_with("s3://")) {
    rest.remove_prefix(5);
  } else if (rest.starts_with("arn:")) {
    // arn:<partition>:s3:::bucket/key, for any partition (aws, aws-cn, aws-us-gov).
    const auto colon = rest.find(':', 4);
    if (colon == std::string_view::npos || rest.substr(colon + 1, 5) != "s3:::")
      return fail(ErrorCode::kInvalidArgument, "not an S3 ARN: " + std::string(text));
    rest.remove_prefix(colon + 6);
  }
  const auto slash = rest.find('/');
  S3Location out{std::string(rest.substr(0, slash)),
                 slash == std::string_view::npos ? "" : std::string(rest.substr(slash + 1))};
  if (out.bucket.empty())
    return fail(ErrorCode::kInvalidArgument,
                "no bucket in S3 location '" + std::string(text) + "'");
  return out;
}

Result<PutResult> S3Client::put_file(const S3Location& to, const std::filesystem::path& file,
                                     const PutOptions& options) {
  const std::string what = "while uploading " + file.string() + " to " + describe(to);
  const Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return fail(errno_error(ErrorCode::kIo, "open " + file.string()).with(what));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return fail(errno_error(ErrorCode::kIo, "fstat " + file.string()).with(what));
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size == 0 || size < config_.multipart_threshold) {
    HttpRequest r = request(config_, "PUT", url(config_, to.bucket, to.key, {}));
    add_put_headers(r, options);
    std::optional<Error> failure;
    body_from_file(r, fd.get(), 0, size, failure);
    auto resp = exchange(http_, r, &failure);
    if (!resp) return fail(std::move(resp.error()).with(what));
    return put_result(*resp, size, 0);
  }
  auto result = put_multipart(to, fd.get(), size, options);
  if (!result) return fail(std::move(result.error()).with(what));
  return result;
}

Result<PutResult> S3Client::put_multipart(const S3Location& to, int fd, std::uint64_t size,
                                          const PutOptions& options) {
  if (config_.part_size == 0) return fail(ErrorCode::kInvalidArgument, "S3 part size is 0");
  // S3 allows 10,000 parts: a larger file gets larger parts.
  const std::uint64_t part_size = std::max(config_.part_size, (size + 9'999) / 10'000);
  HttpRequest create = request(config_, "POST", url(config_, to.bucket, to.key, {{"uploads", ""}}));
  add_put_headers(create, options);
  auto created = exchange(http_, create);
  if (!created) return fail(std::move(created.error()));
  auto upload_id = s3wire::parse_upload_id(created->body);
  if (!upload_id) return fail(std::move(upload_id.error()));

  auto upload = [&]() -> Result<PutResult> {
    std::vector<std::string> etags;
    for (std::uint64_t offset = 0; offset < size; offset += part_size) {
      const std::string number = std::to_string(etags.size() + 1);
      HttpRequest r = request(
          config_, "PUT",
          url(config_, to.bucket, to.key, {{"partNumber", number}, {"uploadId", *upload_id}}));
      std::optional<Error> failure;
      body_from_file(r, fd, offset, std::min(part_size, size - offset), failure);
      auto resp = exchange(http_, r, &failure);
      if (!resp) return fail(std::move(resp.error()).with("in part " + number));
      auto etag = resp->header("etag");
      if (!etag)
        return fail(ErrorCode::kParse, "UploadPart answered with no ETag (part " + number + ")");
      etags.push_back(std::move(*etag));
    }
    HttpRequest complete =
        request(config_, "POST", url(config_, to.bucket, to.key, {{"uploadId", *upload_id}}));
    complete.headers.emplace_back("content-type", "application/xml");
    complete.body = s3wire::complete_multipart_body(etags);
    auto resp = exchange(http_, complete);
    if (!resp) return fail(std::move(resp.error()));
    // CompleteMultipartUpload may fail after its 200 has been sent: the error is in the body.
    if (s3wire::is_error_document(resp->body))
      return fail(s3wire::error_from_answer(resp->status, resp->body));
    auto etag = s3wire::parse_complete_etag(resp->body);
    if (!etag) return fail(std::move(etag.error()));
    PutResult out = put_result(*resp, size, static_cast<int>(etags.size()));
    out.etag = std::move(*etag);
    return out;
  };
  auto result = upload();
  if (!result) {
    // Parts left behind are billed until aborted; the first failure is the one to report.
    (void)exchange(http_, request(config_, "DELETE",
                                  url(config_, to.bucket, to.key, {{"uploadId", *upload_id}})));
  }
  return result;
}

Result<PutResult> S3Client::put_bytes(const S3Location& to, std::string_view bytes,
                                      const PutOptions& options) {
  HttpRequest r = request(config_, "PUT", url(config_, to.bucket, to.key, {}));
  add_put_headers(r, options);
  r.body_size = bytes.size();
  r.body_source = [rest = bytes](char* buf, std::size_t room) mutable {
    const std::size_t n = std::min(room, rest.size());
    std::copy_n(rest.data(), n, buf);
    rest.remove_prefix(n);
    return n;
  };
  auto resp = exchange(http_, r);
  if (!resp) return fail(std::move(resp.error()).with("while uploading to " + describe(to)));
  return put_result(*resp, bytes.size(), 0);
}

Result<ObjectInfo> S3Client::get_to_file(const S3Location& from, const std::filesystem::path& dest,
                                         const std::string& version_id, std::uint64_t max_bytes) {
  const std::string what = "while downloading " + describe(from) + " to " + dest.string();
  auto got = [&]() -> Result<ObjectInfo> {
    const Fd fd(::open(dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (fd.get() < 0) return fail(errno_error(ErrorCode::kIo, "open " + dest.string()));
    // O_CREAT leaves an existing file's mode as it was.
    if (::fchmod(fd.get(), 0600) != 0)
      return fail(errno_error(ErrorCode::kIo, "fchmod " + dest.string()));
    Params query;
    if (!version_id.empty()) query.emplace_back("versionId", version_id);
    HttpRequest r = request(config_, "GET", url(config_, from.bucket, from.key, query));
    std::optional<Error> failure;
    std::uint64_t written = 0;
    r.body_sink = [&](std::string_view piece) {
      if (piece.size() > max_bytes - written) {
        failure = Error(ErrorCode::kInvalidArgument,
                        describe(from) + " is larger than " + std::to_string(max_bytes) + " bytes");
        return false;
      }
      while (!piece.empty()) {
        const ssize_t n = ::write(fd.get(), piece.data(), piece.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          failure = errno_error(ErrorCode::kIo, "write " + dest.string());
          return false;
        }
        piece.remove_prefix(static_cast<std::size_t>(n));
        written += static_cast<std::uint64_t>(n);
      }
      return true;
    };
    auto resp = exchange(http_, r, &failure);
    if (!resp) return fail(std::move(resp.error()));
    ObjectInfo info = info_from_headers(*resp, from.key);
    info.size = written;
    return info;
  }();
  if (!got) {
    std::error_code ignored;
    std::filesystem::remove(dest, ignored);
    return fail(std::move(got.error()).with(what));
  }
  return got;
}

Result<std::optional<ObjectInfo>> S3Client::head(const S3Location& at,
                                                 const std::string& version_id) {
  Params query;
  if (!version_id.empty()) query.emplace_back("versionId", version_id);
  auto resp = exchange(http_, request(config_, "HEAD", url(config_, at.bucket, at.key, query)));
  if (!resp && resp.error().code() == ErrorCode::kNotFound) return std::nullopt;
  if (!resp) return fail(std::move(resp.error()).with("while looking up " + describe(at)));
  return info_from_headers(*resp, at.key);
}

Result<std::vector<ObjectInfo>> S3Client::list(const std::string& bucket,
                                               const std::string& prefix) {
  const std::string what = "while listing s3://" + bucket + "/" + prefix;
  std::vector<ObjectInfo> out;
  std::string token;
  for (;;) {
    Params query{{"list-type", "2"}, {"prefix", prefix}};
    if (!token.empty()) query.emplace_back("continuation-token", token);
    auto resp = exchange(http_, request(config_, "GET", url(config_, bucket, "", query)));
    if (!resp) return fail(std::move(resp.error()).with(what));
    auto page = s3wire::parse_list_page(resp->body);
    if (!page) return fail(std::move(page.error()).with(what));
    std::move(page->objects.begin(), page->objects.end(), std::back_inserter(out));
    if (!page->truncated) break;
    if (page->next_token.empty() || page->next_token == token)
      return fail(Error(ErrorCode::kParse, "a truncated listing gave no new continuation token")
                      .with(what));
    token = std::move(page->next_token);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

Result<void> S3Client::remove(const S3Location& at) {
  auto resp = exchange(http_, request(config_, "DELETE", url(config_, at.bucket, at.key, {})));
  // S3 answers 204 for a missing key; some compatible stores say NoSuchKey. A missing bucket
  // stays an error: it is far more likely a typo than an object already removed.
  if (!resp && resp.error().code() == ErrorCode::kNotFound &&
      !resp.error().message().starts_with("NoSuchBucket"))
    return {};
  if (!resp) return fail(std::move(resp.error()).with("while removing " + describe(at)));
  return {};
}

}  // namespace kiln::net
