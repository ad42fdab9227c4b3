// Outgoing HTTP for the parts of Kiln that call other services (`kiln run --secrets-from`, and
// later S3). The real client is libcurl, loaded with dlopen() on first use: linking it would
// load libcurl, OpenSSL and a dozen more libraries on every `kiln run` (3 ms measured, against
// a 15 ms budget for the whole run), and most runs never make a request.
//
// Requests may be signed with AWS SigV4 by libcurl itself (CURLOPT_AWS_SIGV4).
// Thread safety: one client per thread.
#pragma once

#include <memory>
#include <string>
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
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // SigV4: sign for this region and service ("" = unsigned).
  std::string sigv4_region;
  std::string sigv4_service;
  AwsCredentials credentials;
  long timeout_ms = 30000;  // the whole exchange; a stuck endpoint never hangs a build
};

struct HttpResponse {
  long status = 0;
  std::string body;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Fails only when no HTTP answer came back (connection, timeout, TLS); 4xx/5xx are answers.
  [[nodiscard]] virtual Result<HttpResponse> send(const HttpRequest& req) = 0;
};

// libcurl through dlopen("libcurl.so.4"); fails with a clear message when it is not installed.
std::unique_ptr<HttpClient> make_curl_client();

// The usual AWS places, in the SDKs' order: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
// AWS_SESSION_TOKEN, then the shared credentials file (AWS_SHARED_CREDENTIALS_FILE or
// ~/.aws/credentials) at profile AWS_PROFILE (default "default").
Result<AwsCredentials> default_aws_credentials();
// AWS_REGION, then AWS_DEFAULT_REGION, then "us-east-1".
std::string default_aws_region();

}  // namespace kiln::net
