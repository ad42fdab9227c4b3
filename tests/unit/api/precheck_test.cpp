// The SigV4 check made on a request's head, before its body is read (docs/security.md, finding 7).
#include "api/precheck.h"

#include <gtest/gtest.h>

#include "service_fixture.h"

namespace kiln::api {
namespace {

constexpr std::int64_t kNow = 1700000000;  // 2023-11-14T22:13:20Z

http::Request head(std::string authorization, std::string date = "20231114T221320Z") {
  http::Request r;
  r.method = "POST";
  r.target = r.path = "/";
  r.headers = {{"host", "x"}, {"x-amz-target", "CodeBuild_20161006.ListProjects"}};
  if (!date.empty()) r.headers.emplace_back("x-amz-date", date);
  if (!authorization.empty()) r.headers.emplace_back("authorization", authorization);
  return r;
}

std::string auth_for(std::string_view key) {
  return "AWS4-HMAC-SHA256 Credential=" + std::string(key) +
         "/20231114/us-east-1/codebuild/aws4_request, SignedHeaders=host;x-amz-date, "
         "Signature=" +
         std::string(64, '0');
}

std::string type_of(const std::optional<http::Response>& r) {
  if (!r) return "<passed>";
  return nlohmann::json::parse(r->body).value("__type", "");
}

TEST(PrecheckTest, RefusesWhatAuthVerifyWouldRefuseWithoutTheBody) {
  OneKey keys;
  EXPECT_EQ(type_of(precheck_request(head(""), keys, kNow, false, 900)),
            "MissingAuthenticationTokenException");
  EXPECT_EQ(type_of(precheck_request(head("Basic abc"), keys, kNow, false, 900)),
            "IncompleteSignatureException");
  EXPECT_EQ(
      type_of(precheck_request(head(auth_for("AKIAUNKNOWN000000000")), keys, kNow, false, 900)),
      "UnrecognizedClientException");
  EXPECT_EQ(type_of(precheck_request(head(auth_for(kTestKey.id), ""), keys, kNow, false, 900)),
            "IncompleteSignatureException");
  const auto expired =
      precheck_request(head(auth_for(kTestKey.id), "20231114T201320Z"), keys, kNow, false, 900);
  EXPECT_EQ(type_of(expired), "InvalidSignatureException");
  EXPECT_EQ(expired->status, 400);
  EXPECT_EQ(type_of(precheck_request(head(auth_for(kTestKey.id), "20231115T221320Z"), keys, kNow,
                                     false, 900)),
            "InvalidSignatureException");
  // Well formed, a known key, on time: the body is read and auth::verify checks the signature.
  EXPECT_EQ(type_of(precheck_request(head(auth_for(kTestKey.id)), keys, kNow, false, 900)),
            "<passed>");
}

TEST(PrecheckTest, AnonymousModeLetsUnsignedRequestsThroughButStillChecksSignedOnes) {
  OneKey keys;
  EXPECT_EQ(type_of(precheck_request(head(""), keys, kNow, true, 900)), "<passed>");
  EXPECT_EQ(
      type_of(precheck_request(head(auth_for("AKIAUNKNOWN000000000")), keys, kNow, true, 900)),
      "UnrecognizedClientException");
}

TEST(PrecheckTest, AWebhookDeliveryNeedsItsProvidersEventAndSignatureHeadersNotSigV4) {
  OneKey keys;
  auto delivery = [](std::vector<std::pair<std::string, std::string>> headers,
                     std::string method = "POST") {
    http::Request r;
    r.method = std::move(method);
    r.target = r.path = "/webhooks/app";
    r.headers = std::move(headers);
    return r;
  };
  auto check = [&](const http::Request& r) {
    return precheck_request(r, keys, kNow, false, auth::kDefaultMaxSkewSeconds);
  };
  // Signed as each provider signs: through to the handler, which checks the HMAC or token.
  EXPECT_EQ(
      type_of(check(delivery({{"x-github-event", "push"}, {"x-hub-signature-256", "sha256=00"}}))),
      "<passed>");
  EXPECT_EQ(type_of(check(delivery({{"x-gitlab-event", "Push Hook"}, {"x-gitlab-token", "t"}}))),
            "<passed>");
  EXPECT_EQ(
      type_of(check(delivery({{"x-event-key", "repo:push"}, {"x-hub-signature", "sha256=0"}}))),
      "<passed>");
  // Unsigned, signed with another provider's header, not a delivery, not a POST: refused on the
  // head, so the body is never read.
  auto unsigned_push = check(delivery({{"x-github-event", "push"}}));
  ASSERT_TRUE(unsigned_push);
  EXPECT_EQ(unsigned_push->status, 401);
  EXPECT_EQ(type_of(unsigned_push), "InvalidSignatureException");
  EXPECT_EQ(type_of(check(delivery({{"x-github-event", "push"}, {"x-hub-signature", "sha1=0"}}))),
            "InvalidSignatureException");
  EXPECT_EQ(type_of(check(delivery({{"content-type", "application/json"}}))),
            "InvalidInputException");
  auto get = check(delivery({{"x-github-event", "push"}, {"x-hub-signature-256", "x"}}, "GET"));
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
}

TEST(PrecheckTest, FileWorkIsLogReads) {
  http::Request r = head("");
  EXPECT_FALSE(is_file_work(r));
  r.headers.emplace_back("x-amz-target", "Logs_20140328.GetLogEvents");
  r.headers.erase(r.headers.begin() + 1);
  EXPECT_TRUE(is_file_work(r));
  http::Request get;
  get.method = "GET";
  get.path = "/logs/p/u";
  EXPECT_TRUE(is_file_work(get));
}

}  // namespace
}  // namespace kiln::api
