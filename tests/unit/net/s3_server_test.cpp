// S3Client and the curl HttpClient against real S3-compatible servers, each started once per
// suite on a free loopback port (tests/unit/s3_test_server.h): s3rver, which checks Kiln's SigV4
// signatures, for everything; moto in addition for what s3rver lacks (versioned buckets, AWS's
// multipart ETags), where a Python with moto is present.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <chrono>
#include <optional>
#include <random>
#include <thread>

#include "net/s3_client.h"
#include "net/s3_test_util.h"
#include "net/s3_xml.h"
#include "s3_test_server.h"

namespace kiln::net {
namespace {

namespace fs = std::filesystem;
using kiln::testing::S3TestServer;
using testing::slurp;
using testing::TempDir;
using testing::write;

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(gen());
  return out;
}

// A fresh bucket per test on the suite's server of kind K.
template <S3TestServer::Kind K>
class S3Fixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_.start();
    kiln::testing::announce(::testing::UnitTest::GetInstance()->current_test_suite()->name(),
                            {&server_});
  }
  static void TearDownTestSuite() { server_.stop(); }

  void SetUp() override {
    KILN_REQUIRE_S3_SERVER(server_);
    bucket_ = "kiln-" + std::to_string(++buckets_);
    auto r = signed_put("/" + bucket_, "");
    ASSERT_TRUE(r) << r.error().describe();
    ASSERT_EQ(r->status, 200) << r->body;
  }

  static S3Config config() {
    S3Config c;
    c.endpoint = server_.endpoint();
    c.credentials = {server_.access_key(), server_.secret_key(), ""};
    c.timeout_ms = 60'000;
    return c;
  }

  // A bucket-level call S3Client has no operation for (CreateBucket, PutBucketVersioning).
  Result<HttpResponse> signed_put(const std::string& path, std::string body) {
    HttpRequest r;
    r.method = "PUT";
    r.url = config().endpoint + path;
    r.body = std::move(body);
    r.sigv4_region = "us-east-1";
    r.sigv4_service = "s3";
    r.credentials = config().credentials;
    r.headers.emplace_back("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
    if (!r.body.empty()) r.headers.emplace_back("content-type", "application/xml");
    return http_->send(r);
  }

  S3Location at(std::string key) const { return {bucket_, std::move(key)}; }

  static inline S3TestServer server_{K};
  static inline int buckets_ = 0;
  std::unique_ptr<HttpClient> http_ = make_curl_client();
  S3Client client_{*http_, config()};
  std::string bucket_;
  TempDir tmp_;
};

class S3ServerTest : public S3Fixture<S3TestServer::Kind::kS3rver> {};
// moto, for what s3rver lacks: versioned buckets and AWS's multipart ETags.
class S3MotoTest : public S3Fixture<S3TestServer::Kind::kMoto> {};

TEST_F(S3ServerTest, BytesAndSmallFilesRoundTrip) {
  const std::string payload = random_bytes(100'000, 1);
  auto put = client_.put_bytes(at("bytes.bin"), payload);
  ASSERT_TRUE(put) << put.error().describe();
  EXPECT_FALSE(put->etag.empty());
  EXPECT_EQ(put->etag.find('"'), std::string::npos);
  EXPECT_EQ(put->version_id, "");  // an unversioned bucket has none (moto says "null")
  write(tmp_.root() / "small", "small file\n");
  auto file = client_.put_file(at("dir/a b+c&é.txt"), tmp_.root() / "small");
  ASSERT_TRUE(file) << file.error().describe();
  EXPECT_EQ(file->parts, 0);

  auto got = client_.get_to_file(at("bytes.bin"), tmp_.root() / "out1");
  ASSERT_TRUE(got) << got.error().describe();
  EXPECT_EQ(slurp(tmp_.root() / "out1"), payload);
  EXPECT_EQ(got->size, payload.size());
  EXPECT_EQ(got->etag, put->etag);
  EXPECT_GT(got->last_modified, 1.6e9);
  auto got2 = client_.get_to_file(at("dir/a b+c&é.txt"), tmp_.root() / "out2");
  ASSERT_TRUE(got2) << got2.error().describe();
  EXPECT_EQ(slurp(tmp_.root() / "out2"), "small file\n");
}

TEST_F(S3ServerTest, EmptyObjectRoundTrips) {
  write(tmp_.root() / "empty", "");
  ASSERT_TRUE(client_.put_file(at("empty"), tmp_.root() / "empty"));
  auto got = client_.get_to_file(at("empty"), tmp_.root() / "out");
  ASSERT_TRUE(got) << got.error().describe();
  EXPECT_EQ(got->size, 0U);
  EXPECT_TRUE(fs::exists(tmp_.root() / "out"));
}

TEST_F(S3ServerTest, MultipartUploadReadsBackByteIdentical) {
  S3Config c = config();
  c.multipart_threshold = 5ULL << 20;
  c.part_size = 5ULL << 20;
  S3Client client(*http_, c);
  const std::string payload = random_bytes(12ULL << 20, 2);
  write(tmp_.root() / "big", payload);
  PutOptions o;
  o.metadata = {{"purpose", "multipart"}};
  o.sse = Sse::kAes256;
  auto put = client.put_file(at("big/object.bin"), tmp_.root() / "big", o);
  ASSERT_TRUE(put) << put.error().describe();
  EXPECT_EQ(put->parts, 3);
  EXPECT_EQ(put->bytes, payload.size());
  // AWS's multipart ETag ends in "-<parts>"; s3rver's is the whole object's MD5, so the
  // server's count of the parts is checked on moto (S3MotoTest.MultipartETagCountsTheParts).

  auto got = client.get_to_file(at("big/object.bin"), tmp_.root() / "back");
  ASSERT_TRUE(got) << got.error().describe();
  EXPECT_EQ(got->size, payload.size());
  EXPECT_TRUE(slurp(tmp_.root() / "back") == payload);
  auto head = client.head(at("big/object.bin"));
  ASSERT_TRUE(head && *head);
  EXPECT_EQ((*head)->size, payload.size());
  EXPECT_EQ((*head)->etag, put->etag);
  using Meta = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ((*head)->metadata, (Meta{{"purpose", "multipart"}}));
}

TEST_F(S3ServerTest, MetadataRoundTripsThroughHead) {
  PutOptions o;
  o.metadata = {{"codebuild-buildarn", "arn:aws:codebuild:us-east-1:0:build/p:1"}};
  o.content_type = "application/zip";
  ASSERT_TRUE(client_.put_bytes(at("meta"), "PK..", o));
  auto head = client_.head(at("meta"));
  ASSERT_TRUE(head) << head.error().describe();
  ASSERT_TRUE(*head);
  EXPECT_EQ((*head)->key, "meta");
  EXPECT_EQ((*head)->size, 4U);
  EXPECT_GT((*head)->last_modified, 1.6e9);
  using Meta = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ((*head)->metadata, (Meta{{"codebuild-buildarn", o.metadata[0].second}}));
  auto missing = client_.head(at("nothing-here"));
  ASSERT_TRUE(missing) << missing.error().describe();
  EXPECT_FALSE(*missing);
}

TEST_F(S3MotoTest, VersionedBucketKeepsOlderVersions) {
  auto versioning =
      signed_put("/" + bucket_ + "?versioning=",
                 "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                 "<Status>Enabled</Status></VersioningConfiguration>");
  ASSERT_TRUE(versioning && versioning->status == 200) << versioning->body;
  auto v1 = client_.put_bytes(at("v"), "one");
  auto v2 = client_.put_bytes(at("v"), "two!");
  ASSERT_TRUE(v1 && v2);
  EXPECT_FALSE(v1->version_id.empty());
  EXPECT_NE(v1->version_id, v2->version_id);

  auto old = client_.get_to_file(at("v"), tmp_.root() / "old", v1->version_id);
  ASSERT_TRUE(old) << old.error().describe();
  EXPECT_EQ(slurp(tmp_.root() / "old"), "one");
  EXPECT_EQ(old->version_id, v1->version_id);
  auto latest = client_.get_to_file(at("v"), tmp_.root() / "new");
  ASSERT_TRUE(latest);
  EXPECT_EQ(slurp(tmp_.root() / "new"), "two!");
  auto head = client_.head(at("v"), v1->version_id);
  ASSERT_TRUE(head && *head);
  EXPECT_EQ((*head)->size, 3U);
  EXPECT_EQ((*head)->version_id, v1->version_id);
}

TEST_F(S3MotoTest, MultipartETagCountsTheParts) {
  S3Config c = config();
  c.multipart_threshold = 5ULL << 20;
  c.part_size = 5ULL << 20;
  S3Client client(*http_, c);
  write(tmp_.root() / "big", random_bytes(11ULL << 20, 4));
  auto put = client.put_file(at("big"), tmp_.root() / "big");
  ASSERT_TRUE(put) << put.error().describe();
  EXPECT_EQ(put->parts, 3);
  EXPECT_TRUE(put->etag.ends_with("-3")) << put->etag;
}

TEST_F(S3ServerTest, ListReturnsEveryKeyUnderThePrefixInOrder) {
  const std::vector<std::string> keys = {"p/b", "p/a b", "p/é", "p/x+y", "p/sub/c", "q/other"};
  for (const auto& k : keys) ASSERT_TRUE(client_.put_bytes(at(k), k));
  auto listed = client_.list(bucket_, "p/");
  ASSERT_TRUE(listed) << listed.error().describe();
  std::vector<std::string> names;
  for (const auto& o : *listed) names.push_back(o.key);
  EXPECT_EQ(names, (std::vector<std::string>{"p/a b", "p/b", "p/sub/c", "p/x+y", "p/é"}));
  EXPECT_EQ((*listed)[0].size, 5U);
  EXPECT_FALSE((*listed)[0].etag.empty());
  EXPECT_GT((*listed)[0].last_modified, 1.6e9);
  auto all = client_.list(bucket_, "");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), keys.size());
}

TEST_F(S3ServerTest, RemoveDeletesAndToleratesTheAbsent) {
  ASSERT_TRUE(client_.put_bytes(at("gone"), "x"));
  ASSERT_TRUE(client_.remove(at("gone")));
  auto head = client_.head(at("gone"));
  ASSERT_TRUE(head);
  EXPECT_FALSE(*head);
  EXPECT_TRUE(client_.remove(at("gone")));
}

TEST_F(S3ServerTest, MissingKeyIsNotFoundWithS3sWords) {
  const fs::path dest = tmp_.root() / "never";
  auto got = client_.get_to_file(at("no/such/key"), dest);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(got.error().message().starts_with("NoSuchKey: ")) << got.error().message();
  EXPECT_FALSE(fs::exists(dest));
  auto bucket = client_.get_to_file({"no-such-bucket-kiln", "k"}, dest);
  ASSERT_FALSE(bucket);
  EXPECT_EQ(bucket.error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(bucket.error().message().starts_with("NoSuchBucket: ")) << bucket.error().message();
}

// The guard on the SigV4 check itself: were it off, every test above would pass without telling
// whether Kiln signs as AWS does.
TEST_F(S3ServerTest, AWrongSecretIsRefusedWithSignatureDoesNotMatch) {
  S3Config c = config();
  c.credentials.secret_access_key = "not-the-secret";
  S3Client client(*http_, c);
  auto put = client.put_bytes(at("k"), "x");
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code(), s3wire::kPermissionCode);
  EXPECT_TRUE(put.error().message().starts_with("SignatureDoesNotMatch: "))
      << put.error().message();
}

TEST_F(S3ServerTest, DownloadOverTheLimitStopsAndRemovesTheFile) {
  ASSERT_TRUE(client_.put_bytes(at("ten"), random_bytes(1 << 20, 3)));
  const fs::path dest = tmp_.root() / "limited";
  auto got = client_.get_to_file(at("ten"), dest, "", 1000);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(dest));
}

TEST(S3UnreachableTest, NothingListeningFailsFast) {
  auto http = make_curl_client();
  S3Config c;
  c.endpoint = "http://127.0.0.1:" + std::to_string(S3TestServer::free_port());
  c.credentials = {"test", "test", ""};
  c.connect_timeout_ms = 2000;
  S3Client client(*http, c);
  const auto start = std::chrono::steady_clock::now();
  auto r = client.put_bytes({"b", "k"}, "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kIo);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(S3UnreachableTest, ConnectTimeoutIsSeparateFromTheRequestTimeout) {
  // A listener whose accept queue is full: the kernel drops further SYNs, so a connect hangs
  // until the client gives up, as it would against a firewalled endpoint.
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(s, 0), 0);
  ASSERT_EQ(::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    const int f = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    (void)::connect(f, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    fillers.push_back(f);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto http = make_curl_client();
  S3Config c;
  c.endpoint = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  c.connect_timeout_ms = 500;
  c.timeout_ms = 60'000;
  S3Client client(*http, c);
  const auto start = std::chrono::steady_clock::now();
  auto r = client.head({"b", "k"});
  const auto took = std::chrono::steady_clock::now() - start;
  for (const int f : fillers) ::close(f);
  ::close(s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kTimeout) << r.error().describe();
  EXPECT_LT(took, std::chrono::seconds(5));
}

}  // namespace
}  // namespace kiln::net
