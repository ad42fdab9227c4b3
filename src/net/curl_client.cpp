#include <dlfcn.h>

#include <curl/curl.h>

#include <mutex>

#include "net/http_client.h"

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

template <typename F>
bool resolve(void* lib, const char* name, F& out) {
  void* sym = ::dlsym(lib, name);
  if (sym == nullptr) return false;
  out = reinterpret_cast<F>(sym);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast): dlsym
  return true;
}

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
    const bool ok = resolve(lib, "curl_global_init", api.global_init) &&
                    resolve(lib, "curl_easy_init", api.easy_init) &&
                    resolve(lib, "curl_easy_setopt", api.easy_setopt) &&
                    resolve(lib, "curl_easy_perform", api.easy_perform) &&
                    resolve(lib, "curl_easy_getinfo", api.easy_getinfo) &&
                    resolve(lib, "curl_easy_cleanup", api.easy_cleanup) &&
                    resolve(lib, "curl_easy_strerror", api.easy_strerror) &&
                    resolve(lib, "curl_slist_append", api.slist_append) &&
                    resolve(lib, "curl_slist_free_all", api.slist_free_all);
    if (!ok) {
      problem = "libcurl.so.4 lacks a function Kiln needs (libcurl 7.75 or newer is required)";
      return;
    }
    api.global_init(CURL_GLOBAL_DEFAULT);
  });
  if (!problem.empty()) return fail(ErrorCode::kIo, problem);
  return &api;
}

std::size_t append_body(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

class CurlClient final : public HttpClient {
 public:
  Result<HttpResponse> send(const HttpRequest& req) override {
    auto api = load_curl();
    if (!api) return fail(std::move(api.error()));
    const CurlApi& c = **api;
    CURL* h = c.easy_init();
    if (h == nullptr) return fail(ErrorCode::kInternal, "curl_easy_init failed");
    curl_slist* headers = nullptr;
    for (const auto& [k, v] : req.headers)
      headers = c.slist_append(headers, (k + ": " + v).c_str());
    if (!req.credentials.session_token.empty())
      headers = c.slist_append(headers,
                               ("x-amz-security-token: " + req.credentials.session_token).c_str());
    // No "Expect:" override here: curl's SigV4 would sign the removed header, and the server
    // would refuse a signature naming a header it never received.
    HttpResponse resp;
    const std::string userpwd =
        req.credentials.access_key_id + ":" + req.credentials.secret_access_key;
    const std::string sigv4 = "aws:amz:" + req.sigv4_region + ":" + req.sigv4_service;
    c.easy_setopt(h, CURLOPT_URL, req.url.c_str());
    c.easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    c.easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    if (req.method != "GET") {
      c.easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
      c.easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    }
    if (!req.sigv4_service.empty()) {
      c.easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4.c_str());
      c.easy_setopt(h, CURLOPT_USERPWD, userpwd.c_str());
    }
    c.easy_setopt(h, CURLOPT_TIMEOUT_MS, req.timeout_ms);
    c.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    c.easy_setopt(h, CURLOPT_WRITEFUNCTION, &append_body);
    c.easy_setopt(h, CURLOPT_WRITEDATA, &resp.body);
    const CURLcode rc = c.easy_perform(h);
    if (rc == CURLE_OK) c.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
    c.slist_free_all(headers);
    c.easy_cleanup(h);
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
