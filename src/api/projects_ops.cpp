// CreateProject, UpdateProject, DeleteProject, BatchGetProjects and ListProjects
// (codebuild-api §3.4). ListCuratedEnvironmentImages is in curated_images_ops.cpp.
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
  const std::string name = (*project)["name"];
  auto r = store_.create_project({name, t, t, project->dump()});
  if (!r) {
    if (r.error().code() == ErrorCode::kAlreadyExists) {
      return api_fail("ResourceAlreadyExistsException",
                      "Project already exists: arn:aws:codebuild:" + account.region + ":" +
                          account.id + ":project/" + name);
    }
    return tl::unexpected(from_error(r.error()));
  }
  return json{{"project", *project}};
}

ApiResult<json> Service::update_project(const Call& c) {
  Fields f(c.in, "");
  auto name = f.string("name", true, 1);
  if (!name) return tl::unexpected(name.error());
  auto current = load_project(**name);
  if (!current) return current;
  const double t = now();
  auto updated = project_apply_update(std::move(*current), c.in, t);
  if (!updated) return updated;
  const double created = updated->value("created", t);
  KILN_API_CHECK(store_.update_project({**name, created, t, updated->dump()}));
  return json{{"project", *updated}};
}

ApiResult<json> Service::delete_project(const Call& c) {
  Fields f(c.in, "");
  auto name = f.string("name", true, 1);
  if (!name) return tl::unexpected(name.error());
  KILN_API_TRY(deleted, store_.delete_project(**name));
  (void)deleted;  // deleting a missing project succeeds, as in CodeBuild
  return json::object();
}

ApiResult<json> Service::batch_get_projects(const Call& c) {
  Fields f(c.in, "");
  auto names = f.list("names", true, 100);
  if (!names) return tl::unexpected(names.error());
  if ((*names)->empty()) return invalid_input("names must hold 1 to 100 project names");
  std::vector<std::string> wanted;
  for (const auto& n : **names) {
    if (!n.is_string() || n.get_ref<const std::string&>().empty()) {
      return invalid_input("names must be non-empty strings");
    }
    std::string s = n;
    // An ARN names the project after "project/".
    if (const auto slash = s.rfind(":project/");
        s.starts_with("arn:") && slash != std::string::npos)
      s = s.substr(slash + 9);
    wanted.push_back(std::move(s));
  }
  KILN_API_TRY(rows, store_.get_projects(wanted));
  json found = json::array();
  json missing = json::array();
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    const auto it = std::find_if(rows.begin(), rows.end(),
                                 [&](const store::ProjectRow& r) { return r.name == wanted[i]; });
    if (it == rows.end()) {
      missing.push_back((**names)[i]);
      continue;
    }
    auto p = parse_stored(it->json);
    if (!p) return tl::unexpected(p.error());
    found.push_back(std::move(*p));
  }
  return json{{"projects", found}, {"projectsNotFound", missing}};
}

ApiResult<json> Service::list_projects(const Call& c) {
  Fields f(c.in, "");
  auto by = f.one_of("sortBy", false, {"NAME", "CREATED_TIME", "LAST_MODIFIED_TIME"});
  if (!by) return tl::unexpected(by.error());
  auto order = f.one_of("sortOrder", false, {"ASCENDING", "DESCENDING"});
  if (!order) return tl::unexpected(order.error());
  auto token = f.string("nextToken", false, 1);
  if (!token) return tl::unexpected(token.error());
  store::ProjectSort sort = store::ProjectSort::kName;
  if (*by && **by == "CREATED_TIME") sort = store::ProjectSort::kCreatedTime;
  if (*by && **by == "LAST_MODIFIED_TIME") sort = store::ProjectSort::kLastModifiedTime;
  // CodeBuild's default order is by name, descending.
  const auto so = *order && **order == "ASCENDING" ? store::SortOrder::kAscending
                                                   : store::SortOrder::kDescending;
  KILN_API_TRY(page, store_.list_projects(sort, so, token->value_or(""), 100));
  json out = {{"projects", page.items}};
  if (!page.next_token.empty()) out["nextToken"] = page.next_token;
  return out;
}

}  // namespace kiln::api
