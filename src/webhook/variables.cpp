// The source version and CODEBUILD_WEBHOOK_* variables of a webhook build, as
// docs/reference/codebuild-semantics.md §4.1 defines them and §4.2 shows them observed.
#include "webhook/variables.h"

#include <string_view>

namespace kiln::webhook {

namespace {

constexpr std::string_view kHeads = "refs/heads/";
constexpr std::string_view kTags = "refs/tags/";

bool is_pull_request(const Event& e) {
  return std::string_view(e.type).starts_with("PULL_REQUEST_") && e.pull_request.has_value();
}

}  // namespace

std::string source_version(const Event& event) {
  if (is_pull_request(event)) return "pr/" + std::to_string(*event.pull_request);
  return event.commit;
}

std::string trigger(const Event& event) {
  if (is_pull_request(event)) return "pr/" + std::to_string(*event.pull_request);
  const std::string_view ref = event.head_ref;
  if (ref.starts_with(kHeads)) return "branch/" + std::string(ref.substr(kHeads.size()));
  if (ref.starts_with(kTags)) return "tag/" + std::string(ref.substr(kTags.size()));
  // A release names its tag but no ref.
  if (!event.tag_name.empty()) return "tag/" + event.tag_name;
  return "";
}

std::vector<std::pair<std::string, std::string>> webhook_variables(const Event& event) {
  const bool push = event.type == "PUSH";
  const bool pull_request = std::string_view(event.type).starts_with("PULL_REQUEST_");
  return {
      {"CODEBUILD_WEBHOOK_EVENT", event.type},
      {"CODEBUILD_WEBHOOK_HEAD_REF", event.head_ref},
      // §4.2: empty for a push; only a pull request has a base.
      {"CODEBUILD_WEBHOOK_BASE_REF", pull_request ? event.base_ref : ""},
      {"CODEBUILD_WEBHOOK_ACTOR_ACCOUNT_ID", event.actor_account_id},
      // §4.1: "the most recent commit before the webhook push event"; empty for pull requests.
      {"CODEBUILD_WEBHOOK_PREV_COMMIT", push ? event.prev_commit : ""},
      {"CODEBUILD_WEBHOOK_TRIGGER", trigger(event)},
      {"CODEBUILD_WEBHOOK_MERGE_COMMIT", event.merge_commit},
  };
}

}  // namespace kiln::webhook
