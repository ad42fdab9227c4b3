// Bitbucket Cloud deliveries. Events as §9.3's Bitbucket table; HEAD_REF and BASE_REF as §9.2
// (push.changes[].new.name, pullrequest.source/destination.branch.name, made full refs so one
// pattern fits every provider). The actor is actor.account_id (§9.2), or actor.uuid for the
// accounts that have none (app passwords, some workspace accounts).
#include <cstdint>
#include <string>

#include "webhook/delivery_impl.h"

namespace kiln::webhook::detail {
namespace {

void read_actor(JsonReader& r, const json& body, Event& e) {
  if (const json* actor = r.object(body, "", "actor")) {
    r.string(*actor, "actor", "account_id", e.actor_account_id);
    if (e.actor_account_id.empty()) r.string(*actor, "actor", "uuid", e.actor_account_id);
  }
}

// Bitbucket's payload has the repository's web page, not a clone URL; the https clone URL is that
// page with ".git" (https://bitbucket.org/<workspace>/<slug>.git).
void read_repository(JsonReader& r, const json& body, Event& e) {
  const json* repo = r.object(body, "", "repository");
  if (repo == nullptr) return;
  r.string(*repo, "repository", "name", e.repository_name);
  const json* links = r.object(*repo, "repository", "links");
  const json* html = links ? r.object(*links, "repository.links", "html") : nullptr;
  std::string href;
  if (html != nullptr) r.string(*html, "repository.links.html", "href", href);
  if (!href.empty()) e.repository_url = href + ".git";
}

// One delivery may carry several changes (one per ref pushed together); CodeBuild's HEAD_REF is
// one ref, so the first change is the one built.
Result<Event> push(const json& body, Event e) {
  JsonReader r;
  const json* push = r.object(body, "", "push", true);
  const json* changes = push ? r.array(*push, "push", "changes", true) : nullptr;
  read_actor(r, body, e);
  read_repository(r, body, e);
  if (!r.ok() || changes == nullptr) return read_failed(r);
  if (changes->empty()) return ignore(std::move(e), "push without changes");
  const std::string at = "push.changes[0]";
  const json& change = (*changes)[0];
  if (!change.is_object()) return fail(ErrorCode::kParse, at + ": expected an object");

  const json* old_ref = r.object(change, at, "old");
  const json* new_ref = r.object(change, at, "new");
  std::string type;
  std::string name;
  if (new_ref == nullptr) {
    // A deleted branch or tag: only `old` is left.
    if (old_ref != nullptr) {
      r.string(*old_ref, at + ".old", "type", type);
      r.string(*old_ref, at + ".old", "name", name);
    }
    if (!r.ok()) return read_failed(r);
    return ignore(std::move(e), deleted_reason(full_ref(name, type == "tag")));
  }
  r.string(*new_ref, at + ".new", "type", type, true);
  r.string(*new_ref, at + ".new", "name", name, true);
  if (const json* target = r.object(*new_ref, at + ".new", "target", true)) {
    r.string(*target, at + ".new.target", "hash", e.commit, true);
    r.string(*target, at + ".new.target", "message", e.commit_message);
  }
  // A new branch or tag has no `old`: the 40 zeros GitHub and GitLab send in its place.
  e.prev_commit = std::string(kZeroCommit);
  if (old_ref != nullptr) {
    if (const json* target = r.object(*old_ref, at + ".old", "target", true))
      r.string(*target, at + ".old.target", "hash", e.prev_commit, true);
  }
  if (!r.ok()) return read_failed(r);
  e.type = "PUSH";
  e.head_ref = full_ref(name, type == "tag");
  e.files_complete = false;  // Bitbucket's push payload lists commits, never their files
  return e;
}

Result<Event> pull_request(const char* type, const json& body, Event e) {
  JsonReader r;
  const std::string at = "pullrequest";
  const json* pr = r.object(body, "", "pullrequest", true);
  if (!r.ok()) return read_failed(r);
  std::int64_t id = 0;
  std::string source;
  std::string destination;
  r.integer(*pr, at, "id", id, true);
  if (const json* side = r.object(*pr, at, "source", true)) {
    if (const json* branch = r.object(*side, at + ".source", "branch", true))
      r.string(*branch, at + ".source.branch", "name", source, true);
    // Bitbucket gives the head commit's short hash (12 digits), not the full id.
    if (const json* commit = r.object(*side, at + ".source", "commit", true))
      r.string(*commit, at + ".source.commit", "hash", e.commit, true);
  }
  if (const json* side = r.object(*pr, at, "destination", true)) {
    if (const json* branch = r.object(*side, at + ".destination", "branch", true))
      r.string(*branch, at + ".destination.branch", "name", destination, true);
  }
  if (const json* merge = r.object(*pr, at, "merge_commit"))
    r.string(*merge, at + ".merge_commit", "hash", e.merge_commit);
  read_actor(r, body, e);
  read_repository(r, body, e);
  if (!r.ok()) return read_failed(r);
  e.type = type;
  e.pull_request = id;
  e.head_ref = full_ref(source);
  e.base_ref = full_ref(destination);
  // Neither the head commit's message nor the changed files are in the payload.
  e.files_complete = false;
  return e;
}

}  // namespace

Result<Event> read_bitbucket(const std::string& event, const json& body, Event e) {
  if (event == "repo:push") return push(body, std::move(e));
  const char* type = event == "pullrequest:created"     ? "PULL_REQUEST_CREATED"
                     : event == "pullrequest:updated"   ? "PULL_REQUEST_UPDATED"
                     : event == "pullrequest:fulfilled" ? "PULL_REQUEST_MERGED"
                     : event == "pullrequest:rejected"  ? "PULL_REQUEST_CLOSED"
                                                        : nullptr;
  if (type != nullptr) return pull_request(type, body, std::move(e));
  return ignore(std::move(e), "Bitbucket event " + event + " starts no build");
}

}  // namespace kiln::webhook::detail
