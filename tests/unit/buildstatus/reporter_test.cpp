// When the reporter posts, what, and how it retries (buildstatus/reporter.h), with a fake
// HttpClient and a recorded sleep.
#include "buildstatus/reporter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <thread>
#include <vector>

namespace kiln::buildstatus {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

const std::string kSha = "0123456789abcdef0123456789abcdef01234567";
const std::string kToken = "ghp_very_secret_token";

class FakeHttp final : public net::HttpClient {
 public:
  // Answers in order; when none is left, 201. A status of 0 is a connection error.
  std::deque<long> answers;
  std::string error_body;
  std::vector<net::HttpRequest> sent;
  std::atomic<std::size_t> count{0};  // for a test that reads while the worker sends

  Result<net::HttpResponse> send(const net::HttpRequest& req) override {
    sent.push_back(req);
    ++count;
    long status = 201;
    if (!answers.empty()) {
      status = answers.front();
      answers.pop_front();
    }
    if (status == 0) return fail(ErrorCode::kIo, "connection refused");
    return net::HttpResponse{status, status / 100 == 2 ? "{}" : error_body, {}};
  }
};

json source(bool report = true) {
  return {{"type", "GITHUB"},
          {"location", "https://github.com/octo/app.git"},
          {"reportBuildStatus", report}};
}

json build(const std::string& status, bool complete, const std::string& resolved = kSha,
           json src = source()) {
  json b = {{"id", "app:1111-2222"},
            {"arn", "arn:aws:codebuild:eu-west-1:000000000000:build/app:1111-2222"},
            {"buildNumber", 7},
            {"projectName", "app"},
            {"buildStatus", status},
            {"buildComplete", complete},
            {"sourceVersion", "main"},
            {"source", std::move(src)}};
  if (!resolved.empty()) b["resolvedSourceVersion"] = resolved;
  return b;
}

struct Fixture {
  FakeHttp* http = nullptr;
  std::vector<std::string> log;
  std::vector<milliseconds> sleeps;
  std::unique_ptr<Reporter> reporter;

  explicit Fixture(ReporterOptions o = {}) {
    auto h = std::make_unique<FakeHttp>();
    http = h.get();
    reporter = std::make_unique<Reporter>(
        std::move(o), std::move(h),
        [](const std::string& type) -> Result<Credential> {
          if (type != "GITHUB") return fail(ErrorCode::kNotFound, "no credential for " + type);
          return Credential{"GITHUB", "PERSONAL_ACCESS_TOKEN", "", kToken};
        },
        [this](const std::string& line) { log.push_back(line); },
        [this](milliseconds d) { sleeps.push_back(d); });
  }
  void feed(const json& after, bool batch = false, const std::string& id = "app:1111-2222") {
    reporter->changed(store::BuildChange{batch, id, nullptr, after});
    reporter->drain();
  }
  std::vector<std::string> states() const {
    std::vector<std::string> out;
    for (const auto& r : http->sent) out.push_back(json::parse(r.body)["state"]);
    return out;
  }
  json body(std::size_t i) const { return json::parse(http->sent.at(i).body); }
};

TEST(ReporterTest, PostsPendingThenSuccessOnceEach) {
  Fixture f;
  f.feed(build("IN_PROGRESS", false));
  f.feed(build("IN_PROGRESS", false));
  f.feed(build("SUCCEEDED", true));
  f.feed(build("SUCCEEDED", true));  // the feed may show an end twice
  EXPECT_EQ(f.states(), (std::vector<std::string>{"pending", "success"}));
  EXPECT_EQ(f.http->sent[0].url, "https://api.github.com/repos/octo/app/statuses/" + kSha);
  EXPECT_EQ(f.body(0)["context"], "AWS CodeBuild eu-west-1 (app)");
  EXPECT_EQ(f.body(1)["description"], "Build succeeded");
  EXPECT_FALSE(f.body(0).contains("target_url"));
}

TEST(ReporterTest, MapsEveryEnd) {
  for (const auto& [status, state] :
       std::vector<std::pair<std::string, std::string>>{{"FAILED", "failure"},
                                                        {"TIMED_OUT", "failure"},
                                                        {"FAULT", "error"},
                                                        {"STOPPED", "error"}}) {
    Fixture f;
    f.feed(build(status, true));
    EXPECT_EQ(f.states(), std::vector<std::string>{state}) << status;
  }
}

TEST(ReporterTest, WaitsForACommit) {
  Fixture f;
  f.feed(build("IN_PROGRESS", false, ""));  // sourceVersion "main" is no commit
  EXPECT_TRUE(f.http->sent.empty());
  f.feed(build("IN_PROGRESS", false));
  f.feed(build("FAILED", true));
  EXPECT_EQ(f.states(), (std::vector<std::string>{"pending", "failure"}));
}

TEST(ReporterTest, AFortyHexSourceVersionIsTheCommit) {
  Fixture f;
  json b = build("IN_PROGRESS", false, "");
  b["sourceVersion"] = kSha;
  f.feed(b);
  ASSERT_EQ(f.http->sent.size(), 1u);
  EXPECT_NE(f.http->sent[0].url.find(kSha), std::string::npos);
}

TEST(ReporterTest, AQueuedBuildPostsNothingUntilItLeavesTheQueue) {
  Fixture f;
  json b = build("IN_PROGRESS", false, "");
  b["sourceVersion"] = kSha;  // a webhook build knows its commit while it waits
  b["currentPhase"] = "SUBMITTED";
  f.feed(b);
  b["currentPhase"] = "QUEUED";
  f.feed(b);
  EXPECT_TRUE(f.http->sent.empty());
  b["currentPhase"] = "PROVISIONING";
  f.feed(b);
  EXPECT_EQ(f.states(), std::vector<std::string>{"pending"});
}

TEST(ReporterTest, ABuildThatEndsWithoutACommitIsLoggedAndSkipped) {
  Fixture f;
  f.feed(build("IN_PROGRESS", false, ""));
  f.feed(build("FAILED", true, ""));
  EXPECT_TRUE(f.http->sent.empty());
  ASSERT_EQ(f.log.size(), 1u);
  EXPECT_EQ(f.log[0], "build status: app:1111-2222 ended with no commit known: no status posted");
}

TEST(ReporterTest, OnlyReportingGitSourcesPost) {
  Fixture f;
  f.feed(build("SUCCEEDED", true, kSha, source(false)));
  json s3 = source();
  s3["type"] = "S3";
  f.feed(build("SUCCEEDED", true, kSha, s3), false, "app:other");
  EXPECT_TRUE(f.http->sent.empty());
}

TEST(ReporterTest, BuildStatusConfigWithVariables) {
  Fixture f;
  json src = source();
  src["buildStatusConfig"] = {{"context", "ci/$CODEBUILD_BUILD_NUMBER ${AWS_REGION} $NOPE"},
                              {"targetUrl", "https://ci.example/${CODEBUILD_BUILD_ID}"}};
  f.feed(build("IN_PROGRESS", false, kSha, src));
  EXPECT_EQ(f.body(0)["context"], "ci/7 eu-west-1 $NOPE");
  EXPECT_EQ(f.body(0)["target_url"], "https://ci.example/app:1111-2222");
}

TEST(ReporterTest, PublicUrlGivesTheDefaultTargetUrl) {
  ReporterOptions o;
  o.public_url = "https://kiln.example";
  Fixture f(o);
  f.feed(build("SUCCEEDED", true));
  EXPECT_EQ(f.body(0)["target_url"], "https://kiln.example/logs/app/1111-2222");
}

json batch(const std::string& status, bool complete, const std::string& mode) {
  json b = {{"id", "app:bbbb"},
            {"arn", "arn:aws:codebuild:eu-west-1:000000000000:build-batch/app:bbbb"},
            {"projectName", "app"},
            {"buildBatchStatus", status},
            {"complete", complete},
            {"resolvedSourceVersion", kSha},
            {"source", source()},
            {"buildGroups",
             {{{"identifier", "linux"},
               {"currentBuildSummary",
                {{"arn", "arn:aws:codebuild:eu-west-1:000000000000:build/app:m1"}}}}}}};
  if (!mode.empty()) b["buildBatchConfig"] = {{"batchReportMode", mode}};
  return b;
}

json batch_member(const std::string& status, bool complete) {
  json m = build(status, complete);
  m["id"] = "app:m1";
  m["arn"] = "arn:aws:codebuild:eu-west-1:000000000000:build/app:m1";
  m["buildBatchArn"] = "arn:aws:codebuild:eu-west-1:000000000000:build-batch/app:bbbb";
  return m;
}

TEST(ReporterTest, AnAggregatedBatchReportsAloneByDefault) {
  Fixture f;
  f.feed(batch("IN_PROGRESS", false, ""), true, "app:bbbb");
  f.feed(batch_member("IN_PROGRESS", false), false, "app:m1");
  f.feed(batch_member("FAILED", true), false, "app:m1");
  f.feed(batch("FAILED", true, ""), true, "app:bbbb");
  EXPECT_EQ(f.states(), (std::vector<std::string>{"pending", "failure"}));
  EXPECT_EQ(f.body(1)["description"], "Batch failed");
  EXPECT_EQ(f.body(1)["context"], "AWS CodeBuild eu-west-1 (app)");
}

TEST(ReporterTest, ABatchTakesItsCommitFromItsMembers) {
  Fixture f;
  json b = batch("IN_PROGRESS", false, "");
  b.erase("resolvedSourceVersion");
  f.feed(b, true, "app:bbbb");
  EXPECT_TRUE(f.http->sent.empty());  // no commit known yet
  f.feed(batch_member("IN_PROGRESS", false), false, "app:m1");
  f.feed(b, true, "app:bbbb");
  b["buildBatchStatus"] = "SUCCEEDED";
  b["complete"] = true;
  f.feed(b, true, "app:bbbb");
  EXPECT_EQ(f.states(), (std::vector<std::string>{"pending", "success"}));
  EXPECT_NE(f.http->sent.at(0).url.find(kSha), std::string::npos);
}

TEST(ReporterTest, IndividualBuildsReportUnderTheirGroupsName) {
  Fixture f;
  f.feed(batch("IN_PROGRESS", false, "REPORT_INDIVIDUAL_BUILDS"), true, "app:bbbb");
  f.feed(batch_member("IN_PROGRESS", false), false, "app:m1");
  f.feed(batch_member("SUCCEEDED", true), false, "app:m1");
  f.feed(batch("SUCCEEDED", true, "REPORT_INDIVIDUAL_BUILDS"), true, "app:bbbb");
  EXPECT_EQ(f.states(), (std::vector<std::string>{"pending", "success"}));
  EXPECT_EQ(f.body(0)["context"], "AWS CodeBuild eu-west-1 (app) / linux");
  EXPECT_EQ(f.body(1)["context"], "AWS CodeBuild eu-west-1 (app) / linux");
}

TEST(ReporterTest, RetriesServerErrorsWithDoublingDelays) {
  Fixture f;
  f.http->answers = {500, 0, 201};
  f.feed(build("SUCCEEDED", true));
  EXPECT_EQ(f.http->sent.size(), 3u);
  EXPECT_EQ(f.sleeps, (std::vector<milliseconds>{milliseconds(1000), milliseconds(2000)}));
  EXPECT_TRUE(f.log.empty());
}

TEST(ReporterTest, GivesUpAfterFiveAttempts) {
  Fixture f;
  f.http->answers = {429, 502, 503, 500, 500, 500};
  f.feed(build("SUCCEEDED", true));
  EXPECT_EQ(f.http->sent.size(), 5u);
  EXPECT_EQ(f.sleeps.size(), 4u);
  EXPECT_EQ(f.sleeps.back(), milliseconds(8000));
  ASSERT_EQ(f.log.size(), 1u);
  EXPECT_NE(f.log[0].find("app:1111-2222"), std::string::npos);
  EXPECT_NE(f.log[0].find("attempt 5 of 5"), std::string::npos);
}

TEST(ReporterTest, ClientErrorsAreNotRetriedAndNeverLogTheToken) {
  Fixture f;
  f.http->answers = {401};
  f.http->error_body = "{\"message\":\"Bad credentials: " + kToken + "\"}";
  f.feed(build("SUCCEEDED", true));
  EXPECT_EQ(f.http->sent.size(), 1u);
  ASSERT_EQ(f.log.size(), 1u);
  EXPECT_NE(f.log[0].find("HTTP 401"), std::string::npos);
  EXPECT_EQ(f.log[0].find(kToken), std::string::npos) << f.log[0];
}

TEST(ReporterTest, AMissingCredentialIsLogged) {
  Fixture f;
  json src = source();
  src["type"] = "BITBUCKET";
  src["location"] = "https://bitbucket.org/ws/app";
  f.feed(build("SUCCEEDED", true, kSha, src));
  EXPECT_TRUE(f.http->sent.empty());
  ASSERT_EQ(f.log.size(), 1u);
  EXPECT_NE(f.log[0].find("no BITBUCKET source credential"), std::string::npos);
}

TEST(ReporterTest, AFullQueueDropsAndSaysSo) {
  ReporterOptions o;
  o.queue_limit = 1;
  Fixture f(o);
  f.reporter->changed({false, "app:1", nullptr, build("SUCCEEDED", true)});
  f.reporter->changed({false, "app:2", nullptr, build("SUCCEEDED", true)});
  ASSERT_EQ(f.log.size(), 1u);
  EXPECT_EQ(f.log[0], "build status: queue full (1 posts): success for app:2 dropped");
  f.reporter->drain();
  EXPECT_EQ(f.http->sent.size(), 1u);
}

TEST(ReporterTest, TheWorkerThreadSendsWhatIsQueuedBeforeStopping) {
  Fixture f;
  f.reporter->start();
  f.reporter->changed({false, "app:1", nullptr, build("IN_PROGRESS", false)});
  f.reporter->changed({false, "app:1", nullptr, build("SUCCEEDED", true)});
  f.reporter->stop();
  EXPECT_EQ(f.states(), (std::vector<std::string>{"pending", "success"}));
}

TEST(ReporterTest, StopCutsTheBackoffShort) {
  auto h = std::make_unique<FakeHttp>();
  FakeHttp* http = h.get();
  http->answers = {500, 500, 500, 500, 500};
  std::vector<std::string> log;
  ReporterOptions o;
  o.first_delay = milliseconds(60000);
  Reporter r(
      o, std::move(h),
      [](const std::string&) -> Result<Credential> {
        return Credential{"GITHUB", "OAUTH", "", kToken};
      },
      [&log](const std::string& line) { log.push_back(line); });
  r.start();
  r.changed({false, "app:1", nullptr, build("SUCCEEDED", true)});
  const auto t0 = std::chrono::steady_clock::now();
  while (http->count == 0 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5))
    std::this_thread::sleep_for(milliseconds(5));
  r.stop();  // would take a minute if the wait were not cut
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_LE(http->count, 2u);
  EXPECT_EQ(log.size(), 1u);
}

}  // namespace
}  // namespace kiln::buildstatus
