// libFuzzer target for webhook deliveries (docs/webhooks.md): any bytes as the body of any
// provider's event, through the signature check, the parser, a set of filter groups over every
// filter type, and the CODEBUILD_WEBHOOK_* variables. Nothing may crash, hang or grow without
// bound, and an Event the parser accepts must give all seven variables.
//
// Input layout: byte 0 picks the provider's event header (kEvents); the rest is the body.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "webhook/delivery.h"
#include "webhook/filter.h"
#include "webhook/signature.h"
#include "webhook/variables.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr std::array<std::pair<const char*, const char*>, 14> kEvents = {{
    {"x-github-event", "push"},
    {"x-github-event", "pull_request"},
    {"x-github-event", "release"},
    {"x-github-event", "workflow_job"},
    {"x-github-event", "ping"},
    {"x-gitlab-event", "Push Hook"},
    {"x-gitlab-event", "Tag Push Hook"},
    {"x-gitlab-event", "Merge Request Hook"},
    {"x-gitlab-event", "Release Hook"},
    {"x-gitlab-event", "Job Hook"},
    {"x-event-key", "repo:push"},
    {"x-event-key", "pullrequest:created"},
    {"x-event-key", "pullrequest:fulfilled"},
    {"x-event-key", "pullrequest:rejected"},
}};

// Two groups over every filter type, one of them excluding, compiled once.
const kiln::webhook::FilterSet& filters() {
  static const kiln::webhook::FilterSet set = [] {
    const auto groups = kiln::webhook::filter_groups_from_json(nlohmann::json::parse(R"([
      [{"type": "EVENT", "pattern": "PUSH, PULL_REQUEST_CREATED, PULL_REQUEST_MERGED"},
       {"type": "HEAD_REF", "pattern": "^refs/(heads|tags)/"},
       {"type": "FILE_PATH", "pattern": "^buildspec\\.yml$", "excludeMatchedPattern": true},
       {"type": "ACTOR_ACCOUNT_ID", "pattern": "[0-9]"},
       {"type": "COMMIT_MESSAGE", "pattern": "skip ci", "excludeMatchedPattern": true}],
      [{"type": "EVENT", "pattern": "RELEASED, PRERELEASED, WORKFLOW_JOB_QUEUED, PULL_REQUEST_UPDATED"},
       {"type": "BASE_REF", "pattern": "main", "excludeMatchedPattern": true},
       {"type": "TAG_NAME", "pattern": "^v", "excludeMatchedPattern": true},
       {"type": "RELEASE_NAME", "pattern": ".", "excludeMatchedPattern": true},
       {"type": "WORKFLOW_NAME", "pattern": "x", "excludeMatchedPattern": true},
       {"type": "REPOSITORY_NAME", "pattern": "(?i)hello"},
       {"type": "ORGANIZATION_NAME", "pattern": "z", "excludeMatchedPattern": true}]
    ])"));
    check(groups.has_value());
    auto compiled = kiln::webhook::FilterSet::compile(*groups);
    check(compiled.has_value());
    return std::move(*compiled);
  }();
  return set;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto& [name, value] = kEvents[static_cast<unsigned char>(in[0]) % kEvents.size()];
  in.remove_prefix(1);
  kiln::webhook::Headers headers = {{name, value},
                                    {"x-hub-signature-256", "sha256=" + std::string(64, '0')},
                                    {"x-gitlab-token", "t"},
                                    {"x-github-delivery", "d"}};
  const auto provider = kiln::webhook::detect_provider(headers);
  check(provider.has_value());
  // A forged signature never passes; the right one always does.
  check(!kiln::webhook::verify_signature(*provider, headers, in, "secret").has_value() ||
        *provider == kiln::webhook::Provider::kGitLab);
  headers["x-hub-signature-256"] = kiln::webhook::hub_signature("secret", in);
  headers["x-hub-signature"] = headers["x-hub-signature-256"];
  headers["x-gitlab-token"] = "secret";
  check(kiln::webhook::verify_signature(*provider, headers, in, "secret").has_value());

  auto event = kiln::webhook::parse_delivery(headers, in);
  if (!event) return 0;
  const bool matched = filters().matches(*event);
  check(!matched || !event->type.empty());
  check(kiln::webhook::webhook_variables(*event).size() == 7);
  (void)kiln::webhook::source_version(*event);
  return 0;
}
