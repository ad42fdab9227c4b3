#include <dlfcn.h>

#include <curl/curl.h>

#include <cctype>
#include <mutex>
#include <string_view>

#include "net/http_client.h"
#include "util/dl_symbol.h"
#include "util/string.h"

namespace kiln::net {
namespace {

// The few libcurl entry points Kiln uses, resolved once per process.
struct CurlApi {
  CURLcode (*global_init)(long);
  CURL* (*easy_init)();
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_perform)(CURL*);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  void (*easy_cleanup)(CURL*);
  const char* (*easy_strerror)(CURLcode);
  curl_slist* (*slist_append)(curl_slist*, const char*);
  void (*slist_free_all)(curl_slist*);
};

Result<const CurlApi*> load_curl() {
  static std::once_flag once;
  static CurlApi api{};
  static std::string problem;
  std::call_once(once, [] {
    void* lib = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      problem = std::string("libcurl is not installed (apt-get install libcurl4): ") + ::dlerror();
      return;
    }
    const bool ok = dl_resolve(lib, "curl_global_init", api.global_init) &&
                    dl_resolve(lib, "curl_easy_init", api.easy_init) &&
                    dl_resolve(lib, "curl_easy_setopt", api.easy_setopt) &&
                    dl_resolve(lib, "curl_easy_perform", api.easy_perform) &&
                    dl_resolve(lib, "curl_easy_getinfo", api.easy_getinfo) &&
                    dl_resolve(lib, "curl_easy_cleanup", api.easy_cleanup) &&
                    dl_resolve(lib, "curl_easy_strerror", api.easy_strerror) &&
                    dl_resolve(lib, "curl_slist_append", api.slist_append) &&
                    dl_resolve(lib, "curl_slist_free_all", api.slist_free_all);
    if (!ok) {
      problem = "libcurl.so.4 lacks a function Kiln needs (libcurl 7.75 or newer is required)";
      return;
    }
    api.global_init(CURL_GLOBAL_DEFAULT);
  });
  if (!problem.empty()) return fail(ErrorCode::kIo, problem);
  return &api;
}

// State the callbacks share for one transfer.
struct Transfer {
  const CurlApi* api = nullptr;
  CURL* handle = nullptr;
  const HttpRequest* req = nullptr;
  HttpResponse* resp = nullptr;
  bool sink_aborted = false;
  bool source_aborted = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t bytes = size * n;
  // Only a success body is the caller's payload; an error body is S3's (or the service's) XML
  // explaining the failure, which the caller needs in full.
  long status = 0;
  t->api->easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &status);
  if (t->req->body_sink && status >= 200 && status < 300) {
    if (!t->req->body_sink(std::string_view(data, bytes))) {
      t->sink_aborted = true;
      return 0;  // anything short of `bytes` makes curl stop with CURLE_WRITE_ERROR
    }
    return bytes;
  }
  t->resp->body.append(data, bytes);
  return bytes;
}

// A header line's name or value: blanks before it, and blanks or the line's CRLF after it.
std::string_view trim_header(std::string_view s) {
  return trim_right(trim_left(s, " \t"), " \t\r\n");
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string_view line(data, size * n);
  // Each status line starts a new answer (after "100 Continue" or a redirect): keep the last.
  if (line.starts_with("HTTP/")) {
    t->resp->headers.clear();
    return line.size();
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return line.size();
  t->resp->headers.emplace_back(to_lower(trim_header(line.substr(0, colon))),
                                std::string(trim_header(line.substr(colon + 1))));
  return line.size();
}

std::size_t on_read(char* buffer, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t got = t->req->body_source(buffer, size * n);
  if (got == HttpRequest::kAbortBody) {
    t->source_aborted = true;
    return CURL_READFUNC_ABORT;
  }
  return got;
}

// Options for the request's body; `c` and `h` as in send().
void set_body(const CurlApi& c, CURL* h, const HttpRequest& req, Transfer& t) {
  if (req.method == "HEAD") {
    c.easy_setopt(h, CURLOPT_NOBODY, 1L);
    return;
  }
  if (req.body_source) {
    // CURLOPT_UPLOAD makes it a PUT (CUSTOMREQUEST keeps another verb) with the exact length,
    // so no chunked encoding, which S3 refuses without a signed length.
    c.easy_setopt(h, CURLOPT_UPLOAD, 1L);
    c.easy_setopt(h, CURLOPT_READFUNCTION, &on_read);
    c.easy_setopt(h, CURLOPT_READDATA, &t);
    c.easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body_size));
  } else if (req.method != "GET" && (req.method != "DELETE" || !req.body.empty())) {
    c.easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
    c.easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  }
  c.easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
}

class CurlClient final : public HttpClient {
 public:
  Result<HttpResponse> send(const HttpRequest& req) override {
    auto api = load_curl();
    if (!api) return fail(std::move(api.error()));
    const CurlApi& c = **api;
    CURL* h = c.easy_init();
    if (h == nullptr) return fail(ErrorCode::kInternal, "curl_easy_init failed");
    // The Docker daemon listens on a unix socket. Checked, unlike the options below: a libcurl
    // built without unix sockets would otherwise send the request to the URL's host instead.
    if (!req.unix_socket.empty()) {
      const CURLcode set = c.easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, req.unix_socket.c_str());
      if (set != CURLE_OK) {
        c.easy_cleanup(h);
        return fail(ErrorCode::kIo,
                    std::string("libcurl cannot connect to unix sockets: ") + c.easy_strerror(set));
      }
    }
    curl_slist* headers = nullptr;
    for (const auto& [k, v] : req.headers)
      headers = c.slist_append(headers, (k + ": " + v).c_str());
    if (!req.credentials.session_token.empty())
      headers = c.slist_append(headers,
                               ("x-amz-security-token: " + req.credentials.session_token).c_str());
    // No "Expect:" override here: curl 7.88's SigV4 signs the emptied header (SignedHeaders
    // gains "expect") while the wire carries none, so AWS would refuse the signature. The
    // "Expect: 100-continue" curl adds to every upload comes after signing and is harmless.
    HttpResponse resp;
    Transfer t{&c, h, &req, &resp};
    const std::string userpwd =
        req.credentials.access_key_id + ":" + req.credentials.secret_access_key;
    const std::string sigv4 = "aws:amz:" + req.sigv4_region + ":" + req.sigv4_service;
    c.easy_setopt(h, CURLOPT_URL, req.url.c_str());
    // An S3 key may hold "./" or "../"; squashing them would address (and sign) another object.
    c.easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    c.easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    set_body(c, h, req, t);
    if (!req.sigv4_service.empty()) {
      c.easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4.c_str());
      c.easy_setopt(h, CURLOPT_USERPWD, userpwd.c_str());
    }
    c.easy_setopt(h, CURLOPT_TIMEOUT_MS, req.timeout_ms);
    c.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, req.connect_timeout_ms);
    c.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    c.easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_body);
    c.easy_setopt(h, CURLOPT_WRITEDATA, &t);
    c.easy_setopt(h, CURLOPT_HEADERFUNCTION, &on_header);
    c.easy_setopt(h, CURLOPT_HEADERDATA, &t);
    const CURLcode rc = c.easy_perform(h);
    if (rc == CURLE_OK) c.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
    c.slist_free_all(headers);
    c.easy_cleanup(h);
    if (t.sink_aborted || t.source_aborted)
      return fail(ErrorCode::kCancelled, req.method + " " + req.url + ": aborted by the " +
                                             (t.sink_aborted ? "body sink" : "body source"));
    if (rc != CURLE_OK)
      return fail(rc == CURLE_OPERATION_TIMEDOUT ? ErrorCode::kTimeout : ErrorCode::kIo,
                  req.method + " " + req.url + ": " + c.easy_strerror(rc));
    return resp;
  }
};

}  // namespace

std::unique_ptr<HttpClient> make_curl_client() {
  return std::make_unique<CurlClient>();
}

}  // namespace kiln::net
