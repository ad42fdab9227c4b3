#include "run_batch.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include "batch/member.h"
#include "batch/plan.h"
#include "batch/run.h"
#include "batch_records.h"
#include "batch_view.h"
#include "build_folder.h"
#include "engine/executor_factory.h"
#include "engine/services.h"
#include "reports/junit_out.h"
#include "spec/parser.h"
#include "summary.h"
#include "util/files.h"
#include "util/json_text.h"
#include "util/thread_annotations.h"
#include "util/unique_fd.h"

namespace kiln::app {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// One build group's build on its own thread.
struct MemberRun {
  MemberRun(std::string id, engine::BuildRequest r, exec::CancelToken c)
      : identifier(std::move(id)), req(std::move(r)), cancel(std::move(c)) {}
  std::string identifier;
  engine::BuildRequest req;
  exec::CancelToken cancel;
  std::thread thread;
  std::atomic<bool> done = false;  // the thread has nothing left to do but return
};

class BatchDriver {
 public:
  BatchDriver(BatchInputs in, BatchView& view, UniqueFd events)
      : o_(in.options),
        base_(std::move(in.base)),
        secrets_(in.secrets),
        interrupt_(in.interrupt),
        view_(view),
        events_(std::move(events)) {}

  int run();

 private:
  double now() const { return to_epoch_seconds_ms(clock_.now()); }
  Result<void> prepare();
  void start(const std::string& identifier);
  void member_main(MemberRun& m);
  engine::BuildRecord run_engine(MemberRun& m);
  void join_finished(bool all);
  void collect_ended() EXCLUDES(mu_);
  void ended(const std::string& identifier, engine::BuildRecord record);
  void load_batchspec(const engine::BuildRecord& download) EXCLUDES(mu_);
  void stop(const std::vector<std::string>& identifiers);
  void wait_for_events(double deadline);
  void finish();
  void write_json();

  const RunOptions& o_;
  engine::BuildRequest base_;
  LockedResolver secrets_;
  exec::CancelToken& interrupt_;
  BatchView& view_;
  UniqueFd events_;  // eventfd: a member ended
  SystemClock clock_;

  batch::BatchRecord record_;
  std::optional<batch::Plan> plan_;
  bool s3_ = false;
  bool interrupted_ = false;
  bool timed_out_ = false;
  bool usage_error_ = false;
  unsigned parallel_ = 1;
  fs::path logs_dir_;
  std::optional<BuildFolder> combine_folder_;
  std::map<std::string, std::unique_ptr<MemberRun>> running_;
  std::vector<std::unique_ptr<MemberRun>> finishing_;  // ended, cleaning up
  std::map<std::string, engine::BuildRecord> records_;

  Mutex mu_;
  std::vector<std::pair<std::string, engine::BuildRecord>> ended_ GUARDED_BY(mu_);
  std::string batchspec_text_ GUARDED_BY(mu_);
  std::string batchspec_path_ GUARDED_BY(mu_);
  std::vector<reports::Report> reports_ GUARDED_BY(mu_);
};

Result<void> BatchDriver::prepare() {
  parallel_ = o_.parallel != 0 ? o_.parallel : std::max(1U, std::thread::hardware_concurrency());
  s3_ = !base_.s3_artifacts.empty();
  std::error_code ec;
  logs_dir_ = (s3_ ? fs::absolute("kiln-artifacts", ec) : base_.artifacts_dir) / "logs";
  fs::create_directories(logs_dir_, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot create " + logs_dir_.string() + ": " + ec.message());
  if (s3_)
    view_.message("kiln run: artifacts go to S3; the builds' logs are in " + logs_dir_.string());
  if (o_.combine_artifacts) {
    auto folder = BuildFolder::make();
    if (!folder) return fail(std::move(folder.error()));
    combine_folder_.emplace(std::move(*folder));
  }

  const auto& id = base_.identity;
  record_.id = id.project + ":" + id.uuid;
  record_.arn = batch::batch_arn(id.region, id.account, record_.id);
  record_.project_name = id.project;
  record_.initiator = id.initiator;
  record_.source_version = id.source_version;
  record_.resolved_source_version = id.resolved_source_version;
  record_.build_timeout_minutes = engine::timeout_in_minutes(base_.timeout_minutes);
  record_.combine_artifacts = o_.combine_artifacts;
  json config{{"combineArtifacts", o_.combine_artifacts},
              {"restrictions", {{"maximumBuildsAllowed", o_.max_batch_builds}}}};
  if (o_.batch_timeout_minutes > 0)
    config["timeoutInMins"] = engine::timeout_in_minutes(o_.batch_timeout_minutes);
  json source{{"type", base_.source.type.empty() ? "NO_SOURCE" : base_.source.type},
              {"location", base_.source.location}};
  if (!base_.buildspec_origin.empty() || !base_.buildspec_path.empty())
    source["buildspec"] =
        !base_.buildspec_origin.empty() ? base_.buildspec_origin : base_.buildspec_path;
  record_.settings = {{"source", source},
                      {"environment",
                       {{"type", base_.environment_type},
                        {"image", id.image},
                        {"computeType", base_.compute_type},
                        {"privilegedMode", base_.privileged_mode}}},
                      {"buildBatchConfig", config}};
  batch::start_batch(record_, now());
  view_.set_members({batch::kDownloadSourceGroup});
  return {};
}

void BatchDriver::start(const std::string& identifier) {
  engine::BuildRequest req;
  if (identifier == batch::kDownloadSourceGroup) {
    req = base_;
    req.identity.uuid = make_uuid();
    req.identity.build_batch_arn = record_.arn;
    req.batchspec_only = true;
    req.artifacts_dir.clear();
    req.s3_artifacts.clear();
    req.reports_dir.clear();
  } else {
    const batch::Member* member = nullptr;
    for (const auto& m : plan_->members)
      if (m.identifier == identifier) member = &m;
    if (member == nullptr) {
      // ready_members names only planned members; should that ever break, the group fails
      // (FAULT) and the batch goes on, rather than the process crashing.
      batch::member_started(record_, identifier, "", "", now());
      batch::MemberEnd fault;
      fault.status = "FAULT";
      stop(batch::member_finished(record_, identifier, fault, now()));  // fast-fail
      return;
    }
    const fs::path combine_dir = combine_folder_ ? combine_folder_->path() : fs::path();
    req = batch::member_request(base_, *member, make_uuid(), record_.arn, o_.combine_artifacts,
                                combine_dir);
  }
  const double t = now();
  const std::string build_id = req.identity.build_id();
  batch::member_started(record_, identifier, build_id,
                        engine::build_arn(req.identity.region, req.identity.account, build_id), t);
  view_.started(identifier, t);
  auto token = exec::CancelToken::create();
  if (!token) {
    ended(identifier, setup_failed(req, token.error().describe(), t));
    return;
  }
  auto run = std::make_unique<MemberRun>(identifier, std::move(req), std::move(*token));
  MemberRun& m = *run;
  running_.emplace(identifier, std::move(run));
  m.thread = std::thread([this, &m] { member_main(m); });
}

// The member's thread: everything a build needs that is its own is made here, so the driver's
// loop only starts threads (the per-build cost bench/batch_graph.py measures).
void BatchDriver::member_main(MemberRun& m) {
  engine::BuildRequest& req = m.req;
  engine::BuildRecord record;
  auto folder = BuildFolder::make();
  if (!folder) {
    record = setup_failed(req, folder.error().describe(), now());
  } else {
    req.build_root = folder->path();
    if (!req.s3_artifacts.empty()) req.artifacts_dir = req.build_root / "artifacts";
    record = run_engine(m);
  }
  {
    MutexLock lock(mu_);
    ended_.emplace_back(m.identifier, std::move(record));
  }
  const std::uint64_t one = 1;
  static_cast<void>(::write(events_.get(), &one, sizeof one));
  // The build folder goes after the end is reported: its removal (the workspace copy) is not
  // on the way of the next build's start.
  if (folder) {
    folder->release(o_.keep_workspace);
    if (o_.keep_workspace)
      view_.message("kiln run: workspace of " + m.identifier + " kept at " +
                    req.build_root.string());
  }
  m.done = true;
}

engine::BuildRecord BatchDriver::run_engine(MemberRun& m) {
  engine::BuildRequest& req = m.req;
  auto executor = engine::make_executor(req);
  if (!executor) return setup_failed(req, executor.error().describe(), now());
  const fs::path log_path = logs_dir_ / (m.identifier + ".log");
  UniqueFd log_fd(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  logs::FdSink file(log_fd.get());
  auto shown = view_.sink(m.identifier);
  logs::TeeSink tee;
  if (log_fd) tee.add(&file);
  tee.add(shown.get());
  engine::BuildServices services(req, {});
  engine::EngineDeps deps{**executor,          services.uploader(), tee, clock_, secrets_, nullptr,
                          &services.sources(), services.cache()};
  const std::string id = m.identifier;
  deps.on_change = [this, id](const engine::BuildRecord& r) { view_.phase(id, r.current_phase); };
  deps.on_reports = [this](const std::vector<reports::Report>& made) {
    MutexLock lock(mu_);
    reports_.insert(reports_.end(), made.begin(), made.end());
  };
  deps.on_batchspec = [this](const std::string& text, const std::string& path) {
    MutexLock lock(mu_);
    batchspec_text_ = text;
    batchspec_path_ = path;
  };
  engine::Engine eng(std::move(deps));
  engine::BuildRecord record = eng.run(req, m.cancel);
  tee.flush();
  shown->finish();
  return record;
}

// Threads whose build ended and whose clean-up is done; `all`: every one, waiting for them.
void BatchDriver::join_finished(bool all) {
  std::erase_if(finishing_, [all](const std::unique_ptr<MemberRun>& m) {
    if (!all && !m->done) return false;
    m->thread.join();
    return true;
  });
}

void BatchDriver::collect_ended() {
  std::vector<std::pair<std::string, engine::BuildRecord>> done;
  {
    MutexLock lock(mu_);
    done.swap(ended_);
  }
  for (auto& [identifier, record] : done) {
    if (auto it = running_.find(identifier); it != running_.end()) {
      finishing_.push_back(std::move(it->second));
      running_.erase(it);
    }
    ended(identifier, std::move(record));
  }
}

void BatchDriver::ended(const std::string& identifier, engine::BuildRecord record) {
  const double t = now();
  view_.ended(identifier, engine::to_string(record.build_status), t);
  stop(batch::member_finished(record_, identifier, member_end(record, s3_), t));
  if (identifier == batch::kDownloadSourceGroup) load_batchspec(record);
  records_[identifier] = std::move(record);
}

void BatchDriver::load_batchspec(const engine::BuildRecord& download) {
  const double t = now();
  if (download.build_status != engine::Status::kSucceeded) {
    const auto why = failure_of(download);
    batch::batchspec_failed(record_, why.status_code, why.message, t);
    return;
  }
  std::string text;
  std::string path;
  {
    MutexLock lock(mu_);
    text = batchspec_text_;
    path = batchspec_path_;
  }
  auto parsed = spec::parse_buildspec(text, path);
  if (!parsed.spec) {  // the engine parsed the same text: cannot happen
    batch::batchspec_failed(record_, "YAML_FILE_ERROR", "the batchspec did not parse again", t);
    return;
  }
  batch::Restrictions restrictions;
  restrictions.maximum_builds_allowed = o_.max_batch_builds;
  auto plan = batch::make_plan(parsed.spec->batch, restrictions, base_.compute_type);
  if (!plan) {
    batch::batchspec_failed(record_, plan.error().status_code, plan.error().message, t);
    return;
  }
  if (!o_.only.empty()) {
    auto selected = batch::select_members(*plan, o_.only);
    if (!selected) {
      view_.message("kiln run: --only: " + selected.error().message());
      batch::batchspec_failed(record_, "CLIENT_ERROR", "--only: " + selected.error().message(), t);
      usage_error_ = true;
      return;
    }
    plan = std::move(*selected);
  }
  plan_ = std::move(*plan);
  batch::batchspec_loaded(record_, *plan_, o_.combine_artifacts, t);
  std::vector<std::string> ids;
  for (const auto& m : plan_->members) ids.push_back(m.identifier);
  view_.set_members(ids);
}

void BatchDriver::stop(const std::vector<std::string>& identifiers) {
  for (const auto& id : identifiers)
    if (auto it = running_.find(id); it != running_.end()) it->second->cancel.cancel();
}

// Until a member ends, Ctrl-C, the batch deadline, or the live view's next frame.
void BatchDriver::wait_for_events(double deadline) {
  pollfd fds[2] = {{events_.get(), POLLIN, 0}, {interrupt_.fd(), POLLIN, 0}};
  const nfds_t n = interrupted_ ? 1 : 2;
  int timeout_ms = view_.live() ? 250 : 1000;
  if (deadline > 0 && !timed_out_)
    timeout_ms = std::clamp(static_cast<int>((deadline - now()) * 1000) + 1, 0, timeout_ms);
  if (::poll(fds, n, timeout_ms) > 0 && (fds[0].revents & POLLIN) != 0) {
    std::uint64_t count = 0;
    static_cast<void>(::read(events_.get(), &count, sizeof count));
  }
  if (!interrupted_ && interrupt_.cancelled()) {
    interrupted_ = true;
    view_.message("kiln run: interrupted: stopping the batch");
    stop(batch::stop_batch(record_, "Batch stopped: kiln run was interrupted", now()));
  }
  if (deadline > 0 && !timed_out_ && now() >= deadline) {
    timed_out_ = true;
    const std::string minutes =
        std::to_string(engine::timeout_in_minutes(o_.batch_timeout_minutes));
    stop(batch::stop_batch(record_, "Batch timed out after " + minutes + " minutes", now(), true));
  }
}

void BatchDriver::finish() {
  const double t = now();
  if (!batch::needs_combine(record_)) {
    batch::finish_batch(record_, t);
    return;
  }
  batch::combine_started(record_, t);
  const bool zip = base_.packaging == artifacts::Packaging::kZip;
  const fs::path dest = base_.artifacts_dir / (record_.project_name + (zip ? ".zip" : ""));
  auto out = batch::combine_artifacts(combine_folder_->path(), dest, base_.packaging);
  std::optional<batch::BatchPhaseContext> failure;
  if (!out) {
    failure = batch::BatchPhaseContext{"CLIENT_ERROR", out.error().describe()};
  } else {
    json a{{"location", out->location.string()}};
    if (zip) {
      a["sha256sum"] = out->sha256;
      a["md5sum"] = out->md5;
    }
    record_.settings["artifacts"] = a;
  }
  batch::finish_batch(record_, now(), failure);
}

void BatchDriver::write_json() {
  json j = batch::to_json(record_);
  batch::strip_internal(j);
  // The members' Build records beside the shape (docs/batch.md): in build group order.
  json builds = json::array();
  for (const auto& g : record_.groups)
    if (auto it = records_.find(g.identifier); it != records_.end())
      builds.push_back(engine::to_json(it->second));
  j["builds"] = std::move(builds);
  auto w = write_file_atomic(o_.json, json_text(j, 2) + "\n");
  if (!w) std::fprintf(stderr, "kiln run: %s\n", w.error().describe().c_str());
}

int BatchDriver::run() {
  if (auto ready = prepare(); !ready) {
    std::fprintf(stderr, "kiln run: %s\n", ready.error().describe().c_str());
    return 2;
  }
  const double deadline =
      o_.batch_timeout_minutes > 0 ? record_.start_time + o_.batch_timeout_minutes * 60 : 0;
  start(batch::kDownloadSourceGroup);  // the driver's to start (batch/run.h)
  while (true) {
    collect_ended();
    if (running_.size() < parallel_) {
      for (const auto& id : batch::ready_members(record_, parallel_ - running_.size())) start(id);
    }
    // Nothing runs and nothing can start: done, whatever the record says (finish_batch ends a
    // batch left without a plan FAILED), so the loop can never wait for nothing.
    if (running_.empty() && batch::ready_members(record_, 1).empty()) break;
    view_.redraw(now());
    wait_for_events(deadline);
    join_finished(false);
  }
  join_finished(true);
  finish();
  view_.close(now());
  for (const auto& g : record_.groups)
    if (!g.not_started.empty()) view_.not_started(g.identifier);
  const SummaryStyle style{!o_.no_color && ::isatty(STDOUT_FILENO) == 1};
  print_batch_table(record_, records_, style);
  std::printf("Logs: %s\n", logs_dir_.c_str());
  if (record_.settings.contains("artifacts"))
    std::printf("Artifact: %s\n",
                record_.settings["artifacts"]["location"].get<std::string>().c_str());
  {
    MutexLock lock(mu_);
    print_report_summary(reports_, style);
    if (!o_.junit_out.empty()) {
      auto w = reports::write_junit_file(reports_, o_.junit_out);
      if (!w) std::fprintf(stderr, "kiln run: --junit-out: %s\n", w.error().describe().c_str());
    }
  }
  if (!o_.json.empty()) write_json();
  if (combine_folder_) combine_folder_->release(false);
  if (usage_error_) return 2;
  return record_.status == "SUCCEEDED" ? 0 : 1;
}

}  // namespace

int run_batch(BatchInputs in) {
  UniqueFd events(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!events) {
    std::perror("kiln run: eventfd");
    return 2;
  }
  const bool live = ::isatty(STDOUT_FILENO) == 1;
  BatchView view(live, SummaryStyle{!in.options.no_color && live});
  BatchDriver driver(std::move(in), view, std::move(events));
  return driver.run();
}

}  // namespace kiln::app
