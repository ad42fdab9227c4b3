// CreateProject, UpdateProject, DeleteProject, BatchGetProjects and ListProjects
// (docs/reference/codebuild-api.md §3.4). ListCuratedEnvironmentImages is in
// curated_images_ops.cpp.
#include <algorithm>

#include "api/ops_common.h"
#include "api/service.h"
#include "api/validate.h"

namespace kiln::api {
namespace {

using nlohmann::json;

ApiResult<json> parse_stored(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return api_fail("InternalFailure", "a stored project is not valid JSON");
  return j;
}

// The project as answers show it: without the internal member naming its key.
json shown(json project) {
  project.erase(kServiceKeyMember);
  return project;
}

// The key that creates or updates a project becomes its service role's stand-in: its builds
// read parameters and secrets with that key's rights (docs/server.md "Builds' own calls").
// An unsigned request (--allow-anonymous) leaves none: the server's rights, as before keys had
// policies.
void record_key(json& project, const std::string& key_id) {
  if (key_id.empty()) {
    project.erase(kServiceKeyMember);
  } else {
    project[kServiceKeyMember] = key_id;
  }
}

}  // namespace

ApiResult<json> Service::load_project(const std::string& name) {
  KILN_API_TRY(rows, store_.get_projects({name}));
  if (rows.empty()) {
    return not_found("Project cannot be found: arn:aws:codebuild:" + options_.account.region + ":" +
                     options_.account.id + ":project/" + name);
  }
  return parse_stored(rows.front().json);
}

ApiResult<json> Service::create_project(const Call& c) {
  Account account = options_.account;
  account.region = c.region;
  const double t = now();
  auto project = project_from_create(c.in, account, t);
  if (!project) return tl::unexpected(project.error());
  if (auto ok = check_privileged(project->value("environment", json::object())); !ok)
    return tl::unexpected(ok.error());
  const std::string name = (*project)["name"];
  record_key(*project, c.key_id);
  auto r = store_.create_project({name, t, t, project->dump()});
  if (!r) {
    if (r.error().code() == ErrorCode::kAlreadyExists) {
      return api_fail("ResourceAlreadyExistsException",
                      "Project already exists: arn:aws:codebuild:" + account.region + ":" +
                          account.id + ":project/" + name);
    }
    return tl::unexpected(from_error(r.error()));
  }
  return json{{"project", shown(std::move(*project))}};
}

ApiResult<json> Service::update_project(const Call& c) {
  Fields f(c.in, "");
  auto name = f.string("name", true, 1);
  if (!name) return tl::unexpected(name.error());
  // The stored project's webhook (not an UpdateProject member) is kept as read under the lock.
  MutexLock lock(project_writes_);
  auto current = load_project(**name);
  if (!current) return current;
  const double t = now();
  auto updated = project_apply_update(std::move(*current), c.in, t);
  if (!updated) return updated;
  if (auto ok = check_privileged(updated->value("environment", json::object())); !ok)
    return tl::unexpected(ok.error());
  const double created = updated->value("created", t);
  record_key(*updated, c.key_id);
  KILN_API_CHECK(store_.update_project({**name, created, t, updated->dump()}));
  return json{{"project", shown(std::move(*updated))}};
}

ApiResult<json> Service::delete_project(const Call& c) {
  Fields f(c.in, "");
  auto name = f.string("name", true, 1);
  if (!name) return tl::unexpected(name.error());
  MutexLock lock(project_writes_);
  KILN_API_TRY(deleted, store_.delete_project(**name));
  (void)deleted;  // deleting a missing project succeeds, as in CodeBuild
  // The project's webhook goes with it (docs/reference/codebuild-api.md, "Projects"), and so
  // does its sealed secret.
  KILN_API_PASS(forget_webhook_secret(**name));
  return json::object();
}

ApiResult<json> Service::batch_get_projects(const Call& c) {
  auto names = Fields(c.in, "").unique_strings("names", kMaxBatchItems, kMaxStringLength);
  if (!names) return tl::unexpected(names.error());
  // A project named twice, by name and by ARN, is answered once, under the first spelling.
  std::vector<std::string> wanted;
  std::vector<std::string> asked;
  for (const auto& s : *names) {
    std::string name = s;
    if (const auto slash = s.rfind(":project/");
        s.starts_with("arn:") && slash != std::string::npos)
      name = s.substr(slash + 9);
    if (std::find(wanted.begin(), wanted.end(), name) != wanted.end()) continue;
    wanted.push_back(std::move(name));
    asked.push_back(s);
  }
  json found = json::array();
  json missing = json::array();
  std::size_t bytes = 0;  // of the stored projects answered, which the answer's size follows
  for (std::size_t at = 0; at < wanted.size(); at += kRowsPerFetch) {
    const std::vector<std::string> some(
        wanted.begin() + static_cast<std::ptrdiff_t>(at),
        wanted.begin() + static_cast<std::ptrdiff_t>(std::min(wanted.size(), at + kRowsPerFetch)));
    KILN_API_TRY(rows, store_.get_projects(some));
    for (const auto& r : rows) bytes += r.json.size();  // checked before any of them is parsed
    if (bytes > kMaxResponseBytes) return response_too_large("projects");
    for (std::size_t i = 0; i < some.size(); ++i) {
      const auto it = std::find_if(rows.begin(), rows.end(),
                                   [&](const store::ProjectRow& r) { return r.name == some[i]; });
      if (it == rows.end()) {
        missing.push_back(asked[at + i]);
        continue;
      }
      auto p = parse_stored(it->json);
      if (!p) return tl::unexpected(p.error());
      found.push_back(shown(std::move(*p)));
    }
  }
  return json{{"projects", found}, {"projectsNotFound", missing}};
}

ApiResult<json> Service::list_projects(const Call& c) {
  Fields f(c.in, "");
  auto sort = name_time_sort(f);
  if (!sort) return tl::unexpected(sort.error());
  auto token = f.string("nextToken", false, 1);
  if (!token) return tl::unexpected(token.error());
  KILN_API_TRY(page, store_.list_projects(sort->sort, sort->order, token->value_or(""), 100));
  json out = {{"projects", page.items}};
  if (!page.next_token.empty()) out["nextToken"] = page.next_token;
  return out;
}

}  // namespace kiln::api
