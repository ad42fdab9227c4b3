// GitLab (gitlab.com and self-managed) deliveries. Events as §9.3's GitLab table, plus
// "Tag Push Hook" (a tag push, which GitHub and Bitbucket also deliver as PUSH with a refs/tags/
// HEAD_REF). GitLab names the actor by user id: `user_id` in push hooks, `user.id` elsewhere
// (older merge request payloads, like the corpus's, have no id at all: the actor is then empty).
#include <cstddef>
#include <cstdint>
#include <string>

#include "webhook/delivery_impl.h"

namespace kiln::webhook::detail {
namespace {

void read_user(JsonReader& r, const json& body, Event& e) {
  read_id(r, body, "", "user_id", e.actor_account_id);
  if (const json* user = r.object(body, "", "user"))
    read_id(r, *user, "user", "id", e.actor_account_id);
}

// `project` since GitLab 8.5; `repository` before it, and still sent alongside.
void read_project(JsonReader& r, const json& body, Event& e) {
  for (const char* key : {"repository", "project"}) {
    if (const json* p = r.object(body, "", key)) {
      r.string(*p, key, "name", e.repository_name);
      r.string(*p, key, "git_http_url", e.repository_url);
    }
  }
}

// "Push Hook" and "Tag Push Hook": the same payload.
Result<Event> push(const json& body, Event e) {
  JsonReader r;
  std::string after;
  std::string checkout;
  r.string(body, "", "ref", e.head_ref, true);
  r.string(body, "", "before", e.prev_commit, true);
  r.string(body, "", "after", after, true);
  // An annotated tag's `after` is the tag object; checkout_sha is the commit it points at (and
  // null for a deletion).
  r.string(body, "", "checkout_sha", checkout);
  std::int64_t total = -1;
  r.integer(body, "", "total_commits_count", total);
  read_user(r, body, e);
  read_project(r, body, e);
  e.commit = checkout.empty() ? after : checkout;
  PathList files;
  std::size_t listed = 0;
  r.each_object(body, "", "commits", [&](const json& commit, const std::string& at) {
    ++listed;
    read_commit_files(r, commit, at, files);
    std::string id;
    r.string(commit, at, "id", id);
    if (id == e.commit) r.string(commit, at, "message", e.commit_message);
  });
  if (!r.ok()) return read_failed(r);
  if (is_zero_commit(after)) {
    std::string why = deleted_reason(e.head_ref);
    return ignore(std::move(e), std::move(why));
  }
  e.type = "PUSH";
  e.changed_files = files.take();
  // GitLab lists at most 20 commits and says how many were pushed: the count is authoritative.
  e.files_complete = total < 0 || static_cast<std::size_t>(total) <= listed;
  return e;
}

const char* merge_request_type(const std::string& action) {
  if (action == "open") return "PULL_REQUEST_CREATED";
  if (action == "update") return "PULL_REQUEST_UPDATED";
  if (action == "merge") return "PULL_REQUEST_MERGED";
  if (action == "reopen") return "PULL_REQUEST_REOPENED";
  if (action == "close") return "PULL_REQUEST_CLOSED";
  return nullptr;  // approved, unapproved, approval, unapproval
}

Result<Event> merge_request(const json& body, Event e) {
  JsonReader r;
  const json* mr = r.object(body, "", "object_attributes", true);
  if (mr == nullptr) return read_failed(r);  // required: the reader says it is missing
  std::string action;
  r.string(*mr, "object_attributes", "action", action);
  if (!r.ok()) return read_failed(r);
  // Payloads from before GitLab 8.x have no action; their `state` cannot tell an open from an
  // update, so they start nothing rather than a guess.
  if (action.empty()) return ignore(std::move(e), "merge request without an action");
  const char* type = merge_request_type(action);
  if (type == nullptr) return ignore(std::move(e), "merge request action " + action);

  const std::string at = "object_attributes";
  std::int64_t iid = 0;
  std::string source;
  std::string target;
  r.integer(*mr, at, "iid", iid, true);
  r.string(*mr, at, "source_branch", source, true);
  r.string(*mr, at, "target_branch", target, true);
  if (const json* last = r.object(*mr, at, "last_commit", true)) {
    r.string(*last, at + ".last_commit", "id", e.commit, true);
    r.string(*last, at + ".last_commit", "message", e.commit_message);
  }
  if (action == "merge") r.string(*mr, at, "merge_commit_sha", e.merge_commit);
  read_user(r, body, e);
  read_project(r, body, e);
  if (!r.ok()) return read_failed(r);

  e.type = type;
  e.pull_request = iid;
  e.head_ref = full_ref(source);
  e.base_ref = full_ref(target);
  e.files_complete = false;  // the payload lists no files
  return e;
}

Result<Event> release(const json& body, Event e) {
  JsonReader r;
  std::string action;
  r.string(body, "", "action", action, true);
  if (!r.ok()) return read_failed(r);
  if (action != "create" && action != "update")
    return ignore(std::move(e), "release action " + action);
  r.string(body, "", "tag", e.tag_name, true);
  r.string(body, "", "name", e.release_name);
  if (const json* commit = r.object(body, "", "commit"))
    r.string(*commit, "commit", "id", e.commit);
  read_project(r, body, e);
  if (!r.ok()) return read_failed(r);
  e.type = "RELEASED";
  e.head_ref = full_ref(e.tag_name, /*tag=*/true);
  e.files_complete = false;
  return e;
}

// GitLab sends a Job Hook at every status change of a job (created, pending, running, success,
// failed, canceled, ...). `pending` is the one that means "waiting for a runner", the counterpart
// of GitHub's queued; `created` comes first for jobs that still wait on earlier stages, so taking
// both would start two builds for one job.
Result<Event> job(const json& body, Event e) {
  JsonReader r;
  std::string status;
  r.string(body, "", "build_status", status, true);
  if (!r.ok()) return read_failed(r);
  if (status != "pending") return ignore(std::move(e), "job status " + status);
  std::string ref;
  bool tag = false;
  r.string(body, "", "ref", ref);
  r.boolean(body, "", "tag", tag);
  r.string(body, "", "sha", e.commit);
  // commit.name is the pipeline's name (workflow:name, GitLab 15.8 and later).
  if (const json* commit = r.object(body, "", "commit"))
    r.string(*commit, "commit", "name", e.workflow_name);
  read_user(r, body, e);
  read_project(r, body, e);
  if (!r.ok()) return read_failed(r);
  e.type = "WORKFLOW_JOB_QUEUED";
  if (!ref.empty()) e.head_ref = full_ref(ref, tag);
  e.files_complete = false;
  return e;
}

}  // namespace

Result<Event> read_gitlab(const std::string& event, const json& body, Event e) {
  if (event == "Push Hook" || event == "Tag Push Hook") return push(body, std::move(e));
  if (event == "Merge Request Hook") return merge_request(body, std::move(e));
  if (event == "Release Hook") return release(body, std::move(e));
  if (event == "Job Hook") return job(body, std::move(e));
  return ignore(std::move(e), "GitLab event " + event + " starts no build");
}

}  // namespace kiln::webhook::detail
