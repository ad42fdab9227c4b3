// Private to webhook/: what the three providers' readers (github_delivery.cpp,
// gitlab_delivery.cpp, bitbucket_delivery.cpp) share. delivery.cpp has already checked the body's
// nesting, parsed it and made sure it is an object; a reader fills the Event or fails with the
// first field that is missing or of the wrong type (JsonReader's "a.b: missing").
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/json_reader.h"
#include "webhook/event.h"

namespace kiln::webhook::detail {

using nlohmann::json;

// `event` is the value of the provider's event header; `e` arrives with provider, delivery_id
// and user_agent set.
Result<Event> read_github(const std::string& event, const json& body, Event e);
Result<Event> read_gitlab(const std::string& event, const json& body, Event e);
Result<Event> read_bitbucket(const std::string& event, const json& body, Event e);

// What every provider sends as the old or new side of a created or deleted ref.
inline constexpr std::string_view kZeroCommit = "0000000000000000000000000000000000000000";

inline bool is_zero_commit(std::string_view sha) {
  return sha == kZeroCommit;
}

// 40 hex digits: a full commit id, as opposed to a branch name in the same field.
bool is_commit_id(std::string_view text);

// "refs/heads/<name>", or "refs/tags/<name>" when `tag`; a name that is already a full ref
// ("refs/merge-requests/3/head") is kept.
std::string full_ref(const std::string& name, bool tag = false);

// "branch deleted", "tag deleted" or "ref deleted", by the ref's prefix.
std::string deleted_reason(std::string_view ref);

// An Event that starts no build, with why.
inline Event ignore(Event e, std::string why) {
  e.type.clear();
  e.ignored = std::move(why);
  return e;
}

// kParse with the reader's first error.
inline tl::unexpected<Error> read_failed(const JsonReader& r) {
  return fail(ErrorCode::kParse, r.error());
}

// obj[key], a whole number (GitHub's sender.id, GitLab's user_id), as a decimal string, when
// present; any other type fails the reader.
void read_id(JsonReader& r, const json& obj, const std::string& at, const char* key,
             std::string& out);

// Changed paths, each once, in the order first seen.
class PathList {
 public:
  void add(const std::vector<std::string>& paths) {
    for (const auto& p : paths)
      if (seen_.insert(p).second) paths_.push_back(p);
  }
  std::vector<std::string> take() { return std::move(paths_); }

 private:
  std::vector<std::string> paths_;
  std::unordered_set<std::string> seen_;
};

// added, modified and removed of one commit object into `files`.
void read_commit_files(JsonReader& r, const json& commit, const std::string& at, PathList& files);

}  // namespace kiln::webhook::detail
