// `env`, 0.1's `environment_variables`, and `proxy` (docs/reference/codebuild-semantics.md
// §1.6-1.8).
#include <gtest/gtest.h>

#include "spec/parser.h"

namespace kiln::spec {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

const std::string kPhases = "phases:\n  build:\n    commands: [make]\n";

ParseOutcome parse(const std::string& body, const std::string& version = "0.2") {
  return parse_buildspec("version: " + version + "\n" + body + kPhases, "buildspec.yml");
}

std::vector<std::string> messages(const ParseOutcome& out) {
  std::vector<std::string> m;
  for (const auto& d : out.diagnostics)
    m.push_back(std::string(d.severity == Diagnostic::Severity::kError ? "error " : "warning ") +
                std::to_string(d.mark.line) + ":" + std::to_string(d.mark.column) + " " +
                d.message);
  return m;
}

TEST(ParseEnv, VariablesKeepTheirTextAndOrder) {
  auto out = parse(
      "env:\n  variables:\n    VERSION: 1.10\n    ENABLED: yes\n    QUOTED: \"a: b\"\n"
      "    EMPTY:\n    PATH: $PATH:/usr/share/ant/bin\n    ZERO: 0x1F\n");
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(out.spec->env.variables, (Pairs{{"VERSION", "1.10"},
                                            {"ENABLED", "yes"},
                                            {"QUOTED", "a: b"},
                                            {"EMPTY", ""},
                                            {"PATH", "$PATH:/usr/share/ant/bin"},
                                            {"ZERO", "0x1F"}}));
}

TEST(ParseEnv, VariableValueMustBeAString) {
  auto out = parse("env:\n  variables:\n    LIST: [a, b]\n");
  EXPECT_EQ(messages(out),
            std::vector<std::string>{"error 4:11 \"env/variables/LIST\" must be a string, found "
                                     "a list"});
}

TEST(ParseEnv, VariablesMustBeAMapping) {
  auto out = parse("env:\n  variables:\n    - A=1\n");
  EXPECT_EQ(messages(out),
            std::vector<std::string>{"error 4:5 \"env/variables\" must be a mapping of names to "
                                     "strings, found a list"});
}

TEST(ParseEnv, EnvMustBeAMapping) {
  auto out = parse("env: FOO=1\n");
  EXPECT_EQ(messages(out),
            std::vector<std::string>{"error 2:6 \"env\" must be a mapping, found a string"});
}

TEST(ParseEnv, ReservedPrefixIsAWarning) {
  auto out = parse(
      "env:\n  variables:\n    CODEBUILD_X: 1\n  parameter-store:\n"
      "    CODEBUILD_Y: /p\n");
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(messages(out),
            (std::vector<std::string>{
                "warning 4:5 \"env/variables/CODEBUILD_X\": names starting with CODEBUILD_ are "
                "reserved for CodeBuild",
                "warning 6:5 \"env/parameter-store/CODEBUILD_Y\": names starting with CODEBUILD_ "
                "are reserved for CodeBuild"}));
  EXPECT_EQ(out.spec->env.variables, (Pairs{{"CODEBUILD_X", "1"}}));  // kept
}

TEST(ParseEnv, ParameterStoreAndSecretsManager) {
  auto out = parse(
      "env:\n  parameter-store:\n    LOGIN_PASSWORD: /CodeBuild/dockerLoginPassword\n"
      "  secrets-manager:\n    LOCAL_SECRET_VAR: \"TestSecret:MY_SECRET_VAR\"\n"
      "    ARN_SECRET: arn:aws:secretsmanager:us-east-1:123:secret:x-AbCd:key::v1\n");
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(out.spec->env.parameter_store,
            (Pairs{{"LOGIN_PASSWORD", "/CodeBuild/dockerLoginPassword"}}));
  EXPECT_EQ(out.spec->env.secrets_manager,
            (Pairs{{"LOCAL_SECRET_VAR", "TestSecret:MY_SECRET_VAR"},
                   {"ARN_SECRET", "arn:aws:secretsmanager:us-east-1:123:secret:x-AbCd:key::v1"}}));
}

TEST(ParseEnv, ReferencesMustNameSomething) {
  auto out = parse("env:\n  parameter-store:\n    A:\n  secrets-manager:\n    B: ''\n");
  EXPECT_EQ(messages(out),
            (std::vector<std::string>{
                "error 4:5 \"env/parameter-store/A\" must name a Parameter Store parameter",
                "error 6:8 \"env/secrets-manager/B\" must name a Secrets Manager secret"}));
}

TEST(ParseEnv, ExportedVariablesAsListOrSingleString) {
  auto out = parse("env:\n  exported-variables:\n    - VERSION\n    - IMAGE_TAG\n");
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(out.spec->env.exported_variables, (std::vector<std::string>{"VERSION", "IMAGE_TAG"}));
  auto single = parse("env:\n  exported-variables: VERSION\n");
  ASSERT_TRUE(single.spec);
  EXPECT_EQ(single.spec->env.exported_variables, std::vector<std::string>{"VERSION"});
}

TEST(ParseEnv, AwsPrefixedVariablesAreNotExported) {
  auto out = parse("env:\n  exported-variables:\n    - AWS_REGION\n    - VERSION\n");
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(out.spec->env.exported_variables, std::vector<std::string>{"VERSION"});
  EXPECT_EQ(messages(out),
            std::vector<std::string>{"warning 4:7 \"env/exported-variables\": AWS_REGION cannot be "
                                     "exported: names starting with AWS_ are reserved (ignored)"});
}

TEST(ParseEnv, Shell) {
  auto out = parse("env:\n  shell: bash\n");
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(out.spec->env.shell, "bash");
  EXPECT_FALSE(parse("").spec->env.shell);
  auto zsh = parse("env:\n  shell: zsh\n");
  ASSERT_TRUE(zsh.spec);
  EXPECT_EQ(messages(zsh), std::vector<std::string>{
                               "warning 3:10 unknown shell \"zsh\" in \"env/shell\" (CodeBuild "
                               "supports bash, /bin/sh, powershell.exe and cmd.exe)"});
}

TEST(ParseEnv, GitCredentialHelperAcceptsYesNoTrueFalseInAnyCase) {
  for (const char* v : {"yes", "Yes", "YES", "true", "True", "'yes'"})
    EXPECT_TRUE(parse(std::string("env:\n  git-credential-helper: ") + v + "\n")
                    .spec->env.git_credential_helper)
        << v;
  for (const char* v : {"no", "NO", "false", "FALSE"})
    EXPECT_FALSE(parse(std::string("env:\n  git-credential-helper: ") + v + "\n")
                     .spec->env.git_credential_helper)
        << v;
}

TEST(ParseEnv, OtherBooleanSpellingsAreErrors) {
  auto out = parse("env:\n  git-credential-helper: on\n");
  EXPECT_FALSE(out.spec);
  EXPECT_EQ(messages(out), std::vector<std::string>{
                               "error 3:26 \"env/git-credential-helper\" must be yes, no, true "
                               "or false, found \"on\""});
  EXPECT_EQ(messages(parse("env:\n  git-credential-helper: [yes]\n")),
            std::vector<std::string>{"error 3:26 \"env/git-credential-helper\" must be yes, no, "
                                     "true or false, found a list"});
}

TEST(ParseEnv, Proxy) {
  auto out = parse("proxy:\n  upload-artifacts: yes\n  logs: no\n");
  ASSERT_TRUE(out.spec);
  EXPECT_TRUE(out.spec->proxy.upload_artifacts);
  EXPECT_FALSE(out.spec->proxy.logs);
  EXPECT_EQ(messages(parse("proxy:\n  logs: maybe\n  upload: yes\n")),
            (std::vector<std::string>{
                "error 3:9 \"proxy/logs\" must be yes, no, true or false, found \"maybe\"",
                "warning 4:3 unknown key \"upload\" in \"proxy\" (ignored)"}));
}

TEST(ParseEnv, Version01EnvironmentVariablesAndPlaintext) {
  auto out = parse("environment_variables:\n  plaintext:\n    JAVA_HOME: /usr/lib/jvm\n", "0.1");
  ASSERT_TRUE(out.spec);
  EXPECT_TRUE(out.diagnostics.empty());
  EXPECT_EQ(out.spec->version, Version::k0_1);
  EXPECT_EQ(out.spec->env.variables, (Pairs{{"JAVA_HOME", "/usr/lib/jvm"}}));
}

TEST(ParseEnv, Version01AlsoAcceptsTheNewNames) {
  auto out = parse("env:\n  variables:\n    A: 1\n", "0.1");
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(out.spec->env.variables, (Pairs{{"A", "1"}}));
}

TEST(ParseEnv, Version02IgnoresTheOldNamesWithAWarning) {
  auto out =
      parse("environment_variables:\n  plaintext:\n    A: 1\nenv:\n  plaintext:\n    B: 2\n");
  ASSERT_TRUE(out.spec);
  EXPECT_TRUE(out.spec->env.variables.empty());
  EXPECT_EQ(messages(out),
            (std::vector<std::string>{
                "warning 2:1 \"environment_variables\" is the version 0.1 name of \"env\" "
                "(ignored in version 0.2)",
                "warning 6:3 \"env/plaintext\" is the version 0.1 name of \"env/variables\" "
                "(ignored in version 0.2)"}));
}

TEST(ParseEnv, UnknownEnvKeyWarns) {
  auto out = parse("env:\n  variable:\n    A: 1\n");
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(messages(out), std::vector<std::string>{
                               "warning 3:3 unknown key \"variable\" in \"env\" (ignored; did you "
                               "mean \"variables\"?)"});
}

}  // namespace
}  // namespace kiln::spec
