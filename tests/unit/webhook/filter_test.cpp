// Filter groups (docs/reference/codebuild-semantics.md §9.1, §9.2): matching, one matching and
// one non-matching case per filter type with its exclude variant, and every refusal of
// filter_groups_from_json with its exact text. Choices are in docs/webhooks.md "Filter groups".
#include "webhook/filter.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "webhook/delivery.h"

namespace kiln::webhook {
namespace {

using json = nlohmann::json;

Event push(std::string ref = "refs/heads/main") {
  Event e;
  e.type = "PUSH";
  e.head_ref = std::move(ref);
  e.actor_account_id = "88621008";
  e.commit = "1111111111111111111111111111111111111111";
  e.prev_commit = "2222222222222222222222222222222222222222";
  e.commit_message = "Fix the parser [CodeBuild]";
  e.changed_files = {"src/main.cpp", "README.md"};
  e.repository_name = "Hello-World";
  e.organization_name = "Codertocat-org";
  return e;
}

Event pull_request(std::string type = "PULL_REQUEST_CREATED") {
  Event e;
  e.type = std::move(type);
  e.head_ref = "refs/heads/feature";
  e.base_ref = "refs/heads/main";
  e.actor_account_id = "21031067";
  e.pull_request = 2;
  e.commit = "3333333333333333333333333333333333333333";
  e.files_complete = false;  // a pull request's payload lists no files
  return e;
}

Event release(std::string type = "RELEASED") {
  Event e;
  e.type = std::move(type);
  e.tag_name = "0.0.1";
  e.release_name = "First release";
  e.head_ref = "refs/tags/0.0.1";
  e.files_complete = false;
  return e;
}

Event workflow_job() {
  Event e;
  e.type = "WORKFLOW_JOB_QUEUED";
  e.workflow_name = "CI";
  e.repository_name = "Hello-World";
  return e;
}

FilterSet compile(const json& groups, const std::string& branch_filter = "") {
  auto parsed = filter_groups_from_json(groups);
  EXPECT_TRUE(parsed) << parsed.error().describe();
  auto set = FilterSet::compile(parsed.value_or(std::vector<FilterGroup>{}), branch_filter);
  EXPECT_TRUE(set) << set.error().describe();
  return std::move(*set);
}

// One group: EVENT `events` AND a `type` filter on `pattern`.
FilterSet one(const std::string& events, const std::string& type, const std::string& pattern,
              bool exclude = false) {
  return compile(json::array(
      {json::array({{{"type", "EVENT"}, {"pattern", events}},
                    {{"type", type}, {"pattern", pattern}, {"excludeMatchedPattern", exclude}}})}));
}

std::string refusal(const json& groups) {
  auto r = filter_groups_from_json(groups);
  if (r) return "accepted";
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  return r.error().message();
}

TEST(WebhookFilter, EventListWithSpaces) {
  const FilterSet set = compile(json::parse(
      R"([[{"type": "EVENT", "pattern": "PUSH, PULL_REQUEST_CREATED ,PULL_REQUEST_UPDATED"}]])"));
  EXPECT_TRUE(set.matches(push()));
  EXPECT_TRUE(set.matches(pull_request("PULL_REQUEST_CREATED")));
  EXPECT_TRUE(set.matches(pull_request("PULL_REQUEST_UPDATED")));
  EXPECT_FALSE(set.matches(pull_request("PULL_REQUEST_MERGED")));
  EXPECT_FALSE(set.matches(release()));
}

TEST(WebhookFilter, EventExcluded) {
  const FilterSet set = compile(
      json::parse(R"([[{"type": "EVENT", "pattern": "PUSH", "excludeMatchedPattern": true}]])"));
  EXPECT_FALSE(set.matches(push()));
  EXPECT_TRUE(set.matches(pull_request()));
}

TEST(WebhookFilter, IgnoredEventNeverMatches) {
  const FilterSet set = compile(
      json::parse(R"([[{"type": "EVENT", "pattern": "PUSH", "excludeMatchedPattern": true}]])"));
  Event ping;
  ping.ignored = "ping";
  EXPECT_FALSE(set.matches(ping));
  EXPECT_FALSE(FilterSet::compile({})->matches(ping));
}

TEST(WebhookFilter, ActorAccountId) {
  EXPECT_TRUE(one("PUSH", "ACTOR_ACCOUNT_ID", "^88621008$").matches(push()));
  EXPECT_FALSE(one("PUSH", "ACTOR_ACCOUNT_ID", "^12345$").matches(push()));
  EXPECT_FALSE(one("PUSH", "ACTOR_ACCOUNT_ID", "^88621008$", true).matches(push()));
  EXPECT_TRUE(one("PUSH", "ACTOR_ACCOUNT_ID", "^12345$", true).matches(push()));
  // An actor kiln could not read (an old GitLab payload) matches no allow-list.
  Event anonymous = push();
  anonymous.actor_account_id.clear();
  EXPECT_FALSE(one("PUSH", "ACTOR_ACCOUNT_ID", ".*").matches(anonymous));
}

TEST(WebhookFilter, HeadRefPartialMatch) {
  EXPECT_TRUE(one("PUSH", "HEAD_REF", "^refs/heads/main$").matches(push()));
  EXPECT_TRUE(one("PUSH", "HEAD_REF", "heads/ma").matches(push()));  // PartialMatch
  EXPECT_FALSE(one("PUSH", "HEAD_REF", "^refs/heads/dev$").matches(push()));
  // "Build every push except tags" (the user guide's exclude example).
  const FilterSet not_tags = one("PUSH", "HEAD_REF", "^refs/tags/.*", true);
  EXPECT_TRUE(not_tags.matches(push("refs/heads/main")));
  EXPECT_FALSE(not_tags.matches(push("refs/tags/v1.0")));
}

TEST(WebhookFilter, BaseRefOnlyOnPullRequests) {
  const char* all = "PUSH, PULL_REQUEST_CREATED";
  EXPECT_TRUE(one(all, "BASE_REF", "^refs/heads/main$").matches(pull_request()));
  EXPECT_FALSE(one(all, "BASE_REF", "^refs/heads/dev$").matches(pull_request()));
  EXPECT_FALSE(one(all, "BASE_REF", "^refs/heads/main$", true).matches(pull_request()));
  EXPECT_TRUE(one(all, "BASE_REF", "^refs/heads/dev$", true).matches(pull_request()));
  // A push has no base: even a pattern matching the empty string does not match it, and an
  // exclude filter on it passes.
  EXPECT_FALSE(one(all, "BASE_REF", ".*").matches(push()));
  EXPECT_TRUE(one(all, "BASE_REF", ".*", true).matches(push()));
}

TEST(WebhookFilter, FilePathAnyChangedFile) {
  EXPECT_TRUE(one("PUSH", "FILE_PATH", "^src/").matches(push()));
  EXPECT_FALSE(one("PUSH", "FILE_PATH", "^docs/").matches(push()));
}

TEST(WebhookFilter, FilePathExcludePassesWhenNoFileMatches) {
  // The best practice of webhooks.html: no build for a change to the buildspec.
  const FilterSet no_buildspec = one("PUSH", "FILE_PATH", "^buildspec.yml$", true);
  EXPECT_TRUE(no_buildspec.matches(push()));
  Event touches = push();
  touches.changed_files.push_back("buildspec.yml");
  EXPECT_FALSE(no_buildspec.matches(touches));
  // One matching file among others is enough to exclude the event.
  EXPECT_FALSE(one("PUSH", "FILE_PATH", "^README", true).matches(push()));
}

TEST(WebhookFilter, FilePathIncompleteListCountsAsMatch) {
  Event cut = push();
  cut.files_complete = false;  // more commits than the payload listed
  EXPECT_TRUE(one("PUSH", "FILE_PATH", "^docs/").matches(cut));
  EXPECT_FALSE(one("PUSH", "FILE_PATH", "^buildspec.yml$", true).matches(cut));
  const char* prs = "PULL_REQUEST_CREATED";
  EXPECT_TRUE(one(prs, "FILE_PATH", "^docs/").matches(pull_request()));
  EXPECT_FALSE(one(prs, "FILE_PATH", "^buildspec.yml$", true).matches(pull_request()));
}

TEST(WebhookFilter, FilePathDoesNotApplyToReleases) {
  const char* rel = "RELEASED";
  EXPECT_FALSE(one(rel, "FILE_PATH", ".*").matches(release()));
  EXPECT_TRUE(one(rel, "FILE_PATH", ".*", true).matches(release()));
}

TEST(WebhookFilter, CommitMessage) {
  EXPECT_TRUE(one("PUSH", "COMMIT_MESSAGE", "\\[CodeBuild\\]").matches(push()));
  EXPECT_FALSE(one("PUSH", "COMMIT_MESSAGE", "\\[skip ci\\]").matches(push()));
  EXPECT_TRUE(one("PUSH", "COMMIT_MESSAGE", "\\[skip ci\\]", true).matches(push()));
  EXPECT_FALSE(one("PUSH", "COMMIT_MESSAGE", "\\[CodeBuild\\]", true).matches(push()));
}

TEST(WebhookFilter, TagNameAndReleaseNameOnReleases) {
  const char* rel = "RELEASED, PRERELEASED, PUSH";
  EXPECT_TRUE(one(rel, "TAG_NAME", "^0\\.0\\.").matches(release()));
  EXPECT_FALSE(one(rel, "TAG_NAME", "^1\\.").matches(release()));
  EXPECT_TRUE(one(rel, "TAG_NAME", "^1\\.", true).matches(release("PRERELEASED")));
  EXPECT_FALSE(one(rel, "TAG_NAME", "^0\\.", true).matches(release()));
  // A tag push is a PUSH (§9.3): it has a HEAD_REF, no TAG_NAME.
  EXPECT_FALSE(one(rel, "TAG_NAME", ".*").matches(push("refs/tags/0.0.1")));
  EXPECT_TRUE(one(rel, "RELEASE_NAME", "^First").matches(release()));
  EXPECT_FALSE(one(rel, "RELEASE_NAME", "^Second").matches(release()));
  EXPECT_FALSE(one(rel, "RELEASE_NAME", "^First", true).matches(release()));
  EXPECT_TRUE(one(rel, "RELEASE_NAME", "^Second", true).matches(release()));
}

TEST(WebhookFilter, WorkflowRepositoryOrganization) {
  const char* ev = "WORKFLOW_JOB_QUEUED, PUSH";
  EXPECT_TRUE(one(ev, "WORKFLOW_NAME", "^CI$").matches(workflow_job()));
  EXPECT_FALSE(one(ev, "WORKFLOW_NAME", "^Deploy$").matches(workflow_job()));
  EXPECT_TRUE(one(ev, "WORKFLOW_NAME", "^Deploy$", true).matches(workflow_job()));
  EXPECT_FALSE(one(ev, "WORKFLOW_NAME", ".*").matches(push()));
  EXPECT_TRUE(one(ev, "REPOSITORY_NAME", "^Hello-World$").matches(push()));
  EXPECT_FALSE(one(ev, "REPOSITORY_NAME", "^Other$").matches(push()));
  EXPECT_FALSE(one(ev, "REPOSITORY_NAME", "^Hello", true).matches(workflow_job()));
  EXPECT_TRUE(one(ev, "ORGANIZATION_NAME", "^Codertocat").matches(push()));
  EXPECT_FALSE(one(ev, "ORGANIZATION_NAME", "^Codertocat").matches(workflow_job()));
  EXPECT_TRUE(one(ev, "ORGANIZATION_NAME", "^Codertocat", true).matches(workflow_job()));
}

// The user guide's two-group example: PRs from myBranch into main, or pushes to myBranch.
TEST(WebhookFilter, AndWithinGroupOrAcross) {
  const FilterSet set = compile(json::parse(R"([
    [{"type": "EVENT", "pattern": "PULL_REQUEST_CREATED, PULL_REQUEST_UPDATED"},
     {"type": "HEAD_REF", "pattern": "^refs/heads/feature$"},
     {"type": "BASE_REF", "pattern": "^refs/heads/main$"}],
    [{"type": "EVENT", "pattern": "PUSH"},
     {"type": "HEAD_REF", "pattern": "^refs/heads/feature$"}]])"));
  EXPECT_TRUE(set.matches(pull_request()));
  EXPECT_TRUE(set.matches(push("refs/heads/feature")));
  EXPECT_FALSE(set.matches(push("refs/heads/main")));
  Event into_dev = pull_request();
  into_dev.base_ref = "refs/heads/dev";
  EXPECT_FALSE(set.matches(into_dev));  // the first group's BASE_REF fails, the second's EVENT
}

TEST(WebhookFilter, NoGroupsBuildsPushesAndOpenPullRequests) {
  const auto set = FilterSet::compile({});
  ASSERT_TRUE(set);
  EXPECT_TRUE(set->matches(push()));
  EXPECT_TRUE(set->matches(pull_request("PULL_REQUEST_CREATED")));
  EXPECT_TRUE(set->matches(pull_request("PULL_REQUEST_UPDATED")));
  EXPECT_TRUE(set->matches(pull_request("PULL_REQUEST_REOPENED")));
  EXPECT_FALSE(set->matches(pull_request("PULL_REQUEST_MERGED")));
  EXPECT_FALSE(set->matches(pull_request("PULL_REQUEST_CLOSED")));
  EXPECT_FALSE(set->matches(release()));
  EXPECT_FALSE(set->matches(workflow_job()));
}

TEST(WebhookFilter, LegacyBranchFilterMatchesTheBranchName) {
  const auto set = FilterSet::compile({}, "^main$");
  ASSERT_TRUE(set);
  EXPECT_TRUE(set->matches(push("refs/heads/main")));
  EXPECT_FALSE(set->matches(push("refs/heads/maintenance")));
  EXPECT_FALSE(set->matches(pull_request()));  // its head is refs/heads/feature
  // With filter groups the groups decide and branchFilter is not consulted.
  auto groups = filter_groups_from_json(json::parse(R"([[{"type":"EVENT","pattern":"PUSH"}]])"));
  ASSERT_TRUE(groups);
  const auto with_groups = FilterSet::compile(*groups, "^main$");
  ASSERT_TRUE(with_groups);
  EXPECT_TRUE(with_groups->matches(push("refs/heads/dev")));
  const auto bad = FilterSet::compile({}, "a)");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(),
            "branchFilter: not a valid RE2 regular expression: unexpected ): a)");
}

TEST(WebhookFilter, RoundTripsThroughJson) {
  const json in = json::parse(R"([[{"type":"EVENT","pattern":"PUSH"},
    {"type":"FILE_PATH","pattern":"^docs/","excludeMatchedPattern":true}],
    [{"type":"EVENT","pattern":"RELEASED"}]])");
  auto groups = filter_groups_from_json(in);
  ASSERT_TRUE(groups);
  EXPECT_EQ(filter_groups_to_json(*groups), json::parse(R"([[
    {"type":"EVENT","pattern":"PUSH","excludeMatchedPattern":false},
    {"type":"FILE_PATH","pattern":"^docs/","excludeMatchedPattern":true}],
    [{"type":"EVENT","pattern":"RELEASED","excludeMatchedPattern":false}]])"));
  EXPECT_EQ(filter_groups_to_json({}), json::array());
}

TEST(WebhookFilterValidation, Shapes) {
  EXPECT_EQ(refusal(json::object()), "filterGroups: expected a list of filter groups");
  EXPECT_EQ(refusal(json::parse(R"([{"type":"EVENT"}])")),
            "filterGroups[0]: expected a list of filters");
  EXPECT_EQ(refusal(json::parse(R"([["PUSH"]])")),
            "filterGroups[0][0]: expected an object {type, pattern, excludeMatchedPattern}");
  EXPECT_EQ(refusal(json::parse(R"([[{"pattern":"PUSH"}]])")), "filterGroups[0][0].type: missing");
  EXPECT_EQ(refusal(json::parse(R"([[{"type":1,"pattern":"PUSH"}]])")),
            "filterGroups[0][0].type: expected a string");
  EXPECT_EQ(refusal(json::parse(R"([[{"type":"EVENT"}]])")), "filterGroups[0][0].pattern: missing");
  EXPECT_EQ(refusal(json::parse(R"([[{"type":"EVENT","pattern":["PUSH"]}]])")),
            "filterGroups[0][0].pattern: expected a string");
  EXPECT_EQ(
      refusal(json::parse(R"([[{"type":"EVENT","pattern":"PUSH","excludeMatchedPattern":"no"}]])")),
      "filterGroups[0][0].excludeMatchedPattern: expected a boolean");
  EXPECT_EQ(refusal(json::array()), "accepted");  // no groups: the default (all pushes, PRs)
}

TEST(WebhookFilterValidation, TypesEventsAndGroups) {
  EXPECT_EQ(refusal(json::parse(R"([[{"type":"EVENT","pattern":"PUSH"},
                                     {"type":"BRANCH","pattern":"x"}]])")),
            "filterGroups[0][1].type: unknown filter type 'BRANCH'; valid types: EVENT, "
            "ACTOR_ACCOUNT_ID, HEAD_REF, BASE_REF, FILE_PATH, COMMIT_MESSAGE, TAG_NAME, "
            "RELEASE_NAME, REPOSITORY_NAME, ORGANIZATION_NAME, WORKFLOW_NAME");
  const std::string valid_events =
      "; valid events: PUSH, PULL_REQUEST_CREATED, PULL_REQUEST_UPDATED, PULL_REQUEST_REOPENED, "
      "PULL_REQUEST_MERGED, PULL_REQUEST_CLOSED, RELEASED, PRERELEASED, WORKFLOW_JOB_QUEUED";
  EXPECT_EQ(refusal(json::parse(R"([[{"type":"EVENT","pattern":"PUSH, PULL_REQUEST_OPENED"}]])")),
            "filterGroups[0][0].pattern: unknown event 'PULL_REQUEST_OPENED'" + valid_events);
  EXPECT_EQ(refusal(json::parse(R"([[{"type":"EVENT","pattern":"push"}]])")),
            "filterGroups[0][0].pattern: unknown event 'push'" + valid_events);
  EXPECT_EQ(refusal(json::parse(R"([[{"type":"EVENT","pattern":"PUSH,"}]])")),
            "filterGroups[0][0].pattern: unknown event ''" + valid_events);
  EXPECT_EQ(refusal(json::parse(R"([[{"type":"EVENT","pattern":"PUSH"}],
                                    [{"type":"HEAD_REF","pattern":"^refs/heads/main$"}]])")),
            "filterGroups[1]: a filter group must contain a filter of type EVENT");
  EXPECT_EQ(refusal(json::parse("[[]]")),
            "filterGroups[0]: a filter group must contain a filter of type EVENT");
}

TEST(WebhookFilterValidation, PatternsRe2Refuses) {
  auto with = [](const std::string& pattern) {
    return refusal(json::array({json::array({{{"type", "EVENT"}, {"pattern", "PUSH"}},
                                             {{"type", "HEAD_REF"}, {"pattern", pattern}}})}));
  };
  EXPECT_EQ(with("(?=x)"),
            "filterGroups[0][1].pattern: not a valid RE2 regular expression: invalid perl "
            "operator: (?=");
  EXPECT_EQ(with("a)"),
            "filterGroups[0][1].pattern: not a valid RE2 regular expression: unexpected ): a)");
  EXPECT_EQ(with("(a"),
            "filterGroups[0][1].pattern: not a valid RE2 regular expression: missing ): (a");
  EXPECT_EQ(with("(a)\\1"),
            "filterGroups[0][1].pattern: not a valid RE2 regular expression: invalid escape "
            "sequence: \\1");
  // Within the length limit but beyond the memory one.
  EXPECT_EQ(with("\\pL{1000}"),
            "filterGroups[0][1].pattern: not a valid RE2 regular expression: pattern too large - "
            "compile failed");
  EXPECT_EQ(with(""), "accepted");  // an empty pattern matches every value
}

TEST(WebhookFilterValidation, Limits) {
  const json event = {{"type", "EVENT"}, {"pattern", "PUSH"}};
  json groups = json::array();
  for (int i = 0; i < 20; ++i) groups.push_back(json::array({event}));
  EXPECT_EQ(refusal(groups), "accepted");
  groups.push_back(json::array({event}));
  EXPECT_EQ(refusal(groups), "filterGroups: at most 20 filter groups are allowed, got 21");

  json group = json::array();
  for (int i = 0; i < 21; ++i) group.push_back(event);
  EXPECT_EQ(refusal(json::array({group})),
            "filterGroups[0]: at most 20 filters are allowed in a group, got 21");

  const json long_pattern = {{"type", "FILE_PATH"}, {"pattern", std::string(4097, 'a')}};
  EXPECT_EQ(refusal(json::array({json::array({event, long_pattern})})),
            "filterGroups[0][1].pattern: longer than 4096 bytes");
  const json longest = {{"type", "FILE_PATH"}, {"pattern", std::string(4096, 'a')}};
  EXPECT_EQ(refusal(json::array({json::array({event, longest})})), "accepted");
}

TEST(WebhookFilterValidation, CompileValidatesStoredGroupsToo) {
  const std::vector<FilterGroup> stored = {
      {{"EVENT", "PUSH", false}, {"HEAD_REF", "(?<n>x)", false}}};
  const auto set = FilterSet::compile(stored);
  ASSERT_FALSE(set);
  EXPECT_EQ(set.error().message(),
            "filterGroups[0][1].pattern: not a valid RE2 regular expression: invalid perl "
            "operator: (?<");
  EXPECT_FALSE(FilterSet::compile({{{"HEAD_REF", "x", false}}}));
}

// Real deliveries (tests/corpus/webhooks), parsed by webhook/delivery.h, through the filters.
Event delivered(const std::string& file, const std::string& event_header) {
  namespace fs = std::filesystem;
  const fs::path path = fs::path(__FILE__).parent_path().parent_path().parent_path().parent_path() /
                        "tests" / "corpus" / "webhooks" / "github" / file;
  std::ifstream in(path, std::ios::binary);
  const std::string body{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  auto e = parse_delivery({{"x-github-event", event_header}}, body);
  EXPECT_TRUE(e) << e.error().describe();
  return e.value_or(Event{});
}

TEST(WebhookFilter, CorpusDeliveries) {
  const Event pushed = delivered("push-branch.json", "push");
  EXPECT_TRUE(one("PUSH", "HEAD_REF", "^refs/heads/master$").matches(pushed));
  EXPECT_FALSE(one("PUSH", "HEAD_REF", "^refs/heads/main$").matches(pushed));
  EXPECT_TRUE(one("PUSH", "ACTOR_ACCOUNT_ID", "^613331$").matches(pushed));
  EXPECT_TRUE(one("PUSH", "FILE_PATH", "^GitHub_WebHook\\.php$").matches(pushed));
  EXPECT_FALSE(one("PUSH", "FILE_PATH", "^src/").matches(pushed));
  EXPECT_FALSE(one("PUSH", "FILE_PATH", "^tests/", true).matches(pushed));
  EXPECT_TRUE(one("PUSH", "COMMIT_MESSAGE", "^Add event tests").matches(pushed));

  const Event opened = delivered("pull_request-opened.json", "pull_request");
  const char* prs = "PULL_REQUEST_CREATED";
  EXPECT_TRUE(one(prs, "BASE_REF", "^refs/heads/master$").matches(opened));
  EXPECT_TRUE(one(prs, "HEAD_REF", "^refs/heads/changes$").matches(opened));
  EXPECT_FALSE(one("PUSH", "HEAD_REF", "^refs/heads/changes$").matches(opened));
  EXPECT_FALSE(one(prs, "ACTOR_ACCOUNT_ID", "^21031067$", true).matches(opened));
}

}  // namespace
}  // namespace kiln::webhook
