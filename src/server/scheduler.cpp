#include "server/scheduler.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>

#include "api/build_json.h"
#include "exec/spawn.h"
#include "util/files.h"
#include "util/json_text.h"

extern char** environ;

namespace kiln::server {
namespace {

using nlohmann::json;

std::string uuid_of(const std::string& id) {
  const auto colon = id.find(':');
  return colon == std::string::npos ? id : id.substr(colon + 1);
}

// The worker's record starts its own clock; the build was submitted earlier. Keep the stored
// SUBMITTED entry and make QUEUED span submission to launch.
void keep_queue_times(json& build, const json& stored, double launched) {
  const double submitted = stored.value("startTime", launched);
  build["startTime"] = submitted;
  if (stored.contains("source")) build["source"] = stored["source"];
  auto& phases = build["phases"];
  if (!phases.is_array()) return;
  for (auto& p : phases) {
    const std::string type = p.value("phaseType", "");
    if (type == "SUBMITTED") {
      p["startTime"] = submitted;
      p["endTime"] = submitted;
      p["durationInSeconds"] = 0;
    } else if (type == "QUEUED") {
      p["startTime"] = submitted;
      p["endTime"] = launched;
      p["durationInSeconds"] = static_cast<long>(std::floor(launched - submitted));
    }
  }
}

}  // namespace

Scheduler::Scheduler(SchedulerOptions options, store::Store& store, const Clock& clock)
    : options_(std::move(options)), store_(store), clock_(clock) {}

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
  const auto t = clock_.now().time_since_epoch();
  return static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(t).count()) /
         1000.0;
}

Result<int> Scheduler::recover() {
  auto rows = store_.builds_in_state(store::BuildState::kRunning);
  if (!rows) return fail(std::move(rows.error()).with("recovering builds"));
  for (const auto& row : *rows) {
    json build = json::parse(row.json, nullptr, false);
    if (build.is_discarded()) build = json::object();
    api::end_build(build, "FAILED", now(), "BUILD_CONTAINER_UNABLE_TO_COMPLETE",
                   "The Kiln server stopped while this build was running");
    if (auto r = store_.update_build(row.id, store::BuildState::kDone, json_text(build)); !r)
      return fail(std::move(r.error()));
    std::error_code ec;
    std::filesystem::remove_all(options_.data.build_root(uuid_of(row.id)), ec);
    std::filesystem::remove(options_.data.request_file(uuid_of(row.id)), ec);
  }
  return static_cast<int>(rows->size());
}

void Scheduler::start() {
  thread_ = std::thread([this] { loop(); });
}

void Scheduler::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

bool Scheduler::stop(const std::string& build_id) {
  std::lock_guard lock(mu_);
  const auto it = running_.find(build_id);
  if (it == running_.end()) return false;
  ::kill(it->second.pid, SIGTERM);  // the worker's engine stops the build: STOPPED
  return true;
}

void Scheduler::shutdown() {
  std::vector<std::thread> readers;
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    for (auto& [id, r] : running_) ::kill(r.pid, SIGTERM);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(mu_);
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
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, options_.tick, [&] { return woken_ || stopping_; });
      if (stopping_) return;
      woken_ = false;
      done.swap(finished_);
    }
    for (auto& t : done) t.join();
    expire_queued();
    schedule_once();
  }
}

void Scheduler::expire_queued() {
  auto rows = store_.builds_in_state(store::BuildState::kQueued);
  if (!rows) return;
  const double t = now();
  for (const auto& row : *rows) {
    json build = json::parse(row.json, nullptr, false);
    if (build.is_discarded()) continue;
    const double limit = build.value("queuedTimeoutInMinutes", 480) * 60.0;
    if (t - row.submitted < limit) continue;
    api::end_build(build, "TIMED_OUT", t, "BUILD_TIMED_OUT",
                   "Build timed out while waiting in the queue");
    [[maybe_unused]] auto r =
        store_.update_build(row.id, store::BuildState::kDone, json_text(build));
  }
}

void Scheduler::schedule_once() {
  auto rows = store_.builds_in_state(store::BuildState::kQueued);
  if (!rows) return;
  for (const auto& row : *rows) {
    {
      std::lock_guard lock(mu_);
      if (stopping_ || running_.size() >= options_.max_running) return;
      if (running_.count(row.id) != 0) continue;
    }
    if (auto r = launch(row); !r) {
      json build = json::parse(row.json, nullptr, false);
      if (build.is_discarded()) build = json::object();
      api::end_build(build, "FAULT", now(), "BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE",
                     "Kiln could not start the build: " + r.error().describe());
      [[maybe_unused]] auto u =
          store_.update_build(row.id, store::BuildState::kDone, json_text(build));
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
  const auto log = options_.data.log_path(row.project, uuid);
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) return fail(ErrorCode::kIo, "create " + root.string() + ": " + ec.message());
  std::filesystem::create_directories(log.parent_path(), ec);
  if (ec) return fail(ErrorCode::kIo, "create " + log.parent_path().string() + ": " + ec.message());
  const auto request_file = options_.data.request_file(uuid);
  // 0600: DATA/builds is traversable by a root server's build user (docs/server.md).
  if (auto w = write_file_atomic(request_file, json_text(request), 0600); !w)
    return fail(std::move(w.error()));

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail(errno_error(ErrorCode::kProcess, "pipe2"));
  const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  exec::SpawnRequest spawn;
  spawn.program = options_.kiln_binary.string();
  spawn.argv = {spawn.program, "worker",
                "--request",   request_file.string(),
                "--log",       log.string(),
                "--secrets",   options_.data.secrets_dir().string(),
                "--keys",      (options_.data.root / "keys.json").string(),
                "--parent",    std::to_string(::getpid())};
  if (!options_.build_user.empty()) {
    spawn.argv.emplace_back("--build-user");
    spawn.argv.push_back(options_.build_user);
  }
  for (char** e = environ; e && *e; ++e) spawn.env.emplace_back(*e);
  spawn.stdin_fd = devnull;
  spawn.output_fd = fds[1];
  auto pid = exec::spawn_process(spawn);
  ::close(fds[1]);
  if (devnull >= 0) ::close(devnull);
  if (!pid) {
    ::close(fds[0]);
    return fail(std::move(pid.error()).with("starting the build's worker"));
  }
  const double launched = now();
  if (auto u = store_.update_build(row.id, store::BuildState::kRunning, row.json); !u) {
    ::kill(*pid, SIGKILL);
    ::close(fds[0]);
    int status;
    ::waitpid(*pid, &status, 0);
    return fail(std::move(u.error()));
  }
  std::lock_guard lock(mu_);
  auto& r = running_[row.id];
  r.pid = *pid;
  r.reader = std::thread(
      [this, id = row.id, p = *pid, fd = fds[0], launched] { follow(id, p, fd, launched); });
  return {};
}

void Scheduler::follow(std::string id, pid_t pid, int fd, double launched) {
  std::string buf;
  char chunk[65536];
  bool complete = false;
  while (true) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf.append(chunk, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      const std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      json build = json::parse(line, nullptr, false);
      if (build.is_discarded() || !build.is_object() || !build.contains("id")) {
        std::fprintf(stderr, "kiln server: worker of %s: %s\n", id.c_str(), line.c_str());
        continue;
      }
      complete = api::build_complete(build);
      record(id, std::move(build), launched, complete);
    }
  }
  ::close(fd);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!complete) {
    // The worker died without a final record (killed, or crashed): end the build for it.
    auto rows = store_.get_builds({id});
    if (rows && !rows->empty()) {
      json build = json::parse(rows->front().json, nullptr, false);
      if (build.is_discarded()) build = json::object();
      const std::string why = WIFSIGNALED(status)
                                  ? "signal " + std::to_string(WTERMSIG(status))
                                  : "exit status " + std::to_string(WEXITSTATUS(status));
      api::end_build(build, "FAILED", now(), "BUILD_CONTAINER_UNABLE_TO_COMPLETE",
                     "The build's worker process ended unexpectedly (" + why + ")");
      [[maybe_unused]] auto u = store_.update_build(id, store::BuildState::kDone, json_text(build));
    }
  }
  const std::string uuid = uuid_of(id);
  std::error_code ec;
  std::filesystem::remove_all(options_.data.build_root(uuid), ec);
  std::filesystem::remove(options_.data.request_file(uuid), ec);
  {
    std::lock_guard lock(mu_);
    const auto it = running_.find(id);
    if (it != running_.end()) {
      finished_.push_back(std::move(it->second.reader));
      running_.erase(it);
    }
    woken_ = true;
  }
  cv_.notify_all();
}

void Scheduler::record(const std::string& id, json build, double launched, bool final_line) {
  if (final_line) {
    bool stopping = false;
    {
      std::lock_guard lock(mu_);
      stopping = stopping_;
    }
    // The worker knows only that it was signalled; the scheduler knows why.
    if (stopping) say_server_shut_down(build);
  }
  auto rows = store_.get_builds({id});
  if (rows && !rows->empty()) {
    const json stored = json::parse(rows->front().json, nullptr, false);
    if (!stored.is_discarded()) keep_queue_times(build, stored, launched);
  }
  const auto state = final_line ? store::BuildState::kDone : store::BuildState::kRunning;
  if (auto r = store_.update_build(id, state, json_text(build)); !r) {
    std::fprintf(stderr, "kiln server: recording %s: %s\n", id.c_str(),
                 r.error().describe().c_str());
  }
}

}  // namespace kiln::server
