// The engine's side of sources and caches (docs/sources.md), with a fake fetcher and a fake cache:
// CodeBuild's DOWNLOAD_SOURCE failure contexts, the source variables, credentials for git
// sources, and when the cache is restored and saved.
#include <stdlib.h>

#include <filesystem>

#include "engine/engine_fixture.h"

namespace kiln::testing {
namespace {

using engine::PhaseType;
using engine::Status;

class FakeFetcher final : public source::SourceFetcher {
 public:
  std::vector<source::SourceSpec> fetched;
  std::vector<std::string> tokens;
  std::map<std::string, source::FetchedSource> answers;  // by identifier
  std::optional<Error> failure;
  Result<source::FetchedSource> fetch(const source::SourceSpec& spec,
                                      const std::filesystem::path& dest,
                                      const source::FetchContext& ctx) override {
    fetched.push_back(spec);
    tokens.push_back(ctx.https_token);
    if (!std::filesystem::is_directory(dest)) return fail(ErrorCode::kInternal, "no dest");
    if (failure) return tl::unexpected(*failure);
    return answers[spec.identifier];
  }
};

class FakeCache final : public cache::BuildCache {
 public:
  std::vector<cache::CacheRequest> restores, saves;
  cache::CacheReport restore(const cache::CacheRequest& req, logs::LogSink& log) override {
    restores.push_back(req);
    log.agent_line("fake restore");
    return {};
  }
  cache::CacheReport save(const cache::CacheRequest& req, logs::LogSink& log) override {
    saves.push_back(req);
    log.agent_line("fake save");
    return {};
  }
};

class FakeCreds final : public secrets::SecretResolver {
 public:
  Result<std::string> parameter(const std::string& n) override {
    return fail(ErrorCode::kNotFound, n);
  }
  Result<std::string> secret_text(const secrets::SecretReference& r) override {
    return fail(ErrorCode::kNotFound, r.secret_id);
  }
  Result<std::vector<secrets::SecretStore::SourceCredential>> source_credentials() override {
    return std::vector<secrets::SecretStore::SourceCredential>{
        {"GITHUB", "PERSONAL_ACCESS_TOKEN", "", "ghp-secret-token-1234"}};
  }
};

class EngineSourcesTest : public EngineTest {
 protected:
  FakeFetcher fetcher;
  FakeCache fake_cache;
  std::filesystem::path root;
  EngineSourcesTest() {
    std::string t = (std::filesystem::temp_directory_path() / "kiln-src-XXXXXX").string();
    root = ::mkdtemp(t.data());
    request.build_root = root;
    request.in_place = false;
    request.source.type = "GITHUB";
    request.source.location = "https://github.com/o/r.git";
    request.source.version = "main";
    sources = &fetcher;
    build_cache = &fake_cache;
  }
  ~EngineSourcesTest() override { std::filesystem::remove_all(root); }
};

TEST_F(EngineSourcesTest, FetchFailureFailsDownloadSourceWithCodeBuildsContext) {
  fetcher.failure = Error(ErrorCode::kNotFound, "reference not found");
  auto r = run("version: 0.2\nphases:\n  build:\n    commands: [c1]\n");
  EXPECT_EQ(r.build_status, Status::kFailed);
  const auto& p = phase(r, PhaseType::kDownloadSource);
  EXPECT_EQ(p.status, Status::kFailed);
  ASSERT_EQ(p.contexts.size(), 1u);
  EXPECT_EQ(p.contexts[0].status_code, "CLIENT_ERROR");
  EXPECT_EQ(p.contexts[0].message,
            "reference not found for primary source and source version main");
  EXPECT_TRUE(executor.runs.empty());  // straight to FINALIZING
}

TEST_F(EngineSourcesTest, ResolvedVersionAndSecondarySourcesReachTheBuild) {
  fetcher.answers[""] = {"0123456789abcdef0123456789abcdef01234567", "https://github.com/o/r.git",
                         "main"};
  source::SourceSpec lib;
  lib.identifier = "lib";
  lib.type = "S3";
  lib.location = "bucket/lib.zip";
  request.secondary_sources.push_back(lib);
  fetcher.answers["lib"] = {"", "s3://bucket/lib.zip", "v-42"};
  auto r = run("version: 0.2\nphases:\n  build:\n    commands: [c1]\n");
  ASSERT_EQ(r.build_status, Status::kSucceeded) << log.text();
  EXPECT_EQ(r.resolved_source_version, "0123456789abcdef0123456789abcdef01234567");
  const auto& env = executor.runs.at(0).state.env;
  EXPECT_EQ(env.at("CODEBUILD_RESOLVED_SOURCE_VERSION"),
            "0123456789abcdef0123456789abcdef01234567");
  EXPECT_EQ(env.at("CODEBUILD_SOURCE_REPO_URL"), "https://github.com/o/r.git");
  EXPECT_EQ(env.at("CODEBUILD_SOURCE_VERSION"), "main");
  EXPECT_EQ(env.at("CODEBUILD_SRC_DIR_lib"), "/codebuild/output/src1/src_lib");
  EXPECT_EQ(env.at("CODEBUILD_SOURCE_VERSION_lib"), "v-42");
  EXPECT_EQ(env.at("CODEBUILD_SOURCE_REPO_URL_lib"), "s3://bucket/lib.zip");
  ASSERT_EQ(fetcher.fetched.size(), 2u);
  EXPECT_EQ(fetcher.fetched[1].identifier, "lib");
  ASSERT_EQ(r.secondary_source_versions.size(), 1u);
  EXPECT_EQ(r.secondary_source_versions[0].second, "v-42");
}

TEST_F(EngineSourcesTest, SecondaryFailureNamesTheSource) {
  source::SourceSpec lib;
  lib.identifier = "lib";
  lib.type = "GIT";
  lib.location = "file:///nowhere";
  request.secondary_sources.push_back(lib);
  request.source.type = "NO_SOURCE";
  fetcher.failure = Error(ErrorCode::kNotFound, "repository not found");
  auto r = run("version: 0.2\nphases:\n  build:\n    commands: [c1]\n");
  const auto& p = phase(r, PhaseType::kDownloadSource);
  ASSERT_EQ(p.contexts.size(), 1u);
  EXPECT_EQ(p.contexts[0].message,
            "repository not found for secondary source lib and source version (default)");
}

TEST_F(EngineSourcesTest, StoredSourceCredentialIsUsedAndMasked) {
  FakeCreds creds;
  resolver = &creds;
  executor.scripts["leak"] = {.output = "ghp-secret-token-1234\n"};
  auto r = run("version: 0.2\nphases:\n  build:\n    commands: [leak]\n");
  ASSERT_EQ(r.build_status, Status::kSucceeded);
  ASSERT_EQ(fetcher.tokens.size(), 1u);
  EXPECT_EQ(fetcher.tokens[0], "ghp-secret-token-1234");
  EXPECT_EQ(log.text().find("ghp-secret-token-1234"), std::string::npos) << log.text();
}

TEST_F(EngineSourcesTest, CacheIsRestoredWithExpandedKeysAndSavedAfterSuccess) {
  // The engine expands keys with a here-document in the build's shell; the fake answers it.
  executor.scripts["cat <<KILN_EXPAND_EOF\nk-$CODEBUILD_BUILD_ID\nKILN_EXPAND_EOF"] = {
      .output = "k-demo:1111\n"};
  auto r = run(
      "version: 0.2\nphases:\n  build:\n    commands: [c1]\ncache:\n  key: k-$CODEBUILD_BUILD_ID\n"
      "  fallback-keys: [k-]\n  paths: ['node_modules/**/*']\n");
  ASSERT_EQ(r.build_status, Status::kSucceeded) << log.text();
  ASSERT_EQ(fake_cache.restores.size(), 1u);
  EXPECT_EQ(fake_cache.restores[0].spec.key, "k-demo:1111");
  EXPECT_EQ(fake_cache.restores[0].spec.fallback_keys, std::vector<std::string>{"k-"});
  EXPECT_EQ(fake_cache.restores[0].namespace_name, "demo");
  ASSERT_EQ(fake_cache.saves.size(), 1u);
  EXPECT_EQ(fake_cache.saves[0].spec.key, fake_cache.restores[0].spec.key);
  // Restore happens in DOWNLOAD_SOURCE, before the first command; save after the last.
  const auto& text = log.text();
  EXPECT_LT(text.find("fake restore"), text.find("Entering phase INSTALL"));
  EXPECT_GT(text.find("fake save"), text.find("Phase complete: POST_BUILD"));
}

TEST_F(EngineSourcesTest, FailedBuildDoesNotSaveTheCache) {
  executor.scripts["bad"] = {.exit_code = 1};
  auto r = run("version: 0.2\nphases:\n  build:\n    commands: [bad]\ncache:\n  paths: [x/**/*]\n");
  EXPECT_EQ(r.build_status, Status::kFailed);
  EXPECT_EQ(fake_cache.restores.size(), 1u);
  EXPECT_TRUE(fake_cache.saves.empty());
}

TEST_F(EngineSourcesTest, NoCacheSectionLogsCodeBuildsSkipLines) {
  auto r = run("version: 0.2\nphases:\n  build:\n    commands: [c1]\n");
  EXPECT_EQ(r.build_status, Status::kSucceeded);
  EXPECT_NE(log.text().find("Skip cache due to: no paths specified to be cached"),
            std::string::npos);
  EXPECT_TRUE(fake_cache.restores.empty());
}

}  // namespace
}  // namespace kiln::testing
