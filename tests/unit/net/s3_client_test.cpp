// S3Client against a scripted HttpClient: the URLs, headers and bodies it sends, how it splits a
// multipart upload, and how it reads S3's answers and errors. The same operations against a
// real S3-compatible server are in s3_server_test.cpp.
#include "net/s3_client.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <deque>

#include "net/s3_test_util.h"
#include "net/s3_xml.h"

namespace kiln::net {
namespace {

using testing::slurp;
using testing::TempDir;
using testing::write;

// What the client saw of a request: the request itself and the body its source produced.
struct Sent {
  HttpRequest req;
  std::string body;
  std::string header(const std::string& name) const {
    for (const auto& [k, v] : req.headers)
      if (k == name) return v;
    return "<none>";
  }
};

class ScriptedHttp final : public HttpClient {
 public:
  std::vector<Sent> sent;
  std::deque<Result<HttpResponse>> answers;

  void answer(long status, std::string body = "",
              std::vector<std::pair<std::string, std::string>> headers = {}) {
    answers.emplace_back(HttpResponse{status, std::move(body), std::move(headers)});
  }

  Result<HttpResponse> send(const HttpRequest& req) override {
    Sent s{req, req.body};
    if (req.body_source) {
      s.body.clear();
      std::string buf(3, '\0');  // small, so sources are called many times
      for (;;) {
        const std::size_t n = req.body_source(buf.data(), buf.size());
        if (n == 0) break;
        if (n == HttpRequest::kAbortBody) return fail(ErrorCode::kCancelled, "source aborted");
        s.body.append(buf, 0, n);
      }
      EXPECT_EQ(s.body.size(), req.body_size) << req.url;
    }
    sent.push_back(std::move(s));
    if (answers.empty()) return fail(ErrorCode::kInternal, "no answer scripted for " + req.url);
    auto a = std::move(answers.front());
    answers.pop_front();
    if (a && req.body_sink && a->status / 100 == 2) {
      // Two pieces, as a real transfer would deliver them.
      const std::string body = std::exchange(a->body, "");
      const std::size_t half = body.size() / 2;
      if (!req.body_sink(std::string_view(body).substr(0, half)) ||
          !req.body_sink(std::string_view(body).substr(half)))
        return fail(ErrorCode::kCancelled, "sink aborted");
    }
    return a;
  }
};

constexpr const char* kNoSuchKey =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The "
    "specified key does not exist.</Message><Key>k</Key></Error>";

class S3ClientTest : public ::testing::Test {
 protected:
  S3Config config(std::string endpoint = "http://127.0.0.1:9000") {
    S3Config c;
    c.endpoint = std::move(endpoint);
    c.region = "eu-west-1";
    c.credentials = {"AKID", "SECRET", ""};
    c.multipart_threshold = 10;
    c.part_size = 5;
    return c;
  }
  ScriptedHttp http;
  S3Client client{http, config()};
  TempDir tmp;
};

TEST_F(S3ClientTest, PathStyleUrlEncodesTheKeyButNotItsSlashes) {
  http.answer(200, "", {{"etag", "\"abc\""}, {"x-amz-version-id", "v1"}});
  auto r = client.put_bytes({"bkt", "dir/a b+c~é(1).txt"}, "hello");
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(http.sent[0].req.url, "http://127.0.0.1:9000/bkt/dir/a%20b%2Bc~%C3%A9%281%29.txt");
  EXPECT_EQ(http.sent[0].req.method, "PUT");
  EXPECT_EQ(http.sent[0].body, "hello");
  EXPECT_EQ(r->etag, "abc");
  EXPECT_EQ(r->version_id, "v1");
  EXPECT_EQ(r->bytes, 5U);
  EXPECT_EQ(r->parts, 0);
}

TEST_F(S3ClientTest, AwsItselfIsAddressedVirtualHostStyle) {
  S3Client aws{http, config("")};
  http.answer(200);
  ASSERT_TRUE(aws.put_bytes({"bkt", "a/../b"}, "x"));
  EXPECT_EQ(http.sent[0].req.url, "https://bkt.s3.eu-west-1.amazonaws.com/a/../b");
  S3Client slash{http, config("http://h:1/")};
  http.answer(200);
  ASSERT_TRUE(slash.put_bytes({"bkt", "k"}, "x"));
  EXPECT_EQ(http.sent[1].req.url, "http://h:1/bkt/k");
}

TEST_F(S3ClientTest, SignedRequestsDeclareAnUnsignedPayload) {
  http.answer(200, "", {{"x-amz-version-id", "null"}});  // written while versioning was off
  auto put = client.put_bytes({"b", "k"}, "x");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->version_id, "");
  const auto& s = http.sent[0];
  EXPECT_EQ(s.req.sigv4_service, "s3");
  EXPECT_EQ(s.req.sigv4_region, "eu-west-1");
  EXPECT_EQ(s.req.credentials.access_key_id, "AKID");
  EXPECT_EQ(s.header("x-amz-content-sha256"), "UNSIGNED-PAYLOAD");

  S3Config anonymous = config();
  anonymous.credentials = {};
  S3Client unsigned_client{http, anonymous};
  http.answer(200);
  ASSERT_TRUE(unsigned_client.put_bytes({"b", "k"}, "x"));
  EXPECT_EQ(http.sent[1].req.sigv4_service, "");
  EXPECT_EQ(http.sent[1].header("x-amz-content-sha256"), "<none>");
}

TEST_F(S3ClientTest, PutSendsMetadataContentTypeAndEncryption) {
  PutOptions o;
  o.metadata = {{"codebuild-buildarn", "arn:x"}, {"owner", "me"}};
  o.sse = Sse::kAes256;
  http.answer(200);
  ASSERT_TRUE(client.put_bytes({"b", "k"}, "x", o));
  EXPECT_EQ(http.sent[0].header("x-amz-meta-codebuild-buildarn"), "arn:x");
  EXPECT_EQ(http.sent[0].header("x-amz-meta-owner"), "me");
  EXPECT_EQ(http.sent[0].header("content-type"), "binary/octet-stream");
  EXPECT_EQ(http.sent[0].header("x-amz-server-side-encryption"), "AES256");
  EXPECT_EQ(http.sent[0].header("x-amz-server-side-encryption-aws-kms-key-id"), "<none>");

  o.sse = Sse::kKms;
  o.kms_key_id = "arn:aws:kms:eu-west-1:0:key/k1";
  o.content_type = "application/zip";
  http.answer(200);
  ASSERT_TRUE(client.put_bytes({"b", "k"}, "x", o));
  EXPECT_EQ(http.sent[1].header("content-type"), "application/zip");
  EXPECT_EQ(http.sent[1].header("x-amz-server-side-encryption"), "aws:kms");
  EXPECT_EQ(http.sent[1].header("x-amz-server-side-encryption-aws-kms-key-id"), o.kms_key_id);

  o.kms_key_id.clear();  // the bucket's default key
  http.answer(200);
  ASSERT_TRUE(client.put_bytes({"b", "k"}, "x", o));
  EXPECT_EQ(http.sent[2].header("x-amz-server-side-encryption"), "aws:kms");
  EXPECT_EQ(http.sent[2].header("x-amz-server-side-encryption-aws-kms-key-id"), "<none>");
}

TEST_F(S3ClientTest, SmallFileIsOnePut) {
  write(tmp.root() / "f", "123456789");  // under the threshold of 10
  http.answer(200, "", {{"etag", "\"e1\""}});
  auto r = client.put_file({"b", "k"}, tmp.root() / "f");
  ASSERT_TRUE(r) << r.error().describe();
  ASSERT_EQ(http.sent.size(), 1U);
  EXPECT_EQ(http.sent[0].body, "123456789");
  EXPECT_EQ(r->parts, 0);
  EXPECT_EQ(r->etag, "e1");
}

TEST_F(S3ClientTest, LargeFileIsSentInPartsWithHeadersOnCreate) {
  write(tmp.root() / "f", "aaaaabbbbbcc");  // 12 bytes: parts of 5, 5 and 2
  http.answer(200,
              "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
              "<UploadId>up/1+x</UploadId></InitiateMultipartUploadResult>");
  for (int i = 1; i <= 3; ++i) http.answer(200, "", {{"etag", "\"p" + std::to_string(i) + "\""}});
  http.answer(200,
              "<CompleteMultipartUploadResult><ETag>\"whole-3\"</ETag>"
              "</CompleteMultipartUploadResult>",
              {{"x-amz-version-id", "v9"}});
  PutOptions o;
  o.metadata = {{"m", "1"}};
  o.sse = Sse::kAes256;
  auto r = client.put_file({"b", "k"}, tmp.root() / "f", o);
  ASSERT_TRUE(r) << r.error().describe();
  ASSERT_EQ(http.sent.size(), 5U);
  EXPECT_EQ(http.sent[0].req.method, "POST");
  EXPECT_EQ(http.sent[0].req.url, "http://127.0.0.1:9000/b/k?uploads=");
  EXPECT_EQ(http.sent[0].header("x-amz-meta-m"), "1");
  EXPECT_EQ(http.sent[0].header("x-amz-server-side-encryption"), "AES256");
  const char* bodies[] = {"aaaaa", "bbbbb", "cc"};
  for (int i = 1; i <= 3; ++i) {
    const auto& part = http.sent[i];
    EXPECT_EQ(part.req.method, "PUT");
    EXPECT_EQ(part.req.url,
              "http://127.0.0.1:9000/b/k?partNumber=" + std::to_string(i) + "&uploadId=up%2F1%2Bx");
    EXPECT_EQ(part.body, bodies[i - 1]);
    EXPECT_EQ(part.header("x-amz-meta-m"), "<none>");
  }
  const auto& complete = http.sent[4];
  EXPECT_EQ(complete.req.method, "POST");
  EXPECT_EQ(complete.req.url, "http://127.0.0.1:9000/b/k?uploadId=up%2F1%2Bx");
  EXPECT_EQ(complete.header("content-type"), "application/xml");
  EXPECT_NE(complete.body.find("<Part><PartNumber>1</PartNumber><ETag>&quot;p1&quot;</ETag></Part>"
                               "<Part><PartNumber>2</PartNumber><ETag>&quot;p2&quot;</ETag></Part>"
                               "<Part><PartNumber>3</PartNumber>"),
            std::string::npos)
      << complete.body;
  EXPECT_EQ(r->etag, "whole-3");
  EXPECT_EQ(r->version_id, "v9");
  EXPECT_EQ(r->parts, 3);
  EXPECT_EQ(r->bytes, 12U);
}

TEST_F(S3ClientTest, FailedPartAbortsTheUpload) {
  write(tmp.root() / "f", "aaaaabbbbbcc");
  http.answer(200,
              "<InitiateMultipartUploadResult><UploadId>U</UploadId>"
              "</InitiateMultipartUploadResult>");
  http.answer(200, "", {{"etag", "\"p1\""}});
  http.answer(500,
              "<Error><Code>InternalError</Code><Message>We encountered an internal error."
              "</Message></Error>");
  http.answer(204);
  auto r = client.put_file({"b", "k"}, tmp.root() / "f");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kIo);
  EXPECT_EQ(r.error().message(), "InternalError: We encountered an internal error.");
  ASSERT_EQ(http.sent.size(), 4U);
  EXPECT_EQ(http.sent[3].req.method, "DELETE");
  EXPECT_EQ(http.sent[3].req.url, "http://127.0.0.1:9000/b/k?uploadId=U");
}

TEST_F(S3ClientTest, ErrorInsideASuccessfulCompleteAbortsToo) {
  write(tmp.root() / "f", "aaaaabbbbbc");
  http.answer(200,
              "<InitiateMultipartUploadResult><UploadId>U</UploadId>"
              "</InitiateMultipartUploadResult>");
  for (int i = 0; i < 3; ++i) http.answer(200, "", {{"etag", "\"p\""}});
  http.answer(200, "<Error><Code>InternalError</Code><Message>Try again.</Message></Error>");
  http.answer(204);
  auto r = client.put_file({"b", "k"}, tmp.root() / "f");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "InternalError: Try again.");
  EXPECT_EQ(http.sent.back().req.method, "DELETE");
}

TEST_F(S3ClientTest, MissingFileFailsBeforeAnyRequest) {
  auto r = client.put_file({"b", "k"}, tmp.root() / "absent");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kIo);
  EXPECT_TRUE(http.sent.empty());
}

TEST_F(S3ClientTest, TransportErrorsPassThrough) {
  http.answers.emplace_back(fail(ErrorCode::kTimeout, "PUT x: Timeout was reached"));
  auto r = client.put_bytes({"b", "k"}, "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kTimeout);
  EXPECT_EQ(r.error().describe(), "while uploading to s3://b/k: PUT x: Timeout was reached");
}

TEST_F(S3ClientTest, ListFollowsContinuationTokens) {
  http.answer(200,
              "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
              "<IsTruncated>true</IsTruncated><NextContinuationToken>t/1=</NextContinuationToken>"
              "<Contents><Key>a b/2</Key><Size>12</Size><ETag>\"e2\"</ETag>"
              "<LastModified>2024-01-02T03:04:05.500Z</LastModified></Contents>"
              "<Contents><Key>a b/1 &amp; &lt;x&gt;</Key><Size>0</Size><ETag>\"e1\"</ETag>"
              "</Contents></ListBucketResult>");
  http.answer(200,
              "<ListBucketResult><IsTruncated>false</IsTruncated>"
              "<Contents><Key>a b/3</Key><Size>5000000000</Size></Contents></ListBucketResult>");
  auto r = client.list("bkt", "a b/");
  ASSERT_TRUE(r) << r.error().describe();
  ASSERT_EQ(http.sent.size(), 2U);
  EXPECT_EQ(http.sent[0].req.method, "GET");
  EXPECT_EQ(http.sent[0].req.url, "http://127.0.0.1:9000/bkt?list-type=2&prefix=a%20b%2F");
  EXPECT_EQ(http.sent[1].req.url,
            "http://127.0.0.1:9000/bkt?continuation-token=t%2F1%3D&list-type=2&prefix=a%20b%2F");
  ASSERT_EQ(r->size(), 3U);
  EXPECT_EQ((*r)[0].key, "a b/1 & <x>");
  EXPECT_EQ((*r)[1].key, "a b/2");
  EXPECT_EQ((*r)[1].size, 12U);
  EXPECT_EQ((*r)[1].etag, "e2");
  EXPECT_DOUBLE_EQ((*r)[1].last_modified, 1704164645.5);
  EXPECT_EQ((*r)[2].size, 5000000000U);
}

TEST_F(S3ClientTest, ListRefusesATruncatedPageWithoutToken) {
  http.answer(200, "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>");
  EXPECT_EQ(client.list("b", "").error().code(), ErrorCode::kParse);
  http.answer(200, "not xml");
  EXPECT_EQ(client.list("b", "").error().code(), ErrorCode::kParse);
}

TEST_F(S3ClientTest, HeadReadsHeadersAndMissingIsNullopt) {
  http.answer(200, "",
              {{"content-length", "42"},
               {"etag", "\"e\""},
               {"last-modified", "Tue, 02 Jan 2024 03:04:05 GMT"},
               {"x-amz-version-id", "v2"},
               {"x-amz-meta-codebuild-buildarn", "arn:x"}});
  auto r = client.head({"b", "k"}, "v2");
  ASSERT_TRUE(r && *r) << r.error().describe();
  EXPECT_EQ(http.sent[0].req.method, "HEAD");
  EXPECT_EQ(http.sent[0].req.url, "http://127.0.0.1:9000/b/k?versionId=v2");
  EXPECT_EQ((*r)->size, 42U);
  EXPECT_EQ((*r)->etag, "e");
  EXPECT_DOUBLE_EQ((*r)->last_modified, 1704164645);
  EXPECT_EQ((*r)->version_id, "v2");
  using Meta = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ((*r)->metadata, (Meta{{"codebuild-buildarn", "arn:x"}}));

  http.answer(404);
  auto missing = client.head({"b", "k"});
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
  http.answer(403);
  EXPECT_EQ(client.head({"b", "k"}).error().code(), s3wire::kPermissionCode);
}

TEST_F(S3ClientTest, GetStreamsToAPrivateFile) {
  const auto dest = tmp.root() / "out";
  write(dest, "an older and longer content");
  ::chmod(dest.c_str(), 0644);
  http.answer(200, "new body", {{"x-amz-version-id", "v1"}});
  auto r = client.get_to_file({"b", "k"}, dest, "v1");
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(http.sent[0].req.url, "http://127.0.0.1:9000/b/k?versionId=v1");
  EXPECT_EQ(slurp(dest), "new body");
  EXPECT_EQ(r->size, 8U);
  EXPECT_EQ(r->version_id, "v1");
  struct stat st {};
  ASSERT_EQ(::stat(dest.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
}

TEST_F(S3ClientTest, GetOverTheLimitOrMissingLeavesNoFile) {
  const auto dest = tmp.root() / "out";
  http.answer(200, "0123456789");
  auto big = client.get_to_file({"b", "k"}, dest, "", 9);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(big.error().message(), "s3://b/k is larger than 9 bytes");
  EXPECT_FALSE(std::filesystem::exists(dest));

  http.answer(200, "0123456789");
  ASSERT_TRUE(client.get_to_file({"b", "k"}, dest, "", 10));

  http.answer(404, kNoSuchKey);
  auto missing = client.get_to_file({"b", "k"}, dest);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message(), "NoSuchKey: The specified key does not exist.");
  EXPECT_FALSE(std::filesystem::exists(dest));
}

TEST_F(S3ClientTest, RemoveIgnoresAMissingKeyButNotAMissingBucket) {
  http.answer(204);
  ASSERT_TRUE(client.remove({"b", "k"}));
  EXPECT_EQ(http.sent[0].req.method, "DELETE");
  EXPECT_EQ(http.sent[0].req.url, "http://127.0.0.1:9000/b/k");
  http.answer(404, kNoSuchKey);
  EXPECT_TRUE(client.remove({"b", "k"}));
  http.answer(404, "<Error><Code>NoSuchBucket</Code><Message>m</Message></Error>");
  EXPECT_EQ(client.remove({"b", "k"}).error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace kiln::net
