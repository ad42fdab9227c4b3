// `phases`: names, commands, finally, run-as, on-failure, runtime-versions (§1.9, §3.3-3.7).
#include <gtest/gtest.h>

#include "spec/parser.h"

namespace kiln::spec {
namespace {

ParseOutcome parse(const std::string& text) {
  return parse_buildspec(text, "buildspec.yml");
}

std::string lint(const std::string& text) {
  std::string out;
  for (const auto& d : parse(text).diagnostics) out += format_diagnostic("buildspec.yml", text, d);
  return out;
}

const Phase& phase(const ParseOutcome& out, PhaseName name) {
  return out.spec->phases.at(name);
}

TEST(ParsePhases, UnknownPhaseNameUsesCodeBuildsMessage) {
  const std::string text = "version: 0.2\nphases:\n  postbuild:\n    commands:\n      - echo\n";
  auto out = parse(text);
  EXPECT_FALSE(out.spec);
  EXPECT_EQ(lint(text),
            "buildspec.yml:3:3: error: Invalid buildspec phase name: postbuild. Expecting: "
            "build,install,post_build,pre_build\n"
            "  postbuild:\n"
            "  ^\n");
  EXPECT_EQ(
      phase_context_message(out.diagnostics[0]),
      "Invalid buildspec phase name: postbuild. Expecting: build,install,post_build,pre_build");
}

TEST(ParsePhases, PhaseNamesAreCaseSensitive) {
  auto out = parse("version: 0.2\nphases:\n  BUILD:\n    commands: [a]\n  artifacts:\n");
  ASSERT_EQ(out.diagnostics.size(), 2u);
  EXPECT_EQ(out.diagnostics[0].message,
            "Invalid buildspec phase name: BUILD. Expecting: build,install,post_build,pre_build");
  EXPECT_EQ(out.diagnostics[1].message,
            "Invalid buildspec phase name: artifacts. Expecting: "
            "build,install,post_build,pre_build");
}

TEST(ParsePhases, AllFourPhasesAndTheirMarks) {
  const std::string text =
      "version: 0.2\n"
      "phases:\n"
      "  post_build:\n"
      "    commands: [d]\n"
      "  install:\n"
      "    commands: [a]\n"
      "  pre_build:\n"
      "    commands: [b]\n"
      "  build:\n"
      "    commands: [c]\n";
  auto out = parse(text);
  ASSERT_TRUE(out.spec) << lint(text);
  EXPECT_EQ(phase(out, PhaseName::kPostBuild).mark.line, 3);
  EXPECT_EQ(phase(out, PhaseName::kInstall).mark.line, 5);
  EXPECT_EQ(phase(out, PhaseName::kPreBuild).mark.line, 7);
  EXPECT_EQ(phase(out, PhaseName::kBuild).mark.line, 9);
  EXPECT_EQ(phase(out, PhaseName::kBuild).mark.column, 3);
  for (PhaseName p : kAllPhases) EXPECT_TRUE(phase(out, p).present) << yaml_name(p);
}

TEST(ParsePhases, CommandsKeepTheirTextAsWritten) {
  const std::string text =
      "version: 0.2\n"
      "phases:\n"
      "  build:\n"
      "    commands:\n"
      "      - 1.10\n"
      "      - yes\n"
      "      - \"echo 'quoted: ok'\"\n"
      "      - 'it''s'\n"
      "      - |\n"
      "        if true; then\n"
      "          echo multi\n"
      "        fi\n"
      "      - >-\n"
      "        folded\n"
      "        line\n"
      "      - echo ~ null\n";
  auto out = parse(text);
  ASSERT_TRUE(out.spec) << lint(text);
  const auto& c = phase(out, PhaseName::kBuild).commands;
  ASSERT_EQ(c.size(), 7u);
  EXPECT_EQ(c[0].text, "1.10");
  EXPECT_EQ(c[1].text, "yes");
  EXPECT_EQ(c[2].text, "echo 'quoted: ok'");
  EXPECT_EQ(c[3].text, "it's");
  EXPECT_EQ(c[4].text, "if true; then\n  echo multi\nfi\n");
  EXPECT_EQ(c[5].text, "folded line");
  EXPECT_EQ(c[6].text, "echo ~ null");
}

TEST(ParsePhases, CommandMarksPointAtTheItems) {
  auto out = parse("version: 0.2\nphases:\n  build:\n    commands:\n      - a\n      -   b\n");
  ASSERT_TRUE(out.spec);
  const auto& c = phase(out, PhaseName::kBuild).commands;
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].mark.line, 5);
  EXPECT_EQ(c[0].mark.column, 9);
  EXPECT_EQ(c[1].mark.line, 6);
  EXPECT_EQ(c[1].mark.column, 11);
}

// The case from docs/reference/codebuild-semantics.md §1.9 and its sources: an unquoted ": " in a
// command.
TEST(ParsePhases, CommandThatIsAMappingUsesCodeBuildsMessage) {
  const std::string text =
      "version: 0.2\n"
      "\n"
      "phases:\n"
      "  build:\n"
      "    commands:\n"
      "     - echo \"Hello: world\"\n";
  auto out = parse(text);
  EXPECT_FALSE(out.spec);
  EXPECT_EQ(lint(text),
            "buildspec.yml:6:8: error: Expected Commands[0] to be of string type: found subkeys "
            "instead at line 6, value of the key tag on line 5 might be empty\n"
            "     - echo \"Hello: world\"\n"
            "       ^\n");
  EXPECT_EQ(phase_context_message(out.diagnostics[0]),
            "Expected Commands[0] to be of string type: found subkeys instead at line 6, value of "
            "the key tag on line 5 might be empty");
}

TEST(ParsePhases, CommandIndexIsZeroBased) {
  std::string text = "version: 0.2\nphases:\n  post_build:\n    commands:\n";
  for (int i = 0; i < 35; ++i) text += "      # padding\n";
  text += "      - one\n      - two\n      - echo foo: bar\n";
  auto out = parse(text);
  ASSERT_EQ(out.diagnostics.size(), 1u);
  EXPECT_EQ(out.diagnostics[0].message,
            "Expected Commands[2] to be of string type: found subkeys instead at line 42, value of "
            "the key tag on line 41 might be empty");
}

TEST(ParsePhases, FinallyUsesItsOwnLabel) {
  auto out =
      parse("version: 0.2\nphases:\n  build:\n    commands: [a]\n    finally:\n      - a: b\n");
  ASSERT_EQ(out.diagnostics.size(), 1u);
  EXPECT_EQ(out.diagnostics[0].message,
            "Expected Finally[0] to be of string type: found subkeys instead at line 6, value of "
            "the key tag on line 5 might be empty");
}

TEST(ParsePhases, CommandThatIsAList) {
  auto out = parse("version: 0.2\nphases:\n  build:\n    commands:\n      - [a, b]\n");
  ASSERT_EQ(out.diagnostics.size(), 1u);
  EXPECT_EQ(out.diagnostics[0].message,
            "Expected Commands[0] to be of string type: found a list instead at line 5");
}

TEST(ParsePhases, EmptyCommandIsSkippedWithAWarning) {
  const std::string text = "version: 0.2\nphases:\n  build:\n    commands:\n      -\n      - b\n";
  auto out = parse(text);
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(lint(text),
            "buildspec.yml:5:7: warning: \"phases/build/commands[0]\" is an empty command "
            "(ignored)\n"
            "      -\n"
            "      ^\n");
  ASSERT_EQ(phase(out, PhaseName::kBuild).commands.size(), 1u);
}

// tests/corpus/buildspecs/049 (an AWS sample CodeBuild has run since 2017) writes
// `commands: npm install jsonlint -g`: one command, without a word.
TEST(ParsePhases, ASingleStringIsOneCommand) {
  const std::string text =
      "version: 0.1\nphases:\n  install:\n    commands:\n      npm install jsonlint -g\n"
      "  build:\n    commands: [make]\n    finally: make clean\n";
  auto out = parse(text);
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(lint(text), "");
  const auto& install = phase(out, PhaseName::kInstall).commands;
  ASSERT_EQ(install.size(), 1u);
  EXPECT_EQ(install[0].text, "npm install jsonlint -g");
  EXPECT_EQ(install[0].mark.line, 5);
  EXPECT_EQ(install[0].mark.column, 7);
  ASSERT_EQ(phase(out, PhaseName::kBuild).finally.size(), 1u);
  EXPECT_EQ(phase(out, PhaseName::kBuild).finally[0].text, "make clean");
}

TEST(ParsePhases, CommandsMustBeAListOrAString) {
  auto out = parse("version: 0.2\nphases:\n  build:\n    commands:\n      a: b\n");
  ASSERT_EQ(out.diagnostics.size(), 1u);
  EXPECT_EQ(out.diagnostics[0].message,
            "\"phases/build/commands\" must be a list of strings, found a mapping");
}

// CodeBuild runs a phase with only `finally` (tests/corpus/buildspecs/020, 045) or an emptied
// `commands:` (041) silently; only a phase with neither key is worth a word.
TEST(ParsePhases, MissingCommandsIsAWarningOnlyWithoutCommandsOrFinally) {
  const std::string text =
      "version: 0.2\nphases:\n  install:\n  pre_build:\n    finally: [x]\n  build:\n"
      "    commands: []\n  post_build:\n    commands:\n";
  auto out = parse(text);
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(lint(text), "");
  EXPECT_TRUE(phase(out, PhaseName::kInstall).present);
  EXPECT_EQ(phase(out, PhaseName::kPreBuild).finally.size(), 1u);

  const std::string nothing = "version: 0.2\nphases:\n  build:\n    steps: [x]\n";
  EXPECT_EQ(lint(nothing),
            "buildspec.yml:3:3: warning: \"phases/build\" has no commands; the reference requires "
            "them\n"
            "  build:\n"
            "  ^\n"
            "buildspec.yml:4:5: warning: unknown key \"steps\" in \"phases/build\" (ignored)\n"
            "    steps: [x]\n"
            "    ^\n");
}

TEST(ParsePhases, PhaseMustBeAMapping) {
  auto out = parse("version: 0.2\nphases:\n  build: make\n");
  ASSERT_EQ(out.diagnostics.size(), 1u);
  EXPECT_EQ(out.diagnostics[0].message, "\"phases/build\" must be a mapping, found a string");
}

TEST(ParsePhases, RunAsPerPhase) {
  auto out = parse(
      "version: 0.2\nrun-as: User-1\nphases:\n  install:\n    run-as: User-2\n    commands: [a]\n"
      "  build:\n    commands: [b]\n");
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(out.spec->run_as, "User-1");
  EXPECT_EQ(phase(out, PhaseName::kInstall).run_as, "User-2");
  EXPECT_FALSE(phase(out, PhaseName::kBuild).run_as);
}

TEST(ParsePhases, OnFailureIsParsed) {
  auto out = parse(
      "version: 0.2\nphases:\n  pre_build:\n    on-failure: ABORT\n    commands: [a]\n"
      "  build:\n    on-failure: \"Retry-3-.*connection timed out.*\"\n    commands: [b]\n"
      "  post_build:\n    commands: [c]\n");
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(phase(out, PhaseName::kPreBuild).on_failure.kind, OnFailure::Kind::kAbort);
  const OnFailure& retry = phase(out, PhaseName::kBuild).on_failure;
  EXPECT_EQ(retry.kind, OnFailure::Kind::kRetry);
  EXPECT_EQ(retry.retry_count, 3);
  EXPECT_EQ(retry.retry_regex, ".*connection timed out.*");
  EXPECT_EQ(retry.raw, "Retry-3-.*connection timed out.*");
  EXPECT_EQ(phase(out, PhaseName::kPostBuild).on_failure.kind, OnFailure::Kind::kDefault);
}

TEST(ParsePhases, InvalidOnFailureNamesThePhase) {
  const std::string text =
      "version: 0.2\nphases:\n  build:\n    on-failure: STOP\n    commands: [b]\n";
  EXPECT_EQ(lint(text),
            "buildspec.yml:4:17: error: \"phases/build/on-failure\": invalid value \"STOP\": "
            "expected ABORT, CONTINUE, RETRY, RETRY-<count>, RETRY-<regex> or "
            "RETRY-<count>-<regex>\n"
            "    on-failure: STOP\n"
            "                ^\n");
  auto out =
      parse("version: 0.2\nphases:\n  build:\n    on-failure: RETRY-101\n    commands: [b]\n");
  ASSERT_EQ(out.diagnostics.size(), 1u);
  EXPECT_EQ(
      out.diagnostics[0].message,
      "\"phases/build/on-failure\": invalid value \"RETRY-101\": the retry count must be from "
      "0 to 100");
}

TEST(ParsePhases, RuntimeVersionsKeepTheirText) {
  auto out = parse(
      "version: 0.2\nphases:\n  install:\n    runtime-versions:\n      python: 3.10\n"
      "      java: corretto11\n      nodejs: 18.x\n      ruby: \"$MY_RUBY_VAR\"\n");
  ASSERT_TRUE(out.spec);
  const auto& rv = phase(out, PhaseName::kInstall).runtime_versions;
  ASSERT_EQ(rv.size(), 4u);
  EXPECT_EQ(rv[0], std::make_pair(std::string("python"), std::string("3.10")));
  EXPECT_EQ(rv[1], std::make_pair(std::string("java"), std::string("corretto11")));
  EXPECT_EQ(rv[2].second, "18.x");
  EXPECT_EQ(rv[3].second, "$MY_RUBY_VAR");
}

TEST(ParsePhases, RuntimeVersionsOutsideInstallAreIgnored) {
  const std::string text =
      "version: 0.2\nphases:\n  build:\n    runtime-versions:\n      python: 3.10\n"
      "    commands: [a]\n";
  auto out = parse(text);
  ASSERT_TRUE(out.spec);
  EXPECT_TRUE(phase(out, PhaseName::kBuild).runtime_versions.empty());
  EXPECT_EQ(lint(text),
            "buildspec.yml:4:5: warning: \"phases/build/runtime-versions\": runtime-versions is "
            "only used in the install phase (ignored)\n"
            "    runtime-versions:\n"
            "    ^\n");
}

TEST(ParsePhases, EmptyRuntimeVersionsWarns) {
  auto out = parse("version: 0.2\nphases:\n  install:\n    runtime-versions:\n    commands: [a]\n");
  ASSERT_TRUE(out.spec);
  ASSERT_EQ(out.diagnostics.size(), 1u);
  EXPECT_EQ(out.diagnostics[0].message,
            "\"phases/install/runtime-versions\" names no runtime (ignored)");
  EXPECT_EQ(out.diagnostics[0].mark.line, 4);
}

TEST(ParsePhases, RuntimeWithoutVersionIsAnError) {
  auto out = parse("version: 0.2\nphases:\n  install:\n    runtime-versions:\n      python:\n");
  ASSERT_EQ(out.diagnostics.size(), 1u);
  EXPECT_EQ(out.diagnostics[0].message,
            "\"phases/install/runtime-versions/python\" must name a version");
}

TEST(ParsePhases, UnknownPhaseKeyGetsASuggestion) {
  auto out = parse("version: 0.2\nphases:\n  build:\n    command:\n      - make\n");
  ASSERT_TRUE(out.spec);
  ASSERT_EQ(out.diagnostics.size(), 2u);
  EXPECT_EQ(out.diagnostics[0].message,
            "\"phases/build\" has no commands; the reference requires them");
  EXPECT_EQ(out.diagnostics[1].message,
            "unknown key \"command\" in \"phases/build\" (ignored; did you mean \"commands\"?)");
}

}  // namespace
}  // namespace kiln::spec
