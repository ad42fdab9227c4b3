// The build batch operations through Service::handle (build_batches_ops.cpp): what StartBuildBatch
// stores for the coordinator, CodeBuild's shapes, errors, pagination and idempotency tokens.
// The coordinator is played by the test: it ends batches by writing the store.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "api/authorize.h"
#include "api/service_fixture.h"
#include "batch/record.h"
#include "engine/request_json.h"

namespace kiln::api {
namespace {

using nlohmann::json;

const std::string kCb = "CodeBuild_20161006.";
const std::string kBatchArn = "arn:aws:codebuild:us-east-1:123456789012:build-batch/";
const std::string kBatchSpec =
    "version: 0.2\nbatch:\n  build-list:\n    - identifier: a\n    - identifier: b\n";

class BuildBatchesOps : public ServiceTest {
 protected:
  void SetUp() override { create_project("app"); }

  json create_project(const std::string& name, bool batches = true,
                      const std::string& buildspec = kBatchSpec) {
    json in = {{"name", name},
               {"source", {{"type", "NO_SOURCE"}, {"buildspec", buildspec}}},
               {"artifacts", {{"type", "NO_ARTIFACTS"}}},
               {"environment",
                {{"type", "LINUX_CONTAINER"},
                 {"image", "img"},
                 {"computeType", "BUILD_GENERAL1_SMALL"},
                 {"environmentVariables", {{{"name", "A"}, {"value", "1"}}}}}},
               {"serviceRole", "role"}};
    if (batches) {
      in["buildBatchConfig"] = {{"serviceRole", "batch-role"},
                                {"combineArtifacts", false},
                                {"timeoutInMins", 60},
                                {"restrictions", {{"maximumBuildsAllowed", 10}}}};
    }
    return ok(kCb + "CreateProject", in)["project"];
  }

  json start(json in = json::object()) {
    if (!in.contains("projectName")) in["projectName"] = "app";
    return ok(kCb + "StartBuildBatch", in)["buildBatch"];
  }

  store::BuildBatchRow row(const std::string& id) {
    auto rows = store_->get_build_batches({id});
    EXPECT_TRUE(rows && rows->size() == 1) << id;
    return rows->front();
  }

  // The coordinator's part: the batch ends with `status`, its groups having run `builds`
  // ({identifier, build id}), each stored as an ended build.
  void end_batch(const std::string& id, const std::string& status,
                 const std::vector<std::pair<std::string, std::string>>& builds = {},
                 store::BuildState build_state = store::BuildState::kDone) {
    auto r = batch::from_json(json::parse(row(id).json));
    ASSERT_TRUE(r) << r.error().describe();
    for (const auto& [identifier, build_id] : builds) {
      batch::BuildGroup g;
      g.identifier = identifier;
      g.build_id = build_id;
      g.current = batch::BuildSummary{"arn:aws:codebuild:us-east-1:123456789012:build/" + build_id,
                                      1.0, status, nullptr, nullptr};
      r->groups.push_back(g);
      store::BuildRow b;
      b.id = build_id;
      b.project = "app";
      b.json = "{}";
      ASSERT_TRUE(store_->insert_build(b));
      ASSERT_TRUE(store_->update_build(build_id, build_state, "{}"));
    }
    r->status = status;
    r->complete = true;
    r->end_time = 2.0;
    ASSERT_TRUE(store_->update_build_batch(id, store::BuildState::kDone, status,
                                           batch::to_json(*r).dump()));
  }

  std::vector<std::string> list_all(const std::string& op, json in) {
    std::vector<std::string> ids;
    in["maxResults"] = 1;
    for (int pages = 0; pages < 20; ++pages) {
      const json page = ok(kCb + op, in);
      for (const auto& id : page["ids"]) ids.push_back(id);
      if (!page.contains("nextToken")) break;
      in["nextToken"] = page["nextToken"];
    }
    return ids;
  }
};

TEST_F(BuildBatchesOps, StartBuildBatchStoresTheQueuedBatchAndWakesTheCoordinator) {
  const json b = start({{"buildTimeoutInMinutesOverride", 30},
                        {"queuedTimeoutInMinutesOverride", 10},
                        {"sourceVersion", "v1"},
                        {"debugSessionEnabled", true},
                        {"reportBuildBatchStatusOverride", true},
                        {"environmentVariablesOverride", {{{"name", "B"}, {"value", "2"}}}},
                        {"buildBatchConfigOverride", {{"combineArtifacts", true}}}});
  const std::string id = b["id"];
  ASSERT_TRUE(id.starts_with("app:")) << id;
  EXPECT_EQ(b["arn"], kBatchArn + id);
  EXPECT_EQ(b["buildBatchNumber"], 1);
  EXPECT_EQ(b["buildBatchStatus"], "IN_PROGRESS");
  EXPECT_EQ(b["complete"], false);
  EXPECT_EQ(b["currentPhase"], "DOWNLOAD_BATCHSPEC");
  EXPECT_EQ(b["projectName"], "app");
  EXPECT_EQ(b["initiator"], "anonymous");
  EXPECT_EQ(b["sourceVersion"], "v1");
  EXPECT_EQ(b["buildTimeoutInMinutes"], 30);
  EXPECT_EQ(b["queuedTimeoutInMinutes"], 10);
  EXPECT_EQ(b["debugSessionEnabled"], true);
  EXPECT_FALSE(b.contains("kiln")) << "Kiln's own state stays out of answers";
  EXPECT_EQ(b["phases"][0]["phaseType"], "SUBMITTED");
  EXPECT_EQ(b["buildGroups"][0]["identifier"], "DOWNLOAD_SOURCE");
  EXPECT_EQ(b["source"]["type"], "NO_SOURCE");
  EXPECT_EQ(b["environment"]["image"], "img");
  EXPECT_EQ(b["environment"]["environmentVariables"],
            json::parse(R"([{"name":"A","value":"1","type":"PLAINTEXT"},
                            {"name":"B","value":"2","type":"PLAINTEXT"}])"));
  EXPECT_EQ(b["serviceRole"], "role");
  EXPECT_EQ(b["encryptionKey"], "arn:aws:kms:us-east-1:123456789012:alias/aws/s3");
  EXPECT_EQ(b["buildBatchConfig"]["combineArtifacts"], true) << "the override's member wins";
  EXPECT_EQ(b["buildBatchConfig"]["serviceRole"], "batch-role") << "the project's others stay";
  EXPECT_EQ(b["buildBatchConfig"]["timeoutInMins"], 60);
  EXPECT_EQ(control_.wakes, 1);

  const store::BuildBatchRow stored = row(id);
  EXPECT_EQ(stored.state, store::BuildState::kQueued);
  EXPECT_EQ(stored.status, "IN_PROGRESS");
  EXPECT_EQ(stored.number, 1);
  const json req = json::parse(stored.request_json);
  EXPECT_EQ(req["request"]["identity"]["uuid"], id.substr(4)) << req["request"].dump();
  EXPECT_EQ(req["input"]["projectName"], "app");
  EXPECT_EQ(req["input"]["buildTimeoutInMinutesOverride"], 30);
  EXPECT_EQ(req["settings"]["source"]["type"], "NO_SOURCE");
  EXPECT_TRUE(req["settings"].contains("secondarySources"));
  EXPECT_EQ(req["settings"]["cache"]["type"], "NO_CACHE");
  EXPECT_EQ(req["artifacts"]["type"], "NO_ARTIFACTS");
  EXPECT_EQ(req["batchConfig"], b["buildBatchConfig"]);
  EXPECT_FALSE(req.contains("secretsKey")) << "an unsigned project has no key";
  const json kept = json::parse(stored.json);
  EXPECT_TRUE(kept.contains("kiln")) << "the stored record keeps Kiln's state";
  EXPECT_EQ(kept["buildBatchNumber"], 1);

  EXPECT_EQ(start()["buildBatchNumber"], 2);
}

TEST_F(BuildBatchesOps, TheBatchReadsSecretsWithTheRightsOfItsProjectsKey) {
  // UpdateProject signed with a key: the project's builds, and its batches, use that key's rights.
  ASSERT_EQ(
      call(kCb + "UpdateProject", {{"name", "app"}, {"description", "d"}}, "codebuild").status,
      200);
  const json b = start();
  const json req = json::parse(row(b["id"]).request_json);
  EXPECT_EQ(req["secretsKey"], kTestKey.id);
  EXPECT_EQ(req["request"][engine::kSecretsKeyMember], kTestKey.id);
  EXPECT_FALSE(b.contains(kServiceKeyMember));
}

TEST_F(BuildBatchesOps, StartBuildBatchRefusesAProjectWithoutBatchConfigAndBadInput) {
  create_project("plain", false);
  expect_error("StartBuildBatch", {{"projectName", "plain"}}, "InvalidInputException",
               "Batch builds are not enabled for project plain: set its buildBatchConfig "
               "(CreateProject or UpdateProject)");
  expect_error("StartBuildBatch", {{"projectName", "nope"}}, "ResourceNotFoundException");
  expect_error("StartBuildBatch", json::object(), "InvalidInputException");
  const auto bad = [&](const json& in) {
    json with = in;
    with["projectName"] = "app";
    expect_error("StartBuildBatch", with, "InvalidInputException");
  };
  bad({{"buildTimeoutInMinutesOverride", 4}});
  bad({{"buildTimeoutInMinutesOverride", 2161}});
  bad({{"queuedTimeoutInMinutesOverride", 481}});
  bad({{"computeTypeOverride", "HUGE"}});
  bad({{"debugSessionEnabled", "yes"}});
  bad({{"reportBuildBatchStatusOverride", 1}});
  bad({{"imagePullCredentialsTypeOverride", "MINE"}});
  bad({{"environmentVariablesOverride", {{{"value", "no name"}}}}});
  bad({{"buildBatchConfigOverride", {{"batchReportMode", "LOUD"}}}});
  bad({{"buildBatchConfigOverride", {{"restrictions", {{"maximumBuildsAllowed", 0}}}}}});
  EXPECT_EQ(control_.wakes, 0);
  expect_error("StartBuildBatch",
               {{"projectName", "app"}, {"buildBatchConfigOverride", {{"timeoutInMins", 1}}}},
               "InvalidInputException",
               "1 validation error detected: Value '1' at 'buildBatchConfigOverride.timeoutInMins' "
               "failed to satisfy constraint: Member must have value greater than or equal to 5");
  EXPECT_EQ(start({{"buildTimeoutInMinutesOverride", 2160}})["buildTimeoutInMinutes"], 2160);
}

TEST_F(BuildBatchesOps, StartBuildBatchHonoursItsIdempotencyToken) {
  const json first = start({{"idempotencyToken", "t1"}, {"sourceVersion", "v1"}});
  const json again = start({{"idempotencyToken", "t1"}, {"sourceVersion", "v1"}});
  EXPECT_EQ(again["id"], first["id"]);
  EXPECT_EQ(control_.wakes, 1);
  expect_error("StartBuildBatch",
               {{"projectName", "app"}, {"idempotencyToken", "t1"}, {"sourceVersion", "v2"}},
               "IdempotentParameterMismatchException",
               "The idempotency token t1 was used within the last 5 minutes with different "
               "parameters");
  clock_.advance(std::chrono::minutes(6));
  EXPECT_NE(start({{"idempotencyToken", "t1"}, {"sourceVersion", "v2"}})["id"], first["id"]);
  // A build's token is not a batch's.
  EXPECT_EQ(ok(kCb + "StartBuild",
               {{"projectName", "app"},
                {"idempotencyToken", "t2"},
                {"buildspecOverride", "version: 0.2\nphases:\n  build:\n    commands: [true]\n"}})
                .count("build"),
            1U);
  EXPECT_EQ(start({{"idempotencyToken", "t2"}})["buildBatchNumber"], 3);
}

TEST_F(BuildBatchesOps, StartBuildRefusesAnInlineBuildspecThatOnlyDefinesABatch) {
  const std::string message =
      "Invalid buildspec: it defines only a batch build (`batch`, no `phases`): start it with "
      "StartBuildBatch";
  expect_error("StartBuild", {{"projectName", "app"}}, "InvalidInputException", message);
  create_project("plain", false, "version: 0.2\nphases:\n  build:\n    commands: [true]\n");
  expect_error("StartBuild", {{"projectName", "plain"}, {"buildspecOverride", kBatchSpec}},
               "InvalidInputException", message);
  EXPECT_EQ(control_.wakes, 0);
  // With phases it runs as one build; a buildspec read from the source is checked when read.
  ok(kCb + "StartBuild",
     {{"projectName", "app"},
      {"buildspecOverride", kBatchSpec + "phases:\n  build:\n    commands: [true]\n"}});
  ok(kCb + "StartBuild", {{"projectName", "plain"}});
  // A buildspec that does not parse is DOWNLOAD_SOURCE's YAML_FILE_ERROR, as before.
  ok(kCb + "StartBuild", {{"projectName", "plain"}, {"buildspecOverride", "version: [\n"}});
  EXPECT_EQ(control_.wakes, 3);
}

TEST_F(BuildBatchesOps, BatchGetBuildBatchesTakesIdsAndArnsAndNamesTheMissing) {
  const std::string a = start()["id"];
  const std::string b = start()["id"];
  const json got = ok(kCb + "BatchGetBuildBatches", {{"ids", {a, kBatchArn + b, "app:nope", a}}});
  ASSERT_EQ(got["buildBatches"].size(), 2U);
  EXPECT_EQ(got["buildBatches"][0]["id"], a);
  EXPECT_EQ(got["buildBatches"][1]["id"], b);
  EXPECT_FALSE(got["buildBatches"][0].contains("kiln"));
  EXPECT_EQ(got["buildBatchesNotFound"], json::array({"app:nope"}));
  EXPECT_EQ(ok(kCb + "BatchGetBuildBatches", {{"ids", json::array()}}),
            json::parse(R"({"buildBatches": [], "buildBatchesNotFound": []})"));
  expect_error("BatchGetBuildBatches", json::object(), "InvalidInputException");
  expect_error("BatchGetBuildBatches", {{"ids", std::vector<std::string>(101, "x")}},
               "InvalidInputException");
  expect_error("BatchGetBuildBatches", {{"ids", {""}}}, "InvalidInputException");
}

TEST_F(BuildBatchesOps, ListsPageFilterAndSort) {
  create_project("other");
  const std::string a = start()["id"];
  const std::string b = start()["id"];
  const std::string o = start({{"projectName", "other"}})["id"];
  const std::string c = start()["id"];
  end_batch(b, "FAILED");

  EXPECT_EQ(list_all("ListBuildBatches", json::object()), (std::vector<std::string>{c, o, b, a}))
      << "newest first by default";
  EXPECT_EQ(list_all("ListBuildBatches", {{"sortOrder", "ASCENDING"}}),
            (std::vector<std::string>{a, b, o, c}));
  EXPECT_EQ(list_all("ListBuildBatchesForProject", {{"projectName", "app"}}),
            (std::vector<std::string>{c, b, a}));
  EXPECT_EQ(list_all("ListBuildBatches", {{"filter", {{"status", "FAILED"}}}}),
            (std::vector<std::string>{b}));
  EXPECT_EQ(list_all("ListBuildBatchesForProject",
                     {{"projectName", "app"}, {"filter", {{"status", "IN_PROGRESS"}}}}),
            (std::vector<std::string>{c, a}));
  const json page = ok(kCb + "ListBuildBatches", {{"maxResults", 2}});
  EXPECT_EQ(page["ids"].size(), 2U);
  EXPECT_TRUE(page.contains("nextToken"));
  EXPECT_FALSE(ok(kCb + "ListBuildBatches", json::object()).contains("nextToken"));

  expect_error("ListBuildBatchesForProject", {{"projectName", "nope"}},
               "ResourceNotFoundException");
  expect_error("ListBuildBatchesForProject", json::object(), "InvalidInputException");
  expect_error("ListBuildBatches", {{"filter", {{"status", "DONE"}}}}, "InvalidInputException");
  expect_error("ListBuildBatches", {{"maxResults", 0}}, "InvalidInputException");
  expect_error("ListBuildBatches", {{"maxResults", 101}}, "InvalidInputException");
  expect_error("ListBuildBatches", {{"sortOrder", "SIDEWAYS"}}, "InvalidInputException");
  expect_error("ListBuildBatches", {{"nextToken", "garbage"}}, "InvalidInputException");
}

TEST_F(BuildBatchesOps, StopBuildBatchAsksTheCoordinatorAndWaitsForTheEnd) {
  expect_error("StopBuildBatch", {{"id", "app:nope"}}, "ResourceNotFoundException",
               "Build batch cannot be found: app:nope");
  const std::string id = start()["id"];

  // The coordinator has no such batch running: the answer is the batch as stored, at once.
  Answer a = call(kCb + "StopBuildBatch", {{"id", id}});
  EXPECT_EQ(a.status, 200) << a.text;
  EXPECT_EQ(a.body["buildBatch"]["id"], id);
  EXPECT_EQ(control_.stopped_batches, std::vector<std::string>{id});

  control_.batches_running = true;
  http::Response r =
      service_.handle(json_request(kCb + "StopBuildBatch", json{{"id", kBatchArn + id}}.dump()));
  ASSERT_TRUE(r.stream) << "an answer that waits: " << r.body;
  std::string out;
  EXPECT_TRUE(r.stream(out));
  EXPECT_EQ(out, "") << "nothing yet: the batch runs";
  end_batch(id, "STOPPED");
  EXPECT_TRUE(r.stream(out));
  const json stopped = json::parse(out)["buildBatch"];
  EXPECT_EQ(stopped["buildBatchStatus"], "STOPPED");
  EXPECT_FALSE(stopped.contains("kiln"));
  out.clear();
  EXPECT_FALSE(r.stream(out));

  // Not ended within the wait: the batch as it was.
  const std::string slow = start()["id"];
  r = service_.handle(json_request(kCb + "StopBuildBatch", json{{"id", slow}}.dump()));
  ASSERT_TRUE(r.stream);
  clock_.advance(std::chrono::seconds(5));
  out.clear();
  EXPECT_TRUE(r.stream(out));
  EXPECT_EQ(json::parse(out)["buildBatch"]["buildBatchStatus"], "IN_PROGRESS");

  // An ended batch is answered as it is, without asking the coordinator.
  const std::size_t asked = control_.stopped_batches.size();
  a = call(kCb + "StopBuildBatch", {{"id", id}});
  EXPECT_EQ(a.body["buildBatch"]["buildBatchStatus"], "STOPPED");
  EXPECT_EQ(control_.stopped_batches.size(), asked);
}

TEST_F(BuildBatchesOps, RetryBuildBatchRetriesFailedBatchesOnly) {
  expect_error("RetryBuildBatch", {{"id", "app:nope"}}, "ResourceNotFoundException");
  expect_error("RetryBuildBatch", json::object(), "InvalidInputException");
  const std::string id = start()["id"];
  expect_error("RetryBuildBatch", {{"id", id}}, "InvalidInputException",
               "Only batch builds that have failed can be retried: " + id + " is still running");
  expect_error("RetryBuildBatch", {{"id", id}, {"retryType", "RETRY_SOME"}},
               "InvalidInputException");
  const std::string good = start()["id"];
  end_batch(good, "SUCCEEDED");
  expect_error("RetryBuildBatch", {{"id", good}}, "InvalidInputException",
               "Only batch builds that have failed can be retried: " + good + " is SUCCEEDED");
  EXPECT_TRUE(control_.retried_batches.empty());

  end_batch(id, "FAILED");
  expect_error("RetryBuildBatch", {{"id", id}}, "InvalidInputException", "no batches here");
  control_.retry_error.clear();
  const int wakes = control_.wakes;
  json b = ok(kCb + "RetryBuildBatch", {{"id", kBatchArn + id},
                                        {"retryType", "RETRY_FAILED_BUILDS"},
                                        {"idempotencyToken", "r1"}})["buildBatch"];
  EXPECT_EQ(b["id"], id);
  EXPECT_FALSE(b.contains("kiln"));
  EXPECT_EQ(control_.wakes, wakes + 1);
  ASSERT_EQ(control_.retried_batches.size(), 2U);
  EXPECT_EQ(control_.retried_batches[1], std::make_pair(id, true));

  // The same token and parameters: the same retry, not another.
  ok(kCb + "RetryBuildBatch",
     {{"id", id}, {"retryType", "RETRY_FAILED_BUILDS"}, {"idempotencyToken", "r1"}});
  EXPECT_EQ(control_.retried_batches.size(), 2U);
  expect_error("RetryBuildBatch", {{"id", id}, {"idempotencyToken", "r1"}},
               "IdempotentParameterMismatchException");
  ok(kCb + "RetryBuildBatch", {{"id", id}});
  EXPECT_EQ(control_.retried_batches.back(), std::make_pair(id, false))
      << "every build, without a retryType";
}

TEST_F(BuildBatchesOps, DeleteBuildBatchDeletesTheBatchAndItsBuilds) {
  expect_error("DeleteBuildBatch", {{"id", "app:nope"}}, "InvalidInputException",
               "Build batch cannot be found: app:nope");
  expect_error("DeleteBuildBatch", json::object(), "InvalidInputException");
  const std::string id = start()["id"];
  expect_error(
      "DeleteBuildBatch", {{"id", id}}, "InvalidInputException",
      "Build batch " + id + " is still in progress: stop it (StopBuildBatch) before deleting it");
  end_batch(id, "FAILED", {{"DOWNLOAD_SOURCE", "app:b-0"}, {"a", "app:b-1"}, {"b", "app:b-2"}});
  ASSERT_TRUE(store_->delete_builds({"app:b-2"}));  // deleted on its own earlier

  const json out = ok(kCb + "DeleteBuildBatch", {{"id", kBatchArn + id}});
  EXPECT_EQ(out["statusCode"], "BATCH_DELETED");
  EXPECT_EQ(out["buildsDeleted"],
            json::array({"arn:aws:codebuild:us-east-1:123456789012:build/app:b-0",
                         "arn:aws:codebuild:us-east-1:123456789012:build/app:b-1"}));
  EXPECT_EQ(out["buildsNotDeleted"],
            json::parse(R"([{"id": "app:b-2", "statusCode": "BUILD_NOT_FOUND"}])"));
  EXPECT_TRUE(store_->get_build_batches({id})->empty());
  EXPECT_TRUE(store_->get_builds({"app:b-0", "app:b-1"})->empty());
  expect_error("DeleteBuildBatch", {{"id", id}}, "InvalidInputException");

  // A member build still running stays, and says so.
  const std::string other = start()["id"];
  end_batch(other, "STOPPED", {{"a", "app:c-1"}}, store::BuildState::kRunning);
  const json kept = ok(kCb + "DeleteBuildBatch", {{"id", other}});
  EXPECT_EQ(kept["buildsDeleted"], json::array());
  EXPECT_EQ(kept["buildsNotDeleted"],
            json::parse(R"([{"id": "app:c-1", "statusCode": "BUILD_IN_PROGRESS"}])"));
}

TEST(BuildBatchAccesses, AreCheckedOnTheBatchsProject) {
  const std::string p = "arn:aws:codebuild:eu-west-1:123456789012:project/";
  const ArnContext ctx{"eu-west-1", "123456789012", nullptr};
  const auto of = [&](const std::string& op, const std::string& body) {
    return accesses_of(kCb + op, json::parse(body), ctx);
  };
  EXPECT_EQ(of("StartBuildBatch", R"({"projectName": "app", "privilegedModeOverride": true})"),
            (std::vector<Access>{{"codebuild:StartBuildBatch", p + "app"},
                                 {"kiln:PrivilegedBuild", p + "app"}}));
  EXPECT_EQ(of("StartBuildBatch",
               R"({"projectName": "app", "environmentVariablesOverride":
                   [{"name": "X", "value": "/p", "type": "PARAMETER_STORE"}]})"),
            (std::vector<Access>{
                {"codebuild:StartBuildBatch", p + "app"},
                {"ssm:GetParameter", "arn:aws:ssm:eu-west-1:123456789012:parameter/p"}}));
  for (const char* op : {"StopBuildBatch", "RetryBuildBatch", "DeleteBuildBatch"}) {
    EXPECT_EQ(of(op, R"({"id": "other:1-2"})"),
              (std::vector<Access>{{std::string("codebuild:") + op, p + "other"}}));
    EXPECT_EQ(of(op, R"({"id": "arn:aws:codebuild:eu-west-1:1:build-batch/app:1-2"})"),
              (std::vector<Access>{{std::string("codebuild:") + op, p + "app"}}));
  }
  EXPECT_EQ(of("BatchGetBuildBatches",
               R"({"ids": ["app:1", "arn:aws:codebuild:eu-west-1:1:build-batch/other:2"]})"),
            (std::vector<Access>{{"codebuild:BatchGetBuildBatches", p + "app"},
                                 {"codebuild:BatchGetBuildBatches", p + "other"}}));
  EXPECT_EQ(of("ListBuildBatchesForProject", R"({"projectName": "app"})"),
            (std::vector<Access>{{"codebuild:ListBuildBatchesForProject", p + "app"}}));
  EXPECT_EQ(of("ListBuildBatches", "{}"),
            (std::vector<Access>{{"codebuild:ListBuildBatches", "*"}}));
}

}  // namespace
}  // namespace kiln::api
