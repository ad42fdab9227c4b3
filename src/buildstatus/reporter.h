// Build status reporting (docs/webhooks.md "Build status"): a store::ChangeListener on the
// server's BuildFeed that posts each reporting build's state to its git host's commit-status API
// (buildstatus/provider_api.h).
//
// What is posted: for a build (or batch) whose source has reportBuildStatus (a webhook build's
// always has it: api/webhook_delivery.cpp sets it), the start state once a commit is known
// (resolvedSourceVersion, or a 40-hex sourceVersion), then the final state when it completes;
// each at most once per build. A batch member reports only under REPORT_INDIVIDUAL_BUILDS;
// under REPORT_AGGREGATED_BATCH (the default) the batch reports for all of them.
//
// Threads: changed() runs on the feed's thread and only decides and queues; one worker thread
// of the reporter's own sends, with its own HttpClient, retrying 5xx, 429 and connection errors
// with doubling delays. The queue is bounded: a post that does not fit is dropped and logged.
// Failures are logged (the server's stderr, with the build id, never the token) and never touch
// the build.
//
// Ownership and order: start() after construction, stop() after the feed stopped; stop() sends
// what is queued (one attempt each, no more waiting between retries) and joins. The
// credential lookup must be safe to call from the worker thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "buildstatus/provider_api.h"
#include "net/http_client.h"
#include "store/build_change.h"
#include "util/thread_annotations.h"

namespace kiln::buildstatus {

struct ReporterOptions {
  ApiOverrides api_urls;  // --status-api-url
  // --public-url: the default target URL is <public_url>/logs/<project>/<uuid> (builds only);
  // "" = none.
  std::string public_url;
  int attempts = 5;
  std::chrono::milliseconds first_delay{1000};  // doubled after each failed attempt
  std::size_t queue_limit = 1000;
};

// One queued post.
struct Post {
  std::string build_id;  // for the log
  Provider provider = Provider::kGitHub;
  Repo repo;
  Status status;
};

class Reporter final : public store::ChangeListener {
 public:
  using Credentials = std::function<Result<Credential>(const std::string& server_type)>;
  using Log = std::function<void(const std::string&)>;
  // Waits between attempts; "" = the reporter's own wait, which stop() cuts short.
  using Sleep = std::function<void(std::chrono::milliseconds)>;

  Reporter(ReporterOptions options, std::unique_ptr<net::HttpClient> http, Credentials credentials,
           Log log, Sleep sleep = {});
  ~Reporter() override;  // stop()
  Reporter(const Reporter&) = delete;
  Reporter& operator=(const Reporter&) = delete;

  void changed(const store::BuildChange& change) override;  // the feed's thread

  void start();
  void stop() EXCLUDES(mu_);
  // Sends everything queued on the calling thread (tests, instead of start()).
  void drain() EXCLUDES(mu_);

 private:
  struct Track {  // a build or batch that posted its start state
    std::string context;
    std::string target_url;
  };
  void remember_batch(const nlohmann::json& batch);
  bool member_reports(const nlohmann::json& build);
  void enqueue(Post post) EXCLUDES(mu_);
  void loop() EXCLUDES(mu_);
  void send(const Post& post);
  void wait(std::chrono::milliseconds d) EXCLUDES(mu_);
  bool stopping() EXCLUDES(mu_);
  void finish(const std::string& key);

  const ReporterOptions options_;
  std::unique_ptr<net::HttpClient> http_;
  Credentials credentials_;
  Log log_;
  Sleep sleep_;

  // The feed thread's own (changed()).
  std::map<std::string, Track> tracks_;  // "b:"/"B:" + id, in flight
  std::set<std::string> finished_;       // recently completed: a rewrite posts nothing again
  std::deque<std::string> finished_order_;
  struct BatchInfo {
    bool individual = false;  // REPORT_INDIVIDUAL_BUILDS
    // A member's resolvedSourceVersion: batch records have none of their own.
    std::string commit;
  };
  std::map<std::string, BatchInfo> batches_;       // by batch arn
  std::map<std::string, std::string> member_ids_;  // member build arn -> its build group
  std::deque<std::string> batch_order_;

  Mutex mu_;
  std::condition_variable_any cv_;
  std::deque<Post> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// "AWS CodeBuild <region> (<project>)"-style text with $NAME / ${NAME} replaced from the record
// (docs/webhooks.md lists the names); unknown names stay as written.
std::string expand_variables(const std::string& text, const nlohmann::json& record,
                             const std::string& batch_identifier);

}  // namespace kiln::buildstatus
