// GitHub and GitHub Enterprise Server deliveries (the same payloads; GHES adds the
// X-GitHub-Enterprise-Host header, which changes nothing here). Events as §9.3's GitHub table;
// fields as §4.1 and §9.2 name them.
#include <cstddef>
#include <cstdint>
#include <string>

#include "webhook/delivery_impl.h"

namespace kiln::webhook::detail {
namespace {

// GitHub lists at most 20 commits in a push payload (the rest only count in the compare view), so
// a list of 20 may be cut short: its files are then a subset of the push's. A push of exactly 20
// commits is marked incomplete too, since the payload cannot tell the two apart.
constexpr std::size_t kMaxListedCommits = 20;

void read_sender(JsonReader& r, const json& body, Event& e) {
  if (const json* sender = r.object(body, "", "sender"))
    read_id(r, *sender, "sender", "id", e.actor_account_id);
}

void read_repository(JsonReader& r, const json& body, Event& e) {
  if (const json* repo = r.object(body, "", "repository")) {
    r.string(*repo, "repository", "name", e.repository_name);
    r.string(*repo, "repository", "clone_url", e.repository_url);
  }
  // Present when the repository belongs to an organization (and in an organization hook's
  // deliveries); ORGANIZATION_NAME is empty otherwise.
  if (const json* org = r.object(body, "", "organization"))
    r.string(*org, "organization", "login", e.organization_name);
}

Result<Event> push(const json& body, Event e) {
  JsonReader r;
  r.string(body, "", "ref", e.head_ref, true);
  r.string(body, "", "before", e.prev_commit, true);
  r.string(body, "", "after", e.commit, true);
  bool deleted = false;
  r.boolean(body, "", "deleted", deleted);
  read_sender(r, body, e);
  read_repository(r, body, e);
  // head_commit is null for a deletion; for a tag pushed at an existing commit it is that commit.
  if (const json* head = r.object(body, "", "head_commit"))
    r.string(*head, "head_commit", "message", e.commit_message);
  PathList files;
  std::size_t listed = 0;
  r.each_object(body, "", "commits", [&](const json& commit, const std::string& at) {
    ++listed;
    read_commit_files(r, commit, at, files);
  });
  if (!r.ok()) return read_failed(r);
  if (deleted || is_zero_commit(e.commit)) {
    std::string why = deleted_reason(e.head_ref);
    return ignore(std::move(e), std::move(why));
  }
  e.type = "PUSH";
  e.changed_files = files.take();
  e.files_complete = listed < kMaxListedCommits;
  return e;
}

const char* pull_request_type(const std::string& action, bool merged) {
  if (action == "opened") return "PULL_REQUEST_CREATED";
  if (action == "reopened") return "PULL_REQUEST_REOPENED";
  if (action == "synchronize") return "PULL_REQUEST_UPDATED";
  if (action == "closed") return merged ? "PULL_REQUEST_MERGED" : "PULL_REQUEST_CLOSED";
  return nullptr;  // edited, labeled, assigned, review_requested, ready_for_review, ...
}

Result<Event> pull_request(const json& body, Event e) {
  JsonReader r;
  std::string action;
  r.string(body, "", "action", action, true);
  const json* pr = r.object(body, "", "pull_request", true);
  if (!r.ok()) return read_failed(r);
  bool merged = false;
  r.boolean(*pr, "pull_request", "merged", merged);
  if (!r.ok()) return read_failed(r);
  const char* type = pull_request_type(action, merged);
  if (type == nullptr) return ignore(std::move(e), "pull_request action " + action);

  std::int64_t number = 0;
  r.integer(*pr, "pull_request", "number", number, true);
  std::string head_ref;
  std::string base_ref;
  if (const json* head = r.object(*pr, "pull_request", "head", true)) {
    r.string(*head, "pull_request.head", "ref", head_ref, true);
    r.string(*head, "pull_request.head", "sha", e.commit, true);
  }
  if (const json* base = r.object(*pr, "pull_request", "base", true))
    r.string(*base, "pull_request.base", "ref", base_ref, true);
  // Also set on an unmerged PR (GitHub's test merge); only a merge's is the merge commit.
  if (merged) r.string(*pr, "pull_request", "merge_commit_sha", e.merge_commit);
  read_sender(r, body, e);
  read_repository(r, body, e);
  if (!r.ok()) return read_failed(r);

  e.type = type;
  e.pull_request = number;
  e.head_ref = full_ref(head_ref);
  e.base_ref = full_ref(base_ref);
  // The payload carries neither the head commit's message nor the changed files (both need an
  // API call GitHub's delivery does not make for us): COMMIT_MESSAGE sees "", and FILE_PATH sees
  // an incomplete, empty list (webhook/filter.h).
  e.files_complete = false;
  return e;
}

Result<Event> release(const json& body, Event e) {
  JsonReader r;
  std::string action;
  r.string(body, "", "action", action, true);
  if (!r.ok()) return read_failed(r);
  // §9.3 maps `released` and `prereleased` only. GitHub sends `published` (and `created`) for the
  // same release as well, one delivery each, so mapping them too would build a release twice.
  const char* type = action == "released"      ? "RELEASED"
                     : action == "prereleased" ? "PRERELEASED"
                                               : nullptr;
  if (type == nullptr) return ignore(std::move(e), "release action " + action);
  const json* rel = r.object(body, "", "release", true);
  if (rel != nullptr) {
    r.string(*rel, "release", "tag_name", e.tag_name, true);
    r.string(*rel, "release", "name", e.release_name);
    std::string target;
    r.string(*rel, "release", "target_commitish", target);
    // Usually a branch name (the tag already exists, or is made from that branch's head): only a
    // full commit id names the commit.
    if (is_commit_id(target)) e.commit = target;
  }
  read_sender(r, body, e);
  read_repository(r, body, e);
  if (!r.ok()) return read_failed(r);
  e.type = type;
  e.head_ref = full_ref(e.tag_name, /*tag=*/true);
  e.files_complete = false;
  return e;
}

Result<Event> workflow_job(const json& body, Event e) {
  JsonReader r;
  std::string action;
  r.string(body, "", "action", action, true);
  if (!r.ok()) return read_failed(r);
  if (action != "queued") return ignore(std::move(e), "workflow_job action " + action);
  if (const json* job = r.object(body, "", "workflow_job", true)) {
    r.string(*job, "workflow_job", "workflow_name", e.workflow_name);
    // head_branch is a branch or a tag name without saying which, so HEAD_REF stays empty (§9.2
    // scopes it to push and pull request events anyway).
    r.string(*job, "workflow_job", "head_sha", e.commit);
  }
  read_sender(r, body, e);
  read_repository(r, body, e);
  if (!r.ok()) return read_failed(r);
  e.type = "WORKFLOW_JOB_QUEUED";
  e.files_complete = false;
  return e;
}

}  // namespace

Result<Event> read_github(const std::string& event, const json& body, Event e) {
  if (event == "push") return push(body, std::move(e));
  if (event == "pull_request") return pull_request(body, std::move(e));
  if (event == "release") return release(body, std::move(e));
  if (event == "workflow_job") return workflow_job(body, std::move(e));
  if (event == "ping") return ignore(std::move(e), "ping");
  // A created or deleted branch or tag also arrives as a push, which is what CodeBuild builds.
  if (event == "create" || event == "delete")
    return ignore(std::move(e), event + " event (the push event for the same ref is built)");
  return ignore(std::move(e), "GitHub event " + event + " starts no build");
}

}  // namespace kiln::webhook::detail
