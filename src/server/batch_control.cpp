// BatchCoordinator's other half (server/batch_coordinator.h): COMBINE_ARTIFACTS, StopBuildBatch,
// RetryBuildBatch and the recovery of batches a dead server left unfinished.
#include <cstdio>
#include <set>

#include "batch/member.h"
#include "batch/run.h"
#include "engine/record_json.h"
#include "engine/request_json.h"
#include "engine/services.h"
#include "logs/log_sink.h"
#include "server/batch_coordinator.h"
#include "server/server_log.h"
#include "spec/buildspec.h"
#include "util/json_text.h"

namespace kiln::server {
namespace {

using nlohmann::json;

constexpr const char* kServerStopped = "The Kiln server stopped while this batch was running";

// The combined folder (one folder per member identifier) to the batch's S3 artifacts location,
// through the same uploader a build uses (its ZIP or NONE packaging, name, path, namespace and
// encryption). Returns the artifact's location, arn:aws:s3:::bucket/key.
Result<std::string> upload_combined(const engine::BuildRequest& base,
                                    const std::filesystem::path& combined,
                                    const std::filesystem::path& staging) {
  engine::BuildServices services(base, {});
  spec::Artifacts spec;
  spec.present = true;
  spec.primary.files = {"**/*"};
  artifacts::UploadRequest req;
  req.artifacts = &spec;
  req.src_dir = combined;
  req.output_dir = staging;
  req.packaging = base.packaging;
  req.default_name = base.identity.uuid;
  logs::MemorySink log;
  auto out = services.uploader().upload(req, log);
  if (!out) return fail(std::move(out.error()).with("uploading the combined artifacts"));
  if (out->failure) return fail(ErrorCode::kIo, out->failure->message);
  if (!out->primary) return fail(ErrorCode::kIo, "the combined artifacts were not uploaded");
  return out->primary->location.string();
}

}  // namespace

void BatchCoordinator::combine(Loaded& b) {
  batch::combine_started(b.rec, now());
  if (auto r = save(b); !r) log(r.error().describe());  // clients see COMBINE_ARTIFACTS
  const std::string uuid = uuid_of(b.row.id);
  const auto folder = options_.data.batch_dir(uuid);
  auto base = engine::request_from_json(b.stored["request"]);
  std::optional<batch::BatchPhaseContext> failure;
  auto failed = [&](const std::string& message) {
    failure = batch::BatchPhaseContext{"CLIENT_ERROR", message};
  };
  if (!base) {
    failed(base.error().describe());
  } else if (!base->s3_artifacts.empty()) {
    // S3: the members' folders side by side, then uploaded as the project's artifact.
    if (auto c = batch::combine_artifacts(folder / "combine", folder / "combined",
                                          artifacts::Packaging::kNone);
        !c) {
      failed(c.error().describe());
    } else if (auto at = upload_combined(*base, folder / "combined", folder / "upload"); !at) {
      failed(at.error().describe());
    } else {
      b.rec.settings["artifacts"]["location"] = *at;
    }
  } else {
    // Without an S3 location (kiln's server has no other artifact type), the combined output is
    // kept in the data folder: DATA/artifacts/<project>/<batch uuid>/<name>.
    const json artifacts = b.stored.value("artifacts", json::object());
    const auto packaging = artifacts.value("packaging", "NONE") == "ZIP"
                               ? artifacts::Packaging::kZip
                               : artifacts::Packaging::kNone;
    std::string name = artifacts.value("name", "");
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
      name = uuid;
    if (packaging == artifacts::Packaging::kZip) name += ".zip";
    const auto dir = options_.data.artifacts_dir(b.row.project, uuid);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      failed("Kiln could not create " + dir.string() + ": " + ec.message());
    } else if (auto c = batch::combine_artifacts(folder / "combine", dir / name, packaging); !c) {
      failed(c.error().describe());
    } else {
      b.rec.settings["artifacts"]["location"] = (dir / name).string();
    }
  }
  batch::finish_batch(b.rec, now(), failure);
  b.dirty = true;
}

bool BatchCoordinator::stop_batch(const std::string& batch_id) {
  MutexLock lock(mu_);
  auto b = load(batch_id);
  if (!b) return false;
  if (b->rec.complete) return false;
  b->priv["stopping"] = true;
  b->dirty = true;
  const auto stops = batch::stop_batch(b->rec, "Build batch was stopped", now());
  stop_members(*b, stops);
  advance(*b);
  if (auto r = save(*b); !r) log(r.error().describe());
  return true;
}

Result<void> BatchCoordinator::retry_batch(const std::string& batch_id, bool failed_only) {
  MutexLock lock(mu_);
  auto b = load(batch_id);
  if (!b) return fail(std::move(b.error()));
  if (!b->rec.complete)
    return fail(ErrorCode::kInvalidArgument,
                "Build batch " + batch_id + " is still in progress: only a completed batch can " +
                    "be retried");
  batch::retry_batch(
      b->rec, failed_only ? batch::RetryType::kFailedBuilds : batch::RetryType::kAllBuilds, now());
  b->priv.erase("stopping");
  const batch::BuildGroup* source = b->rec.group(batch::kDownloadSourceGroup);
  if (source == nullptr || !source->current) {
    // DOWNLOAD_BATCHSPEC failed: the batchspec is read again.
    b->priv.erase("plan");
    b->plan.reset();
    start_download_source(*b);
  }
  advance(*b);
  return save(*b);
}

Result<int> BatchCoordinator::recover() {
  MutexLock lock(mu_);
  std::set<std::string> unfinished;
  for (const auto state : {store::BuildState::kQueued, store::BuildState::kRunning}) {
    auto rows = store_.build_batches_in_state(state);
    if (!rows) return fail(std::move(rows.error()).with("recovering build batches"));
    for (const auto& row : *rows) unfinished.insert(row.id);
  }
  if (unfinished.empty()) return 0;
  // Every queued build of those batches, including one queued just before the server died and
  // not yet in its batch's record, ends: no member is left without a status.
  auto queued = store_.builds_in_state(store::BuildState::kQueued);
  if (!queued) return fail(std::move(queued.error()).with("recovering build batches"));
  for (const auto& row : *queued) {
    const json request = json::parse(row.request_json, nullptr, false);
    if (request.is_discarded() || !request.is_object() || !request.contains("batch") ||
        !request["batch"].is_object() || unfinished.count(request["batch"].value("id", "")) == 0)
      continue;
    json build = json::parse(row.json, nullptr, false);
    if (build.is_discarded()) build = json::object();
    engine::end_build(build, "STOPPED", now(), "BUILD_STOPPED",
                      "The Kiln server stopped while this build's batch was running");
    if (auto r = store_.update_build(row.id, store::BuildState::kDone, json_text(build)); !r)
      return fail(std::move(r.error()).with("recovering build batches"));
  }
  for (const auto& id : unfinished) {
    auto b = load(id);
    if (!b) {
      log("recovering " + b.error().describe());
      continue;
    }
    // The members' summaries take the status their builds ended with (Scheduler::recover
    // failed the running ones); nothing new is planned or started.
    std::vector<std::string> ids;
    for (const auto& g : b->rec.groups)
      if (g.current && g.current->build_status == "IN_PROGRESS" && !g.build_id.empty())
        ids.push_back(g.build_id);
    if (!ids.empty()) {
      auto rows = store_.get_builds(ids);
      if (!rows) return fail(std::move(rows.error()).with("recovering build batch " + id));
      for (const auto& row : *rows) {
        if (row.state != store::BuildState::kDone) continue;
        for (const auto& g : b->rec.groups) {
          if (g.build_id != row.id) continue;
          const std::string identifier = g.identifier;
          member_ended(*b, identifier, row, /*plan=*/false);
          break;
        }
      }
    }
    batch::fail_unfinished(b->rec, kServerStopped, now());
    if (auto r = save(*b); !r) return fail(std::move(r.error()).with("recovering build batches"));
  }
  return static_cast<int>(unfinished.size());
}

}  // namespace kiln::server
