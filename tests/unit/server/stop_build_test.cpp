// StopBuild through the API and the scheduler: the answer waits for the worker to record the
// build STOPPED without holding the HTTP server's thread, so other requests are served meanwhile.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <memory>

#include "api/service.h"
#include "api/service_fixture.h"
#include "http/server.h"
#include "http/test_client.h"
#include "secrets/secret_store.h"
#include "server/scheduler_fixture.h"

namespace kiln::server::test {
namespace {

// Says every build is running here and stops nothing.
class AllRunning final : public api::BuildControl {
 public:
  void wake() override {}
  bool stop(const std::string&) override { return true; }
  bool stop_batch(const std::string&) override { return false; }
  Result<void> retry_batch(const std::string&, bool) override {
    return fail(ErrorCode::kInvalidArgument, "no batches here");
  }
};

class StopBuildTest : public SchedulerTest {
 protected:
  ~StopBuildTest() override {
    if (server_) server_->stop();
  }

  api::Service& service(api::BuildControl& control) {
    api::ServiceOptions o{{"us-east-1", "123456789012"}, data_, true, 900, {}};
    service_ = std::make_unique<api::Service>(o, *store_, *secrets_, keys_, control, clock_);
    return *service_;
  }
  // The service behind a real server with ONE I/O thread and one worker: a handler that
  // blocked would hold every connection.
  std::uint16_t serve(api::BuildControl& control) {
    service(control);
    http::ServerOptions o;
    o.port = 0;
    o.threads = 1;
    o.workers = 1;
    o.stream_poll = std::chrono::milliseconds(10);
    server_ = std::make_unique<http::Server>(
        o, [this](const http::Request& r) { return service_->handle(r); });
    auto started = server_->start();
    EXPECT_TRUE(started) << started.error().describe();
    return server_->port();
  }
  static std::string request(const std::string& op, const json& in) {
    return http::test::post("/", in.dump(),
                            "X-Amz-Target: CodeBuild_20161006." + op +
                                "\r\nContent-Type: application/x-amz-json-1.1\r\n");
  }
  http::Response handle(const std::string& op, const json& in) {
    return service_->handle(api::json_request("CodeBuild_20161006." + op, in.dump()));
  }

  std::unique_ptr<secrets::SecretStore> secrets_ = secrets::memory_secret_store(clock_);
  api::OneKey keys_;
  std::unique_ptr<api::Service> service_;
  std::unique_ptr<http::Server> server_;
};

TEST_F(StopBuildTest, OtherRequestsAreServedWhileStopBuildWaitsForTheWorker) {
  const std::string id = queue("app", "aaaa");
  scheduler(1).start();
  const pid_t pid = starter_.started(1).at(0);
  starter_.emit(pid, worker_record(id, "BUILD"));
  ASSERT_TRUE(eventually(id, [](const store::BuildRow& r) {
    return json::parse(r.json).value("currentPhase", "") == "BUILD";
  }));
  starter_.on_signal([](pid_t, int) {});  // the worker takes its time to stop
  const std::uint16_t port = serve(*scheduler_);

  http::test::Client stopper(port);
  ASSERT_TRUE(stopper.send(request("StopBuild", {{"id", id}})));
  ASSERT_TRUE(starter_.signalled(pid));
  EXPECT_EQ(starter_.signals(pid), std::vector<int>{SIGTERM});

  // The StopBuild is still waiting; the server's only I/O thread answers another request.
  const auto asked = std::chrono::steady_clock::now();
  http::test::Client other(port);
  auto got = other.call(request("BatchGetBuilds", {{"ids", {id}}}));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->head.status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(2));
  EXPECT_EQ(json::parse(got->body)["builds"][0]["buildStatus"], "IN_PROGRESS");

  starter_.emit(pid, stopped_record(id));  // the worker has stopped the build
  starter_.exit(pid);
  auto stopped = stopper.read_reply();
  ASSERT_TRUE(stopped);
  EXPECT_EQ(stopped->head.status, 200);
  EXPECT_EQ(stopped->head.get("content-type"), "application/x-amz-json-1.1");
  const json build = json::parse(stopped->body)["build"];
  EXPECT_EQ(build["id"], id);
  EXPECT_EQ(build["buildStatus"], "STOPPED");
  EXPECT_EQ(build["buildComplete"], true);
}

TEST_F(StopBuildTest, AnswersWithTheBuildInProgressWhenItHasNotEndedInTime) {
  const std::string id = queue("app", "aaaa");
  ASSERT_TRUE(store_->update_build(id, store::BuildState::kRunning, row(id).json));
  AllRunning control;
  service(control);

  http::Response r = handle("StopBuild", {{"id", id}});
  EXPECT_EQ(r.status, 200);
  ASSERT_TRUE(r.stream) << "an answer that waits: " << r.body;
  std::string out;
  EXPECT_TRUE(r.stream(out));
  EXPECT_EQ(out, "") << "nothing yet: the build is running";
  clock_.advance(std::chrono::seconds(4));
  EXPECT_TRUE(r.stream(out));
  EXPECT_EQ(out, "");
  clock_.advance(std::chrono::seconds(1));
  EXPECT_TRUE(r.stream(out));
  EXPECT_EQ(json::parse(out)["build"]["buildStatus"], "IN_PROGRESS");
  out.clear();
  EXPECT_FALSE(r.stream(out));
  EXPECT_EQ(out, "");
}

TEST_F(StopBuildTest, AnswersAtOnceForABuildThatIsNotRunning) {
  const std::string queued = queue("app", "aaaa");
  const std::string done = queue("app", "bbbb");
  ASSERT_TRUE(store_->update_build(done, store::BuildState::kDone, row(done).json));
  AllRunning control;
  service(control);

  http::Response r = handle("StopBuild", {{"id", queued}});
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.stream);
  const json build = json::parse(r.body)["build"];
  EXPECT_EQ(build["buildStatus"], "STOPPED");
  EXPECT_EQ(messages(build).back(), "The build was stopped while queued");
  EXPECT_EQ(row(queued).state, store::BuildState::kDone);

  r = handle("StopBuild", {{"id", done}});
  EXPECT_FALSE(r.stream);
  EXPECT_EQ(json::parse(r.body)["build"]["id"], done);

  r = handle("StopBuild", {{"id", "app:nope"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["__type"], "ResourceNotFoundException");
}

}  // namespace
}  // namespace kiln::server::test
