// parse_buildspec(): the document, `version`, `phases` presence and the top-level keys.
#include <gtest/gtest.h>

#include "spec/parser.h"

namespace kiln::spec {
namespace {

ParseOutcome parse(const std::string& text) {
  return parse_buildspec(text, "buildspec.yml");
}

// Every diagnostic as `kiln lint` prints it.
std::string lint(const std::string& text) {
  std::string out;
  for (const auto& d : parse(text).diagnostics) out += format_diagnostic("buildspec.yml", text, d);
  return out;
}

const std::string kMinimal = "version: 0.2\nphases:\n  build:\n    commands:\n      - make\n";

TEST(ParseTop, MinimalBuildspec) {
  auto out = parse(kMinimal);
  ASSERT_TRUE(out.spec) << lint(kMinimal);
  EXPECT_TRUE(out.diagnostics.empty());
  EXPECT_EQ(out.spec->version, Version::k0_2);
  EXPECT_EQ(out.spec->path, "buildspec.yml");
  ASSERT_EQ(out.spec->phases.size(), 4u);
  EXPECT_TRUE(out.spec->phases.at(PhaseName::kBuild).present);
  EXPECT_FALSE(out.spec->phases.at(PhaseName::kInstall).present);
  EXPECT_FALSE(out.spec->phases.at(PhaseName::kPreBuild).present);
  EXPECT_FALSE(out.spec->phases.at(PhaseName::kPostBuild).present);
  EXPECT_FALSE(out.spec->artifacts.present);
  EXPECT_FALSE(out.spec->cache.present);
  EXPECT_FALSE(out.spec->batch.present);
}

TEST(ParseTop, VersionAsQuotedString) {
  auto out = parse("version: \"0.2\"\nphases:\n  build:\n    commands: [make]\n");
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(out.spec->version, Version::k0_2);
}

TEST(ParseTop, Version01AsFloatAndString) {
  for (const char* v : {"0.1", "'0.1'"}) {
    auto out = parse(std::string("version: ") + v + "\nphases:\n  build:\n    commands: [make]\n");
    ASSERT_TRUE(out.spec) << v;
    EXPECT_EQ(out.spec->version, Version::k0_1);
  }
}

TEST(ParseTop, InvalidVersionUsesCodeBuildsMessage) {
  const std::string text = "version: 1.0\nphases:\n  build:\n    commands: [make]\n";
  auto out = parse(text);
  EXPECT_FALSE(out.spec);
  EXPECT_EQ(lint(text),
            "buildspec.yml:1:10: error: invalid buildspec `version` specified: 1.0, see "
            "documentation\n"
            "version: 1.0\n"
            "         ^\n");
  ASSERT_EQ(out.diagnostics.size(), 1u);
  EXPECT_EQ(phase_context_message(out.diagnostics[0]),
            "invalid buildspec `version` specified: 1.0, see documentation");
}

TEST(ParseTop, InvalidVersionIsQuotedAsWritten) {
  auto out = parse("version: 0.20\nphases:\n  build:\n    commands: [make]\n");
  ASSERT_EQ(out.diagnostics.size(), 1u);
  EXPECT_EQ(out.diagnostics[0].message,
            "invalid buildspec `version` specified: 0.20, see documentation");
}

TEST(ParseTop, VersionThatIsAListIsInvalid) {
  auto out = parse("version: [0.2]\nphases:\n  build:\n    commands: [make]\n");
  ASSERT_EQ(out.diagnostics.size(), 1u);
  EXPECT_EQ(out.diagnostics[0].message,
            "invalid buildspec `version` specified: a list, see documentation");
}

// Every diagnostic has a position. Without the key, it is the mapping that lacks it.
TEST(ParseTop, MissingVersionPointsAtTheMapping) {
  const std::string text = "phases:\n  build:\n    commands: [make]\n";
  EXPECT_EQ(lint(text),
            "buildspec.yml:1:1: error: buildspec `version` is not specified, see documentation\n"
            "phases:\n"
            "^\n");
  EXPECT_FALSE(parse(text).spec);
}

TEST(ParseTop, EmptyVersionPointsAtTheKey) {
  EXPECT_EQ(lint("version:\nphases:\n  build:\n    commands: [make]\n"),
            "buildspec.yml:1:1: error: buildspec `version` is not specified, see documentation\n"
            "version:\n"
            "^\n");
}

TEST(ParseTop, EmptyFile) {
  for (const char* text : {"", "\n\n", "# only a comment\n", "---\n", "~\n"}) {
    auto out = parse(text);
    EXPECT_FALSE(out.spec) << text;
    ASSERT_EQ(out.diagnostics.size(), 1u) << text;
    EXPECT_EQ(out.diagnostics[0].message, "the buildspec is empty");
    EXPECT_EQ(out.diagnostics[0].mark.line, 1);
    EXPECT_EQ(out.diagnostics[0].mark.column, 1);
  }
}

TEST(ParseTop, RootMustBeAMapping) {
  EXPECT_EQ(lint("- version: 0.2\n"),
            "buildspec.yml:1:1: error: the buildspec must be a mapping of keys such as version and "
            "phases, found a list\n"
            "- version: 0.2\n"
            "^\n");
  auto out = parse("just some text\n");
  ASSERT_EQ(out.diagnostics.size(), 1u);
  EXPECT_EQ(out.diagnostics[0].message,
            "the buildspec must be a mapping of keys such as version and phases, found a string");
}

TEST(ParseTop, MissingPhasesIsAnError) {
  EXPECT_EQ(lint("# comment\nversion: 0.2\n"),
            "buildspec.yml:2:1: error: buildspec `phases` is not specified, see documentation\n"
            "version: 0.2\n"
            "^\n");
  EXPECT_EQ(lint("version: 0.2\nphases:\n"),
            "buildspec.yml:2:1: error: buildspec `phases` is not specified, see documentation\n"
            "phases:\n"
            "^\n");
  EXPECT_FALSE(parse("version: 0.2\nphases: {}\n").spec);
}

TEST(ParseTop, BatchBuildspecMayOmitPhases) {
  auto out =
      parse("version: 0.2\nbatch:\n  build-list:\n    - identifier: a\n      buildspec: a.yml\n");
  ASSERT_TRUE(out.spec) << lint("");
  EXPECT_TRUE(out.diagnostics.empty());
}

TEST(ParseTop, PhasesMustBeAMapping) {
  auto out = parse("version: 0.2\nphases:\n  - build\n");
  ASSERT_EQ(out.diagnostics.size(), 1u);
  EXPECT_EQ(out.diagnostics[0].message, "\"phases\" must be a mapping, found a list");
}

TEST(ParseTop, UnknownTopLevelKeyIsAWarningWithASuggestion) {
  const std::string text = kMinimal + "artifact:\n  files: [a]\nfoo: 1\n";
  auto out = parse(text);
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(lint(text),
            "buildspec.yml:6:1: warning: unknown top-level key \"artifact\" (ignored; did you mean "
            "\"artifacts\"?)\n"
            "artifact:\n"
            "^\n"
            "buildspec.yml:8:1: warning: unknown top-level key \"foo\" (ignored)\n"
            "foo: 1\n"
            "^\n");
}

TEST(ParseTop, RunAs) {
  auto out = parse("version: 0.2\nrun-as: builder\n" + kMinimal.substr(13));
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(out.spec->run_as, "builder");
  EXPECT_FALSE(parse(kMinimal).spec->run_as);
}

TEST(ParseTop, RunAsMustBeAString) {
  auto out = parse("version: 0.2\nrun-as: [a]\n" + kMinimal.substr(13));
  ASSERT_EQ(out.diagnostics.size(), 1u);
  EXPECT_EQ(out.diagnostics[0].message, "\"run-as\" must be a string, found a list");
}

// In source order, except the version's: CodeBuild reads it first and stops there, so the
// first error listed is the one the build reports (tests/corpus/buildspecs/035).
TEST(ParseTop, DiagnosticsAreInSourceOrderAfterTheVersion) {
  auto out = parse("phases:\n  postbuild:\n    commands: [a]\nfoo: 1\nversion: 9\n");
  ASSERT_EQ(out.diagnostics.size(), 3u);
  EXPECT_EQ(out.diagnostics[0].mark.line, 5);
  EXPECT_EQ(out.diagnostics[0].message,
            "invalid buildspec `version` specified: 9, see documentation");
  EXPECT_EQ(out.diagnostics[1].mark.line, 2);
  EXPECT_EQ(out.diagnostics[2].mark.line, 4);
  EXPECT_EQ(lint("version: 0.0\ncontainers: {}\n"),
            "buildspec.yml:1:10: error: invalid buildspec `version` specified: 0.0, see "
            "documentation\n"
            "version: 0.0\n"
            "         ^\n"
            "buildspec.yml:1:1: error: buildspec `phases` is not specified, see documentation\n"
            "version: 0.0\n"
            "^\n"
            "buildspec.yml:2:1: warning: unknown top-level key \"containers\" (ignored)\n"
            "containers: {}\n"
            "^\n");
}

TEST(ParseTop, ElasticBeanstalkSettingsAreNamed) {
  auto out = parse(kMinimal + "eb_codebuild_settings:\n  Timeout: 60\n");
  ASSERT_TRUE(out.spec);
  ASSERT_EQ(out.diagnostics.size(), 1u);
  EXPECT_EQ(out.diagnostics[0].message,
            "\"eb_codebuild_settings\" is read by the Elastic Beanstalk CLI, not by CodeBuild "
            "(ignored)");
}

TEST(ParseTop, WarningsDoNotStopTheSpec) {
  auto out = parse(kMinimal + "unknown: 1\n");
  EXPECT_TRUE(out.spec);
  ASSERT_EQ(out.diagnostics.size(), 1u);
  EXPECT_EQ(out.diagnostics[0].severity, Diagnostic::Severity::kWarning);
  EXPECT_EQ(phase_context_message(out.diagnostics[0]),
            "unknown top-level key \"unknown\" (ignored)");
}

TEST(ParseTop, DuplicateKeyWarnsAndTheLastOneWins) {
  const std::string text =
      "version: 0.2\nphases:\n  build:\n    commands: [first]\n  build:\n    commands: [second]\n";
  auto out = parse(text);
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(lint(text),
            "buildspec.yml:5:3: warning: duplicate key \"build\" (the last one is used)\n"
            "  build:\n"
            "  ^\n");
  ASSERT_EQ(out.spec->phases.at(PhaseName::kBuild).commands.size(), 1u);
  EXPECT_EQ(out.spec->phases.at(PhaseName::kBuild).commands[0].text, "second");
}

TEST(ParseTop, AnchorsAliasesAndMergeKeys) {
  const std::string text =
      "version: 0.2\n"
      "x-common: &common\n"
      "  on-failure: ABORT\n"
      "  commands: [make]\n"
      "phases:\n"
      "  build:\n"
      "    <<: *common\n"
      "    on-failure: CONTINUE\n"
      "  post_build: *common\n";
  auto out = parse(text);
  ASSERT_TRUE(out.spec) << lint(text);
  const Phase& build = out.spec->phases.at(PhaseName::kBuild);
  EXPECT_EQ(build.on_failure.kind, OnFailure::Kind::kContinue);  // the map's own key wins
  ASSERT_EQ(build.commands.size(), 1u);
  EXPECT_EQ(build.commands[0].text, "make");
  EXPECT_EQ(out.spec->phases.at(PhaseName::kPostBuild).on_failure.kind, OnFailure::Kind::kAbort);
  ASSERT_EQ(out.diagnostics.size(), 1u);  // x-common is unknown
}

TEST(ParseTop, OnlyTheFirstDocumentIsUsed) {
  const std::string text = kMinimal + "---\nversion: 9\n";
  auto out = parse(text);
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(lint(text),
            "buildspec.yml:6:1: warning: only the first YAML document is used; this one is "
            "ignored\n"
            "---\n"
            "^\n");
}

}  // namespace
}  // namespace kiln::spec
