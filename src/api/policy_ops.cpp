// Resource policies and sharing: PutResourcePolicy, GetResourcePolicy, DeleteResourcePolicy,
// UpdateProjectVisibility, ListSharedProjects and ListSharedReportGroups
// (docs/reference/codebuild-api.md §3.6), answered as CodeBuild answers them for private
// projects in one account. Kiln stores a project's policy and gives it back; it does not enforce
// it, since every caller is in the server's one account and keys' own policies decide
// (docs/server.md "Resource policies and sharing").
#include "api/ops_common.h"
#include "api/service.h"
#include "api/validate.h"

namespace kiln::api {
namespace {

using nlohmann::json;

// The project an ARN names (arn:aws:codebuild:REGION:ACCOUNT:project/NAME), or "" when it names
// none. Report groups, the other kind of resource a policy can be put on, take no policy in Kiln.
std::string project_in_arn(const std::string& arn) {
  constexpr std::string_view kMarker = ":project/";
  const auto at = arn.find(kMarker);
  if (!arn.starts_with("arn:aws:codebuild:") || at == std::string::npos) return "";
  return arn.substr(at + kMarker.size());
}

ApiResult<json> parse_stored(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return api_fail("InternalFailure", "a stored project is not valid JSON");
  return j;
}

// Every shared list is empty in one account, so no page token was ever given out.
ApiResult<json> empty_shared_list(const json& in, const char* member, std::size_t min_token) {
  Fields f(in, "");
  KILN_API_PASS(f.one_of("sortBy", false, {"ARN", "MODIFIED_TIME"}));
  KILN_API_PASS(f.one_of("sortOrder", false, {"ASCENDING", "DESCENDING"}));
  KILN_API_PASS(f.integer("maxResults", false, 1, 100));
  auto token = f.string("nextToken", false, min_token);
  if (!token) return tl::unexpected(token.error());
  if (*token) return invalid_input("Invalid next token");
  return json{{member, json::array()}};
}

}  // namespace

// The stored project whose ARN is `arn`, exactly as it was made (region and account included).
ApiResult<json> Service::project_by_arn(const std::string& arn) {
  const std::string name = project_in_arn(arn);
  auto not_there = [&] {
    return not_found((name.empty() ? "Resource cannot be found: " : "Project cannot be found: ") +
                     arn);
  };
  if (name.empty()) return not_there();
  KILN_API_TRY(rows, store_.get_projects({name}));
  if (rows.empty()) return not_there();
  auto project = parse_stored(rows.front().json);
  if (!project) return project;
  if (project->value("arn", "") != arn) return not_there();
  return project;
}

ApiResult<json> Service::put_resource_policy(const Call& c) {
  Fields f(c.in, "");
  auto policy = f.string("policy", true, 1);
  if (!policy) return tl::unexpected(policy.error());
  auto arn = f.string("resourceArn", true, 1);
  if (!arn) return tl::unexpected(arn.error());
  const json doc = json::parse(**policy, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return invalid_input("Invalid resource policy: the policy must be a JSON object");
  auto project = project_by_arn(**arn);
  if (!project) return tl::unexpected(project.error());
  KILN_API_CHECK(store_.put_resource_policy(project->at("name").get<std::string>(), **policy));
  return json{{"resourceArn", **arn}};
}

ApiResult<json> Service::get_resource_policy(const Call& c) {
  Fields f(c.in, "");
  auto arn = f.string("resourceArn", true, 1);
  if (!arn) return tl::unexpected(arn.error());
  auto project = project_by_arn(**arn);
  if (!project) return tl::unexpected(project.error());
  KILN_API_TRY(policy, store_.get_resource_policy(project->at("name").get<std::string>()));
  if (!policy) return not_found("Resource policy cannot be found: " + **arn);
  return json{{"policy", *policy}};
}

ApiResult<json> Service::delete_resource_policy(const Call& c) {
  Fields f(c.in, "");
  auto arn = f.string("resourceArn", true, 1);
  if (!arn) return tl::unexpected(arn.error());
  // The model gives DeleteResourcePolicy no ResourceNotFoundException: a resource without a
  // policy, or no resource at all, is deleted already.
  auto project = project_by_arn(**arn);
  if (!project) return json::object();
  KILN_API_TRY(deleted, store_.delete_resource_policy(project->at("name").get<std::string>()));
  (void)deleted;
  return json::object();
}

ApiResult<json> Service::update_project_visibility(const Call& c) {
  Fields f(c.in, "");
  auto arn = f.string("projectArn", true, 1);
  if (!arn) return tl::unexpected(arn.error());
  auto visibility = f.one_of("projectVisibility", true, {"PUBLIC_READ", "PRIVATE"});
  if (!visibility) return tl::unexpected(visibility.error());
  KILN_API_PASS(f.string("resourceAccessRole", false, 1));
  MutexLock lock(project_writes_);  // keeps a webhook another call adds meanwhile
  auto project = project_by_arn(**arn);
  if (!project) return tl::unexpected(project.error());
  if (**visibility == "PUBLIC_READ") {
    return invalid_input(
        "projectVisibility PUBLIC_READ is not supported: Kiln has no public build pages, so its "
        "projects stay PRIVATE (docs/server.md)");
  }
  (*project)["projectVisibility"] = "PRIVATE";
  project->erase("publicProjectAlias");
  project->erase("resourceAccessRole");
  const double t = now();
  (*project)["lastModified"] = t;
  const std::string name = project->at("name");
  KILN_API_CHECK(store_.update_project({name, project->value("created", t), t, project->dump()}));
  return json{{"projectArn", **arn}, {"projectVisibility", "PRIVATE"}};
}

ApiResult<json> Service::list_shared_projects(const Call& c) {
  return empty_shared_list(c.in, "projects", 1);
}

ApiResult<json> Service::list_shared_report_groups(const Call& c) {
  return empty_shared_list(c.in, "reportGroups", 0);
}

}  // namespace kiln::api
