// StartBuild, StopBuild, RetryBuild, BatchGetBuilds, ListBuilds, ListBuildsForProject and
// BatchDeleteBuilds (docs/reference/codebuild-api.md §3.4). Builds are queued here and run by the
// scheduler.
#include <algorithm>
#include <chrono>
#include <memory>

#include "api/build_io.h"
#include "api/build_start.h"
#include "api/ops_common.h"
#include "api/service.h"
#include "api/validate.h"
#include "engine/record_json.h"
#include "engine/request_json.h"
#include "logs/time_index.h"
#include "spec/parser.h"
#include "util/files.h"
#include "util/json_text.h"

namespace kiln::api {
namespace {

using nlohmann::json;

// How long StopBuild's answer waits for a running build to end.
constexpr std::chrono::seconds kStopWait{5};

ApiResult<json> parse_json(const std::string& text, const std::string& what) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return api_fail("InternalFailure", "stored " + what + " is not valid JSON");
  return j;
}

// The ids of BatchGetBuilds and BatchDeleteBuilds: 1..100, each once.
ApiResult<std::vector<std::string>> id_list(const json& in) {
  return Fields(in, "").unique_strings("ids", kMaxBatchItems, kMaxStringLength);
}

store::SortOrder sort_order(const std::optional<std::string>& s) {
  return s && *s == "ASCENDING" ? store::SortOrder::kAscending : store::SortOrder::kDescending;
}

// CodeBuild's EnvironmentVariable list, split into the plain values and the references the
// worker resolves in DOWNLOAD_SOURCE (PARAMETER_STORE, SECRETS_MANAGER).
void split_vars(const json& list, engine::VarList& plain, std::vector<engine::SecretVar>& refs) {
  for (const auto& v : list) {
    const std::string type = v.value("type", "PLAINTEXT");
    std::string name = v.value("name", "");
    std::string value = v.value("value", "");
    if (type == "PARAMETER_STORE")
      refs.push_back({std::move(name), engine::SecretVar::Kind::kParameterStore, std::move(value)});
    else if (type == "SECRETS_MANAGER")
      refs.push_back({std::move(name), engine::SecretVar::Kind::kSecretsManager, std::move(value)});
    else
      plain.emplace_back(std::move(name), std::move(value));
  }
}

// StartBuild of a buildspec given inline (NO_SOURCE, or a buildspecOverride holding YAML) that
// defines only a batch (`batch`, no `phases`) is refused here, before anything is queued; one
// read from the source at run time fails DOWNLOAD_SOURCE with the same words (engine's
// download_source.cpp). A buildspec that does not parse is left to DOWNLOAD_SOURCE, which reports
// it with CodeBuild's YAML_FILE_ERROR.
ApiResult<void> check_not_batch_only(const engine::BuildRequest& req) {
  if (!req.buildspec_text) return {};
  if (spec::batch_shape(*req.buildspec_text, "buildspec") != spec::BatchShape::kBatchOnly)
    return {};
  return invalid_input(
      "Invalid buildspec: it defines only a batch build (`batch`, no `phases`): start it with "
      "StartBuildBatch");
}

}  // namespace

ApiResult<void> same_parameters(const std::string& stored_request_json, const json& input,
                                const std::string& token) {
  auto earlier = parse_json(stored_request_json, "request");
  if (!earlier) return tl::unexpected(earlier.error());
  if (earlier->value("input", json::object()) == input) return {};
  return api_fail("IdempotentParameterMismatchException",
                  "The idempotency token " + token +
                      " was used within the last 5 minutes with different parameters");
}

http::BodyStream answer_when_ended(const Clock& clock, std::chrono::seconds wait,
                                   std::string member, json fallback,
                                   std::function<std::optional<json>()> ended) {
  struct Wait {
    std::string member;
    json answer;  // the answer if nothing has ended by the deadline
    std::function<std::optional<json>()> ended;
    std::chrono::steady_clock::time_point deadline;
    bool answered = false;
  };
  auto w = std::make_shared<Wait>(Wait{std::move(member), std::move(fallback), std::move(ended),
                                       clock.steady_now() + wait, false});
  return [&clock, w](std::string& out) {
    if (w->answered) return false;
    auto now_json = w->ended();
    if (!now_json && clock.steady_now() < w->deadline) return true;  // nothing yet
    if (now_json) w->answer = std::move(*now_json);
    out = json_text(json{{w->member, w->answer}});
    w->answered = true;
    return true;
  };
}

ApiResult<json> Service::start_build(const Call& c) {
  Fields f(c.in, "");
  auto name = f.string("projectName", true, 1);
  if (!name) return tl::unexpected(name.error());
  auto project = load_project(**name);
  if (!project) return project;
  return queue_build(*project, c.in, c);
}

ApiResult<Service::PreparedBuild> Service::prepare_build(const json& project, const json& in,
                                                         const Call& c,
                                                         std::string_view timeout_member) {
  Fields f(in, "");
  auto buildspec_override = f.string("buildspecOverride", false, 0, kMaxBuildspecLength);
  if (!buildspec_override) return tl::unexpected(buildspec_override.error());
  auto version = f.string("sourceVersion", false);
  if (!version) return tl::unexpected(version.error());
  auto type_override = f.one_of("sourceTypeOverride", false, kSourceTypes);
  if (!type_override) return tl::unexpected(type_override.error());
  auto image = f.string("imageOverride", false, 1);
  if (!image) return tl::unexpected(image.error());
  auto compute = f.one_of("computeTypeOverride", false, kComputeTypes);
  if (!compute) return tl::unexpected(compute.error());
  auto env_type = f.one_of("environmentTypeOverride", false, kEnvironmentTypes);
  if (!env_type) return tl::unexpected(env_type.error());
  auto timeout = f.integer(timeout_member, false, 5, 2160);
  if (!timeout) return tl::unexpected(timeout.error());
  auto queued_timeout = f.integer("queuedTimeoutInMinutesOverride", false, 5, 480);
  if (!queued_timeout) return tl::unexpected(queued_timeout.error());
  auto privileged = f.boolean("privilegedModeOverride");
  if (!privileged) return tl::unexpected(privileged.error());
  auto token = f.string("idempotencyToken", false);
  if (!token) return tl::unexpected(token.error());
  auto vars = f.list("environmentVariablesOverride", false, kMaxEnvironmentVariables);
  if (!vars) return tl::unexpected(vars.error());
  if (*vars) {
    if (auto r = check_environment_variables(**vars, "environmentVariablesOverride"); !r)
      return tl::unexpected(r.error());
  }
  auto artifacts = f.object("artifactsOverride", false);
  if (!artifacts) return tl::unexpected(artifacts.error());
  if (*artifacts) {
    if (auto r = check_artifacts(**artifacts, "artifactsOverride", false); !r)
      return tl::unexpected(r.error());
  }
  if (const auto loc = f.string("sourceLocationOverride", false); !loc)
    return tl::unexpected(loc.error());

  PreparedBuild out;
  const std::string name = project.at("name");
  json& environment = out.environment = project.value("environment", json::object());
  if (*image) environment["image"] = **image;
  if (*compute) environment["computeType"] = **compute;
  if (*env_type) environment["type"] = **env_type;
  if (*privileged) environment["privilegedMode"] = **privileged;
  // Also refuses a project made privileged before the server lost --allow-privileged.
  if (auto ok = check_privileged(environment); !ok) return tl::unexpected(ok.error());
  const json project_vars = environment.value("environmentVariables", json::array());

  const std::string uuid = make_uuid();
  out.submitted = now();
  engine::BuildRequest& req = out.req;
  auto& id = req.identity;
  id.project = name;
  id.uuid = uuid;
  id.region = c.region;
  id.account = options_.account.id;
  id.initiator = c.user;
  id.webhook = c.webhook;
  id.image = environment.value("image", "kiln/host");
  id.source_version = version->value_or(project.value("sourceVersion", ""));
  req.build_root = options_.data.build_root(uuid);
  auto io = apply_build_io(
      project, in, options_.data,
      {options_.cache_max_bytes, options_.cache_max_age_seconds, options_.source_roots}, req);
  if (!io) return tl::unexpected(io.error());
  out.io = std::move(*io);
  split_vars(project_vars, req.project_vars, req.project_secret_vars);
  if (*vars) split_vars(**vars, req.override_vars, req.override_secret_vars);
  req.image_env = options_.image_env;
  req.environment_type = environment.value("type", "LINUX_CONTAINER");
  req.compute_type = environment.value("computeType", "BUILD_GENERAL1_SMALL");
  req.executor_name = options_.executor;
  req.network_mode = options_.network_mode;
  req.image_dir = options_.image_dir;
  req.max_builds = options_.max_builds;
  if (const auto p = environment.find("privilegedMode"); p != environment.end() && p->is_boolean())
    req.privileged_mode = p->get<bool>();
  req.timeout_minutes =
      static_cast<double>(timeout->value_or(project.value("timeoutInMinutes", 60)));
  req.queued_timeout_minutes =
      static_cast<int>(queued_timeout->value_or(project.value("queuedTimeoutInMinutes", 480)));
  // The worker gets the engine's request; RetryBuild gets the StartBuild input back.
  out.start_input = in;
  out.start_input.erase("idempotencyToken");
  out.start_input["projectName"] = name;
  out.request = engine::request_to_json(req);
  // Its builds read parameters and secrets with the rights of the project's key
  // (server/secret_access.h); RetryBuild passes the project's key of now.
  if (const auto k = project.find(kServiceKeyMember); k != project.end() && k->is_string())
    out.request[engine::kSecretsKeyMember] = *k;
  out.token = token->value_or("");
  return out;
}

ApiResult<json> Service::queue_build(const json& project, const json& in, const Call& c) {
  auto prepared = prepare_build(project, in, c, "timeoutInMinutesOverride");
  if (!prepared) return tl::unexpected(prepared.error());
  PreparedBuild& p = *prepared;
  if (auto ok = check_not_batch_only(p.req); !ok) return tl::unexpected(ok.error());
  const std::string name = p.req.identity.project;
  if (const auto it = project.find("concurrentBuildLimit");
      it != project.end() && it->is_number_integer()) {
    KILN_API_TRY(queued, store_.count_in_state(name, store::BuildState::kQueued));
    KILN_API_TRY(running, store_.count_in_state(name, store::BuildState::kRunning));
    if (queued + running >= it->get<int>()) {
      return api_fail("AccountLimitExceededException", "Build concurrency limit of " +
                                                           std::to_string(it->get<int>()) +
                                                           " reached for project " + name);
    }
  }
  const json stored_request = {{"request", std::move(p.request)}, {"input", p.start_input}};

  store::BuildRow row;
  row.id = name + ":" + p.req.identity.uuid;
  row.project = name;
  row.submitted = p.submitted;
  row.state = store::BuildState::kQueued;
  row.idempotency_token = p.token;
  row.request_json = json_text(stored_request);
  // The Build carries its number, which the insert assigns: made inside it, stored in one write.
  json build;
  KILN_API_TRY(inserted, store_.insert_build(row, [&](const store::BuildRow& numbered) {
    p.req.identity.build_number = numbered.number;
    build =
        engine::queued_build(p.req, p.submitted, {p.io.source, p.io.secondary_sources, p.io.cache});
    return json_text(build);
  }));
  if (inserted.second) {  // the idempotency token named a build we already have
    KILN_API_PASS(same_parameters(inserted.first.request_json, p.start_input, p.token));
    return parse_json(inserted.first.json, "build").map([](json b) {
      return json{{"build", std::move(b)}};
    });
  }
  control_.wake();
  return json{{"build", build}};
}

ApiResult<Service::Pending> Service::stop_build(const Call& c) {
  Fields f(c.in, "");
  auto id = f.string("id", true, 1);
  if (!id) return tl::unexpected(id.error());
  KILN_API_TRY(rows, store_.get_builds({**id}));
  if (rows.empty()) return not_found("Build cannot be found: " + **id);
  auto build = parse_json(rows.front().json, "build");
  if (!build) return tl::unexpected(build.error());
  if (rows.front().state == store::BuildState::kQueued) {
    engine::end_build(*build, "STOPPED", now(), "BUILD_STOPPED",
                      "The build was stopped while queued");
    KILN_API_CHECK(store_.update_build(**id, store::BuildState::kDone, build->dump()));
    return json{{"build", *build}};
  }
  if (rows.front().state != store::BuildState::kRunning || !control_.stop(**id))
    return json{{"build", *build}};
  // The worker records STOPPED as it finishes FINALIZING: the answer waits for that, up to
  // kStopWait, and then shows the build as it was (IN_PROGRESS).
  return answer_when_ended(
      clock_, kStopWait, "build", std::move(*build), [this, id = **id]() -> std::optional<json> {
        auto now_rows = store_.get_builds({id});
        if (!now_rows || now_rows->empty() || now_rows->front().state != store::BuildState::kDone)
          return std::nullopt;
        auto stopped = json::parse(now_rows->front().json, nullptr, false);
        if (stopped.is_discarded()) return std::nullopt;
        return stopped;
      });
}

ApiResult<json> Service::retry_build(const Call& c) {
  Fields f(c.in, "");
  auto id = f.string("id", true, 1);
  if (!id) return tl::unexpected(id.error());
  auto token = f.string("idempotencyToken", false);
  if (!token) return tl::unexpected(token.error());
  KILN_API_TRY(rows, store_.get_builds({**id}));
  if (rows.empty()) return not_found("Build cannot be found: " + **id);
  auto stored = parse_json(rows.front().request_json, "build request");
  if (!stored) return stored;
  json input = stored->value("input", json::object());
  if (*token) input["idempotencyToken"] = **token;
  auto project = load_project(rows.front().project);
  if (!project) return project;
  return queue_build(*project, input, c);
}

ApiResult<std::string> Service::batch_get_builds(const Call& c) {
  auto ids = id_list(c.in);
  if (!ids) return tl::unexpected(ids.error());
  std::string out = R"({"builds":[)";
  json missing = json::array();
  bool first = true;
  for (std::size_t at = 0; at < ids->size(); at += kRowsPerFetch) {
    const std::vector<std::string> some(
        ids->begin() + static_cast<std::ptrdiff_t>(at),
        ids->begin() + static_cast<std::ptrdiff_t>(std::min(ids->size(), at + kRowsPerFetch)));
    KILN_API_TRY(rows, store_.get_builds(some));
    for (const auto& id : some) {
      const auto it = std::find_if(rows.begin(), rows.end(),
                                   [&](const store::BuildRow& r) { return r.id == id; });
      if (it == rows.end()) {
        missing.push_back(id);
        continue;
      }
      if (out.size() + it->json.size() > kMaxResponseBytes) return response_too_large("builds");
      if (!first) out += ',';
      first = false;
      out += it->json;  // written by json_text(): one valid JSON object
    }
  }
  out += R"(],"buildsNotFound":)";
  out += json_text(missing);
  out += '}';
  return out;
}

ApiResult<json> Service::list_builds(const Call& c) {
  Fields f(c.in, "");
  auto order = f.one_of("sortOrder", false, {"ASCENDING", "DESCENDING"});
  if (!order) return tl::unexpected(order.error());
  auto token = f.string("nextToken", false);
  if (!token) return tl::unexpected(token.error());
  KILN_API_TRY(page, store_.list_builds(sort_order(*order), token->value_or(""), 100));
  json out = {{"ids", page.items}};
  if (!page.next_token.empty()) out["nextToken"] = page.next_token;
  return out;
}

ApiResult<json> Service::list_builds_for_project(const Call& c) {
  Fields f(c.in, "");
  auto name = f.string("projectName", true, 1);
  if (!name) return tl::unexpected(name.error());
  auto order = f.one_of("sortOrder", false, {"ASCENDING", "DESCENDING"});
  if (!order) return tl::unexpected(order.error());
  auto token = f.string("nextToken", false);
  if (!token) return tl::unexpected(token.error());
  auto project = load_project(**name);
  if (!project) return tl::unexpected(project.error());
  KILN_API_TRY(
      page, store_.list_builds_for_project(**name, sort_order(*order), token->value_or(""), 100));
  json out = {{"ids", page.items}};
  if (!page.next_token.empty()) out["nextToken"] = page.next_token;
  return out;
}

ApiResult<json> Service::batch_delete_builds(const Call& c) {
  auto ids = id_list(c.in);
  if (!ids) return tl::unexpected(ids.error());
  auto out = delete_ended_builds(*ids);
  if (!out) return tl::unexpected(out.error());
  return json{{"buildsDeleted", out->first}, {"buildsNotDeleted", out->second}};
}

ApiResult<std::pair<std::vector<std::string>, json>> Service::delete_ended_builds(
    const std::vector<std::string>& ids) {
  KILN_API_TRY(rows, store_.get_builds(ids));
  std::vector<std::string> deletable;
  json not_deleted = json::array();
  for (const auto& id : ids) {
    const auto it = std::find_if(rows.begin(), rows.end(),
                                 [&](const store::BuildRow& r) { return r.id == id; });
    if (it == rows.end()) {
      not_deleted.push_back({{"id", id}, {"statusCode", "BUILD_NOT_FOUND"}});
    } else if (it->state != store::BuildState::kDone) {
      not_deleted.push_back({{"id", id}, {"statusCode", "BUILD_IN_PROGRESS"}});
    } else {
      deletable.push_back(id);
    }
  }
  KILN_API_TRY(deleted, store_.delete_builds(deletable));
  for (const auto& id : deleted) {
    const auto colon = id.find(':');
    // Best effort: the record is gone, and a leftover file is listed by nothing (the Logs API
    // lists streams from *.log), so a failed removal costs only disk space.
    const auto log = options_.data.log_path(id.substr(0, colon), id.substr(colon + 1));
    std::error_code ec;
    std::filesystem::remove(log, ec);
    std::filesystem::remove(logs::time_index_path(log), ec);
  }
  return std::pair{std::move(deleted), std::move(not_deleted)};
}

}  // namespace kiln::api
