// StartBuildBatch, StopBuildBatch, RetryBuildBatch, BatchGetBuildBatches, ListBuildBatches,
// ListBuildBatchesForProject and DeleteBuildBatch (docs/reference/codebuild-api.md "Build
// batches"; docs/server.md "Build batches"). StartBuildBatch stores the batch queued, with what the
// coordinator (server/batch_coordinator.h) needs to run it; from then on only the coordinator
// changes it, and these operations read it, delete it, or ask the coordinator (BuildControl).
#include <algorithm>
#include <array>
#include <chrono>

#include "api/build_start.h"
#include "api/ops_common.h"
#include "api/service.h"
#include "api/validate.h"
#include "batch/record.h"
#include "batch/run.h"
#include "util/json_text.h"

namespace kiln::api {
namespace {

using nlohmann::json;

// How long StopBuildBatch's answer waits for the batch to end (StopBuild's wait).
constexpr std::chrono::seconds kStopWait{5};

constexpr std::array<std::string_view, 6> kStatusTypes = {"SUCCEEDED", "FAILED",      "FAULT",
                                                          "TIMED_OUT", "IN_PROGRESS", "STOPPED"};

// A batch's id from its id or its ARN (...:build-batch/<project>:<uuid>), both accepted.
std::string bare_batch_id(const std::string& s) {
  constexpr std::string_view kMarker = ":build-batch/";
  const auto at = s.find(kMarker);
  if (!s.starts_with("arn:") || at == std::string::npos) return s;
  return s.substr(at + kMarker.size());
}

// The stored BuildBatch as clients see it: without Kiln's own state.
ApiResult<json> batch_shape(const std::string& stored) {
  auto j = parse_stored_json(stored, "build batch");
  if (!j) return j;
  batch::strip_internal(*j);
  return j;
}

// The project's buildBatchConfig with the members buildBatchConfigOverride gives replacing
// the project's (docs/server.md "Build batches"), as UpdateProject replaces a project's members.
json effective_batch_config(const json& project_config, const json* override_config) {
  json out = project_config;
  if (override_config == nullptr) return out;
  for (const auto& [key, value] : override_config->items())
    if (!value.is_null()) out[key] = value;
  return out;
}

// The override when given, else the project's member, else `fallback`.
json given_or(const json& in, const char* override_name, const json& project, const char* member,
              json fallback) {
  if (const auto it = in.find(override_name); it != in.end() && !it->is_null()) return *it;
  if (const auto it = project.find(member); it != project.end() && !it->is_null()) return *it;
  return fallback;
}

// BuildBatch.environment: the effective ProjectEnvironment, its variables the project's with
// environmentVariablesOverride replacing those of the same name and adding the others.
json batch_environment(json env, const json& in) {
  if (const auto it = in.find("certificateOverride"); it != in.end() && it->is_string())
    env["certificate"] = *it;
  if (const auto it = in.find("imagePullCredentialsTypeOverride");
      it != in.end() && it->is_string())
    env["imagePullCredentialsType"] = *it;
  const auto over = in.find("environmentVariablesOverride");
  if (over == in.end() || !over->is_array()) return env;
  json& vars = env["environmentVariables"];
  if (!vars.is_array()) vars = json::array();
  for (const auto& v : *over) {
    const std::string name = v.value("name", "");
    const auto same = std::find_if(vars.begin(), vars.end(), [&](const json& old) {
      return old.is_object() && old.value("name", "") == name;
    });
    if (same != vars.end())
      *same = v;
    else
      vars.push_back(v);
  }
  with_variable_types(vars);
  return env;
}

// StartBuildBatch's own members (the rest are StartBuild's, checked by prepare_build).
ApiResult<void> check_batch_members(const Fields& f) {
  KILN_API_PASS(f.boolean("reportBuildBatchStatusOverride"));
  KILN_API_PASS(f.boolean("debugSessionEnabled"));
  KILN_API_PASS(f.string("serviceRoleOverride", false, 1));
  KILN_API_PASS(f.string("certificateOverride", false));
  KILN_API_PASS(f.one_of("imagePullCredentialsTypeOverride", false, {"CODEBUILD", "SERVICE_ROLE"}));
  KILN_API_PASS(f.object("logsConfigOverride", false));
  KILN_API_PASS(f.object("registryCredentialOverride", false));
  KILN_API_PASS(f.object("sourceAuthOverride", false));
  auto config = f.object("buildBatchConfigOverride", false);
  if (!config) return tl::unexpected(config.error());
  if (*config) KILN_API_PASS(check_build_batch_config(**config, "buildBatchConfigOverride"));
  return {};
}

// One page of ListBuildBatches (project "") or ListBuildBatchesForProject.
ApiResult<json> list_page(store::Store& store, const Fields& f, const std::string& project) {
  auto filter = f.object("filter", false);
  if (!filter) return tl::unexpected(filter.error());
  std::optional<std::string> status;
  if (*filter) {
    auto s = Fields(**filter, "filter").one_of("status", false, kStatusTypes);
    if (!s) return tl::unexpected(s.error());
    status = *s;
  }
  auto order = f.one_of("sortOrder", false, {"ASCENDING", "DESCENDING"});
  if (!order) return tl::unexpected(order.error());
  auto max = f.integer("maxResults", false, 1, store::kMaxPageSize);
  if (!max) return tl::unexpected(max.error());
  auto token = f.string("nextToken", false);
  if (!token) return tl::unexpected(token.error());
  // CodeBuild's default order for builds and batches alike: newest first.
  const auto sort = *order && **order == "ASCENDING" ? store::SortOrder::kAscending
                                                     : store::SortOrder::kDescending;
  KILN_API_TRY(page,
               store.list_build_batches(project, status.value_or(""), sort, token->value_or(""),
                                        static_cast<int>(max->value_or(store::kMaxPageSize))));
  json out = {{"ids", page.items}};
  if (!page.next_token.empty()) out["nextToken"] = page.next_token;
  return out;
}

}  // namespace

ApiResult<store::BuildBatchRow> Service::load_build_batch(const std::string& id) {
  KILN_API_TRY(rows, store_.get_build_batches({bare_batch_id(id)}));
  if (rows.empty()) return not_found("Build batch cannot be found: " + id);
  return std::move(rows.front());
}

ApiResult<json> Service::start_build_batch(const Call& c) {
  Fields f(c.in, "");
  auto name = f.string("projectName", true, 1);
  if (!name) return tl::unexpected(name.error());
  auto project = load_project(**name);
  if (!project) return project;
  KILN_API_PASS(check_batch_members(f));
  return queue_build_batch(*project, c);
}

ApiResult<json> Service::queue_build_batch(const json& project, const Call& c) {
  const std::string name = project.value("name", "");
  const auto config = project.find("buildBatchConfig");
  if (config == project.end() || !config->is_object()) {
    return invalid_input("Batch builds are not enabled for project " + name +
                         ": set its buildBatchConfig (CreateProject or UpdateProject)");
  }
  auto prepared = prepare_build(project, c.in, c, "buildTimeoutInMinutesOverride");
  if (!prepared) return tl::unexpected(prepared.error());
  PreparedBuild& p = *prepared;
  const auto over = c.in.find("buildBatchConfigOverride");
  const json batch_config =
      effective_batch_config(*config, over != c.in.end() && over->is_object() ? &*over : nullptr);

  batch::BatchRecord r;
  r.id = name + ":" + p.req.identity.uuid;
  r.arn = batch::batch_arn(c.region, options_.account.id, r.id);
  r.project_name = name;
  r.initiator = c.user;
  r.source_version = p.req.identity.source_version;
  r.build_timeout_minutes = static_cast<int>(p.req.timeout_minutes);
  r.queued_timeout_minutes = p.req.queued_timeout_minutes;
  const auto debug = c.in.find("debugSessionEnabled");
  r.debug_session_enabled = debug != c.in.end() && debug->is_boolean() && debug->get<bool>();
  r.settings = {
      {"source", p.io.source},
      {"secondarySources", p.io.secondary_sources},
      {"secondarySourceVersions", given_or(c.in, "secondarySourcesVersionOverride", project,
                                           "secondarySourceVersions", json::array())},
      // BuildArtifacts, as a queued build shows them: the coordinator fills them in.
      {"artifacts", {{"location", ""}}},
      {"secondaryArtifacts", json::array()},
      {"cache", p.io.cache},
      {"environment", batch_environment(p.environment, c.in)},
      {"serviceRole", given_or(c.in, "serviceRoleOverride", project, "serviceRole", "")},
      {"logConfig", given_or(c.in, "logsConfigOverride", project, "logsConfig", json::object())},
      {"encryptionKey", p.req.encryption_key.empty() ? "arn:aws:kms:" + c.region + ":" +
                                                           options_.account.id + ":alias/aws/s3"
                                                     : p.req.encryption_key},
      {"buildBatchConfig", batch_config}};
  for (const char* member : {"vpcConfig", "fileSystemLocations"}) {
    if (const auto it = project.find(member); it != project.end() && !it->is_null())
      r.settings[member] = *it;
  }
  batch::start_batch(r, p.submitted);

  // What the coordinator reads to run the batch (the contract in api/service.h, BuildControl).
  json stored_request = {{"request", std::move(p.request)},
                         {"input", p.start_input},
                         {"settings",
                          {{"source", p.io.source},
                           {"secondarySources", p.io.secondary_sources},
                           {"cache", p.io.cache}}},
                         {"artifacts", p.io.artifacts},
                         {"batchConfig", batch_config}};
  if (const auto k = project.find(kServiceKeyMember); k != project.end() && k->is_string())
    stored_request["secretsKey"] = *k;

  store::BuildBatchRow row;
  row.id = r.id;
  row.project = name;
  row.state = store::BuildState::kQueued;
  row.status = r.status;
  row.submitted = p.submitted;
  row.idempotency_token = p.token;
  row.request_json = json_text(stored_request);
  // The store numbers the batch (buildBatchNumber, per project) inside the insert, and the
  // record is made with that number there: the coordinator never sees it unnumbered.
  json stored;
  KILN_API_TRY(inserted, store_.insert_build_batch(row, [&](const store::BuildBatchRow& numbered) {
    r.batch_number = static_cast<long>(numbered.number);
    stored = batch::to_json(r);
    return json_text(stored);
  }));
  if (inserted.second) {  // the idempotency token named a batch we already have
    KILN_API_PASS(same_parameters(inserted.first.request_json, p.start_input, p.token));
    return batch_shape(inserted.first.json).map([](json b) {
      return json{{"buildBatch", std::move(b)}};
    });
  }
  control_.wake();
  batch::strip_internal(stored);
  return json{{"buildBatch", std::move(stored)}};
}

ApiResult<Service::Pending> Service::stop_build_batch(const Call& c) {
  Fields f(c.in, "");
  auto id = f.string("id", true, 1);
  if (!id) return tl::unexpected(id.error());
  auto row = load_build_batch(**id);
  if (!row) return tl::unexpected(row.error());
  auto shape = batch_shape(row->json);
  if (!shape) return tl::unexpected(shape.error());
  if (row->state == store::BuildState::kDone || !control_.stop_batch(row->id))
    return json{{"buildBatch", std::move(*shape)}};
  // The coordinator stops the running members and ends the batch STOPPED once they have
  // ended: the answer waits for that, up to kStopWait, and then shows the batch as it was.
  return answer_when_ended(
      clock_, kStopWait, "buildBatch", std::move(*shape),
      [this, batch_id = row->id]() -> std::optional<json> {
        auto rows = store_.get_build_batches({batch_id});
        if (!rows || rows->empty() || rows->front().state != store::BuildState::kDone)
          return std::nullopt;
        auto ended = batch_shape(rows->front().json);
        if (!ended) return std::nullopt;
        return std::move(*ended);
      });
}

ApiResult<json> Service::retry_build_batch(const Call& c) {
  Fields f(c.in, "");
  auto id = f.string("id", true, 1);
  if (!id) return tl::unexpected(id.error());
  auto token = f.string("idempotencyToken", false, 0, kMaxStringLength);
  if (!token) return tl::unexpected(token.error());
  auto type = f.one_of("retryType", false, {"RETRY_ALL_BUILDS", "RETRY_FAILED_BUILDS"});
  if (!type) return tl::unexpected(type.error());
  // No default in the model; Kiln's is every build, as RetryBuild repeats the whole build.
  const bool failed_only = *type && **type == "RETRY_FAILED_BUILDS";
  auto row = load_build_batch(**id);
  if (!row) return tl::unexpected(row.error());
  auto answer = [&](const std::string& batch_id) -> ApiResult<json> {
    auto now_row = load_build_batch(batch_id);
    if (!now_row) return tl::unexpected(now_row.error());
    return batch_shape(now_row->json).map([](json b) {
      return json{{"buildBatch", std::move(b)}};
    });
  };
  const std::string request = row->id + (failed_only ? " RETRY_FAILED_BUILDS" : " RETRY_ALL");
  if (*token && !(*token)->empty()) {
    switch (retry_tokens_.claim(**token, request, now())) {
      case RetryTokens::Claim::kSame: return answer(row->id);
      case RetryTokens::Claim::kMismatch:
        return api_fail("IdempotentParameterMismatchException",
                        "The idempotency token " + **token +
                            " was used within the last 5 minutes with different parameters");
      case RetryTokens::Claim::kNew: break;
    }
  }
  const auto refuse = [&](tl::unexpected<ApiError> e) -> ApiResult<json> {
    if (*token && !(*token)->empty()) retry_tokens_.release(**token);
    return e;
  };
  // The API reference: "Only batch builds that have failed can be retried."
  if (row->state != store::BuildState::kDone || row->status == "SUCCEEDED") {
    return refuse(invalid_input(
        "Only batch builds that have failed can be retried: " + row->id + " is " +
        (row->state == store::BuildState::kDone ? row->status : std::string("still running"))));
  }
  if (auto retried = control_.retry_batch(row->id, failed_only); !retried)
    return refuse(tl::unexpected(from_error(retried.error())));
  control_.wake();
  return answer(row->id);
}

ApiResult<json> Service::batch_get_build_batches(const Call& c) {
  Fields f(c.in, "");
  // The model allows an empty list here (min 0), unlike the other Batch* operations.
  auto given = f.list("ids", true, kMaxBatchItems);
  if (!given) return tl::unexpected(given.error());
  json found = json::array();
  json missing = json::array();
  if ((*given)->empty()) return json{{"buildBatches", found}, {"buildBatchesNotFound", missing}};
  auto ids = f.unique_strings("ids", kMaxBatchItems, kMaxStringLength);
  if (!ids) return tl::unexpected(ids.error());
  std::size_t bytes = 0;
  for (std::size_t at = 0; at < ids->size(); at += kRowsPerFetch) {
    std::vector<std::string> some;
    for (std::size_t i = at; i < std::min(ids->size(), at + kRowsPerFetch); ++i)
      some.push_back(bare_batch_id((*ids)[i]));
    KILN_API_TRY(rows, store_.get_build_batches(some));
    for (std::size_t i = 0; i < some.size(); ++i) {
      const auto it = std::find_if(rows.begin(), rows.end(),
                                   [&](const store::BuildBatchRow& r) { return r.id == some[i]; });
      if (it == rows.end()) {
        missing.push_back((*ids)[at + i]);
        continue;
      }
      bytes += it->json.size();
      if (bytes > kMaxResponseBytes) return response_too_large("build batches");
      auto shape = batch_shape(it->json);
      if (!shape) return tl::unexpected(shape.error());
      found.push_back(std::move(*shape));
    }
  }
  return json{{"buildBatches", std::move(found)}, {"buildBatchesNotFound", std::move(missing)}};
}

ApiResult<json> Service::list_build_batches(const Call& c) {
  return list_page(store_, Fields(c.in, ""), "");
}

ApiResult<json> Service::list_build_batches_for_project(const Call& c) {
  Fields f(c.in, "");
  // Optional in the model, yet there is no listing without it.
  auto name = f.string("projectName", true, 1);
  if (!name) return tl::unexpected(name.error());
  auto project = load_project(**name);
  if (!project) return tl::unexpected(project.error());
  return list_page(store_, f, **name);
}

ApiResult<json> Service::delete_build_batch(const Call& c) {
  Fields f(c.in, "");
  auto id = f.string("id", true, 1);
  if (!id) return tl::unexpected(id.error());
  // The model gives DeleteBuildBatch no ResourceNotFoundException: an unknown batch is bad input.
  KILN_API_TRY(rows, store_.get_build_batches({bare_batch_id(**id)}));
  if (rows.empty()) return invalid_input("Build batch cannot be found: " + **id);
  const store::BuildBatchRow& row = rows.front();
  if (row.state != store::BuildState::kDone) {
    return invalid_input("Build batch " + row.id +
                         " is still in progress: stop it (StopBuildBatch) before deleting it");
  }
  auto stored = parse_stored_json(row.json, "build batch");
  if (!stored) return tl::unexpected(stored.error());
  auto record = batch::from_json(*stored);
  if (!record) return tl::unexpected(ApiError{"InternalFailure", record.error().describe(), 500});

  // Every build the batch ran, its retries' earlier builds too, by id, with its ARN.
  std::vector<std::string> ids;
  std::vector<std::string> arns;
  const auto add = [&](const std::string& arn) {
    constexpr std::string_view kMarker = ":build/";
    const auto at = arn.find(kMarker);
    if (at == std::string::npos) return;
    std::string build_id = arn.substr(at + kMarker.size());
    if (std::find(ids.begin(), ids.end(), build_id) != ids.end()) return;
    ids.push_back(std::move(build_id));
    arns.push_back(arn);
  };
  for (const auto& g : record->groups) {
    if (g.current) add(g.current->arn);
    for (const auto& s : g.prior) add(s.arn);
  }
  auto deleted = delete_ended_builds(ids);
  if (!deleted) return tl::unexpected(deleted.error());
  KILN_API_TRY(gone, store_.delete_build_batch(row.id));
  (void)gone;  // false: a concurrent DeleteBuildBatch took it; the answer is the same
  json deleted_arns = json::array();
  for (const auto& build_id : deleted->first) {
    const auto at = std::find(ids.begin(), ids.end(), build_id);
    if (at != ids.end()) deleted_arns.push_back(arns[static_cast<std::size_t>(at - ids.begin())]);
  }
  return json{{"statusCode", "BATCH_DELETED"},
              {"buildsDeleted", std::move(deleted_arns)},
              {"buildsNotDeleted", std::move(deleted->second)}};
}

RetryTokens::Claim RetryTokens::claim(const std::string& token, const std::string& request,
                                      double now) {
  MutexLock lock(mu_);
  for (auto it = tokens_.begin(); it != tokens_.end();) {
    if (now - it->second.second >= kWindowSeconds)
      it = tokens_.erase(it);
    else
      ++it;
  }
  if (const auto it = tokens_.find(token); it != tokens_.end())
    return it->second.first == request ? Claim::kSame : Claim::kMismatch;
  if (tokens_.size() >= kMaxTokens) {
    const auto oldest = std::min_element(tokens_.begin(), tokens_.end(), [](auto& a, auto& b) {
      return a.second.second < b.second.second;
    });
    tokens_.erase(oldest);
  }
  tokens_[token] = {request, now};
  return Claim::kNew;
}

void RetryTokens::release(const std::string& token) {
  MutexLock lock(mu_);
  tokens_.erase(token);
}

}  // namespace kiln::api
