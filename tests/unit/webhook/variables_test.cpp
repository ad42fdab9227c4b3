// The source version and CODEBUILD_WEBHOOK_* variables per trigger, against the observed values
// of docs/reference/codebuild-semantics.md §4.2 (GitHub) and the definitions of §4.1.
#include "webhook/variables.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace kiln::webhook {
namespace {

using Vars = std::vector<std::pair<std::string, std::string>>;

const std::string kHead = "9049f1265b7d61be4a8904a9a27120d2064dab3b";
const std::string kPrev = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
const std::string kZero(40, '0');

Event push(const std::string& ref, const std::string& before) {
  Event e;
  e.type = "PUSH";
  e.head_ref = ref;
  e.commit = kHead;
  e.prev_commit = before;
  e.actor_account_id = "88621008";
  return e;
}

TEST(WebhookVariables, PushToExistingBranch) {
  const Event e = push("refs/heads/master", kPrev);
  EXPECT_EQ(source_version(e), kHead);
  EXPECT_EQ(trigger(e), "branch/master");
  EXPECT_EQ(webhook_variables(e), (Vars{
                                      {"CODEBUILD_WEBHOOK_EVENT", "PUSH"},
                                      {"CODEBUILD_WEBHOOK_HEAD_REF", "refs/heads/master"},
                                      {"CODEBUILD_WEBHOOK_BASE_REF", ""},
                                      {"CODEBUILD_WEBHOOK_ACTOR_ACCOUNT_ID", "88621008"},
                                      {"CODEBUILD_WEBHOOK_PREV_COMMIT", kPrev},
                                      {"CODEBUILD_WEBHOOK_TRIGGER", "branch/master"},
                                      {"CODEBUILD_WEBHOOK_MERGE_COMMIT", ""},
                                  }));
}

TEST(WebhookVariables, PushOfNewBranchHasZeroPrevCommit) {
  const Event e = push("refs/heads/feature/x", kZero);
  EXPECT_EQ(trigger(e), "branch/feature/x");  // the name keeps its slashes
  EXPECT_EQ(webhook_variables(e)[4],
            (std::pair<std::string, std::string>{"CODEBUILD_WEBHOOK_PREV_COMMIT", kZero}));
}

TEST(WebhookVariables, TagPush) {
  const Event e = push("refs/tags/0.0.1", kZero);
  EXPECT_EQ(source_version(e), kHead);
  EXPECT_EQ(trigger(e), "tag/0.0.1");
  EXPECT_EQ(webhook_variables(e)[5].second, "tag/0.0.1");
}

TEST(WebhookVariables, PullRequest) {
  Event e;
  e.type = "PULL_REQUEST_CREATED";
  e.head_ref = "refs/heads/master";
  e.base_ref = "refs/heads/master";
  e.pull_request = 2;
  e.commit = kHead;
  e.prev_commit = kPrev;  // even if a parser filled it, a PR has no previous commit (§4.1)
  e.actor_account_id = "21031067";
  EXPECT_EQ(source_version(e), "pr/2");
  EXPECT_EQ(trigger(e), "pr/2");
  EXPECT_EQ(webhook_variables(e), (Vars{
                                      {"CODEBUILD_WEBHOOK_EVENT", "PULL_REQUEST_CREATED"},
                                      {"CODEBUILD_WEBHOOK_HEAD_REF", "refs/heads/master"},
                                      {"CODEBUILD_WEBHOOK_BASE_REF", "refs/heads/master"},
                                      {"CODEBUILD_WEBHOOK_ACTOR_ACCOUNT_ID", "21031067"},
                                      {"CODEBUILD_WEBHOOK_PREV_COMMIT", ""},
                                      {"CODEBUILD_WEBHOOK_TRIGGER", "pr/2"},
                                      {"CODEBUILD_WEBHOOK_MERGE_COMMIT", ""},
                                  }));
}

TEST(WebhookVariables, MergedPullRequestCarriesMergeCommit) {
  Event e;
  e.type = "PULL_REQUEST_MERGED";
  e.head_ref = "refs/heads/feature";
  e.base_ref = "refs/heads/main";
  e.pull_request = 7;
  e.commit = kHead;
  e.merge_commit = kPrev;
  EXPECT_EQ(source_version(e), "pr/7");
  EXPECT_EQ(webhook_variables(e)[6],
            (std::pair<std::string, std::string>{"CODEBUILD_WEBHOOK_MERGE_COMMIT", kPrev}));
}

TEST(WebhookVariables, ReleaseNamesItsTag) {
  Event e;
  e.type = "RELEASED";
  e.tag_name = "v1.0.0";
  e.commit = kHead;
  EXPECT_EQ(source_version(e), kHead);
  EXPECT_EQ(trigger(e), "tag/v1.0.0");
  e.head_ref = "refs/tags/v1.0.0";
  EXPECT_EQ(trigger(e), "tag/v1.0.0");
  const Vars vars = webhook_variables(e);
  EXPECT_EQ(vars[2].second, "");  // BASE_REF
  EXPECT_EQ(vars[4].second, "");  // PREV_COMMIT
}

TEST(WebhookVariables, WorkflowJobWithoutRefHasEmptyTrigger) {
  Event e;
  e.type = "WORKFLOW_JOB_QUEUED";
  e.workflow_name = "CI";
  e.commit = kHead;
  EXPECT_EQ(trigger(e), "");
  const Vars vars = webhook_variables(e);
  ASSERT_EQ(vars.size(), 7u);  // every variable is present, empty where it does not apply
  EXPECT_EQ(vars[0].second, "WORKFLOW_JOB_QUEUED");
  for (std::size_t i = 1; i < vars.size(); ++i) EXPECT_EQ(vars[i].second, "") << vars[i].first;
}

}  // namespace
}  // namespace kiln::webhook
