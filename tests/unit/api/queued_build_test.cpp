// The Build StartBuild answers and stores for a build still queued (engine::queued_build): the
// environment the build will run with, privilegedMode included.
#include <gtest/gtest.h>

#include "api/service_fixture.h"

namespace kiln::api {
namespace {

using nlohmann::json;

// ServiceTest's service, on a server started with --allow-privileged.
class QueuedBuildTest : public ::testing::Test {
 protected:
  json call(const std::string& op, const json& in) {
    const http::Response r = service_.handle(json_request(
        "CodeBuild_20161006." + op, in.dump()));  // unsigned: the service allows anonymous
    EXPECT_EQ(r.status, 200) << op << ": " << r.body;
    return json::parse(r.body, nullptr, false);
  }
  void create(const std::string& name, bool privileged) {
    call("CreateProject", {{"name", name},
                           {"source", {{"type", "NO_SOURCE"}, {"buildspec", "version: 0.2\n"}}},
                           {"artifacts", {{"type", "NO_ARTIFACTS"}}},
                           {"environment",
                            {{"type", "LINUX_CONTAINER"},
                             {"image", "kiln/host"},
                             {"computeType", "BUILD_GENERAL1_SMALL"},
                             {"privilegedMode", privileged}}},
                           {"serviceRole", "arn:aws:iam::123456789012:role/r"}});
  }
  // StartBuild's answer and BatchGetBuilds' for the same build.
  std::pair<json, json> start(const json& in) {
    json started = call("StartBuild", in)["build"];
    json got = call("BatchGetBuilds", {{"ids", {started["id"]}}})["builds"][0];
    return {started, got};
  }
  static ServiceOptions options() {
    ServiceOptions o{{"us-east-1", "123456789012"}, {"/nonexistent"}, true, 900, {}};
    o.allow_privileged = true;
    return o;
  }

  FakeClock clock_;
  std::unique_ptr<store::Store> store_ = store::open_sqlite(":memory:").value();
  std::unique_ptr<secrets::SecretStore> secrets_ = secrets::memory_secret_store(clock_);
  OneKey keys_;
  NoBuilds control_;
  Service service_{options(), *store_, *secrets_, keys_, control_, clock_};
};

TEST_F(QueuedBuildTest, ShowsPrivilegedModeFromTheProjectOrTheOverride) {
  create("priv", true);
  create("plain", false);
  for (const auto& [in, privileged] : std::vector<std::pair<json, bool>>{
           {{{"projectName", "priv"}}, true},
           {{{"projectName", "plain"}}, false},
           {{{"projectName", "plain"}, {"privilegedModeOverride", true}}, true},
           {{{"projectName", "priv"}, {"privilegedModeOverride", false}}, false}}) {
    const auto [started, got] = start(in);
    EXPECT_EQ(started["environment"]["privilegedMode"], privileged) << in;
    EXPECT_EQ(got, started) << in;
    EXPECT_EQ(got["currentPhase"], "QUEUED");
  }
}

TEST_F(QueuedBuildTest, ShowsTheBuildNumberAndTheWholeTimeout) {
  create("plain", false);
  const auto [first, got_first] = start({{"projectName", "plain"}});
  const auto [second, got] = start({{"projectName", "plain"}, {"timeoutInMinutesOverride", 9}});
  EXPECT_EQ(first["buildNumber"], 1);
  EXPECT_EQ(second["buildNumber"], 2);
  EXPECT_EQ(first["timeoutInMinutes"], 60);
  EXPECT_EQ(second["timeoutInMinutes"], 9);
  EXPECT_EQ(second["source"],
            json::parse(R"({"type": "NO_SOURCE", "buildspec": "version: 0.2\n"})"));
  EXPECT_EQ(second["cache"], json::parse(R"({"type": "NO_CACHE"})"));
}

}  // namespace
}  // namespace kiln::api
