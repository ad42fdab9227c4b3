#include "buildstatus/reporter.h"

#include <optional>
#include <utility>

namespace kiln::buildstatus {
namespace {

using nlohmann::json;

// How many completed builds and batches are remembered, so that a record written again after it
// completed posts nothing more; and how many batches' report modes.
constexpr std::size_t kRemembered = 4096;

const json& member(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  const auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string string_at(const json& j, const char* key) {
  const json& v = member(j, key);
  return v.is_string() ? v.get<std::string>() : "";
}

bool true_at(const json& j, const char* key) {
  const json& v = member(j, key);
  return v.is_boolean() && v.get<bool>();
}

std::string commit_of(const json& r) {
  for (const char* key : {"resolvedSourceVersion", "sourceVersion"}) {
    std::string v = string_at(r, key);
    if (is_commit(v)) return v;
  }
  return "";
}

std::string uuid_of(const std::string& id) {
  const auto colon = id.find(':');
  return colon == std::string::npos ? id : id.substr(colon + 1);
}

std::string describe(bool batch, const std::string& status) {
  const std::string what = batch ? "Batch " : "Build ";
  if (status == "IN_PROGRESS") return what + "started";
  if (status == "SUCCEEDED") return what + "succeeded";
  if (status == "FAILED") return what + "failed";
  if (status == "TIMED_OUT") return what + "timed out";
  if (status == "FAULT") return what + "faulted";
  if (status == "STOPPED") return what + "stopped";
  return what + status;
}

// The token never reaches the log, whatever a host or libcurl put in a message.
std::string redact(std::string text, const std::string& secret) {
  if (secret.size() < 4) return text;
  for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at))
    text.replace(at, secret.size(), "****");
  return text;
}

}  // namespace

Reporter::Reporter(ReporterOptions options, std::unique_ptr<net::HttpClient> http,
                   Credentials credentials, Log log, Sleep sleep)
    : options_(std::move(options)),
      http_(std::move(http)),
      credentials_(std::move(credentials)),
      log_(std::move(log)),
      sleep_(std::move(sleep)) {}

Reporter::~Reporter() {
  stop();
}

void Reporter::remember_batch(const json& batch) {
  const std::string arn = string_at(batch, "arn");
  if (arn.empty()) return;
  const json& config = member(batch, "buildBatchConfig");
  if (!batches_.contains(arn)) {
    batch_order_.push_back(arn);
    if (batch_order_.size() > kRemembered) {
      batches_.erase(batch_order_.front());
      batch_order_.pop_front();
    }
  }
  auto& info = batches_[arn];
  info.individual = string_at(config, "batchReportMode") == "REPORT_INDIVIDUAL_BUILDS";
  if (!info.individual) return;
  const json& groups = member(batch, "buildGroups");
  if (!groups.is_array()) return;
  for (const auto& g : groups) {
    const std::string build_arn = string_at(member(g, "currentBuildSummary"), "arn");
    if (!build_arn.empty()) member_ids_[build_arn] = string_at(g, "identifier");
  }
}

bool Reporter::member_reports(const json& build) {
  const auto it = batches_.find(string_at(build, "buildBatchArn"));
  if (it == batches_.end()) return false;  // not seen since a restart: the batch reports
  if (it->second.commit.empty()) it->second.commit = commit_of(build);
  return it->second.individual;
}

void Reporter::changed(const store::BuildChange& change) {
  const json& r = change.after;
  if (change.batch) {
    remember_batch(r);
    if (batches_[string_at(r, "arn")].individual) return;  // its members report instead
  }
  const bool is_member = !change.batch && !string_at(r, "buildBatchArn").empty();
  if (is_member && !member_reports(r)) return;  // the batch reports for it
  const json& source = member(r, "source");
  if (!true_at(source, "reportBuildStatus")) return;
  const auto provider = provider_of(string_at(source, "type"));
  if (!provider) return;

  const std::string key = (change.batch ? "B:" : "b:") + change.id;
  if (finished_.contains(key)) return;
  const bool complete = true_at(r, change.batch ? "complete" : "buildComplete");
  // Until it completes, a build is started, whatever status a write shows on the way.
  const std::string status =
      complete ? string_at(r, change.batch ? "buildBatchStatus" : "buildStatus") : "IN_PROGRESS";
  const auto outcome = outcome_of(status);
  if (!outcome) return;
  std::string commit = commit_of(r);
  if (commit.empty() && change.batch) commit = batches_[string_at(r, "arn")].commit;
  // A build still waiting in the queue has not started: its pending status goes out when it
  // leaves the queue, as CodeBuild posts it, so a long queue costs the provider nothing.
  const std::string phase = string_at(r, "currentPhase");
  if (!complete && !change.batch && (phase == "SUBMITTED" || phase == "QUEUED")) return;
  const auto track = tracks_.find(key);
  if (!complete && (track != tracks_.end() || commit.empty())) return;  // posted, or wait
  std::optional<Track> started;  // the start state's context and URL, which the end reuses
  if (track != tracks_.end()) {
    started = track->second;
    tracks_.erase(track);
  }
  if (complete) finish(key);
  if (commit.empty()) {
    log_("build status: " + change.id + " ended with no commit known: no status posted");
    return;
  }
  auto repo = repo_of(*provider, string_at(source, "location"), options_.api_urls);
  if (!repo) {
    log_("build status: " + change.id + ": " + repo.error().message());
    return;
  }

  Track t;
  if (started) {
    t = *started;
  } else {
    std::string identifier;
    if (is_member) {
      const auto m = member_ids_.find(string_at(r, "arn"));
      identifier = m != member_ids_.end() ? m->second : uuid_of(change.id);
    }
    const json& config = member(source, "buildStatusConfig");
    std::string context = string_at(config, "context");
    if (context.empty()) {
      context = "AWS CodeBuild $AWS_REGION (" + string_at(r, "projectName") + ")";
      // Members of one batch would overwrite each other's status under one context.
      if (is_member) context += " / " + identifier;
    }
    t.context = expand_variables(context, r, identifier);
    std::string url = string_at(config, "targetUrl");
    if (url.empty() && !change.batch && !options_.public_url.empty())
      url = options_.public_url + "/logs/" + string_at(r, "projectName") + "/" + uuid_of(change.id);
    t.target_url = expand_variables(url, r, identifier);
    if (!complete) tracks_[key] = t;
  }
  Post post{change.id, *provider, std::move(*repo),
            Status{commit, *outcome, describe(change.batch, status), t.context, t.target_url}};
  enqueue(std::move(post));
}

void Reporter::finish(const std::string& key) {
  finished_.insert(key);
  finished_order_.push_back(key);
  if (finished_order_.size() > kRemembered) {
    finished_.erase(finished_order_.front());
    finished_order_.pop_front();
  }
}

void Reporter::enqueue(Post post) {
  {
    MutexLock lock(mu_);
    if (queue_.size() < options_.queue_limit) {
      queue_.push_back(std::move(post));
      cv_.notify_one();
      return;
    }
  }
  log_("build status: queue full (" + std::to_string(options_.queue_limit) + " posts): " +
       state_name(post.provider, post.status.outcome) + " for " + post.build_id + " dropped");
}

void Reporter::start() {
  thread_ = std::thread([this] { loop(); });
}

void Reporter::stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Reporter::drain() {
  for (;;) {
    Post p;
    {
      MutexLock lock(mu_);
      if (queue_.empty()) return;
      p = std::move(queue_.front());
      queue_.pop_front();
    }
    send(p);
  }
}

void Reporter::loop() {
  for (;;) {
    Post p;
    {
      MutexLock lock(mu_);
      while (queue_.empty() && !stopping_) cv_.wait(mu_);
      if (queue_.empty()) return;  // stopping, and everything queued was sent
      p = std::move(queue_.front());
      queue_.pop_front();
    }
    send(p);
  }
}

bool Reporter::stopping() {
  MutexLock lock(mu_);
  return stopping_;
}

void Reporter::wait(std::chrono::milliseconds d) {
  if (sleep_) {
    sleep_(d);
    return;
  }
  MutexLock lock(mu_);
  const auto until = std::chrono::steady_clock::now() + d;
  while (!stopping_ && std::chrono::steady_clock::now() < until) cv_.wait_until(mu_, until);
}

void Reporter::send(const Post& post) {
  const std::string type = source_type(post.provider);
  const std::string what = "build status: " + post.build_id + ": " +
                           state_name(post.provider, post.status.outcome) + " for " +
                           post.status.commit;
  auto credential = credentials_(type);
  if (!credential) {
    log_(what + " not posted: no " + type +
         " source credential (ImportSourceCredentials): " + credential.error().message());
    return;
  }
  auto req = status_request(post.provider, post.repo, post.status, *credential);
  if (!req) {
    log_(what + " not posted: " + req.error().message());
    return;
  }
  auto delay = options_.first_delay;
  for (int attempt = 1;; ++attempt) {
    auto answer = http_->send(*req);
    if (answer && answer->status / 100 == 2) return;
    const bool transient = !answer || answer->status >= 500 || answer->status == 429;
    std::string why =
        answer ? "HTTP " + std::to_string(answer->status) + " " + answer->body.substr(0, 200)
               : answer.error().describe();
    if (!transient || attempt >= options_.attempts || stopping()) {
      log_(redact(what + " to " + req->url + " failed (attempt " + std::to_string(attempt) +
                      " of " + std::to_string(options_.attempts) + "): " + why,
                  credential->token));
      return;
    }
    wait(delay);
    delay *= 2;
  }
}

}  // namespace kiln::buildstatus
