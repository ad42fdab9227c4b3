// GET /events: the build events (docs/events.md) as Server-Sent Events. Signed with SigV4 as
// GET /logs/ is (service.cpp handle()); `?project=a&project=b` narrows them to those projects.
// A key reads a project's events only when its policy allows codebuild:BatchGetBuilds on that
// project (the right to read the builds the events tell of): a named project it may not read
// is refused (AccessDeniedException), and with no project named, the events of the projects it
// may not read are left out. A `Last-Event-ID: N` header replays the journal after event N.
#include <charconv>
#include <map>
#include <memory>

#include "api/authorize.h"
#include "api/service.h"
#include "api/validate.h"
#include "engine/record.h"
#include "http/wire.h"
#include "util/string.h"

namespace kiln::api {
namespace {

http::Response refused(int status, std::string_view type, const std::string& message) {
  http::Response r = http::json_error(status, type, message);
  r.headers.emplace_back("X-Amzn-ErrorType", std::string(type));
  return r;
}

// Every ?project= value, decoded; other parameters are ignored.
std::vector<std::string> requested_projects(const std::string& query) {
  std::vector<std::string> out;
  for (const auto part : split(query, '&')) {
    if (!part.starts_with("project=")) continue;
    std::string name = percent_decode(part.substr(8));
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
  }
  return out;
}

}  // namespace

http::Response Service::get_events(const http::Request& req, const auth::Identity* who) {
  if (options_.events == nullptr) return refused(404, "ResourceNotFoundException", "no events");
  const auto projects = requested_projects(req.query);
  for (const auto& p : projects) {
    if (!valid_project_name(p))
      return refused(400, "InvalidInputException", "project: not a project name: " + p);
  }

  // Whether the caller may read a project's builds: fixed for the stream's life, as a log
  // follow keeps the rights it started with.
  std::function<bool(const std::string&)> may_read = [](const std::string&) { return true; };
  if (who != nullptr && options_.policies != nullptr) {
    const std::string region = who->region.empty() ? options_.account.region : who->region;
    auto policy = options_.policies->policy_of(who->access_key_id);
    const std::string principal = user_arn(options_.account.id, who->user);
    const std::string account = options_.account.id;
    may_read = [policy, principal, region, account](const std::string& project) {
      const Access a{"codebuild:BatchGetBuilds", engine::project_arn(region, account, project)};
      return !authorize(policy.get(), principal, {a}).has_value();
    };
    for (const auto& p : projects) {
      const Access a{"codebuild:BatchGetBuilds", engine::project_arn(region, account, p)};
      if (auto denied = authorize(policy.get(), principal, {a}))
        return refused(denied->status, denied->type, denied->message);
    }
  }

  std::optional<std::uint64_t> last_id;
  if (const std::string* h = req.header("last-event-id")) {
    const std::string_view v = trim(*h);
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size() || v.empty())
      return refused(400, "InvalidInputException",
                     "Last-Event-ID must be an event's id (a number)");
    last_id = n;
  }

  // Decisions per project, remembered: the producer calls the filter for every event.
  auto cache = std::make_shared<std::map<std::string, bool>>();
  events::ProjectFilter filter = [projects, may_read, cache](const std::string& project) {
    if (!projects.empty() && std::find(projects.begin(), projects.end(), project) == projects.end())
      return false;
    const auto it = cache->find(project);
    if (it != cache->end()) return it->second;
    const bool ok = may_read(project);
    if (cache->size() < 4096) cache->emplace(project, ok);
    return ok;
  };
  auto sub = options_.events->subscribe(std::move(filter), last_id);
  if (!sub) {
    http::Response r =
        refused(503, "ServiceUnavailableException", "too many readers of /events; try again later");
    r.headers.emplace_back("Retry-After", "5");
    return r;
  }
  http::Response r;
  r.headers = {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-cache"}};
  // Called on the server's workers and never blocks: an empty piece means "nothing yet".
  r.stream = [sub](std::string& out) { return sub->next(out); };
  return r;
}

}  // namespace kiln::api
