// A git host's webhook delivery, reduced to what CodeBuild's filter groups and CODEBUILD_WEBHOOK_*
// variables look at (docs/reference/codebuild-semantics.md §9 and §4.1). The three providers'
// payloads (webhook/delivery.h) all become this one shape, so the filters (webhook/filter.h) and
// the variables (webhook/variables.h) know nothing of GitHub, GitLab or Bitbucket.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kiln::webhook {

enum class Provider { kGitHub, kGitLab, kBitbucket };

// "GITHUB", "GITLAB", "BITBUCKET": the ProjectSource types CodeBuild names them by. A GitHub
// Enterprise Server delivery is kGitHub (its payloads are GitHub's); GitLab self-managed is
// kGitLab.
const char* provider_name(Provider p);

// Request headers with lower-cased names (HTTP header names are case-insensitive).
using Headers = std::map<std::string, std::string>;

struct Event {
  Provider provider = Provider::kGitHub;
  // §9.3's event: PUSH, PULL_REQUEST_CREATED, PULL_REQUEST_UPDATED, PULL_REQUEST_REOPENED,
  // PULL_REQUEST_MERGED, PULL_REQUEST_CLOSED, RELEASED, PRERELEASED or WORKFLOW_JOB_QUEUED.
  // Empty: a delivery that starts no build whatever the filters say (a ping, GitHub's create and
  // delete, a pushed branch's deletion, a PR action CodeBuild ignores); `ignored` says why.
  std::string type;
  std::string ignored;

  std::string delivery_id;  // X-GitHub-Delivery, X-Request-UUID, X-Gitlab-Event-UUID; may be empty
  std::string user_agent;   // CODEBUILD_INITIATOR of the build ("GitHub-Hookshot/1c6af21")

  std::string actor_account_id;  // GitHub sender.id, Bitbucket actor.account_id, GitLab user id
  std::string head_ref;          // "refs/heads/x" or "refs/tags/x", also for Bitbucket and GitLab
  std::string base_ref;          // pull requests only: "refs/heads/main"
  std::string commit;            // the commit to build (push: after; PR: the head commit)
  std::string prev_commit;       // push only: before (40 zeros for a new branch or tag)
  std::string merge_commit;      // a merged PR's merge or squash commit, when the payload has it
  std::optional<std::int64_t> pull_request;  // the PR's number (GitLab: the MR's iid)
  std::string commit_message;                // the head commit's message
  // Paths changed by the pushed commits the payload lists (added, modified and removed, each
  // once, in first-seen order). `files_complete` is false when the provider listed fewer commits
  // than were pushed (GitHub lists at most 20, GitLab gives total_commits_count), or for a pull
  // request, whose payload lists no files: filter.h says how FILE_PATH treats that.
  std::vector<std::string> changed_files;
  bool files_complete = true;
  std::string tag_name;           // RELEASED, PRERELEASED: release.tag_name
  std::string release_name;       // RELEASED, PRERELEASED: release.name
  std::string workflow_name;      // WORKFLOW_JOB_QUEUED: workflow_job.workflow_name
  std::string repository_name;    // repository.name ("Hello-World")
  std::string organization_name;  // GitHub organization.login, when the payload has one
  std::string repository_url;     // the repository's clone URL (https)
};

}  // namespace kiln::webhook
