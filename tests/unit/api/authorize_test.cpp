// The table of actions and resources per operation (api/authorize.h) and IAM's denial messages.
#include "api/authorize.h"

#include <gtest/gtest.h>

namespace kiln::api {
namespace {

using nlohmann::json;

const std::string kP = "arn:aws:codebuild:eu-west-1:123456789012:project/";

ArnContext ctx() {
  return {"eu-west-1", "123456789012", [](const std::string& id) -> std::string {
            if (id == "db" || id.ends_with(":secret:db-Ab12Cd"))
              return "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-Ab12Cd";
            return "";
          }};
}

std::vector<Access> of(const std::string& target, const std::string& body) {
  return accesses_of(target, json::parse(body), ctx());
}

TEST(Accesses, ProjectsAndBuildsAreCheckedOnTheirProject) {
  EXPECT_EQ(of("CodeBuild_20161006.StartBuild", R"({"projectName": "app"})"),
            (std::vector<Access>{{"codebuild:StartBuild", kP + "app"}}));
  EXPECT_EQ(of("CodeBuild_20161006.BatchGetProjects",
               R"({"names": ["app", "arn:aws:codebuild:us-west-2:999:project/other", "app"]})"),
            (std::vector<Access>{{"codebuild:BatchGetProjects", kP + "app"},
                                 {"codebuild:BatchGetProjects", kP + "other"}}));
  EXPECT_EQ(
      of("CodeBuild_20161006.BatchGetBuilds",
         R"({"ids": ["app:1-2", "arn:aws:codebuild:eu-west-1:123456789012:build/other:3-4"]})"),
      (std::vector<Access>{{"codebuild:BatchGetBuilds", kP + "app"},
                           {"codebuild:BatchGetBuilds", kP + "other"}}));
  EXPECT_EQ(of("CodeBuild_20161006.StopBuild", R"({"id": "other:9"})"),
            (std::vector<Access>{{"codebuild:StopBuild", kP + "other"}}));
  EXPECT_EQ(of("CodeBuild_20161006.ListBuildsForProject", R"({"projectName": "app"})"),
            (std::vector<Access>{{"codebuild:ListBuildsForProject", kP + "app"}}));
  EXPECT_EQ(of("CodeBuild_20161006.ListProjects", "{}"),
            (std::vector<Access>{{"codebuild:ListProjects", "*"}}));
  EXPECT_EQ(of("CodeBuild_20161006.ListBuilds", "{}"),
            (std::vector<Access>{{"codebuild:ListBuilds", "*"}}));
}

TEST(Accesses, MissingOrMistypedNamesGiveAnEmptyName) {
  EXPECT_EQ(of("CodeBuild_20161006.StartBuild", R"({"projectName": 7})"),
            (std::vector<Access>{{"codebuild:StartBuild", kP}}));
  EXPECT_EQ(of("CodeBuild_20161006.BatchGetBuilds", "{}"),
            (std::vector<Access>{{"codebuild:BatchGetBuilds", kP}}));
}

TEST(Accesses, PrivilegedModeNeedsKilnPrivilegedBuild) {
  EXPECT_EQ(of("CodeBuild_20161006.CreateProject",
               R"({"name": "app", "environment": {"privilegedMode": true}})"),
            (std::vector<Access>{{"codebuild:CreateProject", kP + "app"},
                                 {"kiln:PrivilegedBuild", kP + "app"}}));
  EXPECT_EQ(of("CodeBuild_20161006.UpdateProject",
               R"({"name": "app", "environment": {"privilegedMode": false}})"),
            (std::vector<Access>{{"codebuild:UpdateProject", kP + "app"}}));
  EXPECT_EQ(of("CodeBuild_20161006.StartBuild",
               R"({"projectName": "app", "privilegedModeOverride": true})"),
            (std::vector<Access>{{"codebuild:StartBuild", kP + "app"},
                                 {"kiln:PrivilegedBuild", kP + "app"}}));
}

TEST(Accesses, SecretVariablesNeedTheReadRight) {
  EXPECT_EQ(of("CodeBuild_20161006.StartBuild", R"({"projectName": "app",
      "environmentVariablesOverride": [
        {"name": "A", "value": "/team/token", "type": "PARAMETER_STORE"},
        {"name": "B", "value": "db:password", "type": "SECRETS_MANAGER"},
        {"name": "C", "value": "plain"}]})"),
            (std::vector<Access>{
                {"codebuild:StartBuild", kP + "app"},
                {"ssm:GetParameter", "arn:aws:ssm:eu-west-1:123456789012:parameter/team/token"},
                {"secretsmanager:GetSecretValue",
                 "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-Ab12Cd"}}));
  EXPECT_EQ(
      of("CodeBuild_20161006.CreateProject", R"({"name": "app", "environment": {
      "environmentVariables": [{"name": "B", "value": "missing", "type": "SECRETS_MANAGER"}]}})"),
      (std::vector<Access>{{"codebuild:CreateProject", kP + "app"},
                           {"secretsmanager:GetSecretValue",
                            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:missing"}}));
}

TEST(Accesses, LogsParametersAndSecrets) {
  const std::string group = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/codebuild/app";
  EXPECT_EQ(of("Logs_20140328.GetLogEvents",
               R"({"logGroupName": "/aws/codebuild/app", "logStreamName": "u-1"})"),
            (std::vector<Access>{{"logs:GetLogEvents", group + ":log-stream:u-1"}}));
  EXPECT_EQ(of("Logs_20140328.FilterLogEvents", R"({"logGroupIdentifier": ")" + group + R"(:*"})"),
            (std::vector<Access>{{"logs:FilterLogEvents", group + ":*"}}));
  EXPECT_EQ(log_read_access("app", "u-1", ctx()),
            (Access{"logs:GetLogEvents", group + ":log-stream:u-1"}));
  const std::string param = "arn:aws:ssm:eu-west-1:123456789012:parameter/";
  EXPECT_EQ(of("AmazonSSM.GetParameters", R"({"Names": ["/a/b", "c"]})"),
            (std::vector<Access>{{"ssm:GetParameters", param + "a/b"},
                                 {"ssm:GetParameters", param + "c"}}));
  EXPECT_EQ(of("AmazonSSM.GetParametersByPath", R"({"Path": "/a"})"),
            (std::vector<Access>{{"ssm:GetParametersByPath", param + "a"}}));
  EXPECT_EQ(of("AmazonSSM.DescribeParameters", "{}"),
            (std::vector<Access>{{"ssm:DescribeParameters", "*"}}));
  EXPECT_EQ(
      of("secretsmanager.GetSecretValue",
         R"({"SecretId": "arn:aws:secretsmanager:us-west-2:999:secret:db-Ab12Cd"})"),
      (std::vector<Access>{{"secretsmanager:GetSecretValue",
                            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-Ab12Cd"}}));
  EXPECT_EQ(of("secretsmanager.CreateSecret", R"({"Name": "new"})"),
            (std::vector<Access>{{"secretsmanager:CreateSecret",
                                  "arn:aws:secretsmanager:eu-west-1:123456789012:secret:new"}}));
  EXPECT_EQ(of("secretsmanager.ListSecrets", "{}"),
            (std::vector<Access>{{"secretsmanager:ListSecrets", "*"}}));
}

TEST(Authorize, IamMessages) {
  const std::string user = user_arn("123456789012", "dev");
  EXPECT_EQ(user, "arn:aws:iam::123456789012:user/dev");
  auto policy = auth::Policy::parse(R"({"Statement": [
      {"Effect": "Allow", "Action": "codebuild:*", "Resource": "*"},
      {"Effect": "Deny", "Action": "codebuild:DeleteProject", "Resource": "*"}]})")
                    .value();
  EXPECT_FALSE(authorize(&policy, user, {{"codebuild:StartBuild", kP + "app"}}));
  auto denied =
      authorize(&policy, user, {{"codebuild:StartBuild", kP + "app"}, {"ssm:GetParameter", "*"}});
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->type, "AccessDeniedException");
  EXPECT_EQ(denied->status, 400);
  EXPECT_EQ(denied->message,
            "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: "
            "ssm:GetParameter on resource: * because no identity-based policy allows the "
            "ssm:GetParameter action");
  EXPECT_EQ(authorize(&policy, user, {{"codebuild:DeleteProject", kP + "app"}})->message,
            "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: "
            "codebuild:DeleteProject on resource: " +
                kP + "app with an explicit deny in an identity-based policy");
  // A key without a policy may do nothing.
  EXPECT_TRUE(authorize(nullptr, user, {{"codebuild:ListProjects", "*"}}));
}

}  // namespace
}  // namespace kiln::api
