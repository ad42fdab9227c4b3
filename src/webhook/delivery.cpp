// detect_provider and parse_delivery: the checks every provider's body goes through before its
// reader (delivery_impl.h) sees it, and the helpers the readers share.
#include "webhook/delivery.h"

#include <algorithm>
#include <string>

#include <nlohmann/json.hpp>

#include "util/string.h"
#include "webhook/delivery_impl.h"

namespace kiln::webhook {

const char* provider_name(Provider p) {
  switch (p) {
    case Provider::kGitHub: return "GITHUB";
    case Provider::kGitLab: return "GITLAB";
    case Provider::kBitbucket: return "BITBUCKET";
  }
  return "GITHUB";
}

namespace {

using nlohmann::json;

// Deeper than any provider's payload (the corpus's deepest, a Bitbucket push, nests 10 levels)
// and shallow enough that nothing downstream that recurses over a json value can run out of
// stack.
constexpr int kMaxNesting = 64;

std::string header(const Headers& headers, const char* name) {
  const auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

// The provider's event header, its value and its delivery id header.
struct EventHeader {
  Provider provider;
  const char* event;
  const char* delivery;
};
constexpr EventHeader kEventHeaders[] = {
    {Provider::kGitHub, "x-github-event", "x-github-delivery"},
    {Provider::kGitLab, "x-gitlab-event", "x-gitlab-event-uuid"},
    {Provider::kBitbucket, "x-event-key", "x-request-uuid"},
};

const EventHeader* find_event_header(const Headers& headers) {
  for (const auto& h : kEventHeaders)
    if (!header(headers, h.event).empty()) return &h;
  return nullptr;
}

// True when no array or object nests deeper than kMaxNesting. Brackets inside strings do not
// count; a body this scan misjudges (it is not JSON) fails the parse that follows anyway.
bool nesting_ok(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxNesting) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

// GitHub's hook settings offer application/x-www-form-urlencoded, its default in the web UI,
// which sends the JSON as the form field `payload`. CodeBuild creates its hooks with JSON, but a
// hook made by hand (manualCreation) may be either.
std::string form_payload(const Headers& headers, std::string_view body) {
  const std::string type = to_lower(header(headers, "content-type"));
  constexpr std::string_view kField = "payload=";
  if (type.rfind("application/x-www-form-urlencoded", 0) != 0 ||
      body.substr(0, kField.size()) != kField)
    return std::string(body);
  std::string value(body.substr(kField.size()));
  value = value.substr(0, value.find('&'));
  std::replace(value.begin(), value.end(), '+', ' ');
  return percent_decode(value);
}

}  // namespace

Result<Provider> detect_provider(const Headers& headers) {
  if (const EventHeader* h = find_event_header(headers)) return h->provider;
  return fail(ErrorCode::kInvalidArgument,
              "no X-GitHub-Event, X-Gitlab-Event or X-Event-Key header");
}

Result<Event> parse_delivery(const Headers& headers, std::string_view body) {
  const EventHeader* h = find_event_header(headers);
  if (h == nullptr)
    return fail(ErrorCode::kInvalidArgument,
                "no X-GitHub-Event, X-Gitlab-Event or X-Event-Key header");
  const std::string text =
      h->provider == Provider::kGitHub ? form_payload(headers, body) : std::string(body);
  if (!nesting_ok(text))
    return fail(ErrorCode::kParse,
                "JSON nested deeper than " + std::to_string(kMaxNesting) + " levels");
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return fail(ErrorCode::kParse, "not valid JSON");
  if (!doc.is_object()) return fail(ErrorCode::kParse, "expected a JSON object");

  Event e;
  e.provider = h->provider;
  e.delivery_id = header(headers, h->delivery);
  e.user_agent = header(headers, "user-agent");
  const std::string event = header(headers, h->event);
  switch (h->provider) {
    case Provider::kGitHub: return detail::read_github(event, doc, std::move(e));
    case Provider::kGitLab: return detail::read_gitlab(event, doc, std::move(e));
    case Provider::kBitbucket: return detail::read_bitbucket(event, doc, std::move(e));
  }
  return fail(ErrorCode::kInternal, "unknown provider");
}

namespace detail {

bool is_commit_id(std::string_view text) {
  return text.size() == 40 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

std::string full_ref(const std::string& name, bool tag) {
  if (name.rfind("refs/", 0) == 0) return name;
  return (tag ? "refs/tags/" : "refs/heads/") + name;
}

std::string deleted_reason(std::string_view ref) {
  if (ref.rfind("refs/heads/", 0) == 0) return "branch deleted";
  if (ref.rfind("refs/tags/", 0) == 0) return "tag deleted";
  return "ref deleted";
}

void read_id(JsonReader& r, const json& obj, const std::string& at, const char* key,
             std::string& out) {
  if (r.get(obj, at, key, json::value_t::number_float, "expected a number") == nullptr) return;
  std::int64_t n = 0;
  r.integer(obj, at, key, n);
  if (r.ok()) out = std::to_string(n);
}

void read_commit_files(JsonReader& r, const json& commit, const std::string& at, PathList& files) {
  for (const char* key : {"added", "modified", "removed"}) {
    std::vector<std::string> paths;
    r.strings(commit, at, key, paths);
    files.add(paths);
  }
}

}  // namespace detail
}  // namespace kiln::webhook
