#include "server/scheduler.h"

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <optional>

#include "engine/record_json.h"
#include "server/server_log.h"
#include "server/worker_protocol.h"
#include "util/files.h"
#include "util/json_text.h"

namespace kiln::server {

using nlohmann::json;

Scheduler::Scheduler(SchedulerOptions options, store::Store& store, const Clock& clock)
    : options_(std::move(options)),
      store_(store),
      clock_(clock),
      own_starter_(options_.starter == nullptr ? make_process_starter() : nullptr),
      starter_(options_.starter != nullptr ? *options_.starter : *own_starter_),
      batches_({options_.data, options_.max_running}, store_, clock_,
               [this](const std::string& id) { return stop(id); }) {}

Scheduler::~Scheduler() {
  shutdown();
}

void Scheduler::say_server_shut_down(json& build) {
  if (build.value("buildStatus", "") != "STOPPED" || !build.contains("phases")) return;
  for (auto& phase : build["phases"]) {
    if (!phase.is_object() || !phase.contains("contexts")) continue;
    for (auto& c : phase["contexts"]) {
      if (c.is_object() && c.value("statusCode", "") == "BUILD_STOPPED")
        c["message"] = "Build was stopped because the Kiln server shut down";
    }
  }
}

double Scheduler::now() const {
  return to_epoch_seconds_ms(clock_.now());
}

Result<void> Scheduler::end_stored_build(const std::string& id, const std::string& stored,
                                         const std::string& status, const std::string& code,
                                         const std::string& message) {
  json build = json::parse(stored, nullptr, false);
  if (build.is_discarded()) build = json::object();  // end_build gives it the fields it needs
  engine::end_build(build, status, now(), code, message);
  if (auto r = store_.update_build(id, store::BuildState::kDone, json_text(build)); !r)
    return fail(std::move(r.error()).with("ending build " + id + " as " + status));
  return {};
}

void Scheduler::remove_build_files(const std::string& id) {
  const std::string uuid = uuid_of(id);
  for (const auto& path : {options_.data.build_root(uuid), options_.data.request_file(uuid),
                           options_.data.reports_dir(uuid)}) {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec) log("build " + id + ": removing " + path.string() + ": " + ec.message());
  }
}

Result<int> Scheduler::recover() {
  auto rows = store_.builds_in_state(store::BuildState::kRunning);
  if (!rows) return fail(std::move(rows.error()).with("recovering builds"));
  for (const auto& row : *rows) {
    if (auto r = end_stored_build(row.id, row.json, "FAILED", "BUILD_CONTAINER_UNABLE_TO_COMPLETE",
                                  "The Kiln server stopped while this build was running");
        !r)
      return fail(std::move(r.error()).with("recovering builds"));
    remove_build_files(row.id);
  }
  auto batches = batches_.recover();
  if (!batches) return fail(std::move(batches.error()));
  return static_cast<int>(rows->size());
}

void Scheduler::start() {
  thread_ = std::thread([this] { loop(); });
}

void Scheduler::wake() {
  {
    MutexLock lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

bool Scheduler::stop(const std::string& build_id) {
  MutexLock lock(mu_);
  const auto it = running_.find(build_id);
  if (it == running_.end()) return false;
  // The worker's engine stops the build: STOPPED. A worker already gone is being reaped by its
  // reader, which ends the build anyway.
  if (auto r = starter_.signal(it->second.pid, SIGTERM); !r)
    log("stopping build " + build_id + ": " + r.error().describe());
  return true;
}

bool Scheduler::stop_batch(const std::string& batch_id) {
  const bool stopped = batches_.stop_batch(batch_id);
  wake();
  return stopped;
}

Result<void> Scheduler::retry_batch(const std::string& batch_id, bool failed_only) {
  auto r = batches_.retry_batch(batch_id, failed_only);
  wake();
  return r;
}

void Scheduler::shutdown() {
  std::vector<std::thread> readers;
  {
    MutexLock lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    for (auto& [id, r] : running_) {
      if (auto s = starter_.signal(r.pid, SIGTERM); !s)
        log("stopping build " + id + " at shutdown: " + s.error().describe());
    }
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  {
    MutexLock lock(mu_);
    for (auto& [id, r] : running_) readers.push_back(std::move(r.reader));
    for (auto& t : finished_) readers.push_back(std::move(t));
    finished_.clear();
  }
  for (auto& t : readers) {
    if (t.joinable()) t.join();
  }
}

void Scheduler::loop() {
  while (true) {
    std::vector<std::thread> done;
    {
      MutexLock lock(mu_);
      cv_.wait_for(mu_, options_.tick, [&]() REQUIRES(mu_) { return woken_ || stopping_; });
      if (stopping_) return;
      woken_ = false;
      done.swap(finished_);
    }
    for (auto& t : done) t.join();
    expire_queued();
    batches_.tick();
    schedule_once();
  }
}

void Scheduler::expire_queued() {
  // No build can time out in the queue sooner than the shortest queuedTimeoutInMinutes CodeBuild
  // takes (5), so younger builds are not even read: a long queue is not parsed every tick.
  constexpr double kShortestQueuedTimeout = 5 * 60.0;
  const double t = now();
  auto rows = store_.builds_in_state(store::BuildState::kQueued, 0, t - kShortestQueuedTimeout);
  if (!rows) {
    log("checking queued timeouts: " + rows.error().describe());
    return;
  }
  for (const auto& row : *rows) {
    const json build = json::parse(row.json, nullptr, false);
    if (build.is_discarded()) {
      log("build " + row.id + ": the stored Build is not valid JSON; its queued timeout is not " +
          "checked");
      continue;
    }
    const double limit = build.value("queuedTimeoutInMinutes", 480) * 60.0;
    if (t - row.submitted < limit) continue;
    if (auto r = end_stored_build(row.id, row.json, "TIMED_OUT", "BUILD_TIMED_OUT",
                                  "Build timed out while waiting in the queue");
        !r)
      log(r.error().describe());
  }
}

void Scheduler::schedule_once() {
  int free = 0;
  {
    MutexLock lock(mu_);
    if (stopping_ || running_.size() >= options_.max_running) return;
    free = static_cast<int>(options_.max_running - running_.size());
  }
  // Only the builds that can start now: with every slot taken, a wake (one per queued build)
  // reads nothing, so a long queue does not make each StartBuild slower.
  auto rows = store_.builds_in_state(store::BuildState::kQueued, free,
                                     std::numeric_limits<double>::infinity());
  if (!rows) {
    log("reading the queue: " + rows.error().describe());
    return;
  }
  for (const auto& row : *rows) {
    {
      MutexLock lock(mu_);
      if (stopping_ || running_.size() >= options_.max_running) return;
      if (running_.count(row.id) != 0) continue;
    }
    if (auto r = launch(row); !r) {
      log("build " + row.id + ": cannot start its worker: " + r.error().describe());
      remove_build_files(row.id);
      if (auto e =
              end_stored_build(row.id, row.json, "FAULT", "BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE",
                               "Kiln could not start the build: " + r.error().describe());
          !e)
        log(e.error().describe());
    }
  }
}

Result<void> Scheduler::launch(const store::BuildRow& row) {
  json stored = json::parse(row.request_json, nullptr, false);
  if (stored.is_discarded() || !stored.contains("request"))
    return fail(ErrorCode::kParse, "the stored build request is not valid JSON");
  json request = stored["request"];
  request["identity"]["buildNumber"] = row.number;
  const std::string uuid = uuid_of(row.id);
  const auto root = options_.data.build_root(uuid);
  const auto log_path = options_.data.log_path(row.project, uuid);
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) return fail(ErrorCode::kIo, "create " + root.string() + ": " + ec.message());
  std::filesystem::create_directories(log_path.parent_path(), ec);
  if (ec)
    return fail(ErrorCode::kIo, "create " + log_path.parent_path().string() + ": " + ec.message());
  // The engine writes the build's reports here, where the build cannot reach them: beside its
  // folder, not in it (docs/server.md).
  const auto reports = options_.data.reports_dir(uuid);
  std::filesystem::create_directories(reports, ec);
  if (ec) return fail(ErrorCode::kIo, "create " + reports.string() + ": " + ec.message());
  std::filesystem::permissions(reports.parent_path(), std::filesystem::perms::owner_all, ec);
  if (ec)
    return fail(ErrorCode::kIo, "chmod " + reports.parent_path().string() + ": " + ec.message());
  request["reportsDir"] = reports.string();
  WorkerArgs args;
  args.request = options_.data.request_file(uuid);
  args.log = log_path;
  args.secrets = options_.data.secrets_dir();
  args.keys = options_.data.root / "keys.json";
  args.build_user = options_.build_user;
  args.parent = ::getpid();
  // 0600: DATA/builds is traversable by a root server's build user (docs/server.md).
  if (auto w = write_file_atomic(args.request, json_text(request), 0600); !w)
    return fail(std::move(w.error()));

  auto started = starter_.start(worker_argv(options_.kiln_binary, args));
  if (!started) return fail(std::move(started.error()).with("starting the build's worker"));
  const pid_t pid = started->pid;
  const double launched = now();
  if (auto u = store_.update_build(row.id, store::BuildState::kRunning, row.json); !u) {
    if (auto k = starter_.signal(pid, SIGKILL); !k)
      log("build " + row.id + ": killing its worker: " + k.error().describe());
    started->output.reset();
    if (auto w = starter_.wait(pid); !w)
      log("build " + row.id + ": reaping its worker: " + w.error().describe());
    return fail(std::move(u.error()).with("marking the build running"));
  }
  MutexLock lock(mu_);
  auto& r = running_[row.id];
  r.pid = pid;
  r.reader = std::thread([this, id = row.id, pid, output = std::move(started->output),
                          launched]() mutable { follow(id, pid, std::move(output), launched); });
  if (stopping_) {
    // shutdown() signalled the running workers while this one was starting: stop it too, or
    // shutdown would wait for its build to finish.
    if (auto s = starter_.signal(pid, SIGTERM); !s)
      log("stopping build " + row.id + " at shutdown: " + s.error().describe());
  }
  return {};
}

void Scheduler::follow(const std::string& id, pid_t pid, UniqueFd output, double launched) {
  const bool complete = follow_records(id, output.get(), launched);
  output.reset();
  auto status = starter_.wait(pid);
  if (!status) log("build " + id + ": reaping its worker: " + status.error().describe());
  if (!complete) {
    // The worker died without a final record (killed, or crashed): end the build for it.
    const std::string why = status ? describe_wait_status(*status) : "its status is unknown";
    auto rows = store_.get_builds({id});
    if (!rows) {
      log("build " + id + ": its worker ended (" + why +
          ") and the build cannot be read to end it: " + rows.error().describe());
    } else if (rows->empty()) {
      log("build " + id + ": its worker ended (" + why + ") and the build is no longer stored");
    } else if (auto r = end_stored_build(
                   id, rows->front().json, "FAILED", "BUILD_CONTAINER_UNABLE_TO_COMPLETE",
                   "The build's worker process ended unexpectedly (" + why + ")");
               !r) {
      log(r.error().describe());
    }
  }
  remove_build_files(id);
  {
    MutexLock lock(mu_);
    const auto it = running_.find(id);
    if (it != running_.end()) {
      finished_.push_back(std::move(it->second.reader));
      running_.erase(it);
    }
    woken_ = true;
  }
  cv_.notify_all();
}

bool Scheduler::follow_records(const std::string& id, int output, double launched) {
  RecordReader reader(output);
  bool complete = false;
  std::optional<std::vector<std::string>> reports;  // stored at the first complete record
  while (true) {
    auto line = reader.next();
    if (!line) {
      log("build " + id + ": " + line.error().describe());
      return complete;
    }
    if (!*line) return complete;  // the worker closed its output: it is ending
    if (!(*line)->record) {
      log("worker of " + id + ": " + (*line)->text);
      continue;
    }
    complete = (*line)->final;
    record(id, std::move(*(*line)->record), launched, complete, reports);
  }
}

void Scheduler::record(const std::string& id, json build, double launched, bool final_line,
                       std::optional<std::vector<std::string>>& reports) {
  if (final_line) {
    bool stopping = false;
    {
      MutexLock lock(mu_);
      stopping = stopping_;
    }
    // The worker knows only that it was signalled; the scheduler knows why.
    if (stopping) say_server_shut_down(build);
  }
  auto rows = store_.get_builds({id});
  std::string request_json;  // names the build's batch, if it has one
  if (!rows) {
    log("build " + id +
        ": reading the stored Build to merge the worker's record: " + rows.error().describe());
  } else if (!rows->empty()) {
    const json stored = json::parse(rows->front().json, nullptr, false);
    if (!stored.is_discarded()) engine::merge_worker_record(build, stored, launched);
    request_json = rows->front().request_json;
  }
  // The batchspec a batch's DOWNLOAD_SOURCE build left is in its reports folder, which
  // take_reports removes.
  if (final_line) batches_.keep_batchspec(id);
  if (final_line) take_reports(id, build, reports);
  const auto state = final_line ? store::BuildState::kDone : store::BuildState::kRunning;
  if (auto r = store_.update_build(id, state, json_text(build)); !r) {
    log("build " + id + ": recording the worker's record: " + r.error().describe());
  }
  bool stopping = false;
  {
    MutexLock lock(mu_);
    stopping = stopping_;
  }
  // At shutdown the batch is left as it is: the next start's recover() ends it.
  if (final_line && !stopping && !request_json.empty()) batches_.build_ended(id, request_json);
}

void Scheduler::take_reports(const std::string& id, json& build,
                             std::optional<std::vector<std::string>>& reports) {
  if (!reports) {
    reports =
        ingest_reports(options_.data.reports_dir(uuid_of(id)), store_, options_.reports, now(),
                       [&](const std::string& line) { log("build " + id + ": " + line); });
  }
  const std::vector<std::string>& stored = *reports;
  const auto arns = build.find("reportArns");
  if (arns == build.end() || !arns->is_array()) return;
  json kept = json::array();
  for (const auto& arn : *arns) {
    if (arn.is_string() && std::find(stored.begin(), stored.end(), arn) != stored.end())
      kept.push_back(arn);
  }
  *arns = std::move(kept);
}

}  // namespace kiln::server
