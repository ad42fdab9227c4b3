// verify()'s refusals: each check of docs/reference/codebuild-api.md §2, in its order, with the
// exact type and message.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "auth/amz_date.h"
#include "auth/digest.h"
#include "auth/sigv4.h"

namespace kiln::auth {
namespace {

constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr const char* kDate = "20261122T025025Z";
constexpr const char* kMismatch =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";
constexpr std::string_view kCodebuild[] = {"codebuild"};

class MapKeys final : public KeyLookup {
 public:
  void add(AccessKey k) { keys_[k.id] = std::move(k); }
  std::optional<AccessKey> find(std::string_view id) const override {
    auto it = keys_.find(std::string(id));
    if (it == keys_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, AccessKey> keys_;
};

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_.add(key_);
    keys_.add({"AKIDREVOKED", "revoked-secret", "bob", false});
    headers_ = {{"host", "127.0.0.1:48123"},
                {"x-amz-target", "CodeBuild_20161006.ListProjects"},
                {"content-type", "application/x-amz-json-1.1"},
                {"x-amz-date", kDate}};
    sign();
  }

  SignedRequest request() const { return {method_, path_, "", &headers_, body_}; }

  // Signs every header present, as botocore does, replacing any earlier Authorization.
  void sign(std::string_view region = "us-east-1", std::string_view service = "codebuild",
            const AccessKey* key = nullptr) {
    remove("authorization");
    headers_.emplace_back("authorization",
                          sign_request(request(), key ? *key : key_, region, service));
  }
  void set(const std::string& name, const std::string& value) {
    remove(name);
    headers_.emplace_back(name, value);
  }
  void remove(const std::string& name) {
    std::erase_if(headers_, [&](const auto& h) { return h.first == name; });
  }

  tl::expected<Identity, AuthError> run(std::int64_t offset = 0,
                                        std::span<const std::string_view> services = kCodebuild,
                                        std::int64_t skew = kDefaultMaxSkewSeconds) const {
    return verify(request(), keys_, now_ + offset, services, skew);
  }
  void expect_ok(std::int64_t offset = 0) const {
    auto id = run(offset);
    EXPECT_TRUE(id) << id.error().type << ": " << id.error().message;
  }
  void expect_error(const std::string& type, const std::string& message,
                    std::int64_t offset = 0) const {
    auto id = run(offset);
    ASSERT_FALSE(id);
    EXPECT_EQ(id.error().type, type);
    EXPECT_EQ(id.error().message, message);
  }

  AccessKey key_{"AKIDEXAMPLE", kSecret, "alice"};
  MapKeys keys_;
  std::string method_ = "POST", path_ = "/", body_ = "{}";
  std::vector<std::pair<std::string, std::string>> headers_;
  std::int64_t now_ = parse_amz_date(kDate).value();
};

TEST_F(VerifyTest, AcceptsTheSignedRequest) {
  expect_ok();
}

TEST_F(VerifyTest, NoAuthorizationHeader) {
  remove("authorization");
  expect_error("MissingAuthenticationTokenException", "Missing Authentication Token");
}

TEST_F(VerifyTest, WrongAlgorithm) {
  set("authorization", "Bearer abc.def");
  expect_error("IncompleteSignatureException",
               "Unsupported AWS 'algorithm': 'Bearer'. Kiln accepts only AWS4-HMAC-SHA256.");
  set("authorization", "AWS4-HMAC-SHA1 Credential=a/b/c/d/aws4_request");
  expect_error("IncompleteSignatureException",
               "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA1'. Kiln accepts only "
               "AWS4-HMAC-SHA256.");
}

TEST_F(VerifyTest, MissingParts) {
  const std::string header =
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/codebuild/aws4_request";
  set("authorization", header);
  expect_error("IncompleteSignatureException",
               "Authorization header requires 'Signature' parameter. Authorization header "
               "requires 'SignedHeaders' parameter. Authorization=" +
                   header);
  set("authorization", "AWS4-HMAC-SHA256");
  expect_error("IncompleteSignatureException",
               "Authorization header requires 'Credential' parameter. Authorization header "
               "requires 'Signature' parameter. Authorization header requires 'SignedHeaders' "
               "parameter. Authorization=AWS4-HMAC-SHA256");
}

TEST_F(VerifyTest, PartWithoutEqualSign) {
  const std::string header =
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/codebuild/aws4_request, "
      "SignedHeaders, Signature=00";
  set("authorization", header);
  expect_error("IncompleteSignatureException",
               "'SignedHeaders' not a valid key=value pair (missing equal-sign) in Authorization "
               "header: '" +
                   header + "'.");
}

TEST_F(VerifyTest, MalformedCredential) {
  set("authorization",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/aws4_request, "
      "SignedHeaders=host;x-amz-date, Signature=00");
  expect_error("IncompleteSignatureException",
               "Credential should have exactly 5 non-empty slash-delimited elements, e.g. "
               "keyID/date/region/service/term, got "
               "'AKIDEXAMPLE/20261122/us-east-1/aws4_request'.");
  set("authorization",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122//codebuild/aws4_request, "
      "SignedHeaders=host;x-amz-date, Signature=00");
  EXPECT_EQ(run().error().type, "IncompleteSignatureException");
  set("authorization",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/codebuild/aws5_request, "
      "SignedHeaders=host;x-amz-date, Signature=00");
  expect_error("IncompleteSignatureException",
               "Credential should be scoped with a valid terminator: 'aws4_request', not "
               "'aws5_request'.");
}

TEST_F(VerifyTest, UnknownAndInactiveKeys) {
  const AccessKey stranger{"AKIDSTRANGER", kSecret, "eve"};
  sign("us-east-1", "codebuild", &stranger);
  expect_error("UnrecognizedClientException",
               "The security token included in the request is invalid.");
  const AccessKey revoked{"AKIDREVOKED", "revoked-secret", "bob"};
  sign("us-east-1", "codebuild", &revoked);
  expect_error("UnrecognizedClientException",
               "The security token included in the request is invalid.");
}

TEST_F(VerifyTest, WrongServiceInScope) {
  sign("us-east-1", "logs");
  expect_error("InvalidSignatureException",
               "Credential should be scoped to correct service: 'codebuild'.");
  constexpr std::string_view both[] = {"codebuild", "logs"};
  EXPECT_TRUE(run(0, both));
  sign("us-east-1", "s3");
  auto id = run(0, both);
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().message,
            "Credential should be scoped to correct service: 'codebuild' or 'logs'.");
}

TEST_F(VerifyTest, AnyRegionIsAcceptedAndReported) {
  sign("ap-southeast-2");
  auto id = run();
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->region, "ap-southeast-2");
}

// docs/security.md, finding 13: the scope's region went unchecked into the ARNs Kiln stores.
TEST_F(VerifyTest, RegionMustHaveARegionsShape) {
  for (const char* region : {"us-east-1", "eu-central-2", "us-gov-west-1", "local", "a"}) {
    sign(region);
    EXPECT_TRUE(run()) << region;
  }
  sign("us-east-1\"}");
  expect_error("InvalidSignatureException",
               "Credential should be scoped to a valid region, not 'us-east-1\"}'. A region is 1 "
               "to 32 lowercase letters, digits and '-', such as us-east-1.");
  sign(std::string(2000, 'a'));
  expect_error("InvalidSignatureException",
               "Credential should be scoped to a valid region, not '" + std::string(32, 'a') +
                   "...'. A region is 1 to 32 lowercase letters, digits and '-', such as "
                   "us-east-1.");
  for (const std::string& region : std::vector<std::string>{
           "US-EAST-1", "us_east_1", "1us", "us-", "us east", "-us", std::string(33, 'a')}) {
    sign(region);
    auto id = run();
    ASSERT_FALSE(id) << region;
    EXPECT_EQ(id.error().type, "InvalidSignatureException") << region;
  }
  EXPECT_TRUE(valid_region(std::string(32, 'a')));
  EXPECT_FALSE(valid_region(""));
}

TEST_F(VerifyTest, MissingOrMalformedDate) {
  remove("x-amz-date");
  expect_error("IncompleteSignatureException",
               "Authorization header requires existence of a 'X-Amz-Date' header.");
  set("x-amz-date", "2026-11-22T02:50:25Z");
  expect_error("IncompleteSignatureException",
               "Date must be in ISO-8601 'basic format'. Got '2026-11-22T02:50:25Z'. See "
               "http://en.wikipedia.org/wiki/ISO_8601");
  set("x-amz-date", "20261131T025025Z");  // there is no 31 November
  EXPECT_EQ(run().error().type, "IncompleteSignatureException");
}

TEST_F(VerifyTest, ScopeDateMustMatchTheHeader) {
  set("x-amz-date", "20261123T000100Z");
  sign();
  set("x-amz-date", "20261122T235900Z");
  expect_error("IncompleteSignatureException",
               "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
               "from HTTP: '20261123' != '20261122', from '20261122T235900Z'.",
               parse_amz_date("20261122T235900Z").value() - now_);
}

TEST_F(VerifyTest, SkewOfFifteenMinutesEitherWay) {
  expect_ok(900);
  expect_ok(-900);
  expect_error("InvalidSignatureException",
               "Signature expired: 20261122T025025Z is now earlier than 20261122T025026Z "
               "(20261122T030526Z - 15 min.)",
               901);
  expect_error("InvalidSignatureException",
               "Signature not yet current: 20261122T025025Z is still later than "
               "20261122T025024Z (20261122T023524Z + 15 min.)",
               -901);
}

TEST_F(VerifyTest, SkewMessageReproducesAwsText) {
  // The dates of https://github.com/aws/aws-sdk-js/issues/254.
  set("x-amz-date", "20140325T143453Z");
  sign();
  now_ = parse_amz_date("20140325T145251Z").value();
  expect_error("InvalidSignatureException",
               "Signature expired: 20140325T143453Z is now earlier than 20140325T143751Z "
               "(20140325T145251Z - 15 min.)");
}

TEST_F(VerifyTest, ConfigurableSkew) {
  auto id = run(91, kCodebuild, 90);
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().message,
            "Signature expired: 20261122T025025Z is now earlier than 20261122T025026Z "
            "(20261122T025156Z - 90 sec.)");
  id = run(-301, kCodebuild, 300);
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().message,
            "Signature not yet current: 20261122T025025Z is still later than 20261122T025024Z "
            "(20261122T024524Z + 5 min.)");
  EXPECT_TRUE(run(3600, kCodebuild, 3600));
}

TEST_F(VerifyTest, HostDateAndTargetMustBeSigned) {
  const auto with_signed = [&](const std::string& names) {
    set("authorization",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/codebuild/aws4_request, "
        "SignedHeaders=" +
            names + ", Signature=00");
  };
  with_signed("content-type;x-amz-date;x-amz-target");
  expect_error("IncompleteSignatureException",
               "'Host' must be a 'SignedHeader' in the AWS Authorization.");
  with_signed("content-type;host;x-amz-target");
  expect_error("IncompleteSignatureException",
               "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.");
  with_signed("content-type;host;x-amz-date");
  expect_error("IncompleteSignatureException",
               "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.");
  with_signed("content-type;host;x-amz-date;x-amz-target;x-extra");
  expect_error("IncompleteSignatureException",
               "SignedHeaders names 'x-extra', but the request has no such header.");
}

TEST_F(VerifyTest, TargetNeedNotBeSignedWhenAbsent) {
  remove("x-amz-target");
  sign();
  expect_ok();
}

TEST_F(VerifyTest, AnyChangeToSignedContentBreaksTheSignature) {
  const auto expect_mismatch = [&](const char* what) {
    SCOPED_TRACE(what);
    expect_error("InvalidSignatureException", kMismatch);
    SetUp();
  };
  body_ = "{\"sortBy\":\"NAME\"}";
  expect_mismatch("body");
  set("x-amz-target", "CodeBuild_20161006.DeleteProject");
  expect_mismatch("operation");
  set("host", "127.0.0.1:48124");
  expect_mismatch("host port");
  path_ = "/codebuild-api";
  expect_mismatch("path");
  method_ = "PUT";
  expect_mismatch("method");
  AccessKey wrong = key_;
  wrong.secret = "not-the-secret";
  sign("us-east-1", "codebuild", &wrong);
  expect_mismatch("secret");
  std::string auth = headers_.back().second;
  auth.back() = auth.back() == '0' ? '1' : '0';
  set("authorization", auth);
  expect_mismatch("last signature digit");
  auth = headers_.back().second;
  set("authorization", auth + "0");
  expect_mismatch("signature length");
}

TEST_F(VerifyTest, UnsignedExtrasDoNotMatter) {
  headers_.emplace_back("amz-sdk-invocation-id", "31f761e3-e1bf-4c96-bdab-8990abf8e456");
  headers_.emplace_back("amz-sdk-request", "attempt=2; max=5");
  headers_.emplace_back("user-agent", "aws-cli/2.9.19");
  expect_ok();
}

TEST_F(VerifyTest, SignedValuesAreComparedAfterTrimming) {
  set("content-type", "  application/x-amz-json-1.1  ");
  sign();
  set("content-type", "application/x-amz-json-1.1");
  expect_ok();
}

TEST_F(VerifyTest, SessionTokenSigned) {
  set("x-amz-security-token", "TOKEN123");
  sign();
  EXPECT_NE(headers_.back().second.find(
                "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target"),
            std::string::npos)
      << headers_.back().second;
  expect_ok();
  set("x-amz-security-token", "TOKEN456");
  expect_error("InvalidSignatureException", kMismatch);
}

TEST_F(VerifyTest, ContentSha256IsHonoured) {
  set("x-amz-content-sha256", sha256_hex(body_));
  sign();
  expect_ok();

  set("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
  sign();
  body_ = "{\"changed\":true}";  // the client chose not to sign the body
  expect_ok();

  set("x-amz-content-sha256", sha256_hex("something else"));
  sign();
  expect_error("InvalidSignatureException",
               "The provided 'x-amz-content-sha256' header does not match what was computed.");

  set("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
  sign();
  expect_error("InvalidSignatureException",
               "x-amz-content-sha256 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' is not supported: send "
               "the hex SHA-256 of the body or UNSIGNED-PAYLOAD.");
}

TEST_F(VerifyTest, ChecksRunInTheSpecOrder) {
  // Unknown key, wrong service, stale date and unsigned host all at once: the key is reported.
  set("authorization",
      "AWS4-HMAC-SHA256 Credential=AKIDNOBODY/20200101/us-east-1/logs/aws4_request, "
      "SignedHeaders=x-amz-date, Signature=00");
  EXPECT_EQ(run().error().type, "UnrecognizedClientException");
  // Known key: the service comes next, then the date, the skew, and the signed headers.
  set("authorization",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20200101/us-east-1/logs/aws4_request, "
      "SignedHeaders=x-amz-date, Signature=00");
  EXPECT_EQ(run().error().message, "Credential should be scoped to correct service: 'codebuild'.");
  set("authorization",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20200101/us-east-1/codebuild/aws4_request, "
      "SignedHeaders=x-amz-date, Signature=00");
  EXPECT_TRUE(run().error().message.starts_with("Date in Credential scope"))
      << run().error().message;
  set("authorization",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/codebuild/aws4_request, "
      "SignedHeaders=x-amz-date, Signature=00");
  EXPECT_TRUE(run(3600).error().message.starts_with("Signature expired")) << run().error().message;
  EXPECT_EQ(run().error().message, "'Host' must be a 'SignedHeader' in the AWS Authorization.");
}

}  // namespace
}  // namespace kiln::auth
