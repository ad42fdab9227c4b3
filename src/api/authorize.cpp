#include "api/authorize.h"

#include <algorithm>
#include <array>

#include "api/report_shape.h"
#include "api/service.h"
#include "engine/record.h"
#include "secrets/resolver.h"

namespace kiln::api {
namespace {

using nlohmann::json;

// Batch operations take at most 100 names; more is refused by the operation, so checking more
// would only let a request make the server evaluate without bound.
constexpr std::size_t kMaxListed = 100;

struct ServicePrefix {
  std::string_view prefix;
  std::string_view iam;
};
constexpr std::array<ServicePrefix, 4> kServices = {{
    {"CodeBuild_20161006.", "codebuild"},
    {"Logs_20140328.", "logs"},
    {"AmazonSSM.", "ssm"},
    {"secretsmanager.", "secretsmanager"},
}};

std::string string_at(const json& in, std::string_view name) {
  const auto it = in.find(name);
  return it != in.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> strings_at(const json& in, std::string_view name) {
  std::vector<std::string> out;
  const auto it = in.find(name);
  if (it == in.end() || !it->is_array()) return {""};
  for (const auto& v : *it) {
    if (out.size() == kMaxListed) break;
    out.push_back(v.is_string() ? v.get<std::string>() : std::string());
  }
  return out;
}

// What follows `marker` in an ARN, or `s` itself when it is not an ARN naming one.
std::string after(const std::string& s, std::string_view marker) {
  const auto at = s.find(marker);
  if (!s.starts_with("arn:") || at == std::string::npos) return s;
  return s.substr(at + marker.size());
}

class Arns {
 public:
  explicit Arns(const ArnContext& ctx) : ctx_(ctx) {}

  std::string project(const std::string& name) const {
    return engine::project_arn(ctx_.region, ctx_.account, after(name, ":project/"));
  }
  // A build id is PROJECT:UUID, or its ARN (...:build/PROJECT:UUID).
  std::string project_of_build(const std::string& id) const {
    const std::string bare = after(id, ":build/");
    return project(bare.substr(0, bare.find(':')));
  }
  // A batch id is PROJECT:UUID too, or its ARN (...:build-batch/PROJECT:UUID).
  std::string project_of_batch(const std::string& id) const {
    const std::string bare = after(id, ":build-batch/");
    return project(bare.substr(0, bare.find(':')));
  }
  std::string log_group(const std::string& group) const {
    std::string g = after(group, ":log-group:");
    if (g.ends_with(":*")) g.resize(g.size() - 2);
    return base("logs") + "log-group:" + g;
  }
  std::string parameter(const std::string& name) const {
    std::string n = after(name, ":parameter/");
    if (n.starts_with('/')) n.erase(0, 1);
    return base("ssm") + "parameter/" + n;
  }
  // A report group's name or ARN.
  std::string report_group(const std::string& name) const {
    if (name.starts_with("arn:") && name.find(":report-group/") != std::string::npos) return name;
    return base("codebuild") + "report-group/" + name;
  }
  // A report is checked against its group (the CodeBuild permissions reference).
  std::string group_of_report(const std::string& arn) const {
    const std::string group = group_arn_of_report(arn);
    return group.empty() ? report_group("") : group;
  }
  std::string secret(const std::string& id) const {
    if (ctx_.secret_arn) {
      if (std::string arn = ctx_.secret_arn(id); !arn.empty()) return arn;
    }
    return base("secretsmanager") + "secret:" + after(id, ":secret:");
  }

 private:
  std::string base(std::string_view service) const {
    return "arn:aws:" + std::string(service) + ":" + ctx_.region + ":" + ctx_.account + ":";
  }
  const ArnContext& ctx_;
};

void add(std::vector<Access>& out, std::string action, std::string resource) {
  Access a{std::move(action), std::move(resource)};
  if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(std::move(a));
}

// The PARAMETER_STORE and SECRETS_MANAGER variables of a project or a build override: the
// worker resolves them with the server's store, so whoever names one must be able to read it.
void secret_reads(std::vector<Access>& out, const json& vars, const Arns& arns) {
  if (!vars.is_array()) return;
  std::size_t seen = 0;
  for (const auto& v : vars) {
    if (++seen > (1U << 16)) break;  // the operation refuses more than this anyway
    if (!v.is_object()) continue;
    const std::string type = string_at(v, "type");
    const std::string value = string_at(v, "value");
    if (type == "PARAMETER_STORE") {
      add(out, "ssm:GetParameter", arns.parameter(value));
    } else if (type == "SECRETS_MANAGER") {
      auto ref = secrets::parse_secret_reference(value);
      add(out, "secretsmanager:GetSecretValue", arns.secret(ref ? ref->secret_id : value));
    }
  }
}

bool is_true(const json& in, std::string_view name) {
  const auto it = in.find(name);
  return it != in.end() && it->is_boolean() && it->get<bool>();
}

void codebuild(std::vector<Access>& out, std::string_view op, const json& in, const Arns& arns) {
  const std::string action = "codebuild:" + std::string(op);
  if (op == "CreateProject" || op == "UpdateProject") {
    const std::string project = arns.project(string_at(in, "name"));
    add(out, action, project);
    if (const auto env = in.find("environment"); env != in.end() && env->is_object()) {
      if (is_true(*env, "privilegedMode")) add(out, "kiln:PrivilegedBuild", project);
      if (const auto vars = env->find("environmentVariables"); vars != env->end())
        secret_reads(out, *vars, arns);
    }
  } else if (op == "DeleteProject") {
    add(out, action, arns.project(string_at(in, "name")));
  } else if (op == "StartBuild" || op == "StartBuildBatch") {
    const std::string project = arns.project(string_at(in, "projectName"));
    add(out, action, project);
    if (is_true(in, "privilegedModeOverride")) add(out, "kiln:PrivilegedBuild", project);
    if (const auto vars = in.find("environmentVariablesOverride"); vars != in.end())
      secret_reads(out, *vars, arns);
  } else if (op == "ListBuildsForProject" || op == "InvalidateProjectCache" ||
             op == "ListBuildBatchesForProject" || op == "CreateWebhook" || op == "UpdateWebhook" ||
             op == "DeleteWebhook") {
    add(out, action, arns.project(string_at(in, "projectName")));
  } else if (op == "BatchGetProjects") {
    for (const auto& n : strings_at(in, "names")) add(out, action, arns.project(n));
  } else if (op == "StopBuild" || op == "RetryBuild") {
    add(out, action, arns.project_of_build(string_at(in, "id")));
  } else if (op == "BatchGetBuilds" || op == "BatchDeleteBuilds") {
    for (const auto& id : strings_at(in, "ids")) add(out, action, arns.project_of_build(id));
  } else if (op == "StopBuildBatch" || op == "RetryBuildBatch" || op == "DeleteBuildBatch") {
    add(out, action, arns.project_of_batch(string_at(in, "id")));
  } else if (op == "BatchGetBuildBatches") {
    for (const auto& id : strings_at(in, "ids")) add(out, action, arns.project_of_batch(id));
  } else if (op == "UpdateProjectVisibility") {
    add(out, action, arns.project(string_at(in, "projectArn")));
  } else if (op == "PutResourcePolicy" || op == "GetResourcePolicy" ||
             op == "DeleteResourcePolicy") {
    // A project's ARN as the other project operations check it; any other ARN (a report
    // group's) as given, which the operation then reports missing.
    const std::string arn = string_at(in, "resourceArn");
    const bool other = arn.starts_with("arn:") && arn.find(":project/") == std::string::npos;
    add(out, action, other ? arn : arns.project(arn));
  } else if (op == "CreateReportGroup") {
    add(out, action, arns.report_group(string_at(in, "name")));
  } else if (op == "UpdateReportGroup" || op == "DeleteReportGroup") {
    add(out, action, arns.report_group(string_at(in, "arn")));
  } else if (op == "ListReportsForReportGroup" || op == "GetReportGroupTrend") {
    add(out, action, arns.report_group(string_at(in, "reportGroupArn")));
  } else if (op == "BatchGetReportGroups") {
    for (const auto& a : strings_at(in, "reportGroupArns")) add(out, action, arns.report_group(a));
  } else if (op == "BatchGetReports") {
    for (const auto& a : strings_at(in, "reportArns")) add(out, action, arns.group_of_report(a));
  } else if (op == "DeleteReport") {
    add(out, action, arns.group_of_report(string_at(in, "arn")));
  } else if (op == "DescribeTestCases" || op == "DescribeCodeCoverages") {
    add(out, action, arns.group_of_report(string_at(in, "reportArn")));
  } else {
    add(out, action, "*");  // ListProjects, ListBuilds, ListReports, ListReportGroups, ...
  }
}

void logs(std::vector<Access>& out, std::string_view op, const json& in, const Arns& arns) {
  std::string group = string_at(in, "logGroupName");
  if (group.empty()) group = string_at(in, "logGroupIdentifier");
  const std::string action = "logs:" + std::string(op);
  if (op == "GetLogEvents") {
    add(out, action, arns.log_group(group) + ":log-stream:" + string_at(in, "logStreamName"));
  } else if (op == "FilterLogEvents" || op == "DescribeLogStreams") {
    add(out, action, arns.log_group(group) + ":*");
  } else if (op == "DescribeLogGroups") {
    add(out, action, arns.log_group("*"));  // IAM's resource for it: every group
  } else {
    add(out, action, "*");
  }
}

void ssm(std::vector<Access>& out, std::string_view op, const json& in, const Arns& arns) {
  const std::string action = "ssm:" + std::string(op);
  if (op == "PutParameter" || op == "GetParameter" || op == "DeleteParameter") {
    add(out, action, arns.parameter(string_at(in, "Name")));
  } else if (op == "GetParameters") {
    for (const auto& n : strings_at(in, "Names")) add(out, action, arns.parameter(n));
  } else if (op == "GetParametersByPath") {
    add(out, action, arns.parameter(string_at(in, "Path")));
  } else {
    add(out, action, "*");  // DescribeParameters
  }
}

void secretsmanager(std::vector<Access>& out, std::string_view op, const json& in,
                    const Arns& arns) {
  const std::string action = "secretsmanager:" + std::string(op);
  if (op == "CreateSecret") {
    // The ARN's random suffix does not exist yet: policies name new secrets as NAME*.
    add(out, action, arns.secret(string_at(in, "Name")));
  } else if (in.contains("SecretId")) {
    add(out, action, arns.secret(string_at(in, "SecretId")));
  } else {
    add(out, action, "*");  // ListSecrets
  }
}

}  // namespace

std::vector<Access> accesses_of(std::string_view target, const json& in, const ArnContext& ctx) {
  const Arns arns(ctx);
  std::vector<Access> out;
  for (const auto& s : kServices) {
    if (!target.starts_with(s.prefix)) continue;
    const std::string_view op = target.substr(s.prefix.size());
    if (s.iam == "codebuild") codebuild(out, op, in, arns);
    if (s.iam == "logs") logs(out, op, in, arns);
    if (s.iam == "ssm") ssm(out, op, in, arns);
    if (s.iam == "secretsmanager") secretsmanager(out, op, in, arns);
    return out;
  }
  add(out, std::string(target), "*");  // api_of() lets no other target through
  return out;
}

Access log_read_access(const std::string& project, const std::string& uuid, const ArnContext& ctx) {
  return {"logs:GetLogEvents",
          Arns(ctx).log_group("/aws/codebuild/" + project) + ":log-stream:" + uuid};
}

Access parameter_read_access(const std::string& name, const ArnContext& ctx) {
  return {"ssm:GetParameter", Arns(ctx).parameter(name)};
}

Access secret_read_access(const std::string& secret_id, const ArnContext& ctx) {
  return {"secretsmanager:GetSecretValue", Arns(ctx).secret(secret_id)};
}

std::string stored_secret_arn(const std::string& region, const std::string& account,
                              const std::string& name, const std::string& arn_suffix) {
  return "arn:aws:secretsmanager:" + region + ":" + account + ":secret:" + name + "-" + arn_suffix;
}

std::string user_arn(const std::string& account, const std::string& user) {
  return "arn:aws:iam::" + account + ":user/" + user;
}

std::optional<ApiError> authorize(const auth::Policy* policy, const std::string& principal,
                                  const std::vector<Access>& accesses) {
  for (const auto& a : accesses) {
    const auto decision =
        policy ? policy->evaluate(a.action, a.resource) : auth::Decision::kImplicitDeny;
    if (decision == auth::Decision::kAllow) continue;
    const std::string head = "User: " + principal + " is not authorized to perform: " + a.action +
                             " on resource: " + a.resource;
    return ApiError{
        "AccessDeniedException",
        decision == auth::Decision::kExplicitDeny
            ? head + " with an explicit deny in an identity-based policy"
            : head + " because no identity-based policy allows the " + a.action + " action",
        400};
  }
  return std::nullopt;
}

std::optional<ApiError> Service::authorize_call(std::string_view target, const json& in,
                                                const std::string& key_id, const std::string& user,
                                                const std::string& region) {
  if (options_.policies == nullptr) return std::nullopt;
  const ArnContext ctx{region, options_.account.id, [&](const std::string& id) -> std::string {
                         auto s = secrets_.describe_secret(id);
                         if (!s) return "";
                         return stored_secret_arn(region, options_.account.id, s->name,
                                                  s->arn_suffix);
                       }};
  const auto policy = options_.policies->policy_of(key_id);
  return authorize(policy.get(), user_arn(options_.account.id, user), accesses_of(target, in, ctx));
}

std::optional<ApiError> Service::authorize_log_read(std::string_view path,
                                                    const auth::Identity& who) {
  if (options_.policies == nullptr) return std::nullopt;
  // /logs/<project>/<uuid>[...]: get_log() checks the shape; here only the names matter.
  std::string rest(path.substr(std::string_view("/logs/").size()));
  const auto slash = rest.find('/');
  const std::string project = rest.substr(0, slash);
  const std::string uuid = slash == std::string::npos ? "" : rest.substr(slash + 1);
  const ArnContext ctx{who.region.empty() ? options_.account.region : who.region,
                       options_.account.id, nullptr};
  const auto policy = options_.policies->policy_of(who.access_key_id);
  return authorize(policy.get(), user_arn(options_.account.id, who.user),
                   {log_read_access(project, uuid, ctx)});
}

ApiResult<void> Service::check_privileged(const json& environment) const {
  const auto p = environment.find("privilegedMode");
  if (options_.allow_privileged || p == environment.end() || !p->is_boolean() || !p->get<bool>())
    return {};
  return invalid_input(
      "privilegedMode is disabled on this server: privileged builds can take the host, so they "
      "run only on a server started with --allow-privileged (docs/server.md)");
}

}  // namespace kiln::api
