// filter_groups_from_json/to_json and FilterSet: CreateWebhook's validation of filterGroups and
// the matching of a delivery against them (docs/reference/codebuild-semantics.md §9.1, §9.2).
// Every choice CodeBuild's documentation leaves open is in docs/webhooks.md "Filter groups".
#include "webhook/filter.h"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "util/string.h"

namespace kiln::webhook {

namespace {

using json = nlohmann::json;

// A request may not make kiln compile an unbounded number of regular expressions or hold
// unbounded memory for them: at most kMaxGroups x kMaxFilters patterns of kMaxPattern bytes,
// each RE2 capped at kRegexMaxMem (its program and its DFA cache together). 64 KiB holds the
// program of any 4096-byte pattern without counted repetitions; a pattern that needs more is
// refused with RE2's "pattern too large - compile failed".
constexpr std::size_t kMaxGroups = kMaxFilterGroups;
constexpr std::size_t kMaxFilters = 20;
constexpr std::size_t kMaxPattern = 4096;
constexpr std::int64_t kRegexMaxMem = std::int64_t{64} << 10;

enum class Field {
  kEvent,
  kActorAccountId,
  kHeadRef,
  kBaseRef,
  kFilePath,
  kCommitMessage,
  kTagName,
  kReleaseName,
  kRepositoryName,
  kOrganizationName,
  kWorkflowName,
};

constexpr std::array<std::pair<std::string_view, Field>, 11> kTypes = {{
    {"EVENT", Field::kEvent},
    {"ACTOR_ACCOUNT_ID", Field::kActorAccountId},
    {"HEAD_REF", Field::kHeadRef},
    {"BASE_REF", Field::kBaseRef},
    {"FILE_PATH", Field::kFilePath},
    {"COMMIT_MESSAGE", Field::kCommitMessage},
    {"TAG_NAME", Field::kTagName},
    {"RELEASE_NAME", Field::kReleaseName},
    {"REPOSITORY_NAME", Field::kRepositoryName},
    {"ORGANIZATION_NAME", Field::kOrganizationName},
    {"WORKFLOW_NAME", Field::kWorkflowName},
}};

constexpr std::array<std::string_view, 9> kEvents = {
    "PUSH",
    "PULL_REQUEST_CREATED",
    "PULL_REQUEST_UPDATED",
    "PULL_REQUEST_REOPENED",
    "PULL_REQUEST_MERGED",
    "PULL_REQUEST_CLOSED",
    "RELEASED",
    "PRERELEASED",
    "WORKFLOW_JOB_QUEUED",
};

std::string joined(auto names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

std::string type_names() {
  std::vector<std::string_view> names;
  for (const auto& entry : kTypes) names.push_back(entry.first);
  return joined(names);
}

const Field* field_of(std::string_view type) {
  for (const auto& [name, field] : kTypes) {
    if (name == type) return &field;
  }
  return nullptr;
}

bool is_pull_request(std::string_view type) {
  return type.starts_with("PULL_REQUEST_");
}

// What a webhook without filter groups builds: the events CodeBuild's webhooks started builds
// for before filter groups existed (a push; a pull request opened, updated or reopened).
bool default_event(std::string_view type) {
  return type == "PUSH" || type == "PULL_REQUEST_CREATED" || type == "PULL_REQUEST_UPDATED" ||
         type == "PULL_REQUEST_REOPENED";
}

std::string at(std::size_t g, std::size_t f) {
  return "filterGroups[" + std::to_string(g) + "][" + std::to_string(f) + "]";
}

tl::unexpected<Error> invalid(const std::string& where, const std::string& what) {
  return fail(ErrorCode::kInvalidArgument, where + ": " + what);
}

tl::unexpected<Error> too_many_groups(std::size_t n) {
  return invalid("filterGroups", "at most " + std::to_string(kMaxGroups) +
                                     " filter groups are allowed, got " + std::to_string(n));
}

tl::unexpected<Error> too_many_filters(const std::string& group_at, std::size_t n) {
  return invalid(group_at, "at most " + std::to_string(kMaxFilters) +
                               " filters are allowed in a group, got " + std::to_string(n));
}

Result<std::unique_ptr<re2::RE2>> compile_regex(const std::string& where,
                                                const std::string& pattern) {
  if (pattern.size() > kMaxPattern) {
    return invalid(where, "longer than " + std::to_string(kMaxPattern) + " bytes");
  }
  re2::RE2::Options opts;
  opts.set_log_errors(false);
  opts.set_max_mem(kRegexMaxMem);
  auto re = std::make_unique<re2::RE2>(pattern, opts);
  if (!re->ok()) return invalid(where, "not a valid RE2 regular expression: " + re->error());
  return re;
}

// The events of an EVENT pattern: "PUSH, PULL_REQUEST_CREATED" (spaces around each allowed).
Result<std::vector<std::string>> parse_events(const std::string& where,
                                              const std::string& pattern) {
  if (pattern.size() > kMaxPattern) {
    return invalid(where, "longer than " + std::to_string(kMaxPattern) + " bytes");
  }
  std::vector<std::string> events;
  for (std::string_view part : split(pattern, ',')) {
    part = trim(part);
    if (std::find(kEvents.begin(), kEvents.end(), part) == kEvents.end()) {
      return invalid(where,
                     "unknown event '" + std::string(part) + "'; valid events: " + joined(kEvents));
    }
    events.emplace_back(part);
  }
  return events;
}

struct CompiledFilter {
  Field field = Field::kEvent;
  bool exclude = false;
  std::vector<std::string> events;  // EVENT
  std::unique_ptr<re2::RE2> re;     // every other type
};
using CompiledGroup = std::vector<CompiledFilter>;

Result<std::vector<CompiledGroup>> compile_groups(const std::vector<FilterGroup>& groups) {
  if (groups.size() > kMaxGroups) {
    return too_many_groups(groups.size());
  }
  std::vector<CompiledGroup> out;
  out.reserve(groups.size());
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const std::string group_at = "filterGroups[" + std::to_string(g) + "]";
    if (groups[g].size() > kMaxFilters) {
      return too_many_filters(group_at, groups[g].size());
    }
    CompiledGroup compiled;
    bool has_event = false;
    for (std::size_t f = 0; f < groups[g].size(); ++f) {
      const Filter& filter = groups[g][f];
      const Field* field = field_of(filter.type);
      if (field == nullptr) {
        return invalid(at(g, f) + ".type",
                       "unknown filter type '" + filter.type + "'; valid types: " + type_names());
      }
      CompiledFilter c;
      c.field = *field;
      c.exclude = filter.exclude_matched_pattern;
      if (*field == Field::kEvent) {
        has_event = true;
        auto events = parse_events(at(g, f) + ".pattern", filter.pattern);
        if (!events) return tl::unexpected(std::move(events.error()));
        c.events = std::move(*events);
      } else {
        auto re = compile_regex(at(g, f) + ".pattern", filter.pattern);
        if (!re) return tl::unexpected(std::move(re.error()));
        c.re = std::move(*re);
      }
      compiled.push_back(std::move(c));
    }
    if (!has_event) {
      return invalid(group_at, "a filter group must contain a filter of type EVENT");
    }
    out.push_back(std::move(compiled));
  }
  return out;
}

const std::string* text_field(const Event& e, Field field) {
  switch (field) {
    case Field::kActorAccountId: return &e.actor_account_id;
    case Field::kHeadRef: return &e.head_ref;
    case Field::kBaseRef: return &e.base_ref;
    case Field::kCommitMessage: return &e.commit_message;
    case Field::kTagName: return &e.tag_name;
    case Field::kReleaseName: return &e.release_name;
    case Field::kRepositoryName: return &e.repository_name;
    case Field::kOrganizationName: return &e.organization_name;
    case Field::kWorkflowName: return &e.workflow_name;
    case Field::kEvent:
    case Field::kFilePath: break;
  }
  return nullptr;
}

// Whether the event "matches the pattern" before excludeMatchedPattern inverts it.
bool matched(const CompiledFilter& f, const Event& e) {
  if (f.field == Field::kEvent) {
    return std::find(f.events.begin(), f.events.end(), e.type) != f.events.end();
  }
  if (f.field == Field::kFilePath) {
    // Changed files exist for pushes and pull requests only (§9.2). A list the provider cut
    // short (or a pull request's, which lists none) may hold a match kiln cannot see: it counts
    // as a match, so an exclude filter never lets an unseen file through.
    if (e.type != "PUSH" && !is_pull_request(e.type)) return false;
    if (!e.files_complete) return true;
    return std::any_of(
        e.changed_files.begin(), e.changed_files.end(),
        [&](const std::string& path) { return re2::RE2::PartialMatch(path, *f.re); });
  }
  // A field the event does not carry (empty) matches no pattern, not even one that would
  // match the empty string: BASE_REF on a push, TAG_NAME on anything but a release.
  const std::string* value = text_field(e, f.field);
  return value != nullptr && !value->empty() && re2::RE2::PartialMatch(*value, *f.re);
}

// "refs/heads/main" -> "main": what the legacy branchFilter is matched against.
std::string_view branch_name(std::string_view ref) {
  for (std::string_view prefix : {"refs/heads/", "refs/tags/"}) {
    if (ref.starts_with(prefix)) return ref.substr(prefix.size());
  }
  return ref;
}

}  // namespace

Result<std::vector<FilterGroup>> filter_groups_from_json(const nlohmann::json& groups) {
  if (!groups.is_array()) return invalid("filterGroups", "expected a list of filter groups");
  if (groups.size() > kMaxGroups) {
    return too_many_groups(groups.size());
  }
  std::vector<FilterGroup> out;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const json& group = groups[g];
    const std::string group_at = "filterGroups[" + std::to_string(g) + "]";
    if (!group.is_array()) return invalid(group_at, "expected a list of filters");
    if (group.size() > kMaxFilters) {
      return too_many_filters(group_at, group.size());
    }
    FilterGroup parsed;
    for (std::size_t f = 0; f < group.size(); ++f) {
      const json& item = group[f];
      if (!item.is_object()) {
        return invalid(at(g, f), "expected an object {type, pattern, excludeMatchedPattern}");
      }
      Filter filter;
      const auto type = item.find("type");
      if (type == item.end() || type->is_null()) return invalid(at(g, f) + ".type", "missing");
      if (!type->is_string()) return invalid(at(g, f) + ".type", "expected a string");
      filter.type = type->get<std::string>();
      const auto pattern = item.find("pattern");
      if (pattern == item.end() || pattern->is_null()) {
        return invalid(at(g, f) + ".pattern", "missing");
      }
      if (!pattern->is_string()) return invalid(at(g, f) + ".pattern", "expected a string");
      filter.pattern = pattern->get<std::string>();
      const auto exclude = item.find("excludeMatchedPattern");
      if (exclude != item.end() && !exclude->is_null()) {
        if (!exclude->is_boolean()) {
          return invalid(at(g, f) + ".excludeMatchedPattern", "expected a boolean");
        }
        filter.exclude_matched_pattern = exclude->get<bool>();
      }
      parsed.push_back(std::move(filter));
    }
    out.push_back(std::move(parsed));
  }
  // Types, events and patterns are checked by compiling them, exactly as FilterSet does.
  if (auto compiled = compile_groups(out); !compiled) return tl::unexpected(compiled.error());
  return out;
}

nlohmann::json filter_groups_to_json(const std::vector<FilterGroup>& groups) {
  json out = json::array();
  for (const FilterGroup& group : groups) {
    json g = json::array();
    for (const Filter& f : group) {
      g.push_back({{"type", f.type},
                   {"pattern", f.pattern},
                   {"excludeMatchedPattern", f.exclude_matched_pattern}});
    }
    out.push_back(std::move(g));
  }
  return out;
}

struct FilterSet::Compiled {
  std::vector<CompiledGroup> groups;
  std::unique_ptr<re2::RE2> branch;  // null when there is no branchFilter
};

Result<FilterSet> FilterSet::compile(const std::vector<FilterGroup>& groups,
                                     const std::string& branch_filter) {
  auto c = std::make_unique<Compiled>();
  auto compiled = compile_groups(groups);
  if (!compiled) return tl::unexpected(std::move(compiled.error()));
  c->groups = std::move(*compiled);
  if (!branch_filter.empty()) {
    auto re = compile_regex("branchFilter", branch_filter);
    if (!re) return tl::unexpected(std::move(re.error()));
    c->branch = std::move(*re);
  }
  return FilterSet(std::move(c));
}

FilterSet::FilterSet(std::unique_ptr<Compiled> c) : compiled_(std::move(c)) {}
FilterSet::FilterSet(FilterSet&&) noexcept = default;
FilterSet& FilterSet::operator=(FilterSet&&) noexcept = default;
FilterSet::~FilterSet() = default;

bool FilterSet::matches(const Event& event) const {
  if (compiled_ == nullptr || event.type.empty()) return false;  // moved from, or ignored
  if (compiled_->groups.empty()) {
    if (!default_event(event.type)) return false;
    return compiled_->branch == nullptr ||
           re2::RE2::PartialMatch(branch_name(event.head_ref), *compiled_->branch);
  }
  return std::any_of(compiled_->groups.begin(), compiled_->groups.end(), [&](const auto& group) {
    return std::all_of(group.begin(), group.end(),
                       [&](const CompiledFilter& f) { return matched(f, event) != f.exclude; });
  });
}

}  // namespace kiln::webhook
