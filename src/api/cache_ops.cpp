// InvalidateProjectCache (docs/reference/codebuild-api.md §3.2): forgets everything the project has
// cached. What that means is the server's business (ServiceOptions::invalidate_cache,
// server/cache_invalidation.h). The answer is `{}`, as CodeBuild's.
#include "api/ops_common.h"
#include "api/service.h"
#include "api/validate.h"

namespace kiln::api {

using nlohmann::json;

ApiResult<json> Service::invalidate_project_cache(const Call& c) {
  Fields f(c.in, "");
  auto name = f.string("projectName", true, 1);
  if (!name) return tl::unexpected(name.error());
  auto project = load_project(**name);
  if (!project) return tl::unexpected(project.error());
  if (options_.invalidate_cache) {
    if (auto r = options_.invalidate_cache(*project); !r) {
      if (r.error().code() == ErrorCode::kInvalidArgument)
        return invalid_input("Invalid cache of project " + **name + ": " + r.error().message());
      return api_fail("InternalFailure",
                      "invalidating the cache of project " + **name + ": " + r.error().describe());
    }
  }
  return json::object();
}

}  // namespace kiln::api
