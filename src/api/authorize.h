// Which IAM action each API operation is and which resources it touches, and the check of a
// key's policy against them (docs/server.md, "Keys and policies").
//
// Actions are the services' own: `codebuild:StartBuild`, `logs:GetLogEvents`,
// `ssm:GetParameter`, `secretsmanager:GetSecretValue`, named after the operation. Resources
// follow the CodeBuild permissions reference
// (https://docs.aws.amazon.com/codebuild/latest/userguide/auth-and-access-control-permissions-reference.html):
// every build operation is checked against its build's PROJECT ARN, so a key limited to
// `project/app` can neither read nor stop another project's builds. Operations that name no
// resource (List*, DescribeParameters, source credentials) are checked against `*`, so they are
// allowed or denied as a whole, as in IAM. Kiln adds `kiln:PrivilegedBuild` on the project ARN
// for a privileged CreateProject/UpdateProject or a StartBuild with privilegedModeOverride, and
// asks for the read right on each PARAMETER_STORE / SECRETS_MANAGER variable a project or a build
// override names, since the build would read it with the server's rights.
//
// Resource ARNs use the caller's region (from its signature) and the server's account:
//   arn:aws:codebuild:R:A:project/NAME
//   arn:aws:codebuild:R:A:report-group/NAME                      (a report: its group's)
//   arn:aws:logs:R:A:log-group:/aws/codebuild/NAME:*            (FilterLogEvents)
//   arn:aws:logs:R:A:log-group:/aws/codebuild/NAME:log-stream:ID (GetLogEvents, GET /logs/...)
//   arn:aws:ssm:R:A:parameter/NAME                               (leading '/' dropped)
//   arn:aws:secretsmanager:R:A:secret:NAME-xxxxxx                (NAME alone when not stored)
// A field that is missing or mistyped yields a resource with an empty name: only a policy with
// wildcards allows it, and the operation then reports the bad input itself.
//
// Thread safety: pure functions, apart from what `secret_arn` does.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/api_error.h"
#include "auth/policy.h"

namespace kiln::api {

struct Access {
  std::string action;
  std::string resource;
  bool operator==(const Access&) const = default;
};

struct ArnContext {
  std::string region;
  std::string account;
  // A SecretId (name or ARN) -> the stored secret's ARN, or "" when there is none.
  std::function<std::string(const std::string& secret_id)> secret_arn;
};

// The accesses of the operation named by `target` ("CodeBuild_20161006.StartBuild") with input
// `in`, without repeats, in the order the input names them. An operation missing from the table
// is `<service>:<Operation>` on `*`, so it is never allowed by a policy naming resources only.
std::vector<Access> accesses_of(std::string_view target, const nlohmann::json& in,
                                const ArnContext& ctx);
// GET /logs/<project>/<uuid>: logs:GetLogEvents on the build's log stream.
Access log_read_access(const std::string& project, const std::string& uuid, const ArnContext& ctx);

// A build's own read of a parameter or a secret (server/secret_access.h): what the key's own
// GetParameter / GetSecretValue call of it would need.
Access parameter_read_access(const std::string& name, const ArnContext& ctx);
Access secret_read_access(const std::string& secret_id, const ArnContext& ctx);
// A stored secret's ARN: arn:aws:secretsmanager:R:A:secret:NAME-SUFFIX.
std::string stored_secret_arn(const std::string& region, const std::string& account,
                              const std::string& name, const std::string& arn_suffix);

// "arn:aws:iam::ACCOUNT:user/USER", who IAM's messages name.
std::string user_arn(const std::string& account, const std::string& user);

// The first access `policy` does not allow, as AccessDeniedException with IAM's message; nullopt
// when all are allowed. A null policy allows nothing.
std::optional<ApiError> authorize(const auth::Policy* policy, const std::string& principal,
                                  const std::vector<Access>& accesses);

}  // namespace kiln::api
