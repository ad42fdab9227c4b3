#include "engine/variables.h"

#include <cctype>

#include "engine/record.h"

namespace kiln::engine {

VarList codebuild_variables(const BuildIdentity& id) {
  const std::string arn = build_arn(id.region, id.account, id.build_id());
  VarList v = {
      {"AWS_DEFAULT_REGION", id.region},
      {"AWS_REGION", id.region},
      {"CODEBUILD_BATCH_BUILD_IDENTIFIER", id.batch_identifier},
      {"CODEBUILD_BUILD_ARN", arn},
      {"CODEBUILD_BUILD_ID", id.build_id()},
      {"CODEBUILD_BUILD_IMAGE", id.image},
      {"CODEBUILD_BUILD_NUMBER", std::to_string(id.build_number)},
      {"CODEBUILD_BUILD_SUCCEEDING", "1"},
      {"CODEBUILD_CI", "true"},
      {"CODEBUILD_INITIATOR", id.initiator},
      {"CODEBUILD_KMS_KEY_ID", "arn:aws:kms:" + id.region + ":" + id.account + ":alias/aws/s3"},
      {"CODEBUILD_LOG_PATH", id.uuid},
      {"CODEBUILD_PROJECT_ARN", project_arn(id.region, id.account, id.project)},
      {"CODEBUILD_PUBLIC_BUILD_URL", ""},
      {"CODEBUILD_SOURCE_REPO_URL", id.source_repo_url},
      {"CODEBUILD_SOURCE_VERSION", id.source_version},
      {"CODEBUILD_SRC_DIR", id.src_dir},
      {"CODEBUILD_START_TIME", std::to_string(id.start_time_ms)},
      {"CODEBUILD_WEBHOOK_ACTOR_ACCOUNT_ID", ""},
      {"CODEBUILD_WEBHOOK_BASE_REF", ""},
      {"CODEBUILD_WEBHOOK_EVENT", ""},
      {"CODEBUILD_WEBHOOK_HEAD_REF", ""},
      {"CODEBUILD_WEBHOOK_MERGE_COMMIT", ""},
      {"CODEBUILD_WEBHOOK_PREV_COMMIT", ""},
      {"CODEBUILD_WEBHOOK_TRIGGER", ""},
  };
  for (const auto& [name, value] : id.webhook) {
    if (!name.starts_with("CODEBUILD_WEBHOOK_")) continue;  // only the webhook's own variables
    for (auto& [have, now] : v) {
      if (have == name) now = value;
    }
  }
  // §4.1: "not set" when the version cannot be resolved, rather than empty.
  if (!id.resolved_source_version.empty())
    v.emplace_back("CODEBUILD_RESOLVED_SOURCE_VERSION", id.resolved_source_version);
  return v;
}

exec::EnvMap compose_environment(const exec::EnvMap& image_env, const VarList& buildspec_vars,
                                 const VarList& project_vars, const VarList& overrides,
                                 const VarList& codebuild_vars) {
  exec::EnvMap env = image_env;
  for (const VarList* layer : {&buildspec_vars, &project_vars, &overrides, &codebuild_vars})
    for (const auto& [name, value] : *layer) env[name] = value;
  return env;
}

bool valid_variable_name(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

Result<std::pair<std::string, std::string>> parse_env_assignment(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos)
    return fail(ErrorCode::kInvalidArgument, "expected NAME=VALUE, got \"" + text + "\"");
  std::string name = text.substr(0, eq);
  if (!valid_variable_name(name))
    return fail(ErrorCode::kInvalidArgument, "invalid variable name \"" + name + "\"");
  return std::make_pair(std::move(name), text.substr(eq + 1));
}

Result<VarList> parse_env_file(const std::string& text, const std::string& path) {
  VarList out;
  std::size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    auto kv = parse_env_assignment(line.substr(first));
    if (!kv) {
      return fail(ErrorCode::kParse, path + ":" + std::to_string(line_no) + ":" +
                                         std::to_string(first + 1) + ": " + kv.error().message());
    }
    out.push_back(std::move(*kv));
  }
  return out;
}

}  // namespace kiln::engine
