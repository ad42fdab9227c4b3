// parse_delivery on what a provider does not send, or sends rarely: missing and empty event
// headers, bodies that are not a JSON object, hostile nesting, missing fields and wrong types
// (each error names the field), and GitHub's form-encoded deliveries.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "webhook/delivery.h"
#include "webhook/delivery_corpus.h"

namespace kiln::webhook {
namespace {

using namespace test;  // NOLINT(google-build-using-namespace)

TEST(DeliveryHeaders, ProviderFromEventHeader) {
  EXPECT_EQ(detect_provider({{"x-github-event", "push"}}).value(), Provider::kGitHub);
  // GitHub Enterprise Server: the same headers plus its host.
  EXPECT_EQ(
      detect_provider({{"x-github-event", "push"}, {"x-github-enterprise-host", "ghe.example"}})
          .value(),
      Provider::kGitHub);
  EXPECT_EQ(detect_provider({{"x-gitlab-event", "Push Hook"}}).value(), Provider::kGitLab);
  EXPECT_EQ(detect_provider({{"x-event-key", "repo:push"}}).value(), Provider::kBitbucket);
  for (const Headers& h :
       {Headers{}, Headers{{"user-agent", "GitHub-Hookshot/1"}}, Headers{{"x-github-event", ""}}}) {
    auto p = detect_provider(h);
    ASSERT_FALSE(p.has_value());
    EXPECT_EQ(p.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(p.error().message(), "no X-GitHub-Event, X-Gitlab-Event or X-Event-Key header");
    auto e = parse_delivery(h, body_of("github/push-branch.json"));
    ASSERT_FALSE(e.has_value());
    EXPECT_EQ(e.error().code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_STREQ(provider_name(Provider::kGitHub), "GITHUB");
  EXPECT_STREQ(provider_name(Provider::kGitLab), "GITLAB");
  EXPECT_STREQ(provider_name(Provider::kBitbucket), "BITBUCKET");
}

TEST(DeliveryErrors, BodiesThatAreNotAnObject) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"ref": )", "not valid JSON"},         {"", "not valid JSON"},
      {"{\"ref\": \"\xff\"}", "not valid JSON"},  // not UTF-8
      {"[1, 2]", "expected a JSON object"},      {R"("push")", "expected a JSON object"},
      {"null", "expected a JSON object"}};
  for (const auto& [body, message] : cases) {
    auto e = parse_delivery({{"x-github-event", "push"}}, body);
    ASSERT_FALSE(e.has_value()) << body;
    EXPECT_EQ(e.error().code(), ErrorCode::kParse) << body;
    EXPECT_EQ(e.error().message(), message) << body;
  }
}

TEST(DeliveryErrors, DeepNestingIsRefusedBeforeParsing) {
  for (const std::string& body : {std::string(100000, '['), "{\"a\":" + std::string(100000, '['),
                                  std::string(65, '[') + std::string(65, ']')}) {
    auto e = parse_delivery({{"x-github-event", "push"}}, body);
    ASSERT_FALSE(e.has_value());
    EXPECT_EQ(e.error().code(), ErrorCode::kParse);
    EXPECT_EQ(e.error().message(), "JSON nested deeper than 64 levels");
  }
  // 64 levels are accepted, and brackets inside strings do not count.
  std::string nested = std::string(63, '[') + std::string(63, ']');
  auto e = parse_delivery({{"x-gitlab-event", "Note Hook"}},
                          R"({"x":)" + nested + R"(,"s":")" + std::string(1000, '[') + R"(\""})");
  ASSERT_TRUE(e.has_value()) << e.error().describe();
}

TEST(DeliveryErrors, MissingFieldsAreNamed) {
  auto erase = [](const char* key) { return [key](json& j) { j.erase(key); }; };
  EXPECT_EQ(parse_error("github/pull_request-opened.json", "pull_request",
                        [](json& j) { j["pull_request"].erase("number"); }),
            "pull_request.number: missing");
  EXPECT_EQ(parse_error("github/pull_request-opened.json", "pull_request",
                        [](json& j) { j["pull_request"]["head"].erase("sha"); }),
            "pull_request.head.sha: missing");
  EXPECT_EQ(parse_error("github/push-branch.json", "push", erase("after")), "after: missing");
  EXPECT_EQ(parse_error("github/release-prereleased.json", "release",
                        [](json& j) { j["release"]["tag_name"] = nullptr; }),
            "release.tag_name: missing");
  EXPECT_EQ(parse_error("gitlab/merge_request-merge.json", "Merge Request Hook",
                        [](json& j) { j["object_attributes"].erase("iid"); }),
            "object_attributes.iid: missing");
  EXPECT_EQ(parse_error("bitbucket/repo-push.json", "repo:push",
                        [](json& j) { j["push"]["changes"][0]["new"]["target"].erase("hash"); }),
            "push.changes[0].new.target.hash: missing");
  EXPECT_EQ(parse_error("bitbucket/pullrequest-created.json", "pullrequest:created",
                        [](json& j) { j["pullrequest"]["destination"].erase("branch"); }),
            "pullrequest.destination.branch: missing");
}

TEST(DeliveryErrors, WrongTypesAreNamed) {
  EXPECT_EQ(parse_error("github/push-branch.json", "push", [](json& j) { j["ref"] = 5; }),
            "ref: expected a string");
  EXPECT_EQ(
      parse_error("github/push-branch.json", "push", [](json& j) { j["sender"]["id"] = "613331"; }),
      "sender.id: expected a number");
  EXPECT_EQ(parse_error("github/push-branch.json", "push",
                        [](json& j) { j["commits"][0]["added"][1] = 3; }),
            "commits[0].added[1]: expected a string");
  EXPECT_EQ(parse_error("github/push-branch.json", "push", [](json& j) { j["commits"] = "x"; }),
            "commits: expected an array");
  EXPECT_EQ(parse_error("github/pull_request-opened.json", "pull_request",
                        [](json& j) { j["pull_request"]["number"] = "2"; }),
            "pull_request.number: expected a number");
  EXPECT_EQ(parse_error("github/pull_request-opened.json", "pull_request",
                        [](json& j) { j["pull_request"]["number"] = 2.5; }),
            "pull_request.number: expected a whole number in range");
  EXPECT_EQ(parse_error("gitlab/push.json", "Push Hook", [](json& j) { j["user_id"] = "4"; }),
            "user_id: expected a number");
  EXPECT_EQ(parse_error("bitbucket/repo-push.json", "repo:push",
                        [](json& j) { j["push"]["changes"][0] = 1; }),
            "push.changes[0]: expected an object");
}

TEST(DeliveryGitHub, FormEncodedPayload) {
  const std::string body = R"({"ref":"refs/heads/a b","before":"1","after":"2","x":"%&+"})";
  std::string form = "payload=";
  for (const char c : body) {
    if (c == ' ') {
      form += '+';
    } else if (std::isalnum(static_cast<unsigned char>(c))) {
      form += c;
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", static_cast<unsigned char>(c));
      form += hex;
    }
  }
  auto e = parse_delivery(
      {{"x-github-event", "push"}, {"content-type", "application/x-www-form-urlencoded"}}, form);
  ASSERT_TRUE(e.has_value()) << e.error().describe();
  EXPECT_EQ(e->head_ref, "refs/heads/a b");
  EXPECT_EQ(e->commit, "2");
  // The same bytes sent as JSON are not JSON.
  EXPECT_FALSE(parse_delivery({{"x-github-event", "push"}}, form).has_value());
}

}  // namespace
}  // namespace kiln::webhook
