// Outgoing HTTP for the parts of Kiln that call other services (`kiln run --secrets-from`, and
// S3 through S3Client). The real client is libcurl, loaded with dlopen() on first use: linking it
// would load libcurl, OpenSSL and a dozen more libraries on every `kiln run` (3 ms measured,
// against a 15 ms budget for the whole run), and most runs never make a request.
//
// Requests may be signed with AWS SigV4 by libcurl itself (CURLOPT_AWS_SIGV4). Bodies may be
// streamed both ways (`body_source`, `body_sink`), so a multi-gigabyte object never sits in
// memory.
// Thread safety: one client per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/error.h"

namespace kiln::net {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // may be empty
};

struct HttpRequest {
  // What `body_source` returns to abort the request (its owner keeps the reason).
  static constexpr std::size_t kAbortBody = std::numeric_limits<std::size_t>::max();

  std::string method = "POST";  // "HEAD" asks for no body
  std::string url;              // sent as given: encode it, "." and ".." segments are kept
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, used instead of `body`: fills the buffer and returns the bytes written, 0 at the
  // end, or kAbortBody. Exactly `body_size` bytes must come out. May be called again after a
  // failed request only if the caller sends the request again.
  std::function<std::size_t(char*, std::size_t)> body_source;
  std::uint64_t body_size = 0;
  // When set, a 2xx answer's body goes here piece by piece instead of into HttpResponse::body;
  // returning false aborts the transfer (send() then fails with kCancelled). Any other status
  // still fills HttpResponse::body, so the caller can read the service's error document.
  std::function<bool(std::string_view)> body_sink;
  // SigV4: sign for this region and service ("" = unsigned).
  std::string sigv4_region;
  std::string sigv4_service;
  AwsCredentials credentials;
  // Set: connect to this unix socket (the URL's host is then only the Host header).
  std::string unix_socket;
  long timeout_ms = 30000;  // the whole exchange; a stuck endpoint never hangs a build
  // Up to the TCP/TLS connection, so a dead endpoint fails fast even when a large transfer is
  // given minutes.
  long connect_timeout_ms = 10000;
};

struct HttpResponse {
  long status = 0;
  std::string body;
  // In arrival order, names lower case, values trimmed (only the final answer's, not a
  // "100 Continue"'s).
  std::vector<std::pair<std::string, std::string>> headers;

  // The first header of that name (lower case), or nullopt.
  std::optional<std::string> header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return v;
    return std::nullopt;
  }
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Fails only when no HTTP answer came back (connection, timeout, TLS) or a callback of the
  // request aborted it (kCancelled); 4xx/5xx are answers.
  [[nodiscard]] virtual Result<HttpResponse> send(const HttpRequest& req) = 0;
};

// Streams [offset, offset + size) of `fd` as the request's body with pread, so parts of one file
// need no shared offset. A read error, or a file that shrank, aborts the request and is left in
// `failure` (which must outlive the request).
void body_from_file(HttpRequest& r, int fd, std::uint64_t offset, std::uint64_t size,
                    std::optional<Error>& failure);

// libcurl through dlopen("libcurl.so.4"); fails with a clear message when it is not installed.
std::unique_ptr<HttpClient> make_curl_client();

// The usual AWS places, in the SDKs' order: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
// AWS_SESSION_TOKEN, then the shared credentials file (AWS_SHARED_CREDENTIALS_FILE or
// ~/.aws/credentials) at profile AWS_PROFILE (default "default").
Result<AwsCredentials> default_aws_credentials();
// AWS_REGION, then AWS_DEFAULT_REGION, then "us-east-1".
std::string default_aws_region();

}  // namespace kiln::net
