// Builds the environment a build's first command starts from (docs/reference/codebuild-semantics.md
// §1.6, §4).
//
// Layers, lowest first: the image's environment; the buildspec's env/variables; the project's
// variables; StartBuild's environmentVariablesOverride (kiln run: -e and --env-file). Values are
// literal at every layer: "$PATH:/x" stays exactly that. Then the CODEBUILD_* and AWS_*
// variables CodeBuild defines are set on top, because CodeBuild reserves the CODEBUILD_ prefix.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "exec/executor.h"
#include "util/error.h"

namespace kiln::engine {

using VarList = std::vector<std::pair<std::string, std::string>>;

struct BuildIdentity {
  std::string project;
  std::string uuid;
  long build_number = 1;
  std::string region = "us-east-1";
  std::string account = "000000000000";
  std::string initiator;
  std::string image;
  std::string source_version;           // CODEBUILD_SOURCE_VERSION
  std::string resolved_source_version;  // empty: not set (§4.1: not set when unresolvable)
  std::string source_repo_url;
  std::string src_dir;  // CODEBUILD_SRC_DIR as the build sees it
  long long start_time_ms = 0;
  std::string batch_identifier;  // CODEBUILD_BATCH_BUILD_IDENTIFIER; "" outside a batch
  std::string build_batch_arn;   // Build.buildBatchArn of a batch's member build
  // The CODEBUILD_WEBHOOK_* values of a build a webhook delivery started (webhook/variables.h);
  // a variable not listed here is set empty, as §4.1 has it for builds no webhook started.
  VarList webhook;

  std::string build_id() const { return project + ":" + uuid; }
};

// The CODEBUILD_* / AWS_* variables of §4.1 (plus CODEBUILD_CI, §4.4), in a stable order.
VarList codebuild_variables(const BuildIdentity& id);

exec::EnvMap compose_environment(const exec::EnvMap& image_env, const VarList& buildspec_vars,
                                 const VarList& project_vars, const VarList& overrides,
                                 const VarList& codebuild_vars);

// Parses an env file as CodeBuild's local agent does (§11.1): NAME=VALUE lines, `#` comments
// and blank lines ignored, no special handling of quotes. Errors name the file and line.
Result<VarList> parse_env_file(const std::string& text, const std::string& path);

// Parses a `-e NAME=VALUE` flag.
Result<std::pair<std::string, std::string>> parse_env_assignment(const std::string& text);

bool valid_variable_name(const std::string& name);

}  // namespace kiln::engine
