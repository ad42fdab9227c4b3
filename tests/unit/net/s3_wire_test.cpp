// The parts of the S3 client that need no server: error mapping, S3 locations, SigV4 URI and
// query encoding, dates, and the configuration from the SDKs' environment.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>

#include "net/s3_client.h"
#include "net/s3_xml.h"

namespace kiln::net {
namespace {

constexpr const char* kNoSuchKey =
    "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>";

TEST(S3ErrorTest, MapsCodesAndStatuses) {
  struct Case {
    long status;
    std::string body;
    ErrorCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {404, kNoSuchKey, ErrorCode::kNotFound, "NoSuchKey: The specified key does not exist."},
      {404,
       "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message>"
       "</Error>",
       ErrorCode::kNotFound, "NoSuchBucket: The specified bucket does not exist"},
      {400, "<Error><Code>NoSuchVersion</Code><Message>m</Message></Error>", ErrorCode::kNotFound,
       "NoSuchVersion: m"},
      {404, "", ErrorCode::kNotFound, "HTTP 404"},
      {403, "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
       s3wire::kPermissionCode, "AccessDenied: Access Denied"},
      {403, "", s3wire::kPermissionCode, "HTTP 403"},
      {400, "<Error><Code>EntityTooSmall</Code><Message>small</Message></Error>",
       ErrorCode::kInvalidArgument, "EntityTooSmall: small"},
      {503, "<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>",
       ErrorCode::kIo, "SlowDown: Reduce your request rate."},
      {502, "<html><body>bad gateway", ErrorCode::kIo, "HTTP 502"},
  };
  for (const auto& c : cases) {
    const Error e = s3wire::error_from_answer(c.status, c.body);
    EXPECT_EQ(e.code(), c.code) << c.body;
    EXPECT_EQ(e.message(), c.message);
  }
}

TEST(S3LocationTest, AcceptsCodeBuildForms) {
  const auto loc = [](std::string_view text) {
    auto r = parse_s3_location(text);
    return r ? r->bucket + "|" + r->key : "error: " + r.error().message();
  };
  EXPECT_EQ(loc("s3://bkt/a/b.zip"), "bkt|a/b.zip");
  EXPECT_EQ(loc("s3://bkt"), "bkt|");
  EXPECT_EQ(loc("s3://bkt/"), "bkt|");
  EXPECT_EQ(loc("arn:aws:s3:::bkt/a/b.zip"), "bkt|a/b.zip");
  EXPECT_EQ(loc("arn:aws-cn:s3:::bkt"), "bkt|");
  EXPECT_EQ(loc("bkt/prefix/"), "bkt|prefix/");
  EXPECT_EQ(loc("bkt"), "bkt|");
  EXPECT_EQ(loc("s3:///k"), "error: no bucket in S3 location 's3:///k'");
  EXPECT_EQ(loc(""), "error: no bucket in S3 location ''");
  EXPECT_EQ(loc("arn:aws:s3:::"), "error: no bucket in S3 location 'arn:aws:s3:::'");
  EXPECT_EQ(loc("arn:aws:sqs:::q"), "error: not an S3 ARN: arn:aws:sqs:::q");
}

TEST(S3WireTest, EncodingAndDates) {
  EXPECT_EQ(s3wire::uri_encode("a-._~Z9/ +*%", true), "a-._~Z9/%20%2B%2A%25");
  EXPECT_EQ(s3wire::uri_encode("a/b", false), "a%2Fb");
  EXPECT_EQ(s3wire::query_string({{"z", "1"}, {"uploads", ""}, {"a b", "c/d"}}),
            "?a%20b=c%2Fd&uploads=&z=1");
  EXPECT_EQ(s3wire::query_string({}), "");
  EXPECT_DOUBLE_EQ(s3wire::parse_http_date("Thu, 01 Jan 1970 00:01:00 GMT"), 60);
  EXPECT_DOUBLE_EQ(s3wire::parse_http_date("Thu, 01 Foo 1970 00:01:00 GMT"), 0);
  EXPECT_DOUBLE_EQ(s3wire::parse_iso8601("1970-01-01T00:00:10Z"), 10);
  EXPECT_DOUBLE_EQ(s3wire::parse_iso8601("1970-01-01T00:00:10.25Z"), 10.25);
  EXPECT_DOUBLE_EQ(s3wire::parse_iso8601("yesterday"), 0);
  EXPECT_EQ(s3wire::unquote("\"e\""), "e");
  EXPECT_EQ(s3wire::unquote("e"), "e");
  EXPECT_EQ(*s3wire::parse_complete_etag("<CompleteMultipartUploadResponse><ETag>\"x-2\"</ETag>"
                                         "</CompleteMultipartUploadResponse>"),
            "x-2");
}

// Sets environment variables for one test and puts the old values back.
class ScopedEnv {
 public:
  ScopedEnv& set(const char* name, const char* value) {
    const char* old = std::getenv(name);
    saved_.emplace_back(name, old == nullptr ? std::nullopt : std::optional<std::string>(old));
    if (value == nullptr) {
      ::unsetenv(name);
    } else {
      ::setenv(name, value, 1);
    }
    return *this;
  }
  ~ScopedEnv() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second) {
        ::setenv(it->first.c_str(), it->second->c_str(), 1);
      } else {
        ::unsetenv(it->first.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST(S3ConfigTest, ReadsTheSdkEnvironment) {
  ScopedEnv env;
  env.set("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1")
      .set("AWS_ENDPOINT_URL", "http://elsewhere")
      .set("AWS_REGION", "ap-south-1")
      .set("AWS_ACCESS_KEY_ID", "AK")
      .set("AWS_SECRET_ACCESS_KEY", "SK");
  auto c = s3_config_from_env();
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_EQ(c->endpoint, "http://127.0.0.1:1");
  EXPECT_EQ(c->region, "ap-south-1");
  EXPECT_EQ(c->credentials.access_key_id, "AK");
  env.set("AWS_ENDPOINT_URL_S3", nullptr);
  auto fallback = s3_config_from_env();
  ASSERT_TRUE(fallback);
  EXPECT_EQ(fallback->endpoint, "http://elsewhere");
}

TEST(S3ConfigTest, CredentialsMayBeAbsentOnlyWithAnEndpoint) {
  ScopedEnv env;
  env.set("AWS_ACCESS_KEY_ID", nullptr)
      .set("AWS_SECRET_ACCESS_KEY", nullptr)
      .set("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/kiln-credentials")
      .set("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1");
  auto anonymous = s3_config_from_env();
  ASSERT_TRUE(anonymous) << anonymous.error().describe();
  EXPECT_EQ(anonymous->credentials.access_key_id, "");
  env.set("AWS_ENDPOINT_URL_S3", nullptr).set("AWS_ENDPOINT_URL", nullptr);
  auto aws = s3_config_from_env();
  ASSERT_FALSE(aws);
  EXPECT_EQ(aws.error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace kiln::net
