// The BuildBatch record (batch/record.h): CodeBuild's shape member by member (botocore's
// BuildBatch, BuildGroup, BuildSummary, BuildBatchPhase), the private part under "kiln", and
// from_json, which reads back exactly what to_json wrote and names the member it refuses.
#include "batch/record.h"

#include <gtest/gtest.h>

#include "batch/run.h"

namespace kiln::batch {
namespace {

using nlohmann::json;

MemberEnd end_with(const std::string& status) {
  MemberEnd e;
  e.status = status;
  return e;
}

// A batch with every kind of group: DOWNLOAD_SOURCE, succeeded with artifacts, failed, never
// started (dependency), running; settings, report ARNs, contexts.
BatchRecord rich_record() {
  BatchRecord r;
  r.id = "demo:0b6a";
  r.arn = batch_arn("eu-west-1", "123456789012", r.id);
  r.batch_number = 7;
  r.project_name = "demo";
  r.initiator = "alice";
  r.source_version = "main";
  r.resolved_source_version = "3a9e11cb419e8fff14b03883dc4e64f6155aaa7e";
  r.build_timeout_minutes = 45;
  r.queued_timeout_minutes = 120;
  r.debug_session_enabled = true;
  r.settings = {{"source", {{"type", "NO_SOURCE"}, {"buildspec", "x"}}},
                {"environment", {{"type", "LINUX_CONTAINER"}}},
                {"serviceRole", "role"},
                {"buildBatchConfig", {{"timeoutInMins", 480}}}};
  start_batch(r, 1700000000.125);
  member_started(r, kDownloadSourceGroup, "demo:d", "arn:d", 1700000000.5);
  member_finished(r, kDownloadSourceGroup, end_with("SUCCEEDED"), 1700000010.25);
  Plan plan;
  plan.type = BatchType::kBuildGraph;
  Member a, b, c, d;
  a.identifier = "a";
  b.identifier = "b";
  b.depend_on = {"a", "c"};
  c.identifier = "c";
  c.ignore_failure = true;
  d.identifier = "d";
  plan.members = {a, b, c, d};
  batchspec_loaded(r, plan, true, 1700000010.25);
  member_started(r, "a", "demo:a1", "arn:a1", 1700000011);
  member_started(r, "c", "demo:c1", "arn:c1", 1700000012);
  member_started(r, "d", "demo:d1", "arn:d1", 1700000012.5);
  MemberEnd ea = end_with("FAILED");
  ea.report_arns = {"arn:report/1"};
  ea.primary_artifact = {{"type", "S3"}, {"location", "arn:aws:s3:::bkt/a"}, {"identifier", "a"}};
  ea.secondary_artifacts = json::array({{{"type", "S3"}, {"identifier", "a_logs"}}});
  member_finished(r, "a", ea, 1700000020);
  return r;
}

TEST(BatchRecord, ShapeHasCodeBuildsMembersAndTypes) {
  json j = to_json(rich_record());
  EXPECT_EQ(j["id"], "demo:0b6a");
  EXPECT_EQ(j["arn"], "arn:aws:codebuild:eu-west-1:123456789012:build-batch/demo:0b6a");
  EXPECT_EQ(j["startTime"], 1700000000.125);
  EXPECT_FALSE(j.contains("endTime"));
  EXPECT_EQ(j["currentPhase"], "IN_PROGRESS");
  EXPECT_EQ(j["buildBatchStatus"], "IN_PROGRESS");
  EXPECT_EQ(j["sourceVersion"], "main");
  EXPECT_EQ(j["resolvedSourceVersion"], "3a9e11cb419e8fff14b03883dc4e64f6155aaa7e");
  EXPECT_EQ(j["projectName"], "demo");
  EXPECT_EQ(j["buildTimeoutInMinutes"], 45);
  EXPECT_EQ(j["queuedTimeoutInMinutes"], 120);
  EXPECT_EQ(j["complete"], false);
  EXPECT_EQ(j["initiator"], "alice");
  EXPECT_EQ(j["buildBatchNumber"], 7);
  EXPECT_EQ(j["debugSessionEnabled"], true);
  EXPECT_EQ(j["reportArns"], json::array({"arn:report/1"}));
  // Settings are copied in as given.
  EXPECT_EQ(j["source"], (json{{"type", "NO_SOURCE"}, {"buildspec", "x"}}));
  EXPECT_EQ(j["serviceRole"], "role");
  EXPECT_EQ(j["buildBatchConfig"], (json{{"timeoutInMins", 480}}));
  for (const auto& [key, value] : j.items()) EXPECT_FALSE(value.is_null()) << key;
}

TEST(BatchRecord, PhasesShowStatusTimesDurationAndContextsOnlyWhenSet) {
  BatchRecord r = rich_record();
  const json phases = to_json(r)["phases"];
  ASSERT_EQ(phases.size(), 3u);
  EXPECT_EQ(phases[0], (json{{"phaseType", "SUBMITTED"},
                             {"phaseStatus", "SUCCEEDED"},
                             {"startTime", 1700000000.125},
                             {"endTime", 1700000000.125},
                             {"durationInSeconds", 0}}));
  EXPECT_EQ(phases[1], (json{{"phaseType", "DOWNLOAD_BATCHSPEC"},
                             {"phaseStatus", "SUCCEEDED"},
                             {"startTime", 1700000000.125},
                             {"endTime", 1700000010.25},
                             {"durationInSeconds", 10}}));
  EXPECT_EQ(
      phases[2],
      (json{{"phaseType", "IN_PROGRESS"},
            {"startTime", 1700000010.25},
            {"contexts", json::array({{{"statusCode", "FAILED"}, {"message", "Build a FAILED"}},
                                      {{"statusCode", "STOPPED"},
                                       {"message",
                                        "Build b was not started: its "
                                        "dependency a FAILED"}}})}}));
  member_finished(r, "c", end_with("SUCCEEDED"), 1700000030);
  member_finished(r, "d", end_with("SUCCEEDED"), 1700000031);
  finish_batch(r, 1700000032.0004);
  const json done = to_json(r);
  EXPECT_EQ(done["phases"].back(),
            (json{{"phaseType", "FAILED"}, {"startTime", 1700000032.0}}));  // ms precision
  EXPECT_EQ(done["endTime"], 1700000032.0);
  EXPECT_EQ(done["currentPhase"], "FAILED");
  EXPECT_EQ(done["buildBatchStatus"], "FAILED");
  EXPECT_EQ(done["complete"], true);
  EXPECT_EQ(done["phases"][2]["phaseStatus"], "CLIENT_ERROR");
  EXPECT_EQ(done["phases"][2]["durationInSeconds"], 21);
}

TEST(BatchRecord, GroupsShowCodeBuildsSummaries) {
  const json groups = to_json(rich_record())["buildGroups"];
  ASSERT_EQ(groups.size(), 5u);
  // DOWNLOAD_SOURCE: no dependsOn, its own no_artifacts (§8.3, batch-get-build-batches.rst).
  EXPECT_EQ(
      groups[0],
      (json{{"identifier", "DOWNLOAD_SOURCE"},
            {"ignoreFailure", false},
            {"currentBuildSummary",
             {{"arn", "arn:d"},
              {"requestedOn", 1700000000.5},
              {"buildStatus", "SUCCEEDED"},
              {"primaryArtifact", {{"type", "no_artifacts"}, {"identifier", "DOWNLOAD_SOURCE"}}},
              {"secondaryArtifacts", json::array()}}}}));
  EXPECT_EQ(groups[1]["identifier"], "a");
  EXPECT_EQ(groups[1]["dependsOn"], json::array());
  EXPECT_EQ(groups[1]["currentBuildSummary"]["buildStatus"], "FAILED");
  EXPECT_EQ(groups[1]["currentBuildSummary"]["primaryArtifact"]["location"], "arn:aws:s3:::bkt/a");
  EXPECT_EQ(groups[1]["currentBuildSummary"]["secondaryArtifacts"][0]["identifier"], "a_logs");
  EXPECT_FALSE(groups[1].contains("priorBuildSummaryList"));
  // b never starts: STOPPED, without arn or requestedOn.
  EXPECT_EQ(groups[2], (json{{"identifier", "b"},
                             {"dependsOn", {"a", "c"}},
                             {"ignoreFailure", false},
                             {"currentBuildSummary", {{"buildStatus", "STOPPED"}}}}));
  // A running member: no artifacts yet.
  EXPECT_EQ(
      groups[3]["currentBuildSummary"],
      (json{{"arn", "arn:c1"}, {"requestedOn", 1700000012.0}, {"buildStatus", "IN_PROGRESS"}}));
  EXPECT_EQ(groups[3]["ignoreFailure"], true);
}

TEST(BatchRecord, NotYetStartedGroupShowsPending) {
  BatchRecord r;
  start_batch(r, 10);
  Plan plan;
  Member a;
  a.identifier = "a";
  plan.members = {a};
  batchspec_loaded(r, plan, false, 11);
  const json groups = to_json(r)["buildGroups"];
  EXPECT_EQ(groups[0]["currentBuildSummary"], (json{{"buildStatus", "PENDING"}}));
  EXPECT_EQ(groups[1]["currentBuildSummary"], (json{{"buildStatus", "PENDING"}}));
}

TEST(BatchRecord, PriorSummariesAfterRetry) {
  BatchRecord r = rich_record();
  member_finished(r, "c", end_with("SUCCEEDED"), 1700000030);
  member_finished(r, "d", end_with("SUCCEEDED"), 1700000031);
  finish_batch(r, 1700000032);
  retry_batch(r, RetryType::kFailedBuilds, 1700000100);
  const json j = to_json(r);
  EXPECT_EQ(j["buildGroups"][1]["currentBuildSummary"], (json{{"buildStatus", "PENDING"}}));
  ASSERT_EQ(j["buildGroups"][1]["priorBuildSummaryList"].size(), 1u);
  EXPECT_EQ(j["buildGroups"][1]["priorBuildSummaryList"][0]["arn"], "arn:a1");
  EXPECT_EQ(j["buildGroups"][1]["priorBuildSummaryList"][0]["buildStatus"], "FAILED");
  EXPECT_FALSE(j.contains("endTime"));
  EXPECT_EQ(j["complete"], false);
  EXPECT_EQ(j["phases"][3], (json{{"phaseType", "FAILED"},
                                  {"phaseStatus", "RETRY"},
                                  {"startTime", 1700000032.0},
                                  {"endTime", 1700000100.0},
                                  {"durationInSeconds", 68}}));
}

TEST(BatchRecord, PrivateStateIsUnderKilnAndStripped) {
  json j = to_json(rich_record());
  ASSERT_TRUE(j.contains("kiln"));
  const json& k = j["kiln"];
  EXPECT_EQ(k["batchType"], "BUILD_GRAPH");
  EXPECT_EQ(k["fastFail"], false);
  EXPECT_EQ(k["combineArtifacts"], true);
  EXPECT_EQ(k["ending"], "FAILED");
  EXPECT_EQ(k["groups"][1], (json{{"started", true}, {"buildId", "demo:a1"}, {"notStarted", ""}}));
  EXPECT_EQ(k["groups"][2]["notStarted"], "its dependency a FAILED");
  strip_internal(j);
  EXPECT_FALSE(j.contains("kiln"));
  EXPECT_EQ(j["id"], "demo:0b6a");
  json not_object = json::array();
  strip_internal(not_object);  // harmless
}

TEST(BatchRecord, SettingsNeverReplaceTheRecordsOwnMembers) {
  BatchRecord r = rich_record();
  r.settings["id"] = "forged";
  r.settings["kiln"] = "forged";
  r.settings["buildBatchStatus"] = "SUCCEEDED";
  const json j = to_json(r);
  EXPECT_EQ(j["id"], "demo:0b6a");
  EXPECT_EQ(j["buildBatchStatus"], "IN_PROGRESS");
  EXPECT_TRUE(j["kiln"].is_object());
}

void expect_same(const BatchRecord& a, const BatchRecord& b) {
  EXPECT_EQ(to_json(a), to_json(b));
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.ending, b.ending);
  EXPECT_EQ(a.settings, b.settings);
  ASSERT_EQ(a.groups.size(), b.groups.size());
  for (std::size_t i = 0; i < a.groups.size(); ++i) {
    const auto& ga = a.groups[i];
    const auto& gb = b.groups[i];
    EXPECT_EQ(ga.identifier, gb.identifier);
    EXPECT_EQ(ga.current.has_value(), gb.current.has_value()) << ga.identifier;
    EXPECT_EQ(ga.build_id, gb.build_id);
    EXPECT_EQ(ga.not_started, gb.not_started);
    EXPECT_EQ(ga.depends_on, gb.depends_on);
    EXPECT_EQ(ga.prior.size(), gb.prior.size());
    if (ga.current && gb.current) {
      EXPECT_EQ(ga.current->primary_artifact, gb.current->primary_artifact);
      EXPECT_EQ(ga.current->secondary_artifacts, gb.current->secondary_artifacts);
      EXPECT_EQ(ga.current->requested_on, gb.current->requested_on);
    }
  }
  ASSERT_EQ(a.phases.size(), b.phases.size());
  for (std::size_t i = 0; i < a.phases.size(); ++i) {
    EXPECT_EQ(a.phases[i].type, b.phases[i].type);
    EXPECT_EQ(a.phases[i].status, b.phases[i].status);
    EXPECT_EQ(a.phases[i].start_time, b.phases[i].start_time);
    EXPECT_EQ(a.phases[i].end_time, b.phases[i].end_time);
    EXPECT_EQ(a.phases[i].contexts.size(), b.phases[i].contexts.size());
  }
}

TEST(BatchRecord, RoundTripsExactly) {
  BatchRecord r = rich_record();
  auto back = from_json(to_json(r));
  ASSERT_TRUE(back) << back.error().describe();
  expect_same(r, *back);
  // ... and again after the rest of its life: ended, retried, stopped.
  member_finished(r, "c", end_with("SUCCEEDED"), 1700000030);
  member_finished(r, "d", end_with("SUCCEEDED"), 1700000031);
  finish_batch(r, 1700000032);
  back = from_json(to_json(r));
  ASSERT_TRUE(back) << back.error().describe();
  expect_same(r, *back);
  retry_batch(r, RetryType::kAllBuilds, 1700000100);
  stop_batch(r, "stop", 1700000101);
  back = from_json(to_json(r));
  ASSERT_TRUE(back) << back.error().describe();
  expect_same(r, *back);
  // A record read back goes on as the original does.
  finish_batch(r, 1700000102);
  finish_batch(*back, 1700000102);
  EXPECT_EQ(to_json(r), to_json(*back));
}

TEST(BatchRecord, DefaultRecordRoundTrips) {
  const BatchRecord r;
  const auto back = from_json(to_json(r));
  ASSERT_TRUE(back) << back.error().describe();
  expect_same(r, *back);
}

TEST(BatchRecord, ExtraPrivateMembersAreTolerated) {
  json j = to_json(rich_record());
  j["kiln"]["plan"] = {{"type", "BUILD_GRAPH"}};  // the coordinator keeps its plan here
  ASSERT_TRUE(from_json(j));
}

std::string error_of(const json& j) {
  auto r = from_json(j);
  if (r) return "<accepted>";
  return r.error().describe();
}

TEST(BatchRecord, FromJsonNamesTheBadMember) {
  const json good = to_json(rich_record());
  const auto with = [&](const json::json_pointer& at, const json& value) {
    json j = good;
    j[at] = value;
    return error_of(j);
  };
  const auto without = [&](const json::json_pointer& at) {
    json j = good;
    j[at.parent_pointer()].erase(at.back());
    return error_of(j);
  };
  EXPECT_NE(error_of(json::array()).find("not a JSON object"), std::string::npos);
  EXPECT_NE(error_of(json("text")).find("not a JSON object"), std::string::npos);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {with(json::json_pointer("/id"), 5), "id: expected a string"},
      {without(json::json_pointer("/id")), "id: missing"},
      {with(json::json_pointer("/startTime"), "soon"), "startTime: expected a number"},
      {without(json::json_pointer("/startTime")), "startTime: missing"},
      {with(json::json_pointer("/endTime"), true), "endTime: expected a number"},
      {with(json::json_pointer("/currentPhase"), "DONE"), "currentPhase: unknown phase type"},
      {with(json::json_pointer("/complete"), "yes"), "complete: expected a boolean"},
      {with(json::json_pointer("/buildBatchNumber"), 1.5),
       "buildBatchNumber: expected a whole number in range"},
      {with(json::json_pointer("/buildTimeoutInMinutes"), 1e300),
       "buildTimeoutInMinutes: expected a whole number in range"},
      {with(json::json_pointer("/buildTimeoutInMinutes"), 2147483648.0),
       "buildTimeoutInMinutes: expected a whole number in range"},
      // 2^63: the double nearest LONG_MAX, one past it.
      {with(json::json_pointer("/buildBatchNumber"), 9223372036854775808.0),
       "buildBatchNumber: expected a whole number in range"},
      {with(json::json_pointer("/phases"), json::object()), "phases: expected an array"},
      {with(json::json_pointer("/phases/1"), 3), "phases[1]: expected an object"},
      {with(json::json_pointer("/phases/1/phaseType"), "BREW"),
       "phases[1].phaseType: unknown phase type"},
      {with(json::json_pointer("/phases/2/contexts/0/message"), 1),
       "phases[2].contexts[0].message: expected a string"},
      {with(json::json_pointer("/buildGroups/2/dependsOn/1"), 7),
       "buildGroups[2].dependsOn[1]: expected a string"},
      {with(json::json_pointer("/buildGroups/1/identifier"), json::array()),
       "buildGroups[1].identifier: expected a string"},
      {with(json::json_pointer("/buildGroups/1/currentBuildSummary/buildStatus"), 1),
       "buildGroups[1].currentBuildSummary.buildStatus: expected a string"},
      {with(json::json_pointer("/buildGroups/1/currentBuildSummary/primaryArtifact"), "x"),
       "buildGroups[1].currentBuildSummary.primaryArtifact: expected an object"},
      {with(json::json_pointer("/buildGroups/1/priorBuildSummaryList"), json::array({1})),
       "buildGroups[1].priorBuildSummaryList[0]: expected an object"},
      {with(json::json_pointer("/reportArns"), json::array({"a", nullptr})),
       "reportArns[1]: expected a string"},
      {without(json::json_pointer("/kiln")), "kiln: missing"},
      {with(json::json_pointer("/kiln/fastFail"), "no"), "kiln.fastFail: expected a boolean"},
      {with(json::json_pointer("/kiln/groups/0/started"), 1),
       "kiln.groups[0].started: expected a boolean"},
      {with(json::json_pointer("/kiln/groups/5"),
            json{{"started", false}, {"buildId", ""}, {"notStarted", ""}}),
       "kiln.groups[5]: more groups than buildGroups"},
  };
  for (const auto& [got, want] : cases) EXPECT_NE(got.find(want), std::string::npos) << got;

  json widest = good;
  widest["buildTimeoutInMinutes"] = 2147483647;
  const auto read = from_json(widest);
  ASSERT_TRUE(read) << read.error().describe();
  EXPECT_EQ(read->build_timeout_minutes, 2147483647);

  json fewer = good;
  fewer["kiln"]["groups"].erase(4);
  EXPECT_NE(error_of(fewer).find("kiln.groups: fewer groups than buildGroups"), std::string::npos);
}

TEST(BatchRecord, FromJsonNeverThrowsOnHostileInput) {
  const json good = to_json(rich_record());
  // Every member of the record replaced by each kind of wrong value: an Error or a record,
  // never an exception.
  const std::vector<json> values = {
      nullptr, 1, -1.5, "s", true, json::array(), json::object(), json::array({json::object()}),
      1e308};
  std::vector<json::json_pointer> pointers;
  const json flat = good.flatten();
  for (const auto& [path, value] : flat.items()) {
    json::json_pointer p(path);
    while (!p.empty()) {
      pointers.push_back(p);
      p = p.parent_pointer();
    }
  }
  std::size_t tried = 0;
  for (const auto& p : pointers)
    for (const auto& v : values) {
      json j = good;
      j[p] = v;
      EXPECT_NO_THROW((void)from_json(j)) << p.to_string();
      ++tried;
    }
  EXPECT_GT(tried, 500u);

  json huge = good;
  huge["reportArns"] = json::array();
  for (int i = 0; i < 100000; ++i) huge["reportArns"].push_back("arn:" + std::to_string(i));
  const auto read = from_json(huge);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->report_arns.size(), 100000u);
}

}  // namespace
}  // namespace kiln::batch
