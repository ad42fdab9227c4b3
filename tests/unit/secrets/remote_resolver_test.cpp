// RemoteSecretResolver against a scripted HttpClient: the requests it sends and how it reads
// answers and errors. The same path against a real kiln server is tests/compat/
// test_secret_builds.py (test_kiln_run_secrets_from_the_server).
#include "secrets/remote_resolver.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace kiln::secrets {
namespace {

class ScriptedHttp final : public net::HttpClient {
 public:
  std::vector<net::HttpRequest> sent;
  std::vector<Result<net::HttpResponse>> answers;
  Result<net::HttpResponse> send(const net::HttpRequest& req) override {
    sent.push_back(req);
    auto a = answers.front();
    answers.erase(answers.begin());
    return a;
  }
};

std::string header(const net::HttpRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

class RemoteResolverTest : public ::testing::Test {
 protected:
  ScriptedHttp http;
  RemoteSecretResolver resolver{http, "http://127.0.0.1:7447", "eu-west-1",
                                net::AwsCredentials{"AKID", "SECRET", ""}};
};

TEST_F(RemoteResolverTest, GetParameterRequestAndAnswer) {
  http.answers.emplace_back(net::HttpResponse{
      200, R"({"Parameter":{"Name":"/a","Type":"SecureString","Value":"v-123456789"}})"});
  EXPECT_EQ(*resolver.parameter("/a"), "v-123456789");
  const auto& r = http.sent.at(0);
  EXPECT_EQ(r.url, "http://127.0.0.1:7447");
  EXPECT_EQ(header(r, "X-Amz-Target"), "AmazonSSM.GetParameter");
  EXPECT_EQ(header(r, "Content-Type"), "application/x-amz-json-1.1");
  EXPECT_EQ(r.sigv4_service, "ssm");
  EXPECT_EQ(r.sigv4_region, "eu-west-1");
  EXPECT_EQ(nlohmann::json::parse(r.body),
            (nlohmann::json{{"Name", "/a"}, {"WithDecryption", true}}));
}

TEST_F(RemoteResolverTest, MissingParameterReadsLikeCodeBuild) {
  http.answers.emplace_back(net::HttpResponse{
      400,
      R"({"__type":"com.amazonaws.ssm#ParameterNotFound","message":"Parameter /a not found."})"});
  EXPECT_EQ(resolver.parameter("/a").error().message(), "parameter does not exist: /a");
}

TEST_F(RemoteResolverTest, OtherErrorsKeepTheServiceWords) {
  http.answers.emplace_back(net::HttpResponse{
      400,
      R"({"__type":"UnrecognizedClientException","message":"The security token included in the request is invalid."})"});
  EXPECT_EQ(resolver.parameter("/a").error().message(),
            "UnrecognizedClientException: The security token included in the request is invalid.");
  http.answers.emplace_back(net::HttpResponse{502, "<html>bad gateway</html>"});
  EXPECT_EQ(resolver.parameter("/a").error().message(), "HTTP 502: ");
  http.answers.emplace_back(fail(ErrorCode::kTimeout, "POST http://127.0.0.1:7447: timed out"));
  EXPECT_EQ(resolver.parameter("/a").error().code(), ErrorCode::kTimeout);
}

TEST_F(RemoteResolverTest, GetSecretValueWithStageAndJsonKey) {
  http.answers.emplace_back(
      net::HttpResponse{200, R"({"Name":"db","SecretString":"{\"password\":\"pw-12345678\"}"})"});
  EXPECT_EQ(*resolver.secret("db:password:AWSPREVIOUS"), "pw-12345678");
  const auto& r = http.sent.at(0);
  EXPECT_EQ(header(r, "X-Amz-Target"), "secretsmanager.GetSecretValue");
  EXPECT_EQ(r.sigv4_service, "secretsmanager");
  EXPECT_EQ(nlohmann::json::parse(r.body),
            (nlohmann::json{{"SecretId", "db"}, {"VersionStage", "AWSPREVIOUS"}}));
}

TEST_F(RemoteResolverTest, MissingSecretAndMalformedAnswers) {
  http.answers.emplace_back(net::HttpResponse{
      400,
      R"({"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."})"});
  EXPECT_EQ(resolver.secret("db").error().message(),
            "ResourceNotFoundException: Secrets Manager can't find the specified secret.");
  http.answers.emplace_back(net::HttpResponse{200, "not json"});
  EXPECT_EQ(resolver.secret("db").error().code(), ErrorCode::kParse);
  http.answers.emplace_back(net::HttpResponse{200, R"({"Parameter":{"Value":7}})"});
  EXPECT_EQ(resolver.parameter("/a").error().code(), ErrorCode::kParse);
}

}  // namespace
}  // namespace kiln::secrets
