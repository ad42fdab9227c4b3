// `artifacts` (§5.1), `reports` (§7.1) and `cache` (§6.2).
#include <gtest/gtest.h>

#include "spec/messages.h"
#include "spec/parser.h"

namespace kiln::spec {
namespace {

using Strings = std::vector<std::string>;

// Line 1 is the version, lines 2-4 the phases: the body starts at line 5.
ParseOutcome parse(const std::string& body, const std::string& version = "0.2") {
  return parse_buildspec(
      "version: " + version + "\nphases:\n  build:\n    commands: [make]\n" + body,
      "buildspec.yml");
}

using testing::messages;

TEST(ParseArtifacts, EveryPrimaryKey) {
  auto out = parse(
      "artifacts:\n"
      "  files:\n"
      "    - target/app.jar\n"
      "    - '**/*'\n"
      "  name: myname-$(date +%Y-%m-%d)\n"
      "  discard-paths: yes\n"
      "  base-directory: 'my-build*'\n"
      "  exclude-paths:\n"
      "    - \"**/.*\"\n"
      "  enable-symlinks: Yes\n"
      "  s3-prefix: builds\n");
  ASSERT_TRUE(out.spec) << messages(out).front();
  EXPECT_TRUE(out.diagnostics.empty());
  const Artifacts& a = out.spec->artifacts;
  EXPECT_TRUE(a.present);
  EXPECT_EQ(a.mark.line, 5);
  EXPECT_EQ(a.primary.mark.line, 5);
  EXPECT_EQ(a.primary.files, (Strings{"target/app.jar", "**/*"}));
  EXPECT_EQ(a.primary.name, "myname-$(date +%Y-%m-%d)");
  EXPECT_TRUE(a.primary.discard_paths);
  EXPECT_EQ(a.primary.base_directory, "my-build*");
  EXPECT_EQ(a.primary.exclude_paths, Strings{"**/.*"});
  EXPECT_TRUE(a.primary.enable_symlinks);
  EXPECT_EQ(a.primary.s3_prefix, "builds");
  EXPECT_TRUE(a.secondary.empty());
}

TEST(ParseArtifacts, DefaultsWhenKeysAreAbsent) {
  auto out = parse("artifacts:\n  files: [a]\n");
  ASSERT_TRUE(out.spec);
  const ArtifactSpec& p = out.spec->artifacts.primary;
  EXPECT_FALSE(p.name);
  EXPECT_FALSE(p.discard_paths);
  EXPECT_FALSE(p.base_directory);
  EXPECT_TRUE(p.exclude_paths.empty());
  EXPECT_FALSE(p.enable_symlinks);
  EXPECT_FALSE(p.s3_prefix);
}

TEST(ParseArtifacts, SingleStringStandsForAOneElementList) {
  auto out = parse("artifacts:\n  files: target/app.jar\n  exclude-paths: '**/.git/**/*'\n");
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(out.spec->artifacts.primary.files, Strings{"target/app.jar"});
  EXPECT_EQ(out.spec->artifacts.primary.exclude_paths, Strings{"**/.git/**/*"});
}

TEST(ParseArtifacts, FilesMustBeStrings) {
  EXPECT_EQ(messages(parse("artifacts:\n  files:\n    - a\n    - {b: c}\n    -\n")),
            (Strings{"error 8:7 \"artifacts/files[1]\" must be a string, found a mapping",
                     "warning 9:5 \"artifacts/files[2]\" is empty (ignored)"}));
  EXPECT_EQ(messages(parse("artifacts:\n  files:\n    a: b\n")),
            Strings{"error 7:5 \"artifacts/files\" must be a list of strings, found a mapping"});
}

TEST(ParseArtifacts, SecondaryArtifacts) {
  auto out = parse(
      "artifacts:\n"
      "  files: [primary.txt]\n"
      "  secondary-artifacts:\n"
      "    artifact1:\n"
      "      files:\n"
      "        - directory/file1\n"
      "      name: secondary-artifact-name-1\n"
      "    artifact2:\n"
      "      base-directory: out2\n"
      "      discard-paths: yes\n"
      "      files: ['**/*']\n");
  ASSERT_TRUE(out.spec) << messages(out).front();
  const auto& s = out.spec->artifacts.secondary;
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].first, "artifact1");
  EXPECT_EQ(s[0].second.files, Strings{"directory/file1"});
  EXPECT_EQ(s[0].second.name, "secondary-artifact-name-1");
  EXPECT_EQ(s[0].second.mark.line, 8);
  EXPECT_EQ(s[1].first, "artifact2");
  EXPECT_EQ(s[1].second.base_directory, "out2");
  EXPECT_TRUE(s[1].second.discard_paths);
}

// §1.9: CodeBuild accepts this and fails in UPLOAD_ARTIFACTS; the engine does the same.
TEST(ParseArtifacts, SecondaryWithoutPrimaryFilesIsOnlyAWarning) {
  auto out = parse("artifacts:\n  secondary-artifacts:\n    out1:\n      files: [a]\n");
  ASSERT_TRUE(out.spec);
  EXPECT_TRUE(out.spec->artifacts.present);
  EXPECT_TRUE(out.spec->artifacts.primary.files.empty());
  EXPECT_EQ(out.spec->artifacts.secondary.size(), 1u);
  // Only a project with artifacts reads the section (tests/corpus/buildspecs/058 has none).
  EXPECT_EQ(messages(out), Strings{"warning 5:1 \"artifacts\" has no files: if the project "
                                   "defines artifacts, CodeBuild fails UPLOAD_ARTIFACTS with \"no "
                                   "definition for primary artifacts in buildspec\""});
}

TEST(ParseArtifacts, SecondaryShapes) {
  EXPECT_EQ(messages(parse("artifacts:\n  files: [a]\n  secondary-artifacts:\n    - out1\n")),
            Strings{"error 8:5 \"artifacts/secondary-artifacts\" must be a mapping of artifact "
                    "identifiers to artifact definitions, found a list"});
  EXPECT_EQ(messages(parse("artifacts:\n  files: [a]\n  secondary-artifacts:\n    out1:\n")),
            Strings{"warning 8:5 \"artifacts/secondary-artifacts/out1\" has no files: the "
                    "artifact will be empty"});
}

TEST(ParseArtifacts, EmptyArtifactsIsIgnored) {
  auto out = parse("artifacts:\n");
  ASSERT_TRUE(out.spec);
  EXPECT_FALSE(out.spec->artifacts.present);
  EXPECT_EQ(messages(out), Strings{"warning 5:1 \"artifacts\" is empty (ignored)"});
}

TEST(ParseArtifacts, TypeIsVersion01) {
  auto old = parse("artifacts:\n  type: zip\n  files: [a]\n", "0.1");
  ASSERT_TRUE(old.spec);
  EXPECT_TRUE(old.diagnostics.empty());
  EXPECT_EQ(messages(parse("artifacts:\n  type: zip\n  files: [a]\n")),
            Strings{"warning 6:3 \"artifacts/type\" is deprecated since version 0.2 (ignored)"});
}

TEST(ParseArtifacts, BooleansAreChecked) {
  auto out = parse("artifacts:\n  files: [a]\n  discard-paths: 1\n");
  EXPECT_FALSE(out.spec);
  EXPECT_EQ(messages(out), Strings{"error 7:18 \"artifacts/discard-paths\" must be yes, no, true "
                                   "or false, found \"1\""});
}

TEST(ParseArtifacts, UnknownKey) {
  EXPECT_EQ(messages(parse("artifacts:\n  files: [a]\n  discard_paths: yes\n")),
            Strings{"warning 7:3 unknown key \"discard_paths\" in \"artifacts\" (ignored; did "
                    "you mean \"discard-paths\"?)"});
}

TEST(ParseReports, EveryKey) {
  auto out = parse(
      "reports:\n"
      "  arn:aws:codebuild:us-west-2:123456789012:report-group/my-group:\n"
      "    files:\n"
      "      - '**/*'\n"
      "    base-directory: target/tests/reports\n"
      "    discard-paths: no\n"
      "    file-format: JunitXml\n"
      "  $REPORT_GROUP_NAME:\n"
      "    files: coverage/cobertura.xml\n"
      "    discard-paths: yes\n"
      "    file-format: COBERTURAXML\n");
  ASSERT_TRUE(out.spec) << messages(out).front();
  EXPECT_TRUE(out.diagnostics.empty());
  const auto& r = out.spec->reports;
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].group, "arn:aws:codebuild:us-west-2:123456789012:report-group/my-group");
  EXPECT_EQ(r[0].files, Strings{"**/*"});
  EXPECT_EQ(r[0].base_directory, "target/tests/reports");
  EXPECT_FALSE(r[0].discard_paths);
  EXPECT_EQ(r[0].file_format, "JunitXml");  // as written; the format is not case sensitive
  EXPECT_EQ(r[1].group, "$REPORT_GROUP_NAME");
  EXPECT_EQ(r[1].files, Strings{"coverage/cobertura.xml"});
  EXPECT_TRUE(r[1].discard_paths);
  EXPECT_FALSE(r[1].base_directory);
}

TEST(ParseReports, UnknownFormatAndMissingFilesAreWarnings) {
  auto out = parse("reports:\n  g:\n    file-format: XUNIT\n");
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(messages(out),
            (Strings{"warning 6:3 \"reports/g\" has no files: the report group will collect "
                     "nothing",
                     "warning 7:18 unknown report file-format \"XUNIT\" in "
                     "\"reports/g/file-format\""}));
}

TEST(ParseReports, AtMostFiveGroups) {
  std::string body = "reports:\n";
  for (int i = 1; i <= 6; ++i) body += "  g" + std::to_string(i) + ":\n    files: [a]\n";
  auto out = parse(body);
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(out.spec->reports.size(), 6u);
  EXPECT_EQ(messages(out),
            Strings{"warning 16:3 \"reports\": a project can use at most five report groups"});
}

TEST(ParseReports, Shapes) {
  EXPECT_EQ(messages(parse("reports:\n  - g\n")),
            Strings{"error 6:3 \"reports\" must be a mapping of report group names or ARNs to "
                    "report definitions, found a list"});
  EXPECT_EQ(messages(parse("reports:\n  g: [a]\n")),
            Strings{"error 6:6 \"reports/g\" must be a mapping, found a list"});
}

TEST(ParseCache, EveryKey) {
  auto out = parse(
      "cache:\n"
      "  key: npm-key-$(codebuild-hash-files package-lock.json)\n"
      "  fallback-keys:\n"
      "    - npm-key-\n"
      "    - npm-\n"
      "  action: Restore\n"
      "  paths:\n"
      "    - '/root/.npm/**/*'\n"
      "    - node_modules/**/*\n");
  ASSERT_TRUE(out.spec) << messages(out).front();
  EXPECT_TRUE(out.diagnostics.empty());
  const Cache& c = out.spec->cache;
  EXPECT_TRUE(c.present);
  EXPECT_EQ(c.key, "npm-key-$(codebuild-hash-files package-lock.json)");
  EXPECT_EQ(c.fallback_keys, (Strings{"npm-key-", "npm-"}));
  EXPECT_EQ(c.action, "restore");  // normalised to the model's lower case
  EXPECT_EQ(c.paths, (Strings{"/root/.npm/**/*", "node_modules/**/*"}));
}

TEST(ParseCache, PathsOnlyAndSingleString) {
  auto out = parse("cache:\n  paths: '/root/.m2/**/*'\n");
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(out.spec->cache.paths, Strings{"/root/.m2/**/*"});
  EXPECT_FALSE(out.spec->cache.key);
  EXPECT_FALSE(out.spec->cache.action);
}

TEST(ParseCache, InvalidAction) {
  EXPECT_EQ(messages(parse("cache:\n  action: both\n")),
            Strings{"error 6:11 \"cache/action\" must be restore or save, found \"both\""});
}

TEST(ParseCache, FallbackKeysNeedAKeyAndAreAtMostFive) {
  EXPECT_EQ(messages(parse("cache:\n  fallback-keys: [a]\n")),
            Strings{"warning 6:18 \"cache/fallback-keys\" is ignored when \"cache/key\" is not "
                    "set"});
  EXPECT_EQ(messages(parse("cache:\n  key: k\n  fallback-keys: [a, b, c, d, e, f]\n")),
            Strings{"warning 7:18 \"cache/fallback-keys\": CodeBuild supports up to five"});
}

TEST(ParseCache, EmptyCacheIsAbsent) {
  auto out = parse("cache:\n");
  ASSERT_TRUE(out.spec);
  EXPECT_FALSE(out.spec->cache.present);
}

}  // namespace
}  // namespace kiln::spec
