// parse_delivery over every file of tests/corpus/webhooks, with the event header SOURCES.tsv
// names, asserting the fields §4.1 and §9.2 read against the values in each file.
#include "webhook/delivery.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "webhook/delivery_corpus.h"

namespace kiln::webhook {
namespace {

using namespace test;  // NOLINT(google-build-using-namespace)

TEST(DeliveryCorpus, EveryFileParsesWithItsEventHeader) {
  const auto rows = sources();
  ASSERT_EQ(rows.size(), 26u);
  for (const auto& [file, event] : rows) {
    ASSERT_TRUE(fs::exists(kCorpus / file)) << file;
    auto e = parse_delivery(headers_for(file, event), body_of(file));
    ASSERT_TRUE(e.has_value()) << file << ": " << e.error().describe();
    EXPECT_TRUE(e->type.empty() != e->ignored.empty()) << file << ": type xor ignored";
  }
}

TEST(DeliveryGitHub, PushToExistingBranchWithEscapedSlashes) {
  const Event e = parse_file("github/push-branch.json");
  EXPECT_EQ(e.provider, Provider::kGitHub);
  EXPECT_EQ(e.type, "PUSH");
  EXPECT_EQ(e.head_ref, "refs/heads/master");
  EXPECT_EQ(e.base_ref, "");
  EXPECT_EQ(e.commit, "8ddec647cc7a5a819669ad55d08cfabe49925311");
  EXPECT_EQ(e.prev_commit, "14e514deb5f85f4de5e2ed24e85cfa038f36d60e");
  EXPECT_EQ(e.actor_account_id, "613331");
  EXPECT_EQ(e.commit_message, "Add event tests that can be easily expanded to cover more events");
  EXPECT_EQ(e.changed_files,
            (Files{"tests/EventTest.php", "tests/events/ping/expected.bin",
                   "tests/events/ping/payload.json", "tests/phpunit.xml", "GitHub_WebHook.php"}));
  EXPECT_TRUE(e.files_complete);
  EXPECT_FALSE(e.pull_request.has_value());
  EXPECT_EQ(e.repository_name, "GitHub-WebHook");
  EXPECT_EQ(e.repository_url, "https://github.com/xPaw/GitHub-WebHook.git");
  EXPECT_EQ(e.delivery_id, "72d3162e-cc78-11e3-81ab-4c9367dc0958");
  EXPECT_EQ(e.user_agent, "GitHub-Hookshot/1c6af21");
}

TEST(DeliveryGitHub, PushCreatingBranchOrTagHasZeroPrevCommit) {
  Event e = parse_file("github/push-branch-created.json");
  EXPECT_EQ(e.type, "PUSH");
  EXPECT_EQ(e.head_ref, "refs/heads/master");
  EXPECT_EQ(e.commit, "6113728f27ae82c7b1a177c8d03f9e96e0adf246");
  EXPECT_EQ(e.prev_commit, kZeros);
  EXPECT_EQ(e.actor_account_id, "21031067");
  EXPECT_EQ(e.commit_message, "Initial commit");
  EXPECT_EQ(e.changed_files, (Files{"README.md"}));

  e = parse_file("github/push-tag-created.json");
  EXPECT_EQ(e.type, "PUSH");
  EXPECT_EQ(e.head_ref, "refs/tags/v0.0.1");
  EXPECT_EQ(e.commit, "d2b75aa7797ec26b088fa2dd527e9d2c052fcedd");
  EXPECT_EQ(e.prev_commit, kZeros);
  EXPECT_EQ(e.actor_account_id, "817538");
  EXPECT_EQ(e.commit_message, "Update .drone.yml");
  EXPECT_TRUE(e.changed_files.empty());
}

TEST(DeliveryGitHub, DeletedBranchOrTagIsIgnored) {
  Event e = parse_file("github/push-branch-deleted.json");
  EXPECT_EQ(e.type, "");
  EXPECT_EQ(e.ignored, "branch deleted");
  EXPECT_EQ(e.head_ref, "refs/heads/feature-branch");
  e = parse_file("github/push-tag-deleted.json");
  EXPECT_EQ(e.type, "");
  EXPECT_EQ(e.ignored, "tag deleted");
  // `after` alone (no `deleted` member) is enough.
  e = parse_edited("github/push-tag-deleted.json", "push", [](json& j) { j.erase("deleted"); });
  EXPECT_EQ(e.ignored, "tag deleted");
}

TEST(DeliveryGitHub, TwentyListedCommitsMayBeTruncated) {
  auto with_commits = [](std::size_t n) {
    return [n](json& j) {
      json c = j["commits"][0];
      j["commits"] = json::array();
      for (std::size_t i = 0; i < n; ++i) {
        c["added"] = json::array({"f" + std::to_string(i % 3)});
        j["commits"].push_back(c);
      }
    };
  };
  Event e = parse_edited("github/push-branch.json", "push", with_commits(19));
  EXPECT_TRUE(e.files_complete);
  EXPECT_EQ(e.changed_files, (Files{"f0", "GitHub_WebHook.php", "f1", "f2"}));
  e = parse_edited("github/push-branch.json", "push", with_commits(20));
  EXPECT_FALSE(e.files_complete);
}

TEST(DeliveryGitHub, PullRequestActions) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"github/pull_request-opened.json", "PULL_REQUEST_CREATED"},
      {"github/pull_request-synchronize.json", "PULL_REQUEST_UPDATED"},
      {"github/pull_request-reopened.json", "PULL_REQUEST_REOPENED"},
      {"github/pull_request-closed-unmerged.json", "PULL_REQUEST_CLOSED"}};
  for (const auto& [file, type] : cases) {
    const Event e = parse_file(file);
    EXPECT_EQ(e.type, type) << file;
    EXPECT_EQ(e.pull_request, 2) << file;
    EXPECT_EQ(e.head_ref, "refs/heads/changes") << file;
    EXPECT_EQ(e.base_ref, "refs/heads/master") << file;
    EXPECT_EQ(e.commit, "ec26c3e57ca3a959ca5aad62de7213c562f8c821") << file;
    EXPECT_EQ(e.prev_commit, "") << file;
    EXPECT_EQ(e.actor_account_id, "21031067") << file;
    // closed.payload has a merge_commit_sha (GitHub's test merge) though nothing was merged.
    EXPECT_EQ(e.merge_commit, "") << file;
    EXPECT_EQ(e.commit_message, "") << file;
    EXPECT_TRUE(e.changed_files.empty()) << file;
    EXPECT_FALSE(e.files_complete) << file;
    EXPECT_EQ(e.repository_name, "Hello-World") << file;
  }
}

TEST(DeliveryGitHub, ClosedAndMergedIsMerged) {
  const Event e = parse_edited("github/pull_request-closed-unmerged.json", "pull_request",
                               [](json& j) { j["pull_request"]["merged"] = true; });
  EXPECT_EQ(e.type, "PULL_REQUEST_MERGED");
  EXPECT_EQ(e.merge_commit, "c4295bd74fb0f4fda03689c3df3f2803b658fd85");
}

TEST(DeliveryGitHub, OtherPullRequestActionsAreIgnored) {
  const Event e = parse_edited("github/pull_request-opened.json", "pull_request",
                               [](json& j) { j["action"] = "labeled"; });
  EXPECT_EQ(e.type, "");
  EXPECT_EQ(e.ignored, "pull_request action labeled");
}

TEST(DeliveryGitHub, ReleasedAndPrereleasedButNotPublished) {
  Event e = parse_file("github/release-prereleased.json");
  EXPECT_EQ(e.type, "PRERELEASED");
  EXPECT_EQ(e.tag_name, "0.0.1");
  EXPECT_EQ(e.release_name, "");
  EXPECT_EQ(e.head_ref, "refs/tags/0.0.1");
  EXPECT_EQ(e.commit, "");  // target_commitish is "master"

  e = parse_file("github/release-published.json");
  EXPECT_EQ(e.type, "");
  EXPECT_EQ(e.ignored, "release action published");

  e = parse_edited("github/release-published.json", "release", [](json& j) {
    j["action"] = "released";
    j["release"]["name"] = "First";
    j["release"]["target_commitish"] = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
  });
  EXPECT_EQ(e.type, "RELEASED");
  EXPECT_EQ(e.release_name, "First");
  EXPECT_EQ(e.commit, "6113728f27ae82c7b1a177c8d03f9e96e0adf246");
}

TEST(DeliveryGitHub, WorkflowJobQueued) {
  Event e = parse_file("github/workflow_job-queued.json");
  EXPECT_EQ(e.type, "WORKFLOW_JOB_QUEUED");
  EXPECT_EQ(e.workflow_name, "CodeQL");
  EXPECT_EQ(e.commit, "3484a3fb816e0859fd6e1cea078d76385ff50625");
  EXPECT_EQ(e.actor_account_id, "21031067");
  e = parse_edited("github/workflow_job-queued.json", "workflow_job",
                   [](json& j) { j["action"] = "in_progress"; });
  EXPECT_EQ(e.ignored, "workflow_job action in_progress");
}

TEST(DeliveryGitHub, PingCreateDeleteAndOtherEventsAreIgnored) {
  EXPECT_EQ(parse_file("github/ping.json").ignored, "ping");
  for (const char* file : {"github/create-tag.json", "github/delete-tag.json"}) {
    const Event e = parse_file(file);
    EXPECT_EQ(e.type, "") << file;
    EXPECT_NE(e.ignored, "") << file;
  }
  auto e = parse_delivery({{"x-github-event", "issues"}}, "{}");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->ignored, "GitHub event issues starts no build");
}

TEST(DeliveryGitLab, PushCountsCommitsItDoesNotList) {
  const Event e = parse_file("gitlab/push.json");
  EXPECT_EQ(e.provider, Provider::kGitLab);
  EXPECT_EQ(e.type, "PUSH");
  EXPECT_EQ(e.head_ref, "refs/heads/master");
  EXPECT_EQ(e.commit, "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
  EXPECT_EQ(e.prev_commit, "95790bf891e76fee5e1747ab589903a6a1f80f22");
  EXPECT_EQ(e.actor_account_id, "4");
  EXPECT_EQ(e.commit_message, "fixed readme");
  EXPECT_EQ(e.changed_files, (Files{"CHANGELOG", "app/controller/application.rb"}));
  EXPECT_FALSE(e.files_complete);  // total_commits_count 4, 2 listed
  EXPECT_EQ(e.repository_name, "Diaspora");
  EXPECT_EQ(e.repository_url, "http://example.com/mike/diaspora.git");
  EXPECT_EQ(e.delivery_id, "gl-uuid");
  const Event all =
      parse_edited("gitlab/push.json", "Push Hook", [](json& j) { j["total_commits_count"] = 2; });
  EXPECT_TRUE(all.files_complete);
}

TEST(DeliveryGitLab, TagPushAndDeletion) {
  Event e = parse_file("gitlab/tag_push.json");
  EXPECT_EQ(e.type, "PUSH");
  EXPECT_EQ(e.head_ref, "refs/tags/v1.0.0");
  EXPECT_EQ(e.commit, "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7");
  EXPECT_EQ(e.prev_commit, kZeros);
  EXPECT_EQ(e.actor_account_id, "1");
  EXPECT_TRUE(e.changed_files.empty());
  EXPECT_TRUE(e.files_complete);
  e = parse_edited("gitlab/tag_push.json", "Tag Push Hook", [](json& j) {
    j["before"] = j["after"];
    j["after"] = std::string(40, '0');
    j["checkout_sha"] = nullptr;
  });
  EXPECT_EQ(e.ignored, "tag deleted");
}

TEST(DeliveryGitLab, MergeRequests) {
  Event e = parse_file("gitlab/merge_request-open.json");
  EXPECT_EQ(e.type, "PULL_REQUEST_CREATED");
  EXPECT_EQ(e.pull_request, 12);
  EXPECT_EQ(e.head_ref, "refs/heads/patch-1");
  EXPECT_EQ(e.base_ref, "refs/heads/master");
  EXPECT_EQ(e.commit, "d2eae324ca26242abca45d7b49d582cddb2a4f15");
  EXPECT_EQ(e.commit_message, "Update main.tf");
  EXPECT_EQ(e.actor_account_id, "");  // this payload's `user` has no id
  EXPECT_EQ(e.merge_commit, "");
  EXPECT_FALSE(e.files_complete);
  EXPECT_EQ(e.repository_url, "https://gitlab.com/lkysow/atlantis-example.git");

  e = parse_file("gitlab/merge_request-update-new-commit.json");
  EXPECT_EQ(e.type, "PULL_REQUEST_UPDATED");
  EXPECT_EQ(e.pull_request, 3);
  EXPECT_EQ(e.head_ref, "refs/heads/get-event-payload");
  EXPECT_EQ(e.commit, "5ff66a1f7404deee915b50998c340e96d995f048");
  EXPECT_EQ(e.commit_message, "New commit\n");

  e = parse_file("gitlab/merge_request-merge.json");
  EXPECT_EQ(e.type, "PULL_REQUEST_MERGED");
  EXPECT_EQ(e.pull_request, 1);
  EXPECT_EQ(e.head_ref, "refs/heads/feature");
  EXPECT_EQ(e.base_ref, "refs/heads/master");
  EXPECT_EQ(e.commit, "c4c79227ed610f1151f05bbc5be33b4f340d39c8");
  EXPECT_EQ(e.merge_commit, "78a76ee6b4992a6baf64c59fc4c44c7323d60438");
}

TEST(DeliveryGitLab, MergeRequestEdgeCases) {
  const std::string file = "gitlab/merge_request-open.json";
  // Newer GitLab sends force_remove_source_branch as a boolean, older as "0"/"1"; user.id too.
  Event e = parse_edited(file, "Merge Request Hook", [](json& j) {
    j["object_attributes"]["merge_params"]["force_remove_source_branch"] = true;
    j["user"]["id"] = 1755902;
  });
  EXPECT_EQ(e.type, "PULL_REQUEST_CREATED");
  EXPECT_EQ(e.actor_account_id, "1755902");
  e = parse_edited(file, "Merge Request Hook",
                   [](json& j) { j["object_attributes"].erase("action"); });
  EXPECT_EQ(e.ignored, "merge request without an action");
  e = parse_edited(file, "Merge Request Hook",
                   [](json& j) { j["object_attributes"]["action"] = "approved"; });
  EXPECT_EQ(e.ignored, "merge request action approved");
  e = parse_edited(file, "Merge Request Hook",
                   [](json& j) { j["object_attributes"]["action"] = "close"; });
  EXPECT_EQ(e.type, "PULL_REQUEST_CLOSED");
  e = parse_edited(file, "Merge Request Hook",
                   [](json& j) { j["object_attributes"]["action"] = "reopen"; });
  EXPECT_EQ(e.type, "PULL_REQUEST_REOPENED");
}

TEST(DeliveryGitLab, ReleaseAndJobHooks) {
  const json release = {{"object_kind", "release"},
                        {"action", "create"},
                        {"tag", "v1.2"},
                        {"name", "Release 1.2"},
                        {"commit", {{"id", "abc"}}},
                        {"project", {{"name", "p"}, {"git_http_url", "https://gl/p.git"}}}};
  auto e = parse_delivery({{"x-gitlab-event", "Release Hook"}}, release.dump());
  ASSERT_TRUE(e.has_value()) << e.error().describe();
  EXPECT_EQ(e->type, "RELEASED");
  EXPECT_EQ(e->tag_name, "v1.2");
  EXPECT_EQ(e->release_name, "Release 1.2");
  EXPECT_EQ(e->head_ref, "refs/tags/v1.2");
  EXPECT_EQ(e->commit, "abc");
  json deleted = release;
  deleted["action"] = "delete";
  EXPECT_EQ(parse_delivery({{"x-gitlab-event", "Release Hook"}}, deleted.dump())->ignored,
            "release action delete");

  json job = {{"object_kind", "build"},
              {"build_status", "pending"},
              {"ref", "main"},
              {"tag", false},
              {"sha", "def"},
              {"user", {{"id", 7}}},
              {"commit", {{"id", 99}, {"name", "nightly"}}}};
  e = parse_delivery({{"x-gitlab-event", "Job Hook"}}, job.dump());
  ASSERT_TRUE(e.has_value()) << e.error().describe();
  EXPECT_EQ(e->type, "WORKFLOW_JOB_QUEUED");
  EXPECT_EQ(e->workflow_name, "nightly");
  EXPECT_EQ(e->head_ref, "refs/heads/main");
  EXPECT_EQ(e->commit, "def");
  EXPECT_EQ(e->actor_account_id, "7");
  for (const char* status : {"created", "running", "success"}) {
    job["build_status"] = status;
    EXPECT_EQ(parse_delivery({{"x-gitlab-event", "Job Hook"}}, job.dump())->ignored,
              std::string("job status ") + status);
  }
  EXPECT_EQ(parse_delivery({{"x-gitlab-event", "Note Hook"}}, "{}")->ignored,
            "GitLab event Note Hook starts no build");
}

TEST(DeliveryBitbucket, Pushes) {
  Event e = parse_file("bitbucket/repo-push.json");
  EXPECT_EQ(e.provider, Provider::kBitbucket);
  EXPECT_EQ(e.type, "PUSH");
  EXPECT_EQ(e.head_ref, "refs/heads/master");
  EXPECT_EQ(e.commit, "141977fedf5cf35aa290ac87d4b5177ac4cd9de1");
  EXPECT_EQ(e.prev_commit, "40e7580cf11311d84a6e5e97e2cbba6df1675750");
  EXPECT_EQ(e.actor_account_id, "557058:2a6349dc-4346-4805-bd84-3abdd0812d17");
  EXPECT_EQ(e.commit_message, "Update README\n");
  EXPECT_TRUE(e.changed_files.empty());
  EXPECT_FALSE(e.files_complete);
  EXPECT_EQ(e.repository_name, "foo");
  EXPECT_EQ(e.repository_url, "https://bitbucket.org/brydzewski/foo.git");
  EXPECT_EQ(e.delivery_id, "bb-uuid");

  e = parse_file("bitbucket/repo-push-tag-created.json");
  EXPECT_EQ(e.type, "PUSH");
  EXPECT_EQ(e.head_ref, "refs/tags/feature/x");
  EXPECT_EQ(e.commit, "141977fedf5cf35aa290ac87d4b5177ac4cd9de1");
  EXPECT_EQ(e.prev_commit, kZeros);

  e = parse_file("bitbucket/repo-push-branch-deleted.json");
  EXPECT_EQ(e.type, "");
  EXPECT_EQ(e.ignored, "branch deleted");

  e = parse_edited("bitbucket/repo-push.json", "repo:push",
                   [](json& j) { j["actor"].erase("account_id"); });
  EXPECT_EQ(e.actor_account_id, "{87bb15eb-47c1-49b3-9f16-ca824a2979a4}");
}

TEST(DeliveryBitbucket, PullRequests) {
  Event e = parse_file("bitbucket/pullrequest-created.json");
  EXPECT_EQ(e.type, "PULL_REQUEST_CREATED");
  EXPECT_EQ(e.pull_request, 1);
  EXPECT_EQ(e.head_ref, "refs/heads/develop");
  EXPECT_EQ(e.base_ref, "refs/heads/master");
  EXPECT_EQ(e.commit, "507a576e59b3");
  EXPECT_EQ(e.merge_commit, "");
  EXPECT_EQ(e.actor_account_id, "557058:2a6349dc-4346-4805-bd84-3abdd0812d17");
  e = parse_file("bitbucket/pullrequest-updated.json");
  EXPECT_EQ(e.type, "PULL_REQUEST_UPDATED");
  EXPECT_EQ(e.commit, "0704fc5beccc");
  e = parse_file("bitbucket/pullrequest-fulfilled.json");
  EXPECT_EQ(e.type, "PULL_REQUEST_MERGED");
  EXPECT_EQ(e.commit, "0704fc5beccc");
  EXPECT_EQ(e.merge_commit, "4f8f6de9d0ff");
  auto rejected = parse_delivery({{"x-event-key", "pullrequest:rejected"}},
                                 body_of("bitbucket/pullrequest-created.json"));
  ASSERT_TRUE(rejected.has_value());
  EXPECT_EQ(rejected->type, "PULL_REQUEST_CLOSED");
  EXPECT_EQ(parse_delivery({{"x-event-key", "repo:fork"}}, "{}")->ignored,
            "Bitbucket event repo:fork starts no build");
}

}  // namespace
}  // namespace kiln::webhook
