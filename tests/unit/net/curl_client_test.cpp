// The curl HttpClient against a loopback server that records the raw request: the SigV4
// signature curl computes for S3 is recomputed here from the wire, as AWS would (independently of
// the check tests/node/s3-server.js adds to s3rver in s3_server_test.cpp), and the streaming,
// header and HEAD paths are checked byte for byte.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nettle/hmac.h>
#include <nettle/sha2.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "net/http_client.h"
#include "net/s3_client.h"

namespace kiln::net {
namespace {

// Serves `reply` to every connection and keeps what each request sent.
class CaptureServer {
 public:
  struct Seen {
    std::string method, target, body;
    std::map<std::string, std::string> headers;  // lower-case names
  };

  CaptureServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 8) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      std::abort();
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~CaptureServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  CaptureServer(const CaptureServer&) = delete;
  CaptureServer& operator=(const CaptureServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void reply(std::string raw) {
    const std::lock_guard lock(mu_);
    reply_ = std::move(raw);
  }
  Seen last() {
    const std::lock_guard lock(mu_);
    return seen_.empty() ? Seen{} : seen_.back();
  }

 private:
  void serve() {
    for (;;) {
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      handle(c);
      ::close(c);
    }
  }

  void handle(int c) {
    std::string in;
    char buf[65536];
    std::size_t head_end = std::string::npos;
    while (head_end == std::string::npos) {
      const ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) return;
      in.append(buf, static_cast<std::size_t>(n));
      head_end = in.find("\r\n\r\n");
    }
    Seen s;
    std::istringstream head(in.substr(0, head_end));
    std::string line;
    std::getline(head, line);
    std::istringstream(line) >> s.method >> s.target;
    while (std::getline(head, line)) {
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
      while (!value.empty() && (value.back() == '\r' || value.back() == ' ')) value.pop_back();
      s.headers[name] = value;
    }
    if (s.headers["expect"] == "100-continue") {
      const std::string cont = "HTTP/1.1 100 Continue\r\n\r\n";
      (void)::write(c, cont.data(), cont.size());
    }
    s.body = in.substr(head_end + 4);
    const std::size_t want = std::stoul(
        s.headers.count("content-length") != 0U ? s.headers["content-length"] : std::string("0"));
    while (s.body.size() < want) {
      const ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) break;
      s.body.append(buf, static_cast<std::size_t>(n));
    }
    std::string out;
    {
      const std::lock_guard lock(mu_);
      seen_.push_back(std::move(s));
      out = reply_;
    }
    (void)::write(c, out.data(), out.size());
  }

  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::string reply_ = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  std::vector<Seen> seen_;
};

std::string hex(const std::uint8_t* p, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) (out += kHex[p[i] >> 4]) += kHex[p[i] & 0xf];
  return out;
}

std::string sha256_hex(const std::string& s) {
  sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, s.size(), reinterpret_cast<const std::uint8_t*>(s.data()));
  std::array<std::uint8_t, SHA256_DIGEST_SIZE> d{};
  sha256_digest(&ctx, d.size(), d.data());
  return hex(d.data(), d.size());
}

std::string hmac(const std::string& key, const std::string& msg) {
  hmac_sha256_ctx ctx;
  hmac_sha256_set_key(&ctx, key.size(), reinterpret_cast<const std::uint8_t*>(key.data()));
  hmac_sha256_update(&ctx, msg.size(), reinterpret_cast<const std::uint8_t*>(msg.data()));
  std::string out(SHA256_DIGEST_SIZE, '\0');
  hmac_sha256_digest(&ctx, out.size(), reinterpret_cast<std::uint8_t*>(out.data()));
  return out;
}

std::string between(const std::string& s, const std::string& from, const std::string& to) {
  const auto a = s.find(from);
  if (a == std::string::npos) return "";
  const auto b = s.find(to, a + from.size());
  return s.substr(a + from.size(),
                  b == std::string::npos ? std::string::npos : b - a - from.size());
}

// The signature AWS computes for what arrived (AWS docs, "Create a canonical request"), with
// the path and query taken as sent: the test asserts separately that they are canonical.
std::string aws_signature(const CaptureServer::Seen& s, const std::string& secret) {
  const std::string& auth = s.headers.at("authorization");
  const std::string signed_headers = between(auth, "SignedHeaders=", ",");
  const std::string scope = between(auth, "Credential=", ",");
  const std::string date = s.headers.at("x-amz-date");
  std::string canonical_headers;
  std::istringstream names(signed_headers);
  for (std::string name; std::getline(names, name, ';');)
    canonical_headers += name + ":" + s.headers.at(name) + "\n";
  const auto q = s.target.find('?');
  const std::string creq = s.method + "\n" + s.target.substr(0, q) + "\n" +
                           (q == std::string::npos ? "" : s.target.substr(q + 1)) + "\n" +
                           canonical_headers + "\n" + signed_headers + "\n" +
                           s.headers.at("x-amz-content-sha256");
  const std::string credential_scope = scope.substr(scope.find('/') + 1);
  const std::string sts =
      "AWS4-HMAC-SHA256\n" + date + "\n" + credential_scope + "\n" + sha256_hex(creq);
  std::string key = hmac("AWS4" + secret, date.substr(0, 8));
  for (const char* part : {"eu-west-1", "s3", "aws4_request"}) key = hmac(key, part);
  const std::string sig = hmac(key, sts);
  return hex(reinterpret_cast<const std::uint8_t*>(sig.data()), sig.size());
}

// A whole HTTP/1.1 answer with a correct Content-Length.
std::string answer(const std::string& status, const std::string& body,
                   const std::string& headers = "") {
  return "HTTP/1.1 " + status + "\r\n" + headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

class CurlClientTest : public ::testing::Test {
 protected:
  S3Client s3() {
    S3Config c;
    c.endpoint = server.url();
    c.region = "eu-west-1";
    c.credentials = {"AKID", "SECRET", "TOKEN"};
    return {*http, c};
  }
  CaptureServer server;
  std::unique_ptr<HttpClient> http = make_curl_client();
};

TEST_F(CurlClientTest, StreamedS3UploadIsSignedAsAwsComputesIt) {
  PutOptions o;
  o.metadata = {{"owner", "me"}};
  o.sse = Sse::kAes256;
  for (const std::size_t size : {std::size_t{5}, std::size_t{3} << 20}) {  // one read, many reads
    const std::string payload(size, 'x');
    auto r = s3().put_bytes({"b", "dir/a b+é"}, payload, o);
    ASSERT_TRUE(r) << r.error().describe();
    const auto s = server.last();
    EXPECT_EQ(s.method, "PUT");
    EXPECT_EQ(s.target, "/b/dir/a%20b%2B%C3%A9");
    EXPECT_EQ(s.body.size(), size);
    EXPECT_EQ(s.headers.at("content-length"), std::to_string(size));
    EXPECT_EQ(s.headers.count("transfer-encoding"), 0U);
    EXPECT_EQ(s.headers.at("expect"), "100-continue");  // curl 7.88 adds it after signing
    EXPECT_EQ(s.headers.at("x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
    EXPECT_EQ(s.headers.at("x-amz-security-token"), "TOKEN");
    const std::string signed_headers =
        between(s.headers.at("authorization"), "SignedHeaders=", ",");
    EXPECT_EQ(signed_headers,
              "content-type;host;x-amz-content-sha256;x-amz-date;x-amz-meta-owner;"
              "x-amz-security-token;x-amz-server-side-encryption");
    EXPECT_EQ(between(s.headers.at("authorization") + "$", "Signature=", "$"),
              aws_signature(s, "SECRET"));
  }
}

TEST_F(CurlClientTest, QueryRequestsAreSignedAsAwsComputesThem) {
  server.reply(
      answer("200 OK", "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>"));
  auto r = s3().list("b", "a b/");
  ASSERT_TRUE(r) << r.error().describe();
  const auto s = server.last();
  EXPECT_EQ(s.target, "/b?list-type=2&prefix=a%20b%2F");
  EXPECT_EQ(between(s.headers.at("authorization") + "$", "Signature=", "$"),
            aws_signature(s, "SECRET"));
}

TEST_F(CurlClientTest, HeadersComeBackLowerCaseAndTrimmed) {
  server.reply(answer("200 OK", "ok", "ETag:   \"abc\"  \r\nX-Amz-Version-Id: v1\r\n"));
  HttpRequest req;
  req.method = "GET";
  req.url = server.url() + "/x";
  auto r = http->send(req);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok");
  EXPECT_EQ(r->header("etag"), "\"abc\"");
  EXPECT_EQ(r->header("x-amz-version-id"), "v1");
  EXPECT_EQ(r->header("ETag"), std::nullopt);  // names are looked up lower case
}

TEST_F(CurlClientTest, SinkGetsOnlySuccessBodies) {
  HttpRequest req;
  req.method = "GET";
  req.url = server.url() + "/x";
  std::string sunk;
  req.body_sink = [&](std::string_view piece) {
    sunk += piece;
    return true;
  };
  server.reply(answer("200 OK", "payload"));
  auto ok = http->send(req);
  ASSERT_TRUE(ok) << ok.error().describe();
  EXPECT_EQ(sunk, "payload");
  EXPECT_EQ(ok->body, "");

  sunk.clear();
  server.reply(answer("404 Not Found", "<Error></Error>"));
  auto missing = http->send(req);
  ASSERT_TRUE(missing) << missing.error().describe();
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->body, "<Error></Error>");
  EXPECT_EQ(sunk, "");

  req.body_sink = [](std::string_view) { return false; };
  server.reply(answer("200 OK", "payload"));
  auto aborted = http->send(req);
  ASSERT_FALSE(aborted);
  EXPECT_EQ(aborted.error().code(), ErrorCode::kCancelled);
}

TEST_F(CurlClientTest, HeadDoesNotWaitForABody) {
  server.reply("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
  HttpRequest req;
  req.method = "HEAD";
  req.url = server.url() + "/x";
  req.timeout_ms = 5000;
  auto r = http->send(req);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(server.last().method, "HEAD");
  EXPECT_EQ(r->header("content-length"), "1000");
}

TEST_F(CurlClientTest, SourceCanAbortTheUpload) {
  HttpRequest req;
  req.method = "PUT";
  req.url = server.url() + "/x";
  req.body_size = 10;
  req.body_source = [](char*, std::size_t) { return HttpRequest::kAbortBody; };
  auto r = http->send(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCancelled);
}

}  // namespace
}  // namespace kiln::net
