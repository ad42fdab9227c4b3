// The batch state machine (batch/run.h): every rule of its header, with plans built by hand and
// times passed in. Drivers (kiln run --batch, the server's coordinator) rely on each answer.
#include "batch/run.h"

#include <gtest/gtest.h>

namespace kiln::batch {
namespace {

using nlohmann::json;
using Ids = std::vector<std::string>;

Member member(const std::string& id, Ids depend_on = {}, bool ignore_failure = false) {
  Member m;
  m.identifier = id;
  m.depend_on = std::move(depend_on);
  m.ignore_failure = ignore_failure;
  return m;
}

Plan plan_of(BatchType type, std::vector<Member> members, bool fast_fail = false) {
  Plan p;
  p.type = type;
  p.fast_fail = fast_fail;
  p.members = std::move(members);
  return p;
}

MemberEnd end_with(const std::string& status) {
  MemberEnd e;
  e.status = status;
  return e;
}

// A batch whose DOWNLOAD_SOURCE build was started at 101.
BatchRecord downloading() {
  BatchRecord r;
  r.id = "demo:b1";
  r.project_name = "demo";
  start_batch(r, 100);
  member_started(r, kDownloadSourceGroup, "demo:d", "arn:d", 101);
  return r;
}

// A batch past DOWNLOAD_BATCHSPEC (DOWNLOAD_SOURCE built at 101, ended at 110).
BatchRecord loaded(const Plan& plan, bool combine = false) {
  BatchRecord r = downloading();
  member_finished(r, kDownloadSourceGroup, end_with("SUCCEEDED"), 110);
  batchspec_loaded(r, plan, combine, 110);
  return r;
}

void start(BatchRecord& r, const std::string& id, double now = 120) {
  member_started(r, id, "demo:" + id, "arn:" + id, now);
}

std::string status_of(const BatchRecord& r, const std::string& id) {
  const BuildGroup* g = r.group(id);
  if (g == nullptr) return "<none>";
  return g->current ? g->current->build_status : "<not started>";
}

std::vector<std::string> context_messages(const BatchPhase& p) {
  std::vector<std::string> out;
  for (const auto& c : p.contexts) out.push_back(c.status_code + ": " + c.message);
  return out;
}

const BatchPhase& phase(const BatchRecord& r, BatchPhaseType t) {
  for (const auto& p : r.phases)
    if (p.type == t) return p;
  static const BatchPhase none{};
  ADD_FAILURE() << "no phase " << phase_name(t);
  return none;
}

std::vector<std::string> phase_types(const BatchRecord& r) {
  std::vector<std::string> out;
  for (const auto& p : r.phases) out.push_back(phase_name(p.type));
  return out;
}

void finish_all(BatchRecord& r, double now) {
  ASSERT_TRUE(members_done(r));
  if (needs_combine(r)) combine_started(r, now);
  finish_batch(r, now);
}

TEST(BatchRun, StartBatchHasSubmittedEndedAndDownloadSourceReady) {
  BatchRecord r;
  start_batch(r, 100);
  EXPECT_EQ(phase_types(r), (Ids{"SUBMITTED", "DOWNLOAD_BATCHSPEC"}));
  EXPECT_EQ(r.phases[0].status, "SUCCEEDED");
  EXPECT_EQ(r.phases[0].end_time, 100);
  EXPECT_FALSE(r.phases[1].end_time);
  EXPECT_EQ(r.current_phase, BatchPhaseType::kDownloadBatchspec);
  EXPECT_EQ(r.status, "IN_PROGRESS");
  ASSERT_EQ(r.groups.size(), 1u);
  EXPECT_EQ(r.groups[0].identifier, "DOWNLOAD_SOURCE");
  // The driver starts DOWNLOAD_SOURCE itself: it is never a ready member.
  EXPECT_TRUE(ready_members(r).empty());
  EXPECT_FALSE(members_done(r));
  member_started(r, kDownloadSourceGroup, "demo:d", "arn:d", 101);
  EXPECT_TRUE(ready_members(r).empty());
  EXPECT_FALSE(members_done(r));
}

TEST(BatchRun, DownloadSourceEndsWithItsOwnArtifactAndWaitsForTheDriver) {
  BatchRecord r = downloading();
  MemberEnd e = end_with("SUCCEEDED");
  e.primary_artifact = {{"type", "S3"}, {"location", "x"}};
  EXPECT_TRUE(member_finished(r, kDownloadSourceGroup, e, 110).empty());
  const auto& s = *r.group(kDownloadSourceGroup)->current;
  EXPECT_EQ(s.primary_artifact,
            (json{{"type", "no_artifacts"}, {"identifier", "DOWNLOAD_SOURCE"}}));
  EXPECT_EQ(s.secondary_artifacts, json::array());
  EXPECT_EQ(s.requested_on, 101);
  // The plan is not read yet: the driver still has to call batchspec_loaded or _failed.
  EXPECT_FALSE(members_done(r));
  EXPECT_FALSE(r.complete);
}

TEST(BatchRun, BatchspecLoadedAddsPendingGroupsAndStartsInProgress) {
  const BatchRecord r =
      loaded(plan_of(BatchType::kBuildGraph, {member("a"), member("b", {"a"}, true)}, true));
  EXPECT_EQ(phase_types(r), (Ids{"SUBMITTED", "DOWNLOAD_BATCHSPEC", "IN_PROGRESS"}));
  EXPECT_EQ(r.phases[1].status, "SUCCEEDED");
  EXPECT_EQ(r.phases[1].end_time, 110);
  EXPECT_EQ(r.current_phase, BatchPhaseType::kInProgress);
  EXPECT_EQ(r.batch_type, "BUILD_GRAPH");
  EXPECT_TRUE(r.fast_fail);
  ASSERT_EQ(r.groups.size(), 3u);
  EXPECT_EQ(r.groups[2].depends_on, Ids{"a"});
  EXPECT_TRUE(r.groups[2].ignore_failure);
  EXPECT_FALSE(r.groups[2].current);
}

TEST(BatchRun, BatchspecFailedEndsTheBatchFailedWithTheContext) {
  BatchRecord r = downloading();
  member_finished(r, kDownloadSourceGroup, end_with("SUCCEEDED"), 110);
  batchspec_failed(r, "YAML_FILE_ERROR", "buildspec.yml:3:5: unknown identifier c", 111);
  EXPECT_EQ(phase_types(r), (Ids{"SUBMITTED", "DOWNLOAD_BATCHSPEC", "FAILED"}));
  const BatchPhase& dl = r.phases[1];
  EXPECT_EQ(dl.status, "FAILED");
  EXPECT_EQ(dl.end_time, 111);
  EXPECT_EQ(context_messages(dl), Ids{"YAML_FILE_ERROR: buildspec.yml:3:5: unknown identifier c"});
  EXPECT_EQ(r.status, "FAILED");
  EXPECT_EQ(r.current_phase, BatchPhaseType::kFailed);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.end_time, 111);
  EXPECT_FALSE(r.phases[2].end_time);
  EXPECT_TRUE(r.phases[2].status.empty());
  EXPECT_TRUE(ready_members(r).empty());
  EXPECT_TRUE(members_done(r));
}

TEST(BatchRun, ListMembersAreAllReadyAtOnceWithinTheLimit) {
  BatchRecord r = loaded(plan_of(BatchType::kBuildList, {member("a"), member("b"), member("c")}));
  EXPECT_EQ(ready_members(r), (Ids{"a", "b", "c"}));
  EXPECT_EQ(ready_members(r, 2), (Ids{"a", "b"}));
  EXPECT_TRUE(ready_members(r, 0).empty());
  start(r, "a");
  start(r, "b");
  EXPECT_EQ(ready_members(r, 2), Ids{"c"});
  EXPECT_FALSE(members_done(r));
}

TEST(BatchRun, MatrixMembersAreAllReadyAtOnce) {
  BatchRecord r = loaded(plan_of(BatchType::kBuildMatrix, {member("build1"), member("build2")}));
  EXPECT_EQ(r.batch_type, "BUILD_MATRIX");
  EXPECT_EQ(ready_members(r), (Ids{"build1", "build2"}));
}

TEST(BatchRun, ListSucceedsWhenEveryMemberSucceeds) {
  BatchRecord r = loaded(plan_of(BatchType::kBuildList, {member("a"), member("b")}));
  start(r, "a", 120);
  start(r, "b", 121);
  EXPECT_TRUE(member_finished(r, "a", end_with("SUCCEEDED"), 130).empty());
  EXPECT_FALSE(members_done(r));
  EXPECT_TRUE(member_finished(r, "b", end_with("SUCCEEDED"), 140).empty());
  ASSERT_TRUE(members_done(r));
  EXPECT_FALSE(needs_combine(r));
  finish_batch(r, 141);
  EXPECT_EQ(phase_types(r), (Ids{"SUBMITTED", "DOWNLOAD_BATCHSPEC", "IN_PROGRESS", "SUCCEEDED"}));
  EXPECT_EQ(phase(r, BatchPhaseType::kInProgress).status, "SUCCEEDED");
  EXPECT_TRUE(phase(r, BatchPhaseType::kInProgress).contexts.empty());
  EXPECT_EQ(r.status, "SUCCEEDED");
  EXPECT_EQ(r.current_phase, BatchPhaseType::kSucceeded);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.end_time, 141);
  EXPECT_EQ(r.group("b")->current->requested_on, 121);
}

TEST(BatchRun, StatusStaysInProgressUntilTheBatchFinishes) {
  BatchRecord r = loaded(plan_of(BatchType::kBuildList, {member("a"), member("b")}));
  start(r, "a");
  start(r, "b");
  member_finished(r, "a", end_with("FAILED"), 130);
  EXPECT_EQ(r.status, "IN_PROGRESS");
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(r.ending, "FAILED");
  member_finished(r, "b", end_with("SUCCEEDED"), 131);
  finish_all(r, 132);
  EXPECT_EQ(r.status, "FAILED");
}

TEST(BatchRun, GraphDependantsWaitForTheirDependencies) {
  BatchRecord r = loaded(
      plan_of(BatchType::kBuildGraph, {member("a"), member("b", {"a"}), member("c", {"a", "b"})}));
  EXPECT_EQ(ready_members(r), Ids{"a"});
  start(r, "a");
  EXPECT_TRUE(ready_members(r).empty());
  EXPECT_FALSE(members_done(r));
  member_finished(r, "a", end_with("SUCCEEDED"), 130);
  EXPECT_EQ(ready_members(r), Ids{"b"});
  start(r, "b");
  member_finished(r, "b", end_with("SUCCEEDED"), 140);
  EXPECT_EQ(ready_members(r), Ids{"c"});
  start(r, "c");
  member_finished(r, "c", end_with("SUCCEEDED"), 150);
  finish_all(r, 151);
  EXPECT_EQ(r.status, "SUCCEEDED");
}

TEST(BatchRun, FailedDependencyStopsDependantsTransitivelyAndSaysWhy) {
  BatchRecord r = loaded(plan_of(
      BatchType::kBuildGraph, {member("a"), member("b", {"a"}), member("c", {"b"}), member("d")}));
  start(r, "a");
  start(r, "d");
  EXPECT_TRUE(member_finished(r, "a", end_with("FAILED"), 130).empty());
  EXPECT_EQ(r.group("b")->not_started, "its dependency a FAILED");
  EXPECT_EQ(r.group("c")->not_started, "its dependency b was not started");
  EXPECT_TRUE(r.group("d")->not_started.empty());
  EXPECT_TRUE(ready_members(r).empty());
  EXPECT_FALSE(members_done(r));  // d still runs
  member_finished(r, "d", end_with("SUCCEEDED"), 140);
  ASSERT_TRUE(members_done(r));
  EXPECT_FALSE(needs_combine(r));
  finish_batch(r, 141);
  EXPECT_EQ(r.status, "FAILED");
  EXPECT_EQ(r.current_phase, BatchPhaseType::kFailed);
  const BatchPhase& in_progress = phase(r, BatchPhaseType::kInProgress);
  EXPECT_EQ(in_progress.status, "CLIENT_ERROR");
  EXPECT_EQ(
      context_messages(in_progress),
      (Ids{"FAILED: Build a FAILED", "STOPPED: Build b was not started: its dependency a FAILED",
           "STOPPED: Build c was not started: its dependency b was not started"}));
  EXPECT_EQ(status_of(r, "b"), "<not started>");
}

TEST(BatchRun, TimedOutDependencyIsNamedWithItsStatus) {
  BatchRecord r = loaded(plan_of(BatchType::kBuildGraph, {member("a"), member("b", {"a"})}));
  start(r, "a");
  member_finished(r, "a", end_with("TIMED_OUT"), 130);
  EXPECT_EQ(r.group("b")->not_started, "its dependency a TIMED_OUT");
  EXPECT_EQ(r.phases.back().contexts.front().status_code, "TIMED_OUT");
}

TEST(BatchRun, IgnoreFailureLetsDependantsStartAndTheBatchSucceed) {
  BatchRecord r = loaded(plan_of(BatchType::kBuildGraph,
                                 {member("a", {}, true), member("b", {"a"})}, /*fast_fail=*/true));
  start(r, "a");
  EXPECT_TRUE(member_finished(r, "a", end_with("FAILED"), 130).empty());
  EXPECT_TRUE(r.ending.empty());
  EXPECT_EQ(ready_members(r), Ids{"b"});
  start(r, "b");
  member_finished(r, "b", end_with("SUCCEEDED"), 140);
  finish_all(r, 141);
  EXPECT_EQ(r.status, "SUCCEEDED");
  EXPECT_EQ(phase(r, BatchPhaseType::kInProgress).status, "SUCCEEDED");
  EXPECT_TRUE(phase(r, BatchPhaseType::kInProgress).contexts.empty());
  EXPECT_EQ(status_of(r, "a"), "FAILED");
}

TEST(BatchRun, IgnoreFailureInAListKeepsTheBatchAbleToSucceed) {
  BatchRecord r = loaded(plan_of(BatchType::kBuildList, {member("a", {}, true), member("b")}));
  start(r, "a");
  start(r, "b");
  member_finished(r, "a", end_with("FAULT"), 130);
  member_finished(r, "b", end_with("SUCCEEDED"), 131);
  finish_all(r, 132);
  EXPECT_EQ(r.status, "SUCCEEDED");
}

TEST(BatchRun, FastFailStopsRunningMembersAndStartsNoOther) {
  BatchRecord r = loaded(
      plan_of(BatchType::kBuildList, {member("a"), member("b"), member("c"), member("d")}, true));
  start(r, "a");
  start(r, "b");
  start(r, "c");  // d waits for a slot
  EXPECT_EQ(member_finished(r, "b", end_with("FAILED"), 130), (Ids{"a", "c"}));
  EXPECT_TRUE(ready_members(r).empty());
  EXPECT_EQ(r.group("d")->not_started, "fast-fail: build b FAILED");
  EXPECT_FALSE(members_done(r));
  // The builds it stopped end STOPPED: no new stops, no failure contexts for them.
  EXPECT_TRUE(member_finished(r, "a", end_with("STOPPED"), 131).empty());
  EXPECT_TRUE(member_finished(r, "c", end_with("STOPPED"), 132).empty());
  finish_all(r, 133);
  EXPECT_EQ(r.status, "FAILED");
  EXPECT_EQ(context_messages(phase(r, BatchPhaseType::kInProgress)),
            (Ids{"FAILED: Build b FAILED",
                 "STOPPED: Builds not started (fast-fail: build b FAILED): d"}));
}

TEST(BatchRun, FastFailInAGraphStopsIndependentBranchesToo) {
  BatchRecord r =
      loaded(plan_of(BatchType::kBuildGraph,
                     {member("a"), member("b"), member("c", {"b"}), member("d", {"a"})}, true));
  start(r, "a");
  start(r, "b");
  EXPECT_EQ(member_finished(r, "a", end_with("FAILED"), 130), Ids{"b"});
  EXPECT_EQ(r.group("d")->not_started, "its dependency a FAILED");
  EXPECT_EQ(r.group("c")->not_started, "fast-fail: build a FAILED");
  member_finished(r, "b", end_with("SUCCEEDED"), 131);  // finished before it could be stopped
  EXPECT_TRUE(ready_members(r).empty());
  finish_all(r, 132);
  EXPECT_EQ(r.status, "FAILED");
}

TEST(BatchRun, WithoutFastFailRunningMembersFinishAndUntouchedMembersStillStart) {
  BatchRecord r =
      loaded(plan_of(BatchType::kBuildGraph, {member("a"), member("b"), member("c", {"a"}),
                                              member("d", {"b"}), member("e")}));
  start(r, "a");
  start(r, "b");  // e waits for a slot
  EXPECT_TRUE(member_finished(r, "a", end_with("FAILED"), 130).empty());
  EXPECT_EQ(r.group("c")->not_started, "its dependency a FAILED");
  EXPECT_EQ(ready_members(r), Ids{"e"});
  start(r, "e");
  member_finished(r, "b", end_with("SUCCEEDED"), 131);
  EXPECT_EQ(ready_members(r), Ids{"d"});
  start(r, "d");
  member_finished(r, "d", end_with("SUCCEEDED"), 132);
  member_finished(r, "e", end_with("SUCCEEDED"), 133);
  finish_all(r, 134);
  EXPECT_EQ(r.status, "FAILED");
  EXPECT_EQ(status_of(r, "d"), "SUCCEEDED");
}

TEST(BatchRun, EverySecondFailureGetsItsContext) {
  BatchRecord r = loaded(plan_of(BatchType::kBuildList, {member("a"), member("b")}));
  start(r, "a");
  start(r, "b");
  member_finished(r, "a", end_with("FAILED"), 130);
  member_finished(r, "b", end_with("STOPPED"), 131);
  finish_all(r, 132);
  EXPECT_EQ(context_messages(phase(r, BatchPhaseType::kInProgress)),
            (Ids{"FAILED: Build a FAILED", "STOPPED: Build b STOPPED"}));
}

TEST(BatchRun, MemberFinishedTwiceChangesNothing) {
  BatchRecord r = loaded(plan_of(BatchType::kBuildList, {member("a"), member("b")}, true));
  start(r, "a");
  start(r, "b");
  EXPECT_EQ(member_finished(r, "a", end_with("FAILED"), 130), Ids{"b"});
  const auto contexts = phase(r, BatchPhaseType::kInProgress).contexts.size();
  EXPECT_TRUE(member_finished(r, "a", end_with("SUCCEEDED"), 131).empty());
  EXPECT_EQ(status_of(r, "a"), "FAILED");
  EXPECT_EQ(phase(r, BatchPhaseType::kInProgress).contexts.size(), contexts);
  // Unknown groups and groups never started are ignored too.
  EXPECT_TRUE(member_finished(r, "zzz", end_with("FAILED"), 131).empty());
}

TEST(BatchRun, MemberStartedTwiceWithTheSameBuildKeepsTheFirstTime) {
  BatchRecord r = loaded(plan_of(BatchType::kBuildList, {member("a")}));
  member_started(r, "a", "demo:x", "arn:x", 120);
  member_started(r, "a", "demo:x", "arn:x", 125);
  EXPECT_EQ(r.group("a")->current->requested_on, 120);
  EXPECT_EQ(r.group("a")->build_id, "demo:x");
  EXPECT_EQ(r.group("a")->current->arn, "arn:x");
  member_started(r, "nope", "demo:y", "arn:y", 125);  // ignored
}

TEST(BatchRun, AStatusThatIsNoEndCountsAsFault) {
  BatchRecord r = loaded(plan_of(BatchType::kBuildList, {member("a")}));
  start(r, "a");
  member_finished(r, "a", end_with("IN_PROGRESS"), 130);
  EXPECT_EQ(status_of(r, "a"), "FAULT");
  EXPECT_TRUE(members_done(r));
}

TEST(BatchRun, EndedMembersShowTheirArtifactsOrNoArtifacts) {
  BatchRecord r = loaded(plan_of(BatchType::kBuildList, {member("a"), member("b")}));
  start(r, "a");
  start(r, "b");
  MemberEnd with = end_with("SUCCEEDED");
  with.primary_artifact = {{"type", "s3"}, {"location", "arn:aws:s3:::bkt/a"}, {"identifier", "a"}};
  with.secondary_artifacts = json::array({{{"type", "s3"}, {"identifier", "a_x"}}});
  member_finished(r, "a", with, 130);
  member_finished(r, "b", end_with("SUCCEEDED"), 130);
  EXPECT_EQ(r.group("a")->current->primary_artifact, with.primary_artifact);
  EXPECT_EQ(r.group("a")->current->secondary_artifacts, with.secondary_artifacts);
  EXPECT_EQ(r.group("b")->current->primary_artifact,
            (json{{"type", "no_artifacts"}, {"identifier", "b"}}));
  EXPECT_EQ(r.group("b")->current->secondary_artifacts, json::array());
}

TEST(BatchRun, ReportArnsAreMergedInOrderWithoutDuplicates) {
  BatchRecord r = loaded(plan_of(BatchType::kBuildList, {member("a"), member("b")}));
  start(r, "a");
  start(r, "b");
  MemberEnd a = end_with("SUCCEEDED");
  a.report_arns = {"r1", "r2"};
  MemberEnd b = end_with("SUCCEEDED");
  b.report_arns = {"r2", "r3", "r1"};
  member_finished(r, "a", a, 130);
  member_finished(r, "b", b, 131);
  EXPECT_EQ(r.report_arns, (Ids{"r1", "r2", "r3"}));
}

TEST(BatchRun, StopBatchStopsRunningAndStartsNothingMore) {
  BatchRecord r =
      loaded(plan_of(BatchType::kBuildGraph, {member("a"), member("b"), member("c", {"a"})}));
  start(r, "a");
  EXPECT_EQ(stop_batch(r, "Batch stopped by StopBuildBatch", 125), Ids{"a"});
  EXPECT_TRUE(ready_members(r).empty());
  EXPECT_EQ(r.group("b")->not_started, "the batch was stopped");
  EXPECT_EQ(r.group("c")->not_started, "the batch was stopped");
  EXPECT_TRUE(stop_batch(r, "again", 126).empty());  // already stopping
  EXPECT_FALSE(members_done(r));
  EXPECT_TRUE(member_finished(r, "a", end_with("STOPPED"), 127).empty());
  ASSERT_TRUE(members_done(r));
  EXPECT_FALSE(needs_combine(r));
  finish_batch(r, 128);
  EXPECT_EQ(r.status, "STOPPED");
  EXPECT_EQ(r.current_phase, BatchPhaseType::kStopped);
  EXPECT_EQ(phase(r, BatchPhaseType::kInProgress).status, "STOPPED");
  EXPECT_EQ(context_messages(phase(r, BatchPhaseType::kInProgress)),
            (Ids{"STOPPED: Batch stopped by StopBuildBatch",
                 "STOPPED: Builds not started (the batch was stopped): b, c"}));
  EXPECT_TRUE(stop_batch(r, "late", 129).empty());  // complete
}

TEST(BatchRun, StopAfterAFailureEndsStopped) {
  BatchRecord r = loaded(plan_of(BatchType::kBuildList, {member("a"), member("b")}));
  start(r, "a");
  start(r, "b");
  member_finished(r, "a", end_with("FAILED"), 130);
  EXPECT_EQ(stop_batch(r, "stop", 131), Ids{"b"});
  member_finished(r, "b", end_with("STOPPED"), 132);
  finish_all(r, 133);
  EXPECT_EQ(r.status, "STOPPED");
}

TEST(BatchRun, TimeoutEndsTimedOut) {
  BatchRecord r = loaded(plan_of(BatchType::kBuildList, {member("a"), member("b")}));
  start(r, "a");
  EXPECT_EQ(stop_batch(r, "Batch timed out after 480 minutes", 200, /*timed_out=*/true), Ids{"a"});
  EXPECT_EQ(r.group("b")->not_started, "the batch timed out");
  member_finished(r, "a", end_with("STOPPED"), 201);
  finish_all(r, 202);
  EXPECT_EQ(r.status, "TIMED_OUT");
  EXPECT_EQ(r.current_phase, BatchPhaseType::kStopped);
  EXPECT_EQ(phase(r, BatchPhaseType::kInProgress).status, "TIMED_OUT");
  EXPECT_EQ(phase(r, BatchPhaseType::kInProgress).contexts.front().status_code, "TIMED_OUT");
}

TEST(BatchRun, StopDuringDownloadBatchspecEndsStopped) {
  BatchRecord r = downloading();
  EXPECT_EQ(stop_batch(r, "stopped", 102), Ids{"DOWNLOAD_SOURCE"});
  EXPECT_TRUE(ready_members(r).empty());
  member_finished(r, kDownloadSourceGroup, end_with("STOPPED"), 103);
  // The driver may still report the batchspec's failure: the batch stays STOPPED.
  batchspec_failed(r, "CLIENT_ERROR", "stopped while downloading", 104);
  EXPECT_EQ(r.status, "STOPPED");
  EXPECT_EQ(phase_types(r), (Ids{"SUBMITTED", "DOWNLOAD_BATCHSPEC", "STOPPED"}));
  EXPECT_EQ(r.phases[1].status, "STOPPED");
}

TEST(BatchRun, StopBeforeDownloadSourceStartedFinishesWithoutIt) {
  BatchRecord r;
  start_batch(r, 100);
  EXPECT_TRUE(stop_batch(r, "stopped", 101).empty());
  EXPECT_TRUE(ready_members(r).empty());
  ASSERT_TRUE(members_done(r));
  finish_batch(r, 102);
  EXPECT_EQ(r.status, "STOPPED");
  EXPECT_EQ(phase_types(r), (Ids{"SUBMITTED", "DOWNLOAD_BATCHSPEC", "STOPPED"}));
  EXPECT_EQ(r.phases[1].status, "STOPPED");
}

TEST(BatchRun, PlanLoadedWhileStoppingStartsNothing) {
  BatchRecord r = downloading();
  stop_batch(r, "stopped", 102);
  member_finished(r, kDownloadSourceGroup, end_with("SUCCEEDED"), 103);
  batchspec_loaded(r, plan_of(BatchType::kBuildList, {member("a")}), false, 103);
  EXPECT_TRUE(ready_members(r).empty());
  EXPECT_EQ(r.group("a")->not_started, "the batch was stopped");
  finish_all(r, 104);
  EXPECT_EQ(r.status, "STOPPED");
}

TEST(BatchRun, CombineArtifactsOnlyWhenCombiningAndNotFailed) {
  BatchRecord r = loaded(plan_of(BatchType::kBuildList, {member("a")}), /*combine=*/true);
  start(r, "a");
  member_finished(r, "a", end_with("SUCCEEDED"), 130);
  ASSERT_TRUE(members_done(r));
  ASSERT_TRUE(needs_combine(r));
  combine_started(r, 131);
  EXPECT_EQ(r.current_phase, BatchPhaseType::kCombineArtifacts);
  EXPECT_FALSE(needs_combine(r));
  finish_batch(r, 135);
  EXPECT_EQ(phase_types(r), (Ids{"SUBMITTED", "DOWNLOAD_BATCHSPEC", "IN_PROGRESS",
                                 "COMBINE_ARTIFACTS", "SUCCEEDED"}));
  EXPECT_EQ(phase(r, BatchPhaseType::kInProgress).end_time, 131);
  EXPECT_EQ(phase(r, BatchPhaseType::kCombineArtifacts).status, "SUCCEEDED");
  EXPECT_EQ(phase(r, BatchPhaseType::kCombineArtifacts).end_time, 135);
  EXPECT_EQ(r.status, "SUCCEEDED");

  BatchRecord failed = loaded(plan_of(BatchType::kBuildList, {member("a")}), true);
  start(failed, "a");
  member_finished(failed, "a", end_with("FAILED"), 130);
  EXPECT_FALSE(needs_combine(failed));
  finish_all(failed, 131);
  EXPECT_EQ(failed.status, "FAILED");
  EXPECT_EQ(phase_types(failed).size(), 4u);
}

TEST(BatchRun, CombineFailureFailsTheBatch) {
  BatchRecord r = loaded(plan_of(BatchType::kBuildList, {member("a")}), true);
  start(r, "a");
  member_finished(r, "a", end_with("SUCCEEDED"), 130);
  combine_started(r, 131);
  finish_batch(r, 132, BatchPhaseContext{"CLIENT_ERROR", "cannot write combined.zip"});
  EXPECT_EQ(r.status, "FAILED");
  EXPECT_EQ(r.current_phase, BatchPhaseType::kFailed);
  const BatchPhase& combine = phase(r, BatchPhaseType::kCombineArtifacts);
  EXPECT_EQ(combine.status, "FAILED");
  EXPECT_EQ(context_messages(combine), Ids{"CLIENT_ERROR: cannot write combined.zip"});
  EXPECT_EQ(phase(r, BatchPhaseType::kInProgress).status, "SUCCEEDED");
}

TEST(BatchRun, FinishBatchTwiceChangesNothing) {
  BatchRecord r = loaded(plan_of(BatchType::kBuildList, {member("a")}));
  start(r, "a");
  member_finished(r, "a", end_with("SUCCEEDED"), 130);
  finish_batch(r, 131);
  const auto phases = r.phases.size();
  finish_batch(r, 140);
  EXPECT_EQ(r.phases.size(), phases);
  EXPECT_EQ(r.end_time, 131);
}

TEST(BatchRun, DependencyOutsideThePlanIsReportedAtTheEnd) {
  BatchRecord r = loaded(plan_of(BatchType::kBuildGraph, {member("a", {"ghost"})}));
  EXPECT_TRUE(ready_members(r).empty());
  ASSERT_TRUE(members_done(r));
  finish_batch(r, 120);
  EXPECT_EQ(r.group("a")->not_started, "its dependencies never completed");
  EXPECT_EQ(r.status, "SUCCEEDED");  // nothing failed; the context says what never ran
  EXPECT_EQ(phase(r, BatchPhaseType::kInProgress).contexts.size(), 1u);
}

TEST(BatchRun, FailUnfinishedEndsEveryMemberWithAStatus) {
  BatchRecord r =
      loaded(plan_of(BatchType::kBuildGraph, {member("a"), member("b"), member("c", {"a"})}));
  start(r, "a");
  start(r, "b");
  member_finished(r, "b", end_with("SUCCEEDED"), 125);
  fail_unfinished(r, "The Kiln server stopped while the batch ran", 300);
  EXPECT_EQ(status_of(r, "a"), "FAILED");
  EXPECT_EQ(status_of(r, "b"), "SUCCEEDED");
  EXPECT_EQ(r.group("c")->not_started, "the batch ended unfinished");
  EXPECT_EQ(r.group("a")->current->primary_artifact,
            (json{{"type", "no_artifacts"}, {"identifier", "a"}}));
  EXPECT_EQ(r.status, "FAILED");
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.end_time, 300);
  EXPECT_EQ(r.current_phase, BatchPhaseType::kFailed);
  EXPECT_EQ(context_messages(phase(r, BatchPhaseType::kInProgress)),
            (Ids{"FAILED: The Kiln server stopped while the batch ran",
                 "STOPPED: Builds not started (the batch ended unfinished): c"}));
  EXPECT_TRUE(members_done(r));
  EXPECT_TRUE(ready_members(r).empty());
}

TEST(BatchRun, FailUnfinishedBeforeThePlan) {
  BatchRecord r;
  start_batch(r, 100);
  fail_unfinished(r, "server died", 200);
  EXPECT_EQ(r.group(kDownloadSourceGroup)->not_started, "the batch ended unfinished");
  EXPECT_EQ(phase_types(r), (Ids{"SUBMITTED", "DOWNLOAD_BATCHSPEC", "FAILED"}));
  EXPECT_EQ(r.phases[1].status, "FAILED");
  EXPECT_EQ(context_messages(r.phases[1]), Ids{"FAILED: server died"});
}

BatchRecord failed_graph() {
  BatchRecord r =
      loaded(plan_of(BatchType::kBuildGraph, {member("a"), member("b", {"a"}), member("c")}));
  start(r, "a");
  start(r, "c");
  member_finished(r, "a", end_with("FAILED"), 130);
  member_finished(r, "c", end_with("SUCCEEDED"), 131);
  finish_batch(r, 132);
  return r;
}

TEST(BatchRun, RetryFailedBuildsKeepsHistoryAndRunsOnlyTheFailed) {
  BatchRecord r = failed_graph();
  ASSERT_TRUE(retryable(r));
  retry_batch(r, RetryType::kFailedBuilds, 200);
  EXPECT_EQ(phase_types(r), (Ids{"SUBMITTED", "DOWNLOAD_BATCHSPEC", "IN_PROGRESS", "FAILED",
                                 "SUBMITTED", "IN_PROGRESS"}));
  EXPECT_EQ(r.phases[3].status, "RETRY");
  EXPECT_EQ(r.phases[3].end_time, 200);
  EXPECT_EQ(r.phases[4].status, "SUCCEEDED");
  EXPECT_FALSE(r.phases[5].end_time);
  EXPECT_EQ(r.status, "IN_PROGRESS");
  EXPECT_FALSE(r.complete);
  EXPECT_FALSE(r.end_time);
  EXPECT_EQ(r.start_time, 100);
  EXPECT_EQ(r.current_phase, BatchPhaseType::kInProgress);
  EXPECT_TRUE(r.ending.empty());
  // a (FAILED) moves to prior; b (never started) is pending again; c (SUCCEEDED) stays.
  const BuildGroup& a = *r.group("a");
  EXPECT_FALSE(a.current);
  ASSERT_EQ(a.prior.size(), 1u);
  EXPECT_EQ(a.prior[0].build_status, "FAILED");
  EXPECT_EQ(a.prior[0].arn, "arn:a");
  EXPECT_TRUE(a.build_id.empty());
  EXPECT_TRUE(r.group("b")->not_started.empty());
  EXPECT_TRUE(r.group("b")->prior.empty());
  EXPECT_EQ(status_of(r, "c"), "SUCCEEDED");
  EXPECT_EQ(status_of(r, kDownloadSourceGroup), "SUCCEEDED");
  EXPECT_EQ(ready_members(r), Ids{"a"});

  start(r, "a", 210);
  member_finished(r, "a", end_with("SUCCEEDED"), 220);
  EXPECT_EQ(ready_members(r), Ids{"b"});
  start(r, "b", 221);
  member_finished(r, "b", end_with("SUCCEEDED"), 230);
  finish_all(r, 231);
  EXPECT_EQ(r.status, "SUCCEEDED");
  EXPECT_EQ(r.current_phase, BatchPhaseType::kSucceeded);
  EXPECT_FALSE(retryable(r));
}

TEST(BatchRun, RetryAllBuildsRunsEveryMemberButNotDownloadSource) {
  BatchRecord r = failed_graph();
  retry_batch(r, RetryType::kAllBuilds, 200);
  EXPECT_EQ(r.group("c")->prior.size(), 1u);
  EXPECT_FALSE(r.group("c")->current);
  EXPECT_EQ(status_of(r, kDownloadSourceGroup), "SUCCEEDED");
  EXPECT_TRUE(r.group(kDownloadSourceGroup)->prior.empty());
  EXPECT_EQ(ready_members(r), (Ids{"a", "c"}));
}

TEST(BatchRun, RetryOnlyWhenCompleteAndNotSucceeded) {
  BatchRecord running = loaded(plan_of(BatchType::kBuildList, {member("a")}));
  EXPECT_FALSE(retryable(running));
  const auto phases = running.phases.size();
  retry_batch(running, RetryType::kAllBuilds, 200);
  EXPECT_EQ(running.phases.size(), phases);

  BatchRecord stopped = loaded(plan_of(BatchType::kBuildList, {member("a")}));
  stop_batch(stopped, "stop", 120);
  finish_batch(stopped, 121);
  EXPECT_TRUE(retryable(stopped));
  retry_batch(stopped, RetryType::kFailedBuilds, 200);
  EXPECT_EQ(ready_members(stopped), Ids{"a"});
}

TEST(BatchRun, RetryAfterBatchspecFailureReadsTheBatchspecAgain) {
  BatchRecord r = downloading();
  member_finished(r, kDownloadSourceGroup, end_with("FAILED"), 110);
  batchspec_failed(r, "CLIENT_ERROR", "no source", 110);
  retry_batch(r, RetryType::kFailedBuilds, 200);
  EXPECT_EQ(r.current_phase, BatchPhaseType::kDownloadBatchspec);
  EXPECT_EQ(phase_types(r).back(), "DOWNLOAD_BATCHSPEC");
  EXPECT_EQ(r.group(kDownloadSourceGroup)->prior.size(), 1u);
  EXPECT_FALSE(r.group(kDownloadSourceGroup)->current);  // the driver starts it again
  EXPECT_TRUE(ready_members(r).empty());
  EXPECT_FALSE(members_done(r));
  member_started(r, kDownloadSourceGroup, "demo:d2", "arn:d2", 201);
  member_finished(r, kDownloadSourceGroup, end_with("SUCCEEDED"), 210);
  batchspec_loaded(r, plan_of(BatchType::kBuildList, {member("a")}), false, 210);
  EXPECT_EQ(ready_members(r), Ids{"a"});
}

TEST(BatchRun, RetryKeepsReportArns) {
  BatchRecord r = loaded(plan_of(BatchType::kBuildList, {member("a")}));
  start(r, "a");
  MemberEnd e = end_with("FAILED");
  e.report_arns = {"r1"};
  member_finished(r, "a", e, 130);
  finish_batch(r, 131);
  retry_batch(r, RetryType::kFailedBuilds, 200);
  EXPECT_EQ(r.report_arns, Ids{"r1"});
}

TEST(BatchRun, LargeMatrixWithLimitReleasesGradually) {
  std::vector<Member> members;
  for (int i = 1; i <= 200; ++i) members.push_back(member("build" + std::to_string(i)));
  BatchRecord r = loaded(plan_of(BatchType::kBuildMatrix, members));
  double now = 120;
  std::size_t started = 0;
  while (!members_done(r)) {
    for (const auto& id : ready_members(r, 2)) {
      start(r, id, now);
      ++started;
    }
    for (auto& g : r.groups)
      if (g.current && g.current->build_status == "IN_PROGRESS")
        member_finished(r, g.identifier, end_with("SUCCEEDED"), now += 1);
  }
  finish_batch(r, now);
  EXPECT_EQ(started, 200u);
  EXPECT_EQ(r.status, "SUCCEEDED");
}

}  // namespace
}  // namespace kiln::batch
