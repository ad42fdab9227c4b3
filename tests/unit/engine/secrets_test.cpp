// Parameter-store and secrets-manager values in the engine: resolution, precedence, CodeBuild's
// failure contexts, and masking in the log and the record (docs/secrets.md).
#include <map>

#include "engine/engine_fixture.h"

namespace kiln::testing {
namespace {

using engine::PhaseType;
using engine::SecretVar;
using engine::Status;

class FakeSecrets final : public secrets::SecretResolver {
 public:
  std::map<std::string, std::string> params, secrets;
  Result<std::string> parameter(const std::string& name) override {
    if (auto it = params.find(name); it != params.end()) return it->second;
    return fail(ErrorCode::kNotFound, "parameter does not exist: " + name);
  }
  Result<std::string> secret_text(const secrets::SecretReference& ref) override {
    if (auto it = secrets.find(ref.secret_id); it != secrets.end()) return it->second;
    return fail(ErrorCode::kNotFound, "Secrets Manager can't find the specified secret.");
  }
};

class EngineSecretsTest : public EngineTest {
 protected:
  FakeSecrets fake;
  EngineSecretsTest() {
    resolver = &fake;
    fake.params["/ci/token"] = "tok-1234567890";
    fake.secrets["db"] = R"({"password":"pw-abcdefgh"})";
  }
};

TEST_F(EngineSecretsTest, ValuesReachTheBuildAndAreMaskedInTheLog) {
  executor.scripts["show"] = {.output = "token=tok-1234567890 pw=pw-abcdefgh\n"};
  auto r =
      run("version: 0.2\nenv:\n  parameter-store:\n    TOKEN: /ci/token\n  secrets-manager:\n"
          "    PW: db:password\nphases:\n  build:\n    commands: [show]\n");
  EXPECT_EQ(r.build_status, Status::kSucceeded);
  const auto& env = executor.runs.at(0).state.env;
  EXPECT_EQ(env.at("TOKEN"), "tok-1234567890");
  EXPECT_EQ(env.at("PW"), "pw-abcdefgh");
  EXPECT_NE(log.text().find("token=*** pw=***\n"), std::string::npos) << log.text();
  EXPECT_EQ(log.text().find("tok-1234567890"), std::string::npos);
  EXPECT_EQ(log.text().find("pw-abcdefgh"), std::string::npos);
  EXPECT_NE(log.text().find("Decrypting parameter store environment variables"), std::string::npos);
}

TEST_F(EngineSecretsTest, MissingParameterFailsDownloadSource) {
  auto r =
      run("version: 0.2\nenv:\n  parameter-store:\n    T: /ci/none\nphases:\n  build:\n"
          "    commands: [c1]\n");
  const auto& p = phase(r, PhaseType::kDownloadSource);
  EXPECT_EQ(p.status, Status::kFailed);
  ASSERT_EQ(p.contexts.size(), 1u);
  EXPECT_EQ(p.contexts[0].status_code, "Decrypted Variables Error");
  EXPECT_EQ(p.contexts[0].message, "parameter does not exist: /ci/none");
  EXPECT_TRUE(executor.runs.empty());  // nothing half-resolved runs
}

TEST_F(EngineSecretsTest, MissingSecretAndMissingKeyFailDownloadSource) {
  auto r =
      run("version: 0.2\nenv:\n  secrets-manager:\n    S: nope\nphases:\n  build:\n"
          "    commands: [c1]\n");
  auto c = phase(r, PhaseType::kDownloadSource).contexts.at(0);
  EXPECT_EQ(c.status_code, "Secrets Manager Error");
  EXPECT_EQ(c.message,
            "ResourceNotFoundException: Secrets Manager can't find the specified secret.");
  r =
      run("version: 0.2\nenv:\n  secrets-manager:\n    S: db:user\nphases:\n  build:\n"
          "    commands: [c1]\n");
  c = phase(r, PhaseType::kDownloadSource).contexts.at(0);
  EXPECT_EQ(c.message, "json key user not found in secret db");
}

TEST_F(EngineSecretsTest, ProjectAndOverrideSecretVarsKeepPrecedence) {
  request.project_vars = {{"A", "plain-project"}};
  request.project_secret_vars = {{"B", SecretVar::Kind::kParameterStore, "/ci/token"}};
  request.override_secret_vars = {{"A", SecretVar::Kind::kSecretsManager, "db:password"}};
  auto r =
      run("version: 0.2\nenv:\n  variables:\n    B: from-buildspec\nphases:\n  build:\n"
          "    commands: [c1]\n");
  const auto& env = executor.runs.at(0).state.env;
  EXPECT_EQ(env.at("A"), "pw-abcdefgh");     // override beats project
  EXPECT_EQ(env.at("B"), "tok-1234567890");  // project beats buildspec
  // The record shows references, never values.
  bool saw = false;
  for (const auto& v : r.environment_variables) {
    if (v.name == "B") {
      saw = true;
      EXPECT_EQ(v.value, "/ci/token");
      EXPECT_EQ(v.type, "PARAMETER_STORE");
    }
  }
  EXPECT_TRUE(saw);
}

TEST_F(EngineSecretsTest, SecretsAreNeverExportedAndCopiesAreMasked) {
  executor.scripts["c1"] = {.set_env = {{"COPY", "x-tok-1234567890-x"}}};
  auto r =
      run("version: 0.2\nenv:\n  parameter-store:\n    TOKEN: /ci/token\n"
          "  exported-variables: [TOKEN, COPY]\nphases:\n  build:\n    commands: [c1]\n");
  ASSERT_EQ(r.exported_variables.size(), 1u);
  EXPECT_EQ(r.exported_variables[0].first, "COPY");
  EXPECT_EQ(r.exported_variables[0].second, "x-***-x");
  EXPECT_NE(log.text().find("Skipping exported variable TOKEN: secrets cannot be exported"),
            std::string::npos);
}

TEST_F(EngineSecretsTest, ShortValuesAreWarnedAboutNotMasked) {
  fake.params["/short"] = "abc";
  executor.scripts["c1"] = {.output = "abc\n"};
  run("version: 0.2\nenv:\n  parameter-store:\n    S: /short\nphases:\n  build:\n"
      "    commands: [c1]\n");
  EXPECT_NE(log.text().find("Warning: the value of S is shorter than 8 characters, so it is not "
                            "masked in the log"),
            std::string::npos);
  EXPECT_NE(log.text().find("\nabc\n"), std::string::npos);
}

TEST_F(EngineSecretsTest, FailureContextQuotingOutputIsMasked) {
  executor.scripts["c1"] = {.exit_code = 1, .output = "tok-1234567890\n"};
  auto r =
      run("version: 0.2\nenv:\n  parameter-store:\n    T: /ci/token\nphases:\n  build:\n"
          "    commands: [c1]\n");
  EXPECT_EQ(r.build_status, Status::kFailed);
  for (const auto& p : r.phases)
    for (const auto& c : p.contexts) EXPECT_EQ(c.message.find("tok-1234567890"), std::string::npos);
}

}  // namespace
}  // namespace kiln::testing
