// IAM policy grammar and evaluation (auth/policy.h): wildcards, Deny wins, NotAction and
// NotResource, and every malformed document named by its field.
#include "auth/policy.h"

#include <gtest/gtest.h>

#include <string>

namespace kiln::auth {
namespace {

Policy parse_ok(const std::string& text) {
  auto p = Policy::parse(text);
  EXPECT_TRUE(p) << p.error().message();
  return p ? *p : Policy::allow_all();
}

std::string parse_error(const std::string& text) {
  auto p = Policy::parse(text);
  if (p) return "parsed";
  EXPECT_EQ(p.error().code(), ErrorCode::kParse);
  return p.error().message();
}

constexpr const char* kApp = "arn:aws:codebuild:us-east-1:000000000000:project/app";
constexpr const char* kOther = "arn:aws:codebuild:us-east-1:000000000000:project/other";

TEST(WildcardMatch, StarAndQuestionMark) {
  EXPECT_TRUE(wildcard_match("*", "", false));
  EXPECT_TRUE(wildcard_match("*", "anything", false));
  EXPECT_TRUE(wildcard_match("codebuild:Batch*", "codebuild:BatchGetBuilds", false));
  EXPECT_FALSE(wildcard_match("codebuild:Batch*", "codebuild:StartBuild", false));
  EXPECT_TRUE(wildcard_match("secret:db-??????", "secret:db-AbC123", false));
  EXPECT_FALSE(wildcard_match("secret:db-??????", "secret:db-AbC12", false));
  EXPECT_FALSE(wildcard_match("secret:db-??????", "secret:db-AbC1234", false));
  EXPECT_TRUE(wildcard_match("a*b*c", "aXXbYYbZZc", false));
  EXPECT_FALSE(wildcard_match("a*b*c", "aXXbYYbZZ", false));
  EXPECT_TRUE(wildcard_match("**", "x", false));
  EXPECT_FALSE(wildcard_match("", "x", false));
  EXPECT_TRUE(wildcard_match("CODEBUILD:startbuild", "codebuild:StartBuild", true));
  EXPECT_FALSE(wildcard_match("project/App", "project/app", false));
}

TEST(WildcardMatch, NoExponentialBacktracking) {
  const std::string pattern = std::string(60, '*') + std::string(60, 'a') + "b";
  const std::string text(4000, 'a');
  EXPECT_FALSE(wildcard_match(pattern, text, false));  // finishes at once, not in 2^60 steps
}

TEST(PolicyEval, AllowOnNamedProjectOnly) {
  auto p = parse_ok(R"({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
      "Action": ["codebuild:StartBuild", "codebuild:StopBuild"],
      "Resource": "arn:aws:codebuild:*:*:project/app"}]})");
  EXPECT_EQ(p.evaluate("codebuild:StartBuild", kApp), Decision::kAllow);
  EXPECT_EQ(p.evaluate("codebuild:startbuild", kApp), Decision::kAllow);  // IAM ignores case
  EXPECT_EQ(p.evaluate("codebuild:StartBuild", kOther), Decision::kImplicitDeny);
  EXPECT_EQ(p.evaluate("codebuild:DeleteProject", kApp), Decision::kImplicitDeny);
  EXPECT_EQ(p.evaluate("codebuild:StartBuild", "arn:aws:codebuild:us-east-1:1:project/app2"),
            Decision::kImplicitDeny);
}

TEST(PolicyEval, ExplicitDenyWinsWhateverTheOrder) {
  for (const char* doc : {
           R"({"Statement": [{"Effect": "Deny", "Action": "codebuild:Delete*", "Resource": "*"},
                             {"Effect": "Allow", "Action": "*", "Resource": "*"}]})",
           R"({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"},
                             {"Effect": "Deny", "Action": "codebuild:Delete*", "Resource": "*"}]})",
       }) {
    auto p = parse_ok(doc);
    EXPECT_EQ(p.evaluate("codebuild:DeleteProject", kApp), Decision::kExplicitDeny);
    EXPECT_EQ(p.evaluate("codebuild:StartBuild", kApp), Decision::kAllow);
  }
}

TEST(PolicyEval, NotActionAndNotResource) {
  auto p = parse_ok(R"({"Version": "2012-10-17", "Statement": [
      {"Effect": "Allow", "NotAction": ["secretsmanager:*", "ssm:*"], "Resource": "*"},
      {"Effect": "Deny", "Action": "codebuild:*", "NotResource": "arn:aws:codebuild:*:*:project/app"}
  ]})");
  EXPECT_EQ(p.evaluate("logs:GetLogEvents", "*"), Decision::kAllow);
  EXPECT_EQ(p.evaluate("codebuild:StartBuild", kApp), Decision::kAllow);
  EXPECT_EQ(p.evaluate("codebuild:StartBuild", kOther), Decision::kExplicitDeny);
  EXPECT_EQ(p.evaluate("ssm:GetParameter", "arn:aws:ssm:r:1:parameter/x"), Decision::kImplicitDeny);
  EXPECT_EQ(p.evaluate("secretsmanager:GetSecretValue", "*"), Decision::kImplicitDeny);
}

TEST(PolicyEval, ServiceWildcardsAndResourceTypes) {
  auto p = parse_ok(R"({"Statement": [
      {"Effect": "Allow", "Action": "logs:*",
       "Resource": "arn:aws:logs:*:*:log-group:/aws/codebuild/app:*"},
      {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "arn:aws:ssm:*:*:parameter/app/*"},
      {"Effect": "Allow", "Action": "secretsmanager:*",
       "Resource": "arn:aws:secretsmanager:*:*:secret:app/db-??????"}]})");
  EXPECT_EQ(p.evaluate("logs:GetLogEvents",
                       "arn:aws:logs:us-east-1:0:log-group:/aws/codebuild/app:log-stream:u-1"),
            Decision::kAllow);
  EXPECT_EQ(
      p.evaluate("logs:FilterLogEvents", "arn:aws:logs:us-east-1:0:log-group:/aws/codebuild/app:*"),
      Decision::kAllow);
  EXPECT_EQ(p.evaluate("logs:GetLogEvents",
                       "arn:aws:logs:us-east-1:0:log-group:/aws/codebuild/app2:log-stream:u"),
            Decision::kImplicitDeny);
  EXPECT_EQ(p.evaluate("ssm:GetParameter", "arn:aws:ssm:us-east-1:0:parameter/app/token"),
            Decision::kAllow);
  EXPECT_EQ(p.evaluate("ssm:PutParameter", "arn:aws:ssm:us-east-1:0:parameter/app/token"),
            Decision::kImplicitDeny);
  EXPECT_EQ(p.evaluate("secretsmanager:GetSecretValue",
                       "arn:aws:secretsmanager:us-east-1:0:secret:app/db-Ab12Cd"),
            Decision::kAllow);
  EXPECT_EQ(p.evaluate("secretsmanager:GetSecretValue",
                       "arn:aws:secretsmanager:us-east-1:0:secret:app/db2-Ab12Cd"),
            Decision::kImplicitDeny);
}

TEST(PolicyEval, AllowAllAndKeepsTheDocument) {
  EXPECT_EQ(Policy::allow_all().evaluate("kiln:AdminKeys", "*"), Decision::kAllow);
  const std::string text =
      R"({"Statement":{"Action":"codebuild:List*","Effect":"Allow","Resource":"*"}})";
  EXPECT_EQ(parse_ok(text).document().dump(), text);
}

TEST(PolicyParse, BadDocumentsNameTheField) {
  EXPECT_EQ(parse_error("{"), "policy: not valid JSON");
  EXPECT_EQ(parse_error("[]"), "policy: the document must be an object");
  EXPECT_EQ(parse_error("{}"), "policy: Statement: is required");
  EXPECT_EQ(parse_error(R"({"Statement": []})"),
            "policy: Statement: must be an object or a non-empty array of objects");
  EXPECT_EQ(parse_error(R"({"Version": "2020-01-01", "Statement": {}})"),
            "policy: Version: must be \"2012-10-17\" (or \"2008-10-17\")");
  EXPECT_EQ(parse_error(R"({"Statment": []})"),
            "policy: Statment: unknown member (expected Version, Id and Statement)");
  EXPECT_EQ(parse_error(R"({"Statement": [42]})"), "policy: Statement[0]: must be an object");
  EXPECT_EQ(parse_error(R"({"Statement": {"Effect": "allow", "Action": "*", "Resource": "*"}})"),
            "policy: Statement.Effect: must be \"Allow\" or \"Deny\"");
  EXPECT_EQ(parse_error(R"({"Statement": {"Effect": "Allow", "Resource": "*"}})"),
            "policy: Statement: needs exactly one of Action and NotAction");
  EXPECT_EQ(parse_error(R"({"Statement": {"Effect": "Allow", "Action": "*", "NotAction": "*",
                                          "Resource": "*"}})"),
            "policy: Statement: needs exactly one of Action and NotAction");
  EXPECT_EQ(parse_error(R"({"Statement": {"Effect": "Allow", "Action": "*"}})"),
            "policy: Statement: needs exactly one of Resource and NotResource");
  EXPECT_EQ(parse_error(R"({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"},
      {"Effect": "Allow", "Action": ["codebuild:StartBuild", 3], "Resource": "*"}]})"),
            "policy: Statement[1].Action[1]: must be a string");
  EXPECT_EQ(parse_error(R"({"Statement": {"Effect": "Allow", "Action": [], "Resource": "*"}})"),
            "policy: Statement.Action: must be a string or a non-empty array of strings");
  EXPECT_EQ(parse_error(R"({"Statement": {"Effect": "Allow", "Action": "code build:x",
                                          "Resource": "*"}})"),
            "policy: Statement.Action: 'code build:x' is not an action (service:Name, or *)");
  EXPECT_EQ(parse_error(R"({"Statement": {"Effect": "Allow", "Action": "*",
                                          "Resource": "project/app"}})"),
            "policy: Statement.Resource: 'project/app' is not an ARN "
            "(arn:partition:service:region:account:resource) or *");
  EXPECT_EQ(parse_error(R"({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
                                          "Condition": {"Bool": {"aws:SecureTransport": "true"}}}})"),
            "policy: Statement.Condition: conditions are not supported by Kiln; express the rule "
            "with Action and Resource");
  EXPECT_EQ(parse_error(R"({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
                                          "Principal": "*"}})"),
            "policy: Statement.Principal: not allowed in an identity-based policy");
  EXPECT_EQ(parse_error(R"({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
                                          "Sid": 1}})"),
            "policy: Statement.Sid: must be a string");
  EXPECT_EQ(parse_error(R"({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
                                          "Actions": "*"}})"),
            "policy: Statement.Actions: unknown member");
}

TEST(PolicyParse, SizeLimitCountsCharactersWithoutWhitespace) {
  std::string big = R"({"Statement": {"Effect": "Allow", "Action": "*", "Resource": [)";
  for (int i = 0; i < 300; ++i)
    big += std::string(i ? "," : "") + "\"arn:aws:s3:::bucket-" + std::to_string(i) + "/*\"";
  big += "]}}";
  EXPECT_EQ(parse_error(big).rfind("policy: the document has ", 0), 0U) << parse_error(big);
  EXPECT_NE(parse_error(big).find("the limit is 6144"), std::string::npos);
  // Whitespace does not count.
  EXPECT_TRUE(
      Policy::parse(std::string(10000, ' ') +
                    R"({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}})"));
}

}  // namespace
}  // namespace kiln::auth
