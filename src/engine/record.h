// The build record: the exact shape of CodeBuild's `Build` structure (docs/reference/design.md
// §3.3). The engine fills it as phases progress; `kiln run --json` and the server serialise it with
// to_json(). Every writer starts from record_for() and uses the rules below; the Build as the
// server stores it (a queued build, the worker's record merged with it, a build ended without an
// engine) is edited only through engine/record_json.h.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace kiln::engine {

// BuildPhaseType, in order (docs/reference/codebuild-semantics.md §3.1).
enum class PhaseType {
  kSubmitted,
  kQueued,
  kProvisioning,
  kDownloadSource,
  kInstall,
  kPreBuild,
  kBuild,
  kPostBuild,
  kUploadArtifacts,
  kFinalizing,
  kCompleted,
};
const char* to_string(PhaseType p);

// StatusType.
enum class Status { kSucceeded, kFailed, kFault, kTimedOut, kInProgress, kStopped };
const char* to_string(Status s);

struct PhaseContext {
  std::string status_code;
  std::string message;
};

struct PhaseRecord {
  PhaseType type = PhaseType::kSubmitted;
  std::optional<Status> status;  // unset while in progress for COMPLETED
  double start_time = 0;
  std::optional<double> end_time;
  std::optional<long> duration_seconds;
  std::vector<PhaseContext> contexts;
  bool emit_contexts = true;  // SUBMITTED and QUEUED entries carry no `contexts` (§3.1)
};

struct ArtifactRecord {
  std::string location;
  std::string sha256;
  std::string md5;
  std::string identifier;  // secondary only
};

struct EnvVarRecord {
  std::string name;
  std::string value;
  std::string type = "PLAINTEXT";
};

struct BuildRecord {
  std::string id;  // <project>:<uuid>
  std::string arn;
  long build_number = 1;
  double start_time = 0;
  std::optional<double> end_time;
  PhaseType current_phase = PhaseType::kSubmitted;
  Status build_status = Status::kInProgress;
  bool build_complete = false;
  std::string project_name;
  std::string source_version;
  std::string resolved_source_version;
  std::string initiator;
  std::vector<PhaseRecord> phases;

  // source
  std::string source_type = "NO_SOURCE";
  std::string source_location;
  std::string buildspec;
  struct SecondarySourceRecord {
    std::string identifier;
    std::string type;
    std::string location;
  };
  std::vector<SecondarySourceRecord> secondary_sources;
  // secondarySourceVersions: identifier -> resolved version (commit or S3 version id)
  std::vector<std::pair<std::string, std::string>> secondary_source_versions;

  // environment
  std::string environment_type = "LINUX_CONTAINER";
  std::string image;
  std::string compute_type = "BUILD_GENERAL1_SMALL";
  bool privileged_mode = false;
  // The effective list: the project's variables with StartBuild's overrides applied (an override
  // replaces the project's variable of its name in place, others follow), secrets as references.
  std::vector<EnvVarRecord> environment_variables;

  // logs
  std::string log_group;
  std::string log_stream;

  int timeout_minutes = 60;
  int queued_timeout_minutes = 480;
  std::optional<ArtifactRecord> artifacts;
  std::vector<ArtifactRecord> secondary_artifacts;
  std::vector<std::pair<std::string, std::string>> exported_variables;
  std::vector<std::string> report_arns;
  std::string build_batch_arn;  // buildBatchArn: set for a batch's member builds
  std::string region;
  std::string account;

  PhaseRecord* phase(PhaseType t);
  const PhaseRecord* phase(PhaseType t) const;
};

struct BuildRequest;  // engine/engine.h

// The rules every writer of the record follows.
// timeoutInMinutes: whole minutes, rounded up (`kiln run --timeout` takes fractions).
int timeout_in_minutes(double minutes);
// A phase's durationInSeconds: whole seconds, rounded toward zero.
long duration_seconds(double start, double end);
// Every time in the record (startTime, endTime, phase times) as JSON shows it: epoch seconds to
// the millisecond, the precision of CodeBuild's own answers (1556906956.318).
double record_time(double epoch_seconds);

// What the request decides before any phase starts: identity, source, environment (with
// privilegedMode), logs and timeouts. The engine starts each run from it, and the API each
// queued build (engine/record_json.h).
BuildRecord record_for(const BuildRequest& req);
// SUBMITTED, ended as soon as it started, and QUEUED, from `submitted` to `launched` (unset:
// still queued, no status). SUBMITTED and QUEUED carry no contexts.
std::vector<PhaseRecord> queue_phases(double submitted, std::optional<double> launched);

nlohmann::json to_json(const BuildRecord& r);
nlohmann::json to_json(const PhaseRecord& p);

// ARNs in CodeBuild's form.
std::string build_arn(const std::string& region, const std::string& account,
                      const std::string& build_id);
std::string project_arn(const std::string& region, const std::string& account,
                        const std::string& project);

}  // namespace kiln::engine
