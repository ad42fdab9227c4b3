// The typed model of a buildspec (versions 0.1 and 0.2), covering every key of
// docs/reference/codebuild-semantics.md §1.2. The parser (spec/parser.h) fills it; the engine reads
// it. Values are stored as written (after YAML scalar conversion): nothing here is expanded.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kiln::spec {

// A 1-based position in the buildspec text; line 0 means "unknown".
struct Mark {
  int line = 0;
  int column = 0;
};

enum class Version { k0_1, k0_2 };

enum class PhaseName { kInstall, kPreBuild, kBuild, kPostBuild };
constexpr PhaseName kAllPhases[] = {PhaseName::kInstall, PhaseName::kPreBuild, PhaseName::kBuild,
                                    PhaseName::kPostBuild};
const char* yaml_name(PhaseName p);   // "pre_build"
const char* upper_name(PhaseName p);  // "PRE_BUILD"

// on-failure (docs/reference/codebuild-semantics.md §3.4). Parsing choices: docs/buildspec.md; what
// the engine does with it: docs/semantics.md.
struct OnFailure {
  enum class Kind { kDefault, kAbort, kContinue, kRetry };
  Kind kind = Kind::kDefault;
  int retry_count = 3;             // RETRY forms only; 0..100
  std::string retry_regex = ".*";  // ECMAScript syntax, searched in the failing command's output
  std::string raw;                 // the value as written
};

struct Command {
  std::string text;
  Mark mark;
};

struct Phase {
  bool present = false;
  std::optional<std::string> run_as;
  OnFailure on_failure;
  // install only. Ordered as written.
  std::vector<std::pair<std::string, std::string>> runtime_versions;
  std::vector<Command> commands;
  std::vector<Command> finally;
  Mark mark;
};

struct Env {
  std::optional<std::string> shell;                                  // "bash", "/bin/sh", "sh", ...
  std::vector<std::pair<std::string, std::string>> variables;        // literal values
  std::vector<std::pair<std::string, std::string>> parameter_store;  // name -> SSM parameter
  std::vector<std::pair<std::string, std::string>> secrets_manager;  // name -> id:key:stage:ver
  // Where each reference's value is written, by variable name (for `kiln lint`'s warnings).
  std::map<std::string, Mark> reference_marks;
  std::vector<std::string> exported_variables;
  bool git_credential_helper = false;
};

struct Proxy {
  bool upload_artifacts = false;
  bool logs = false;
};

struct ArtifactSpec {
  std::vector<std::string> files;
  std::optional<std::string> name;
  bool discard_paths = false;
  std::optional<std::string> base_directory;
  std::vector<std::string> exclude_paths;
  bool enable_symlinks = false;
  std::optional<std::string> s3_prefix;
  Mark mark;
};

struct Artifacts {
  bool present = false;
  // primary.files is empty when the section has only secondary-artifacts; the engine reports
  // that as CLIENT_ERROR at UPLOAD_ARTIFACTS, as CodeBuild does.
  ArtifactSpec primary;
  std::vector<std::pair<std::string, ArtifactSpec>> secondary;  // identifier -> spec
  Mark mark;
};

struct Report {
  std::string group;  // name or ARN, as written
  std::vector<std::string> files;
  std::optional<std::string> base_directory;
  bool discard_paths = false;
  std::optional<std::string> file_format;
};

struct Cache {
  bool present = false;
  std::optional<std::string> key;
  std::vector<std::string> fallback_keys;
  std::optional<std::string> action;  // "restore" | "save"; unset = both
  std::vector<std::string> paths;
};

struct BatchEnv {
  std::optional<std::string> compute_type;
  std::optional<std::string> fleet;
  std::optional<std::string> image;
  std::optional<bool> privileged_mode;
  std::optional<std::string> type;
  std::vector<std::pair<std::string, std::string>> variables;
};

struct BatchTask {
  std::string identifier;
  std::optional<std::string> buildspec;
  bool debug_session = false;
  std::vector<std::string> depend_on;  // build-graph only
  BatchEnv env;
  bool ignore_failure = false;
};

struct BatchMatrix {
  bool ignore_failure = false;
  BatchEnv static_env;
  std::vector<std::string> buildspecs;
  std::vector<std::string> images;
  std::vector<std::string> compute_types;
  std::vector<std::pair<std::string, std::vector<std::string>>> variables;
};

// A batch task's identifier (CODEBUILD_BATCH_BUILD_IDENTIFIER, the build group's name): 1..127
// letters, digits and underscores, a digit first included (s2n-tls's `32BitBuildAndUnit`, in
// tests/corpus/buildspecs/004-aws-s2n-tls-generalbatch.yml, runs on CodeBuild); DOWNLOAD_SOURCE
// is reserved for the batch's first group (docs/reference/codebuild-semantics.md §8.3). The one
// home of the rule: batch::valid_member_identifier calls it. Defined in parse_batch.cpp.
bool valid_batch_identifier(std::string_view id);

struct Batch {
  enum class Kind { kNone, kBuildList, kBuildGraph, kBuildMatrix, kBuildFanout };
  bool present = false;
  bool fast_fail = false;
  Kind kind = Kind::kNone;
  std::vector<BatchTask> tasks;  // build-list and build-graph
  BatchMatrix matrix;
  int fanout_parallelism = 0;
  bool fanout_ignore_failure = false;
};

struct Buildspec {
  Version version = Version::k0_2;
  std::optional<std::string> run_as;
  Env env;
  Proxy proxy;
  Batch batch;
  std::map<PhaseName, Phase> phases;  // has an entry for each of the four phases
  std::vector<Report> reports;
  Artifacts artifacts;
  Cache cache;
  std::string path;  // the file it came from, for messages
};

}  // namespace kiln::spec
