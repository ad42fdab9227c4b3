#include "server/batch_coordinator.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "batch/member.h"
#include "batch/run.h"
#include "engine/record_json.h"
#include "engine/request_json.h"
#include "server/server_log.h"
#include "spec/parser.h"
#include "util/files.h"
#include "util/json_text.h"

namespace kiln::server {
namespace {

using nlohmann::json;

bool in_flight(const batch::BuildGroup& g) {
  return g.current && !g.build_id.empty() && g.current->build_status == "IN_PROGRESS";
}

// A member build's artifact as its batch's group shows it (ResolvedArtifact).
json resolved(const json& artifact, const std::string& identifier) {
  if (!artifact.is_object() || artifact.value("location", "").empty()) return nullptr;
  return {{"type", "S3"}, {"location", artifact["location"]}, {"identifier", identifier}};
}

// The context of the phase a failed build failed in: what a failed DOWNLOAD_SOURCE build gives
// the batch's DOWNLOAD_BATCHSPEC.
batch::BatchPhaseContext failing_context(const json& build) {
  batch::BatchPhaseContext out{"CLIENT_ERROR",
                               "The build that reads the batchspec ended " +
                                   build.value("buildStatus", std::string("FAILED"))};
  for (const auto& p : build.value("phases", json::array())) {
    if (!p.is_object() || p.value("phaseStatus", "") == "SUCCEEDED") continue;
    for (const auto& c : p.value("contexts", json::array())) {
      if (!c.is_object() || c.value("message", "").empty()) continue;
      out = {c.value("statusCode", ""), c.value("message", "")};
      return out;
    }
  }
  return out;
}

}  // namespace

BatchCoordinator::BatchCoordinator(BatchCoordinatorOptions options, store::Store& store,
                                   const Clock& clock, StopRunning stop_running)
    : options_(std::move(options)),
      store_(store),
      clock_(clock),
      stop_running_(std::move(stop_running)) {}

double BatchCoordinator::now() const {
  return to_epoch_seconds_ms(clock_.now());
}

Result<BatchCoordinator::Loaded> BatchCoordinator::load(const std::string& batch_id) {
  auto rows = store_.get_build_batches({batch_id});
  if (!rows) return fail(std::move(rows.error()).with("reading build batch " + batch_id));
  if (rows->empty()) {
    parsed_.erase(batch_id);
    return fail(ErrorCode::kNotFound, "Build batch not found: " + batch_id);
  }
  if (const auto known = parsed_.find(batch_id);
      known != parsed_.end() && known->second.row.json == rows->front().json &&
      known->second.row.request_json == rows->front().request_json) {
    Loaded b = known->second;
    b.row = std::move(rows->front());
    return b;
  }
  Loaded b;
  b.row = std::move(rows->front());
  const json j = json::parse(b.row.json, nullptr, false);
  if (j.is_discarded())
    return fail(ErrorCode::kParse, "build batch " + batch_id + ": the stored JSON is not valid");
  auto rec = batch::from_json(j);
  if (!rec) return fail(std::move(rec.error()).with("reading build batch " + batch_id));
  b.rec = std::move(*rec);
  if (const auto k = j.find("kiln"); k != j.end() && k->is_object()) {
    if (const auto s = k->find("server"); s != k->end() && s->is_object()) b.priv = *s;
  }
  b.stored = json::parse(b.row.request_json, nullptr, false);
  if (b.stored.is_discarded() || !b.stored.is_object() || !b.stored.contains("request"))
    return fail(ErrorCode::kParse, "build batch " + batch_id + ": the stored request is not valid");
  if (!b.rec.complete) parsed_[batch_id] = b;
  return b;
}

Result<void> BatchCoordinator::save(Loaded& b) {
  json j = batch::to_json(b.rec);
  j["kiln"]["server"] = b.priv;
  const batch::BuildGroup* source = b.rec.group(batch::kDownloadSourceGroup);
  const auto state = b.rec.complete                           ? store::BuildState::kDone
                     : (source != nullptr && source->current) ? store::BuildState::kRunning
                                                              : store::BuildState::kQueued;
  std::string text = json_text(j);
  if (auto r = store_.update_build_batch(b.row.id, state, b.rec.status, text); !r) {
    parsed_.erase(b.row.id);
    return fail(std::move(r.error()).with("storing build batch " + b.row.id));
  }
  b.dirty = false;
  b.row.json = std::move(text);
  b.row.state = state;
  b.row.status = b.rec.status;
  if (b.rec.complete) {
    parsed_.erase(b.row.id);
  } else {
    parsed_[b.row.id] = b;
  }
  if (b.rec.complete) {
    std::error_code ec;
    std::filesystem::remove_all(options_.data.batch_dir(uuid_of(b.row.id)), ec);
    if (ec) log("build batch " + b.row.id + ": removing its folder: " + ec.message());
  }
  return {};
}

Result<const batch::Plan*> BatchCoordinator::plan_of(Loaded& b) {
  if (!b.plan) {
    if (!b.priv.contains("plan"))
      return fail(ErrorCode::kInvalidArgument, "the batch has no plan (its batchspec is unread)");
    auto p = batch::plan_from_json(b.priv["plan"]);
    if (!p) return fail(std::move(p.error()).with("reading the batch's stored plan"));
    b.plan = std::move(*p);
  }
  return &*b.plan;
}

Result<std::string> BatchCoordinator::queue_build(Loaded& b, const std::string& identifier) {
  auto base = engine::request_from_json(b.stored["request"]);
  if (!base) return fail(std::move(base.error()).with("reading the batch's request"));
  const std::string uuid = make_uuid();
  engine::BuildRequest req;
  if (identifier == batch::kDownloadSourceGroup) {
    req = std::move(*base);
    req.identity.uuid = uuid;
    req.identity.batch_identifier = identifier;
    req.identity.build_batch_arn = b.rec.arn;
    req.batchspec_only = true;
  } else {
    auto plan = plan_of(b);
    if (!plan) return fail(std::move(plan.error()));
    const auto& members = (*plan)->members;
    const auto m = std::find_if(members.begin(), members.end(),
                                [&](const batch::Member& x) { return x.identifier == identifier; });
    if (m == members.end())
      return fail(ErrorCode::kNotFound, "the batch's plan has no member " + identifier);
    req = batch::member_request(*base, *m, uuid, b.rec.arn, b.rec.combine_artifacts,
                                options_.data.batch_dir(uuid_of(b.row.id)) / "combine");
    req.timeout_minutes = b.rec.build_timeout_minutes;
  }
  req.build_root = options_.data.build_root(uuid);
  json request = engine::request_to_json(req);
  if (const auto k = b.stored.find("secretsKey"); k != b.stored.end() && k->is_string())
    request[engine::kSecretsKeyMember] = *k;
  const double t = now();
  store::BuildRow row;
  row.id = b.row.project + ":" + uuid;
  row.project = b.row.project;
  row.submitted = t;
  row.state = store::BuildState::kQueued;
  row.request_json = json_text(json{{"request", std::move(request)},
                                    {"input", json::object()},
                                    {"batch", {{"id", b.row.id}, {"identifier", identifier}}}});
  const json settings = b.stored.value("settings", json::object());
  json build;
  // Made inside the insert, which numbers the build: one write stores it whole.
  auto inserted = store_.insert_build(row, [&](const store::BuildRow& numbered) {
    req.identity.build_number = numbered.number;
    build = engine::queued_build(
        req, t,
        {settings.value("source", json(nullptr)), settings.value("secondarySources", json(nullptr)),
         settings.value("cache", json(nullptr))});
    return json_text(build);
  });
  if (!inserted) return fail(std::move(inserted.error()).with("queueing build " + identifier));
  batch::member_started(b.rec, identifier, row.id, build.value("arn", ""), t);
  b.dirty = true;
  return row.id;
}

void BatchCoordinator::start_download_source(Loaded& b) {
  if (auto id = queue_build(b, batch::kDownloadSourceGroup); !id) {
    log("build batch " + b.row.id + ": " + id.error().describe());
    batch::batchspec_failed(
        b.rec, "CLIENT_ERROR",
        "Kiln could not queue the build that reads the batchspec: " + id.error().describe(), now());
    b.dirty = true;
  }
}

void BatchCoordinator::keep_batchspec(const std::string& build_id) {
  const auto file = options_.data.reports_dir(uuid_of(build_id)) / kBatchspecFile;
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return;
  auto text = read_file(file);
  if (!text) {
    log("build " + build_id + ": " + text.error().describe());
    return;
  }
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    log("build " + build_id + ": " + file.string() + " is not valid JSON");
    return;
  }
  MutexLock lock(mu_);
  batchspecs_[build_id] = std::move(j);
}

void BatchCoordinator::load_batchspec(Loaded& b, const std::string& build_id) {
  const auto kept = batchspecs_.find(build_id);
  if (kept == batchspecs_.end()) {
    batch::batchspec_failed(b.rec, "CLIENT_ERROR",
                            "The build that reads the batchspec left no batchspec", now());
    return;
  }
  const json spec_file = std::move(kept->second);
  batchspecs_.erase(kept);
  const auto parsed =
      spec::parse_buildspec(spec_file.value("text", ""), spec_file.value("path", "buildspec.yml"));
  if (!parsed.spec) {
    std::string message = "The batchspec does not parse";
    for (const auto& d : parsed.diagnostics) {
      if (d.severity != spec::Diagnostic::Severity::kError) continue;
      message = spec::phase_context_message(d);
      break;
    }
    batch::batchspec_failed(b.rec, "YAML_FILE_ERROR", message, now());
    return;
  }
  const json config = b.stored.value("batchConfig", json::object());
  const json limits = config.value("restrictions", json::object());
  batch::Restrictions restrictions;
  if (const auto m = limits.find("maximumBuildsAllowed"); m != limits.end() && m->is_number())
    restrictions.maximum_builds_allowed = m->get<int>();
  for (const auto& c : limits.value("computeTypesAllowed", json::array()))
    if (c.is_string()) restrictions.compute_types_allowed.push_back(c.get<std::string>());
  const std::string compute = b.stored["request"].value("computeType", "BUILD_GENERAL1_SMALL");
  auto plan = batch::make_plan(parsed.spec->batch, restrictions, compute);
  if (!plan) {
    batch::batchspec_failed(b.rec, plan.error().status_code, plan.error().message, now());
    return;
  }
  b.priv["plan"] = batch::plan_to_json(*plan);
  batch::batchspec_loaded(b.rec, *plan, config.value("combineArtifacts", false), now());
  b.plan = std::move(*plan);
}

void BatchCoordinator::member_ended(Loaded& b, const std::string& identifier,
                                    const store::BuildRow& row, bool plan) {
  const batch::BuildGroup* g = b.rec.group(identifier);
  if (g == nullptr || g->build_id != row.id || !in_flight(*g)) return;  // seen already
  const json build = json::parse(row.json, nullptr, false);
  const json empty = json::object();
  const json& shown = build.is_discarded() ? empty : build;
  batch::MemberEnd end;
  end.status = shown.value("buildStatus", "FAILED");
  if (end.status == "IN_PROGRESS") end.status = "FAILED";  // done, but never given an end
  end.primary_artifact = resolved(shown.value("artifacts", json(nullptr)), identifier);
  if (const auto s = shown.find("secondaryArtifacts"); s != shown.end() && s->is_array()) {
    end.secondary_artifacts = json::array();
    for (const auto& a : *s) {
      json r = resolved(a, a.value("artifactIdentifier", ""));
      if (!r.is_null()) end.secondary_artifacts.push_back(std::move(r));
    }
  }
  for (const auto& arn : shown.value("reportArns", json::array()))
    if (arn.is_string()) end.report_arns.push_back(arn.get<std::string>());
  b.dirty = true;
  const auto stops = batch::member_finished(b.rec, identifier, end, now());
  if (identifier == batch::kDownloadSourceGroup) {
    if (!plan) return;
    if (end.status == "SUCCEEDED") {
      load_batchspec(b, row.id);
    } else {
      const auto ctx = failing_context(shown);
      batch::batchspec_failed(b.rec, ctx.status_code, ctx.message, now());
    }
    return;
  }
  stop_members(b, stops);
}

void BatchCoordinator::stop_members(Loaded& b, const std::vector<std::string>& identifiers) {
  for (const auto& identifier : identifiers) {
    const batch::BuildGroup* g = b.rec.group(identifier);
    if (g == nullptr || !in_flight(*g)) continue;
    const std::string build_id = g->build_id;
    auto rows = store_.get_builds({build_id});
    if (!rows || rows->empty()) {
      log("build batch " + b.row.id + ": reading member " + build_id +
          " to stop it: " + (rows ? "not stored" : rows.error().describe()));
      continue;
    }
    store::BuildRow row = rows->front();
    if (row.state == store::BuildState::kRunning) {
      // Its worker records STOPPED; the record path (build_ended) follows.
      static_cast<void>(stop_running_(build_id));
      continue;
    }
    if (row.state == store::BuildState::kQueued) {
      // As StopBuild ends a queued build. The scheduler may be launching it at this moment (the
      // same race StopBuild has); the build then runs and ends with its own status.
      json build = json::parse(row.json, nullptr, false);
      if (build.is_discarded()) build = json::object();
      engine::end_build(build, "STOPPED", now(), "BUILD_STOPPED",
                        "The build was stopped while queued");
      row.json = json_text(build);
      row.state = store::BuildState::kDone;
      if (auto r = store_.update_build(build_id, row.state, row.json); !r) {
        log("build batch " + b.row.id + ": " + r.error().describe());
        continue;
      }
    }
    member_ended(b, identifier, row);
  }
}

void BatchCoordinator::reconcile(Loaded& b) {
  std::vector<std::string> ids;
  for (const auto& g : b.rec.groups)
    if (in_flight(g)) ids.push_back(g.build_id);
  if (!ids.empty()) {
    auto rows = store_.get_builds(ids);
    if (!rows) {
      log("build batch " + b.row.id + ": reading its builds: " + rows.error().describe());
      return;
    }
    for (const auto& row : *rows) {
      if (row.state != store::BuildState::kDone) continue;
      for (const auto& g : b.rec.groups) {
        if (g.build_id != row.id) continue;
        const std::string identifier = g.identifier;  // member_ended may change the groups
        member_ended(b, identifier, row);
        break;
      }
    }
  }
  const int timeout = b.stored.value("batchConfig", json::object()).value("timeoutInMins", 0);
  if (!b.rec.complete && timeout > 0 && !b.priv.value("stopping", false) &&
      now() - b.rec.start_time >= timeout * 60.0) {
    b.priv["stopping"] = true;
    b.dirty = true;
    const auto stops = batch::stop_batch(
        b.rec, "Build batch timed out after " + std::to_string(timeout) + " minutes", now(),
        /*timed_out=*/true);
    stop_members(b, stops);
  }
}

void BatchCoordinator::advance(Loaded& b) {
  if (b.rec.complete) return;
  std::size_t running = 0;
  for (const auto& g : b.rec.groups)
    if (in_flight(g)) ++running;
  // The fairness rule (docs/batch.md): a batch has at most max(1, --max-builds) members queued
  // or running, so builds submitted after a large batch wait for one slot, not for the batch.
  const std::size_t share = std::max(1U, options_.max_running);
  if (running < share) {
    for (const auto& identifier : batch::ready_members(b.rec, share - running)) {
      if (auto id = queue_build(b, identifier); !id) {
        log("build batch " + b.row.id + ": " + id.error().describe());
        b.priv["stopping"] = true;
        b.dirty = true;
        stop_members(
            b, batch::stop_batch(
                   b.rec, "Kiln could not queue build " + identifier + ": " + id.error().describe(),
                   now()));
        break;
      }
    }
  }
  if (b.rec.complete || !batch::members_done(b.rec)) return;
  b.dirty = true;
  if (batch::needs_combine(b.rec)) {
    combine(b);
  } else {
    batch::finish_batch(b.rec, now());
  }
}

void BatchCoordinator::step(const std::string& batch_id) {
  auto b = load(batch_id);
  if (!b) {
    log(b.error().describe());
    return;
  }
  if (!b->rec.complete) {
    const batch::BuildGroup* source = b->rec.group(batch::kDownloadSourceGroup);
    if (source == nullptr || !source->current) {
      start_download_source(*b);
    } else {
      reconcile(*b);
    }
    advance(*b);
  } else {
    b->dirty = b->row.state != store::BuildState::kDone;
  }
  if (b->dirty) {
    if (auto r = save(*b); !r) log(r.error().describe());
  }
}

void BatchCoordinator::tick() {
  MutexLock lock(mu_);
  for (const auto state : {store::BuildState::kQueued, store::BuildState::kRunning}) {
    auto rows = store_.build_batches_in_state(state);
    if (!rows) {
      log("reading the build batches: " + rows.error().describe());
      continue;
    }
    for (const auto& row : *rows) step(row.id);
  }
}

void BatchCoordinator::build_ended(const std::string& build_id, const std::string& request_json) {
  const json request = json::parse(request_json, nullptr, false);
  if (request.is_discarded() || !request.is_object()) return;
  const auto ref = request.find("batch");
  if (ref == request.end() || !ref->is_object()) return;
  MutexLock lock(mu_);
  auto b = load(ref->value("id", ""));
  if (!b) {
    log("build " + build_id + " ended: " + b.error().describe());
    return;
  }
  if (b->rec.complete) return;
  reconcile(*b);
  advance(*b);
  if (b->dirty) {
    if (auto r = save(*b); !r) log(r.error().describe());
  }
}

}  // namespace kiln::server
