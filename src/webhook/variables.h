// What a webhook's build gets from the delivery that started it: the source version and the
// CODEBUILD_WEBHOOK_* variables, exactly as docs/reference/codebuild-semantics.md §4.1 and §4.2
// show them (empty where not applicable, never absent).
// Thread safety: pure functions.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "webhook/event.h"

namespace kiln::webhook {

// The build's sourceVersion: "pr/<n>" for a pull-request event, else the commit.
std::string source_version(const Event& event);

// CODEBUILD_WEBHOOK_TRIGGER: "pr/<n>", "branch/<name>" or "tag/<name>".
std::string trigger(const Event& event);

// CODEBUILD_WEBHOOK_EVENT, _HEAD_REF, _BASE_REF, _ACTOR_ACCOUNT_ID, _PREV_COMMIT, _TRIGGER and
// _MERGE_COMMIT, in that order, each present (empty where §4.1 says not applicable).
std::vector<std::pair<std::string, std::string>> webhook_variables(const Event& event);

}  // namespace kiln::webhook
