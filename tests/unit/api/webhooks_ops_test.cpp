// CreateWebhook, UpdateWebhook and DeleteWebhook through Service::handle, and the webhook as
// BatchGetProjects, UpdateProject, DeleteProject and ListSourceCredentials see it.
#include <atomic>
#include <thread>
#include <vector>

#include "api/authorize.h"
#include "api/service_fixture.h"
#include "api/webhook_shape.h"

namespace kiln::api {
namespace {

using nlohmann::json;

const std::string kCb = "CodeBuild_20161006.";
const std::string kArn = "arn:aws:codebuild:eu-west-1:123456789012:project/";

json project_input(const std::string& name, const std::string& source_type) {
  json source = {{"type", source_type}, {"location", "https://github.com/octo/app.git"}};
  if (source_type == "NO_SOURCE") source = {{"type", "NO_SOURCE"}, {"buildspec", "version: 0.2"}};
  return {{"name", name},
          {"source", source},
          {"artifacts", {{"type", "NO_ARTIFACTS"}}},
          {"environment",
           {{"type", "LINUX_CONTAINER"},
            {"image", "aws/codebuild/standard:7.0"},
            {"computeType", "BUILD_GENERAL1_SMALL"}}},
          {"serviceRole", "arn:aws:iam::123456789012:role/cb"}};
}

const json kGroups = json::parse(R"([[{"type": "EVENT", "pattern": "PUSH"},
                                      {"type": "HEAD_REF", "pattern": "^refs/heads/main$"}]])");

class WebhooksOpsTest : public ServiceTest {
 protected:
  void SetUp() override {
    // Signed in eu-west-1, so ARNs carry that region.
    ASSERT_EQ(call(kCb + "CreateProject", project_input("demo", "GITHUB"), "codebuild").status,
              200);
  }
  Answer cb(const std::string& op, const json& in) { return call(kCb + op, in, "codebuild"); }
  json webhook_of(const std::string& name) {
    const Answer a = cb("BatchGetProjects", {{"names", {name}}});
    EXPECT_EQ(a.status, 200) << a.text;
    return a.body["projects"][0].value("webhook", json());
  }
  // The sealed secret, as the delivery route will read it; "" when there is none.
  std::string stored_secret(const std::string& name) {
    auto cred = secrets_->source_credential(webhook_secret_name(name));
    return cred ? cred->token : "";
  }
  std::string stored_project_text(const std::string& name) {
    auto rows = store_->get_projects({name});
    return rows && !rows->empty() ? rows->front().json : "";
  }
};

TEST_F(WebhooksOpsTest, CreateShowsTheSecretOnceAndBatchGetProjectsTheRest) {
  const Answer a = cb("CreateWebhook", {{"projectName", "demo"}, {"filterGroups", kGroups}});
  ASSERT_EQ(a.status, 200) << a.text;
  json hook = a.body["webhook"];
  const std::string secret = hook.value("secret", "");
  EXPECT_EQ(secret.size(), 64U);
  EXPECT_EQ(hook["payloadUrl"], "http://127.0.0.1:7447/webhooks/demo");
  EXPECT_EQ(hook["url"], hook["payloadUrl"]);
  EXPECT_EQ(hook["buildType"], "BUILD");
  EXPECT_EQ(hook["status"], "ACTIVE");
  EXPECT_EQ(hook["manualCreation"], false);
  EXPECT_DOUBLE_EQ(hook["lastModifiedSecret"].get<double>(), 1700000000.0);
  ASSERT_EQ(hook["filterGroups"].size(), 1U);
  EXPECT_EQ(hook["filterGroups"][0][0]["type"], "EVENT");
  EXPECT_EQ(hook["filterGroups"][0][0]["pattern"], "PUSH");
  EXPECT_EQ(hook["filterGroups"][0][1]["pattern"], "^refs/heads/main$");

  // CodeBuild shows the secret only when it is made (docs/server.md "Webhooks").
  hook.erase("secret");
  EXPECT_EQ(webhook_of("demo"), hook);
  EXPECT_EQ(stored_secret("demo"), secret);
  EXPECT_EQ(stored_project_text("demo").find(secret), std::string::npos);
  // The sealed secret is not a source credential anyone imported.
  const Answer creds = cb("ListSourceCredentials", json::object());
  EXPECT_EQ(creds.body, json::parse(R"({"sourceCredentialsInfos": []})"));
}

TEST_F(WebhooksOpsTest, CreateRefusesASecondWebhookAndUnknownProjects) {
  ASSERT_EQ(cb("CreateWebhook", {{"projectName", "demo"}}).status, 200);
  const std::string first = stored_secret("demo");
  const Answer again = cb("CreateWebhook", {{"projectName", "demo"}});
  EXPECT_EQ(again.type(), "ResourceAlreadyExistsException");
  EXPECT_EQ(again.message(), "Webhook already exists for project: " + kArn + "demo");
  EXPECT_EQ(stored_secret("demo"), first);  // the refused call changed nothing
  const Answer missing = cb("CreateWebhook", {{"projectName", "nope"}});
  EXPECT_EQ(missing.type(), "ResourceNotFoundException");
  EXPECT_EQ(missing.message(),
            "Project cannot be found: arn:aws:codebuild:us-east-1:123456789012:"
            "project/nope");
  EXPECT_EQ(cb("CreateWebhook", {{"projectName", "bad name"}}).type(), "InvalidInputException");
  EXPECT_EQ(cb("CreateWebhook", json::object()).type(), "InvalidInputException");
}

TEST_F(WebhooksOpsTest, OnlyGitHostSourcesTakeWebhooks) {
  for (const char* type : {"GITHUB_ENTERPRISE", "GITLAB", "GITLAB_SELF_MANAGED", "BITBUCKET"}) {
    const std::string name = std::string("p-") + type;
    ASSERT_EQ(cb("CreateProject", project_input(name, type)).status, 200);
    EXPECT_EQ(cb("CreateWebhook", {{"projectName", name}}).status, 200) << type;
  }
  for (const char* type : {"S3", "GIT", "NO_SOURCE", "CODECOMMIT"}) {
    const std::string name = std::string("q-") + type;
    ASSERT_EQ(cb("CreateProject", project_input(name, type)).status, 200) << type;
    const Answer a = cb("CreateWebhook", {{"projectName", name}});
    EXPECT_EQ(a.type(), "InvalidInputException") << type;
    EXPECT_EQ(a.message(), std::string("Webhooks are not supported for source type ") + type +
                               ": the project's source must be GITHUB, GITHUB_ENTERPRISE, GITLAB, "
                               "GITLAB_SELF_MANAGED or BITBUCKET");
    EXPECT_EQ(stored_secret(name), "");
  }
}

TEST_F(WebhooksOpsTest, BuildTypes) {
  EXPECT_EQ(cb("CreateWebhook", {{"projectName", "demo"}, {"buildType", "BUILD_BATCH"}})
                .body["webhook"]["buildType"],
            "BUILD_BATCH");
  ASSERT_EQ(cb("DeleteWebhook", {{"projectName", "demo"}}).status, 200);
  const Answer buildkite =
      cb("CreateWebhook", {{"projectName", "demo"}, {"buildType", "RUNNER_BUILDKITE_BUILD"}});
  EXPECT_EQ(buildkite.type(), "InvalidInputException");
  EXPECT_EQ(buildkite.message(),
            "buildType RUNNER_BUILDKITE_BUILD is not supported: Kiln runs no Buildkite runner "
            "builds (docs/server.md \"Webhooks\")");
  const Answer other = cb("CreateWebhook", {{"projectName", "demo"}, {"buildType", "NIGHTLY"}});
  EXPECT_EQ(other.type(), "InvalidInputException");
  EXPECT_NE(other.message().find("Member must satisfy enum value set"), std::string::npos);
  EXPECT_TRUE(webhook_of("demo").is_null());
  EXPECT_EQ(stored_secret("demo"), "");
}

TEST_F(WebhooksOpsTest, FiltersRe2RefusesAreInvalidInput) {
  const json push = {{"type", "EVENT"}, {"pattern", "PUSH"}};
  const json lookahead = {{"type", "HEAD_REF"}, {"pattern", "(?=main)"}};
  const Answer a = cb(
      "CreateWebhook",
      {{"projectName", "demo"}, {"filterGroups", json::array({json::array({push, lookahead})})}});
  EXPECT_EQ(a.type(), "InvalidInputException") << a.text;
  // The webhook layer's text (webhook/filter.h), passed on as it is.
  EXPECT_TRUE(
      a.message().starts_with("filterGroups[0][1].pattern: not a valid RE2 regular expression: "))
      << a.message();
  const json head = {{"type", "HEAD_REF"}, {"pattern", "main"}};
  const Answer b = cb("CreateWebhook", {{"projectName", "demo"},
                                        {"filterGroups", json::array({json::array({head})})}});
  EXPECT_EQ(b.type(), "InvalidInputException");
  EXPECT_EQ(b.message(), "filterGroups[0]: a filter group must contain a filter of type EVENT");
  const json branch = {{"type", "BRANCH"}, {"pattern", "main"}};
  EXPECT_EQ(cb("CreateWebhook", {{"projectName", "demo"},
                                 {"filterGroups", json::array({json::array({push, branch})})}})
                .type(),
            "InvalidInputException");
  EXPECT_EQ(cb("CreateWebhook", {{"projectName", "demo"}, {"branchFilter", "(unclosed"}}).type(),
            "InvalidInputException");
  EXPECT_EQ(cb("CreateWebhook", {{"projectName", "demo"}, {"filterGroups", "PUSH"}}).type(),
            "InvalidInputException");
  EXPECT_TRUE(webhook_of("demo").is_null());
  EXPECT_EQ(stored_secret("demo"), "");
  EXPECT_EQ(cb("CreateWebhook", {{"projectName", "demo"}, {"branchFilter", "^main$"}})
                .body["webhook"]["branchFilter"],
            "^main$");
}

TEST_F(WebhooksOpsTest, NewerMembersRoundTrip) {
  const json scope = {{"name", "octo"}, {"scope", "GITHUB_ORGANIZATION"}};
  const json policy = {{"requiresCommentApproval", "FORK_PULL_REQUESTS"},
                       {"approverRoles", {"GITHUB_WRITE", "GITHUB_ADMIN"}}};
  const Answer a = cb("CreateWebhook", {{"projectName", "demo"},
                                        {"manualCreation", true},
                                        {"scopeConfiguration", scope},
                                        {"pullRequestBuildPolicy", policy}});
  ASSERT_EQ(a.status, 200) << a.text;
  const json hook = webhook_of("demo");
  EXPECT_EQ(hook["manualCreation"], true);
  EXPECT_EQ(hook["scopeConfiguration"], scope);
  EXPECT_EQ(hook["pullRequestBuildPolicy"], policy);
  const json worse = {{"requiresCommentApproval", "FORK_PULL_REQUESTS"},
                      {"approverRoles", {"GITHUB_OWNER"}}};
  EXPECT_EQ(
      cb("UpdateWebhook", {{"projectName", "demo"}, {"pullRequestBuildPolicy", worse}}).type(),
      "InvalidInputException");
  EXPECT_EQ(cb("UpdateWebhook", {{"projectName", "demo"},
                                 {"pullRequestBuildPolicy", {{"approverRoles", json::array()}}}})
                .type(),
            "InvalidInputException");
  EXPECT_EQ(webhook_of("demo")["pullRequestBuildPolicy"], policy);
}

TEST_F(WebhooksOpsTest, UpdateChangesWhatIsGivenAndRotatesOnRequest) {
  const std::string first =
      cb("CreateWebhook", {{"projectName", "demo"}, {"filterGroups", kGroups}})
          .body["webhook"]["secret"];
  clock_.advance(std::chrono::milliseconds(61500));
  const json groups = json::parse(R"([[{"type": "EVENT", "pattern": "PULL_REQUEST_CREATED"}]])");
  const Answer plain = cb("UpdateWebhook", {{"projectName", "demo"},
                                            {"filterGroups", groups},
                                            {"buildType", "BUILD_BATCH"},
                                            {"rotateSecret", false}});
  ASSERT_EQ(plain.status, 200) << plain.text;
  EXPECT_FALSE(plain.body["webhook"].contains("secret"));
  EXPECT_EQ(plain.body["webhook"]["filterGroups"][0][0]["pattern"], "PULL_REQUEST_CREATED");
  EXPECT_EQ(plain.body["webhook"]["buildType"], "BUILD_BATCH");
  EXPECT_DOUBLE_EQ(plain.body["webhook"]["lastModifiedSecret"].get<double>(), 1700000000.0);
  EXPECT_EQ(stored_secret("demo"), first);
  EXPECT_EQ(webhook_of("demo"), plain.body["webhook"]);

  const Answer rotated = cb("UpdateWebhook", {{"projectName", "demo"}, {"rotateSecret", true}});
  ASSERT_EQ(rotated.status, 200) << rotated.text;
  const std::string second = rotated.body["webhook"].value("secret", "");
  EXPECT_EQ(second.size(), 64U);
  EXPECT_NE(second, first);
  EXPECT_EQ(stored_secret("demo"), second);
  EXPECT_DOUBLE_EQ(rotated.body["webhook"]["lastModifiedSecret"].get<double>(), 1700000061.5);
  // Members not given stay.
  EXPECT_EQ(rotated.body["webhook"]["buildType"], "BUILD_BATCH");
  EXPECT_EQ(webhook_of("demo").value("secret", ""), "");
  EXPECT_EQ(stored_project_text("demo").find(second), std::string::npos);
}

TEST_F(WebhooksOpsTest, UpdateAndDeleteNeedAWebhook) {
  for (const char* op : {"UpdateWebhook", "DeleteWebhook"}) {
    const Answer a = cb(op, {{"projectName", "demo"}});
    EXPECT_EQ(a.type(), "ResourceNotFoundException") << op;
    EXPECT_EQ(a.message(), "Could not find webhook for project: " + kArn + "demo") << op;
    EXPECT_EQ(cb(op, {{"projectName", "nope"}}).type(), "ResourceNotFoundException") << op;
  }
}

TEST_F(WebhooksOpsTest, DeleteRemovesTheWebhookAndItsSecret) {
  ASSERT_EQ(cb("CreateWebhook", {{"projectName", "demo"}}).status, 200);
  const Answer del = cb("DeleteWebhook", {{"projectName", "demo"}});
  EXPECT_EQ(del.status, 200);
  EXPECT_EQ(del.body, json::object());
  EXPECT_TRUE(webhook_of("demo").is_null());
  EXPECT_EQ(stored_secret("demo"), "");
  // A new one can be made, with a new secret.
  EXPECT_EQ(cb("CreateWebhook", {{"projectName", "demo"}}).status, 200);
}

TEST_F(WebhooksOpsTest, ProjectOperationsKeepOrDropTheWebhook) {
  ASSERT_EQ(cb("CreateWebhook", {{"projectName", "demo"}, {"filterGroups", kGroups}}).status, 200);
  const json before = webhook_of("demo");
  ASSERT_EQ(cb("UpdateProject", {{"name", "demo"}, {"description", "now with a webhook"}}).status,
            200);
  EXPECT_EQ(webhook_of("demo"), before);
  ASSERT_EQ(cb("DeleteProject", {{"name", "demo"}}).status, 200);
  EXPECT_EQ(stored_secret("demo"), "");
  ASSERT_EQ(cb("CreateProject", project_input("demo", "GITHUB")).status, 200);
  EXPECT_TRUE(webhook_of("demo").is_null());
}

TEST_F(WebhooksOpsTest, ConcurrentCreatesLeaveOneWinner) {
  constexpr int kCallers = 8;
  std::atomic<int> created{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&] {
      const Answer a = call(kCb + "CreateWebhook", {{"projectName", "demo"}});
      if (a.status == 200) ++created;
      if (a.type() == "ResourceAlreadyExistsException") ++refused;
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(refused.load(), kCallers - 1);
}

TEST_F(WebhooksOpsTest, PayloadUrlFollowsTheHostHeader) {
  EXPECT_EQ(webhook_payload_url(nullptr, "demo"), "http://localhost/webhooks/demo");
  const std::string odd = "evil.example/x?y";
  EXPECT_EQ(webhook_payload_url(&odd, "demo"), "http://localhost/webhooks/demo");
  const std::string v6 = "[::1]:7447";
  EXPECT_EQ(webhook_payload_url(&v6, "demo"), "http://[::1]:7447/webhooks/demo");
}

TEST(WebhookAccesses, AreCheckedOnTheProject) {
  const ArnContext ctx{"eu-west-1", "123456789012", [](const std::string&) { return ""; }};
  for (const char* op : {"CreateWebhook", "UpdateWebhook", "DeleteWebhook"}) {
    EXPECT_EQ(accesses_of(kCb + op, json{{"projectName", "app"}}, ctx),
              (std::vector<Access>{{std::string("codebuild:") + op, kArn + "app"}}));
  }
}

}  // namespace
}  // namespace kiln::api
