// CodeBuild's webhook filter groups (docs/reference/codebuild-semantics.md §9.1, §9.2): which
// deliveries start a build. A group passes when every filter in it passes; the webhook fires when
// any group passes (OR between groups, AND within one). EVENT's pattern is a comma-separated
// list of events; every other type's pattern is an RE2 regular expression that must match
// somewhere in the value (RE2::PartialMatch, as CodeBuild's documented patterns like
// "^refs/heads/main$" assume); excludeMatchedPattern inverts a filter.
// A field the event does not carry (empty in the Event: BASE_REF on a push, TAG_NAME on anything
// but a release) matches no pattern, so its filter fails, and passes when excluded. FILE_PATH
// applies to PUSH and PULL_REQUEST_* events only and matches when any changed file matches; a
// list that is not complete (Event::files_complete) counts as matching, so an excluding
// FILE_PATH filter never passes a file kiln could not see. docs/webhooks.md "Filter groups".
// Thread safety: a compiled FilterSet is immutable and may be used from any thread.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "util/error.h"
#include "webhook/event.h"

namespace kiln::webhook {

// At most this many filter groups per webhook (filter.cpp has the per-group and pattern limits).
inline constexpr std::size_t kMaxFilterGroups = 20;

struct Filter {
  std::string type;  // EVENT, ACTOR_ACCOUNT_ID, HEAD_REF, BASE_REF, FILE_PATH, COMMIT_MESSAGE,
                     // TAG_NAME, RELEASE_NAME, REPOSITORY_NAME, ORGANIZATION_NAME, WORKFLOW_NAME
  std::string pattern;
  bool exclude_matched_pattern = false;
};
using FilterGroup = std::vector<Filter>;

// `filterGroups` as CreateWebhook and UpdateWebhook take it (a list of lists of
// {type, pattern, excludeMatchedPattern}). Errors are kInvalidArgument with the message
// CodeBuild's InvalidInputException gives, naming the place: "filterGroups[1][0].pattern: ..."
// for an unknown type, an unknown event, a group without an EVENT filter, or a pattern RE2
// refuses (with RE2's reason). Limits, so one request cannot cost unbounded memory or CPU: at
// most 20 groups of at most 20 filters, patterns of at most 4096 bytes, 64 KiB of RE2 memory each.
Result<std::vector<FilterGroup>> filter_groups_from_json(const nlohmann::json& groups);
nlohmann::json filter_groups_to_json(const std::vector<FilterGroup>& groups);

// The groups compiled once. An empty set (no filterGroups) passes PUSH, PULL_REQUEST_CREATED,
// PULL_REQUEST_UPDATED and PULL_REQUEST_REOPENED, the events CodeBuild's webhooks built before
// filter groups existed; `branch_filter` (the legacy field) is then a HEAD_REF-like regex on the
// branch or tag name alone ("main" for refs/heads/main). With groups, branch_filter is unused.
class FilterSet {
 public:
  // Errors as filter_groups_from_json (the groups are validated again: stored ones may be old).
  static Result<FilterSet> compile(const std::vector<FilterGroup>& groups,
                                   const std::string& branch_filter = "");
  FilterSet(FilterSet&&) noexcept;
  FilterSet& operator=(FilterSet&&) noexcept;
  ~FilterSet();

  // True when the event starts a build. An Event with an empty type never does.
  bool matches(const Event& event) const;

 private:
  struct Compiled;
  explicit FilterSet(std::unique_ptr<Compiled> c);
  std::unique_ptr<Compiled> compiled_;
};

}  // namespace kiln::webhook
