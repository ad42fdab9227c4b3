// The AWS JSON 1.1 front door of `kiln server` (docs/server.md; docs/reference/codebuild-api.md §1,
// §2, §4): checks the request (method, size, SigV4), decodes the JSON body, dispatches on
// X-Amz-Target to the CodeBuild, CloudWatch Logs, SSM Parameter Store and Secrets Manager
// operations, and encodes results and errors the way botocore expects. Each target prefix has its
// own SigV4 service name and its own error code for bad input. Unknown operations and malformed
// requests get 4xx, never 5xx (clients retry 5xx).
//
// Ownership: borrows the store, the secret store, the key lookup, the build control and the
// clock, which must outlive it. Thread safety: handle() may be called from many threads at once.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/api_error.h"
#include "api/build_io.h"
#include "api/build_start.h"
#include "api/data_layout.h"
#include "api/project_shape.h"
#include "auth/policy.h"
#include "auth/sigv4.h"
#include "engine/variables.h"
#include "events/hub.h"
#include "exec/executor.h"
#include "http/server.h"
#include "secrets/secret_store.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/thread_annotations.h"

namespace kiln::api {

// What the API asks of the scheduler; a narrow interface so the API is testable without one.
class BuildControl {
 public:
  virtual ~BuildControl() = default;
  virtual void wake() = 0;                             // a build was queued
  virtual bool stop(const std::string& build_id) = 0;  // false: not running here
  // Build batches (server/batch_coordinator.h). Once stored, a batch is changed only by the
  // coordinator: the API inserts it queued and calls wake(), and asks for these.
  // stop_batch: false when the batch is complete or unknown.
  virtual bool stop_batch(const std::string& batch_id) = 0;
  // RetryBuildBatch: the batch's groups (all, or those that did not succeed) run again; an
  // error (kInvalidArgument: the batch is not complete) is the client's.
  virtual Result<void> retry_batch(const std::string& batch_id, bool failed_only) = 0;
};

struct ServiceOptions {
  Account account;
  DataLayout data;
  bool allow_anonymous = false;  // accept unsigned requests (--allow-anonymous)
  std::int64_t max_skew_seconds = 900;
  exec::EnvMap image_env;  // the environment builds start from (process executor)
  // Where builds run (--executor), the network of container builds, and the image store.
  std::string executor = "process";
  std::string network_mode;
  std::filesystem::path image_dir;
  unsigned max_builds = 0;  // kiln server --max-builds: sizes each sandbox build's pids.max
  // Archive cache eviction (--cache-max-mb, --cache-max-age-hours; 0 = no limit).
  std::uint64_t cache_max_bytes = 0;
  long long cache_max_age_seconds = 0;
  // Folders whose subfolders projects may use as LOCAL sources (--source-root).
  std::vector<std::filesystem::path> source_roots;
  // What each key may do (auth/policy.h, api/authorize.h). Unset: every verified key may do
  // everything, which only the unit tests and the fuzz target rely on; `kiln server` sets it.
  const auth::PolicyLookup* policies = nullptr;
  // Projects and builds with privilegedMode (--allow-privileged); keys need kiln:PrivilegedBuild
  // as well.
  bool allow_privileged = false;
  // InvalidateProjectCache's work on the stored Project (server/cache_invalidation.h); unset:
  // the operation only checks the project exists.
  std::function<Result<void>(const nlohmann::json& project)> invalidate_cache;
  // The build events' readers (events/hub.h), for GET /events; unset: the route answers 404.
  events::Hub* events = nullptr;
};

// A string member that holds a secret (a parameter's value, a secret, a token): checked like
// Fields::string, but no error message ever quotes the value.
ApiResult<std::optional<std::string>> sensitive_string(const nlohmann::json& in,
                                                       std::string_view name, bool required,
                                                       std::size_t min_len, std::size_t max_len);

// The stored Project's member naming the key that last created or updated it, whose rights its
// builds read parameters and secrets with (docs/server.md "Builds' own calls"). Internal: never
// part of an answer.
inline constexpr const char* kServiceKeyMember = "kilnServiceKeyId";

class Service {
 public:
  Service(ServiceOptions options, store::Store& store, secrets::SecretStore& secrets,
          const auth::KeyLookup& keys, BuildControl& control, const Clock& clock);

  http::Response handle(const http::Request& req);

 private:
  struct Call {
    const nlohmann::json& in;
    std::string user;    // the key's user: the builds' initiator
    std::string region;  // from the signature's scope
    // The signing key; empty for an unsigned request under --allow-anonymous. Recorded on the
    // projects it creates or updates: their builds read secrets with its rights.
    std::string key_id;
    // The request's Host header (nullptr: none), for the URLs the server gives out about itself
    // (a webhook's payloadUrl). Borrowed from the request for the call's duration.
    const std::string* host = nullptr;
    // The CODEBUILD_WEBHOOK_* values of a build a webhook delivery starts (webhook_delivery.cpp);
    // empty for API calls.
    engine::VarList webhook;
  };
  using Op = ApiResult<nlohmann::json> (Service::*)(const Call&);
  Op find_op(std::string_view target) const;
  // Operations that answer with JSON text they assemble themselves, for the hot reads.
  using RawOp = ApiResult<std::string> (Service::*)(const Call&);
  RawOp find_raw_op(std::string_view target) const;
  // Operations whose answer may have to wait (StopBuild): the JSON now, or a producer that gives
  // the whole JSON body once it is ready and never blocks meanwhile (http::BodyStream: the
  // server asks again later, holding no thread), since handlers must be quick.
  using Pending = std::variant<nlohmann::json, http::BodyStream>;
  using PendingOp = ApiResult<Pending> (Service::*)(const Call&);
  PendingOp find_pending_op(std::string_view target) const;

  // Projects (projects_ops.cpp).
  ApiResult<nlohmann::json> create_project(const Call& c);
  ApiResult<nlohmann::json> update_project(const Call& c);
  ApiResult<nlohmann::json> delete_project(const Call& c);
  ApiResult<nlohmann::json> batch_get_projects(const Call& c);
  ApiResult<nlohmann::json> list_projects(const Call& c);
  ApiResult<nlohmann::json> list_curated_images(const Call& c);
  // Builds (builds_ops.cpp).
  ApiResult<nlohmann::json> start_build(const Call& c);
  // Answers once a running build has ended (up to 5 s), so the answer shows it STOPPED.
  ApiResult<Pending> stop_build(const Call& c);
  ApiResult<nlohmann::json> retry_build(const Call& c);
  // Splices the stored Build JSON into the answer instead of parsing and re-serialising it:
  // the most frequent call of a client waiting for builds.
  ApiResult<std::string> batch_get_builds(const Call& c);
  ApiResult<nlohmann::json> list_builds(const Call& c);
  ApiResult<nlohmann::json> list_builds_for_project(const Call& c);
  ApiResult<nlohmann::json> batch_delete_builds(const Call& c);
  // Deletes those of `ids` that have ended, with their logs: the ids deleted, and
  // [{id, statusCode}] for the others (BUILD_NOT_FOUND, BUILD_IN_PROGRESS).
  ApiResult<std::pair<std::vector<std::string>, nlohmann::json>> delete_ended_builds(
      const std::vector<std::string>& ids);
  // Build batches (build_batches_ops.cpp; docs/server.md "Build batches"). Once stored, a batch
  // changes only in the coordinator (BuildControl): these insert, read, delete, and ask it to
  // stop or retry.
  ApiResult<nlohmann::json> start_build_batch(const Call& c);
  // Queues a batch of `project` with StartBuildBatch-shaped input c.in (also used by webhooks).
  ApiResult<nlohmann::json> queue_build_batch(const nlohmann::json& project, const Call& c);
  // Answers once the batch has ended (up to 5 s), as StopBuild does.
  ApiResult<Pending> stop_build_batch(const Call& c);
  ApiResult<nlohmann::json> retry_build_batch(const Call& c);
  ApiResult<nlohmann::json> batch_get_build_batches(const Call& c);
  ApiResult<nlohmann::json> list_build_batches(const Call& c);
  ApiResult<nlohmann::json> list_build_batches_for_project(const Call& c);
  ApiResult<nlohmann::json> delete_build_batch(const Call& c);
  // The stored batch of `id` (a batch id or ARN); ResourceNotFoundException otherwise.
  ApiResult<store::BuildBatchRow> load_build_batch(const std::string& id);
  // CloudWatch Logs (logs_ops.cpp).
  ApiResult<nlohmann::json> get_log_events(const Call& c);
  ApiResult<nlohmann::json> filter_log_events(const Call& c);
  // (log_groups.cpp)
  ApiResult<nlohmann::json> describe_log_groups(const Call& c);
  ApiResult<nlohmann::json> describe_log_streams(const Call& c);
  // CodeBuild source credentials (source_credentials_ops.cpp).
  ApiResult<nlohmann::json> import_source_credentials(const Call& c);
  ApiResult<nlohmann::json> list_source_credentials(const Call& c);
  ApiResult<nlohmann::json> delete_source_credentials(const Call& c);
  ApiResult<nlohmann::json> invalidate_project_cache(const Call& c);
  // CodeBuild webhooks (webhooks_ops.cpp; docs/server.md "Webhooks").
  ApiResult<nlohmann::json> create_webhook(const Call& c);
  ApiResult<nlohmann::json> update_webhook(const Call& c);
  ApiResult<nlohmann::json> delete_webhook(const Call& c);
  // A project's webhook secret, sealed in the SecretStore (api/webhook_shape.h); forgetting one
  // that is not there succeeds.
  ApiResult<void> store_webhook_secret(const std::string& project, const std::string& secret);
  ApiResult<void> forget_webhook_secret(const std::string& project);
  // The sealed secret of `project`'s webhook, for checking a delivery's signature. Never empty:
  // a webhook whose secret is missing is an InternalFailure (500), not "accept any delivery".
  ApiResult<std::string> webhook_secret(const std::string& project);
  // SSM Parameter Store (ssm_ops.cpp).
  ApiResult<nlohmann::json> put_parameter(const Call& c);
  ApiResult<nlohmann::json> get_parameter(const Call& c);
  ApiResult<nlohmann::json> get_parameters(const Call& c);
  ApiResult<nlohmann::json> get_parameters_by_path(const Call& c);
  ApiResult<nlohmann::json> delete_parameter(const Call& c);
  ApiResult<nlohmann::json> describe_parameters(const Call& c);
  // Resource policies and sharing (policy_ops.cpp).
  ApiResult<nlohmann::json> put_resource_policy(const Call& c);
  ApiResult<nlohmann::json> get_resource_policy(const Call& c);
  ApiResult<nlohmann::json> delete_resource_policy(const Call& c);
  ApiResult<nlohmann::json> update_project_visibility(const Call& c);
  ApiResult<nlohmann::json> list_shared_projects(const Call& c);
  ApiResult<nlohmann::json> list_shared_report_groups(const Call& c);
  // The stored project whose `arn` member is `arn`; ResourceNotFoundException otherwise.
  ApiResult<nlohmann::json> project_by_arn(const std::string& arn);
  // Report groups (report_groups_ops.cpp).
  ApiResult<nlohmann::json> create_report_group(const Call& c);
  ApiResult<nlohmann::json> update_report_group(const Call& c);
  ApiResult<nlohmann::json> delete_report_group(const Call& c);
  ApiResult<nlohmann::json> batch_get_report_groups(const Call& c);
  ApiResult<nlohmann::json> list_report_groups(const Call& c);
  ApiResult<nlohmann::json> get_report_group_trend(const Call& c);
  // The stored report group whose ARN is `arn`; ResourceNotFoundException otherwise.
  ApiResult<nlohmann::json> load_report_group(const std::string& arn);
  // Reports (reports_ops.cpp).
  ApiResult<nlohmann::json> list_reports(const Call& c);
  ApiResult<nlohmann::json> list_reports_for_report_group(const Call& c);
  ApiResult<nlohmann::json> batch_get_reports(const Call& c);
  ApiResult<nlohmann::json> delete_report(const Call& c);
  ApiResult<nlohmann::json> describe_test_cases(const Call& c);
  ApiResult<nlohmann::json> describe_code_coverages(const Call& c);
  // Removes expired reports from the store, at most once an hour of the clock: the report reads
  // never return them anyway (store.h), so this only reclaims their space.
  void sweep_expired_reports();
  // Secrets Manager (secretsmanager_ops.cpp).
  ApiResult<nlohmann::json> create_secret(const Call& c);
  ApiResult<nlohmann::json> get_secret_value(const Call& c);
  ApiResult<nlohmann::json> put_secret_value(const Call& c);
  ApiResult<nlohmann::json> update_secret(const Call& c);
  ApiResult<nlohmann::json> delete_secret(const Call& c);
  ApiResult<nlohmann::json> describe_secret(const Call& c);
  ApiResult<nlohmann::json> list_secrets(const Call& c);

  // What StartBuild and StartBuildBatch make of their input: every override checked, the
  // engine's request (a fresh uuid), the effective settings. `timeout_member` names the timeout
  // override (timeoutInMinutesOverride; StartBuildBatch's buildTimeoutInMinutesOverride).
  struct PreparedBuild {
    engine::BuildRequest req;
    BuildIo io;
    nlohmann::json environment;  // the effective ProjectEnvironment
    nlohmann::json start_input;  // the input without idempotencyToken, with projectName
    nlohmann::json request;      // engine::request_to_json(req), with the project's secrets key
    std::string token;           // idempotencyToken, or ""
    double submitted = 0;
  };
  ApiResult<PreparedBuild> prepare_build(const nlohmann::json& project, const nlohmann::json& in,
                                         const Call& c, std::string_view timeout_member);
  // Queues a build of `project` with StartBuild-shaped input `in` (also used by RetryBuild).
  ApiResult<nlohmann::json> queue_build(const nlohmann::json& project, const nlohmann::json& in,
                                        const Call& c);
  ApiResult<nlohmann::json> load_project(const std::string& name);
  // The key's policy against the call's accesses (api/authorize.cpp):
  // AccessDeniedException, or nullopt when allowed.
  std::optional<ApiError> authorize_call(std::string_view target, const nlohmann::json& in,
                                         const std::string& key_id, const std::string& user,
                                         const std::string& region);
  std::optional<ApiError> authorize_log_read(std::string_view path, const auth::Identity& who);
  // InvalidInputException naming --allow-privileged when `environment` asks for privilegedMode
  // and the server does not allow it.
  ApiResult<void> check_privileged(const nlohmann::json& environment) const;
  // GET /logs/<project>/<uuid> (log_http.cpp).
  http::Response get_log(const http::Request& req);
  // GET /events: build events as Server-Sent Events (events_http.cpp, docs/events.md). `who`
  // is null for an unsigned request under --allow-anonymous.
  http::Response get_events(const http::Request& req, const auth::Identity* who);
  // POST /webhooks/<project>: a git host's delivery (webhook_delivery.cpp, docs/webhooks.md).
  http::Response deliver_webhook(const http::Request& req);
  double now() const;

  ServiceOptions options_;
  store::Store& store_;
  secrets::SecretStore& secrets_;
  const auth::KeyLookup& keys_;
  BuildControl& control_;
  const Clock& clock_;
  std::atomic<double> last_report_sweep_{0};  // epoch seconds of the last sweep
  RetryTokens retry_tokens_;                  // RetryBuildBatch's idempotency tokens
  // Held by every read-modify-write of a stored project (UpdateProject, DeleteProject,
  // UpdateProjectVisibility, the webhook operations), so none writes back a stale project.
  Mutex project_writes_;
};

}  // namespace kiln::api
