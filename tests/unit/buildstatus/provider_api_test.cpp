// What Kiln sends each git host (buildstatus/provider_api.h): URL, headers and body.
#include "buildstatus/provider_api.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace kiln::buildstatus {
namespace {

using nlohmann::json;

const std::string kSha = "0123456789abcdef0123456789abcdef01234567";

std::string header(const net::HttpRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "<none>";
}

Status status(Outcome o) {
  return Status{kSha, o, "Build succeeded", "AWS CodeBuild us-east-1 (app)", "https://ci/x"};
}

TEST(ProviderApiTest, GitHubPostsACommitStatusWithABearerToken) {
  auto repo = repo_of(Provider::kGitHub, "https://github.com/octo/app.git", {});
  ASSERT_TRUE(repo) << repo.error().describe();
  auto req = status_request(Provider::kGitHub, *repo, status(Outcome::kSucceeded),
                            {"GITHUB", "PERSONAL_ACCESS_TOKEN", "", "ghp_secret"});
  ASSERT_TRUE(req) << req.error().describe();
  EXPECT_EQ(req->method, "POST");
  EXPECT_EQ(req->url, "https://api.github.com/repos/octo/app/statuses/" + kSha);
  EXPECT_EQ(header(*req, "Authorization"), "Bearer ghp_secret");
  EXPECT_EQ(header(*req, "Accept"), "application/vnd.github+json");
  EXPECT_NE(header(*req, "User-Agent"), "<none>");
  EXPECT_EQ(json::parse(req->body), (json{{"state", "success"},
                                          {"context", "AWS CodeBuild us-east-1 (app)"},
                                          {"description", "Build succeeded"},
                                          {"target_url", "https://ci/x"}}));
}

TEST(ProviderApiTest, GitHubEnterpriseUsesTheHostsApiV3) {
  auto repo = repo_of(Provider::kGitHubEnterprise, "https://ghe.example.com/team/app", {});
  ASSERT_TRUE(repo);
  EXPECT_EQ(repo->api_base, "https://ghe.example.com/api/v3");
  EXPECT_EQ(repo->path, "team/app");
}

TEST(ProviderApiTest, AnOverrideReplacesTheApiBase) {
  const ApiOverrides o{{"GITHUB", "http://127.0.0.1:9"}};
  auto repo = repo_of(Provider::kGitHub, "git@github.com:octo/app.git", o);
  ASSERT_TRUE(repo);
  EXPECT_EQ(repo->api_base, "http://127.0.0.1:9");
  EXPECT_EQ(repo->path, "octo/app");
}

TEST(ProviderApiTest, GitLabEncodesTheProjectPathAndUsesPrivateToken) {
  auto repo = repo_of(Provider::kGitLab, "https://gitlab.com/group/sub/app.git", {});
  ASSERT_TRUE(repo);
  auto req = status_request(Provider::kGitLab, *repo, status(Outcome::kStarted),
                            {"GITLAB", "PERSONAL_ACCESS_TOKEN", "", "glpat"});
  ASSERT_TRUE(req);
  EXPECT_EQ(req->url, "https://gitlab.com/api/v4/projects/group%2Fsub%2Fapp/statuses/" + kSha);
  EXPECT_EQ(header(*req, "PRIVATE-TOKEN"), "glpat");
  EXPECT_EQ(header(*req, "Authorization"), "<none>");
  const json body = json::parse(req->body);
  EXPECT_EQ(body["state"], "running");
  EXPECT_EQ(body["name"], "AWS CodeBuild us-east-1 (app)");
  EXPECT_EQ(body["target_url"], "https://ci/x");
}

TEST(ProviderApiTest, GitLabOauthIsABearerToken) {
  auto repo = repo_of(Provider::kGitLabSelfManaged, "https://git.corp:8443/a/b", {});
  ASSERT_TRUE(repo);
  EXPECT_EQ(repo->api_base, "https://git.corp:8443/api/v4");
  auto req = status_request(Provider::kGitLabSelfManaged, *repo, status(Outcome::kStopped),
                            {"GITLAB_SELF_MANAGED", "OAUTH", "", "tok"});
  ASSERT_TRUE(req);
  EXPECT_EQ(header(*req, "Authorization"), "Bearer tok");
  EXPECT_EQ(json::parse(req->body)["state"], "canceled");
}

TEST(ProviderApiTest, BitbucketPostsABuildStatusWithBasicAuth) {
  auto repo = repo_of(Provider::kBitbucket, "https://user@bitbucket.org/ws/app.git", {});
  ASSERT_TRUE(repo);
  Status s = status(Outcome::kFailed);
  s.target_url.clear();
  auto req = status_request(Provider::kBitbucket, *repo, s,
                            {"BITBUCKET", "BASIC_AUTH", "jdoe", "app-pass"});
  ASSERT_TRUE(req);
  EXPECT_EQ(req->url,
            "https://api.bitbucket.org/2.0/repositories/ws/app/commit/" + kSha + "/statuses/build");
  EXPECT_EQ(header(*req, "Authorization"), "Basic amRvZTphcHAtcGFzcw==");  // jdoe:app-pass
  EXPECT_EQ(json::parse(req->body), (json{{"key", "AWS CodeBuild us-east-1 (app)"},
                                          {"state", "FAILED"},
                                          {"name", "AWS CodeBuild us-east-1 (app)"},
                                          {"description", "Build succeeded"},
                                          {"url", "https://bitbucket.org/ws/app"}}));
}

TEST(ProviderApiTest, StatesPerProvider) {
  EXPECT_STREQ(state_name(Provider::kGitHub, Outcome::kStarted), "pending");
  EXPECT_STREQ(state_name(Provider::kGitHub, Outcome::kFailed), "failure");
  EXPECT_STREQ(state_name(Provider::kGitHub, Outcome::kFault), "error");
  EXPECT_STREQ(state_name(Provider::kGitHub, Outcome::kStopped), "error");
  EXPECT_STREQ(state_name(Provider::kGitLab, Outcome::kFault), "failed");
  EXPECT_STREQ(state_name(Provider::kBitbucket, Outcome::kStarted), "INPROGRESS");
  EXPECT_STREQ(state_name(Provider::kBitbucket, Outcome::kSucceeded), "SUCCESSFUL");
  EXPECT_STREQ(state_name(Provider::kBitbucket, Outcome::kStopped), "STOPPED");
  EXPECT_EQ(outcome_of("TIMED_OUT"), Outcome::kFailed);
  EXPECT_EQ(outcome_of("FAULT"), Outcome::kFault);
  EXPECT_EQ(outcome_of("IN_PROGRESS"), Outcome::kStarted);
  EXPECT_EQ(outcome_of("PENDING"), std::nullopt);
}

TEST(ProviderApiTest, CredentialsThatAreNotTokensAreRefused) {
  auto repo = repo_of(Provider::kGitHub, "https://github.com/o/r", {});
  ASSERT_TRUE(repo);
  auto req = status_request(Provider::kGitHub, *repo, status(Outcome::kStarted),
                            {"GITHUB", "CODECONNECTIONS", "", "arn:aws:..."});
  ASSERT_FALSE(req);
  EXPECT_EQ(req.error().code(), ErrorCode::kPermission);
}

TEST(ProviderApiTest, LocationsWithoutOwnerAndRepoAreRefused) {
  EXPECT_FALSE(repo_of(Provider::kGitHub, "https://github.com/onlyowner", {}));
  EXPECT_FALSE(repo_of(Provider::kGitHub, "https://github.com/a/b/c", {}));
  EXPECT_FALSE(repo_of(Provider::kGitHub, "not a url", {}));
  EXPECT_TRUE(repo_of(Provider::kGitLab, "https://gitlab.com/a/b/c", {}));
}

TEST(ProviderApiTest, TheTokenGoesToTheProvidersOwnApiOnly) {
  // GITHUB and GITLAB mean github.com and gitlab.com, whatever host the location names.
  auto gh = repo_of(Provider::kGitHub, "https://evil.example/a/b.git", {});
  ASSERT_TRUE(gh);
  EXPECT_EQ(gh->api_base, "https://api.github.com");
  auto gl = repo_of(Provider::kGitLab, "https://evil.example/a/b.git", {});
  ASSERT_TRUE(gl);
  EXPECT_EQ(gl->api_base, "https://gitlab.com/api/v4");
  // A path that would point the API URL elsewhere is refused.
  for (const char* loc : {"https://github.com/../..", "https://github.com/a/b%2F..",
                          "https://github.com/a/b?x=1", "https://github.com/a/b#f"})
    EXPECT_FALSE(repo_of(Provider::kGitHub, loc, {})) << loc;
  EXPECT_FALSE(repo_of(Provider::kGitLabSelfManaged, "https://gl.example/g/../x", {}));
}

TEST(ProviderApiTest, ParsesApiOverrides) {
  auto kv = parse_api_override("github=http://127.0.0.1:9999/");
  ASSERT_TRUE(kv) << kv.error().describe();
  EXPECT_EQ(kv->first, "GITHUB");
  EXPECT_EQ(kv->second, "http://127.0.0.1:9999");
  EXPECT_EQ(parse_api_override("github").error().message(),
            "--status-api-url github: want PROVIDER=URL, e.g. GITHUB=https://...");
  EXPECT_FALSE(parse_api_override("CODECOMMIT=http://x"));
  EXPECT_FALSE(parse_api_override("GITHUB=ftp://x"));
}

TEST(ProviderApiTest, CommitsAreFortyHexDigits) {
  EXPECT_TRUE(is_commit(kSha));
  EXPECT_FALSE(is_commit("main"));
  EXPECT_FALSE(is_commit(kSha.substr(1) + "g"));
}

}  // namespace
}  // namespace kiln::buildstatus
