// The fuzz seed corpus doubles as a set of real-world buildspecs: the examples of
// /work/shared/seeds/codebuild-guide.md plus hand-written ones for every section.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "spec/parser.h"

namespace kiln::spec {
namespace {

namespace fs = std::filesystem;

// tests/unit/spec/corpus_test.cpp -> the repository root.
const fs::path kCorpus =
    fs::path(__FILE__).parent_path().parent_path().parent_path().parent_path() / "fuzz" / "corpus";

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Corpus, GuideExamplesParse) {
  ASSERT_TRUE(fs::is_directory(kCorpus)) << kCorpus;
  int files = 0;
  for (const auto& entry : fs::directory_iterator(kCorpus)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("guide-") || name.starts_with("guide-fragment-")) continue;
    ++files;
    const std::string text = read(entry.path());
    const ParseOutcome out = parse_buildspec(text, name);
    // The guide's only mistakes are unquoted ": " in echo commands, which CodeBuild rejects
    // too (§1.9); everything else in it must be accepted.
    for (const auto& d : out.diagnostics) {
      if (d.severity != Diagnostic::Severity::kError) continue;
      EXPECT_TRUE(d.message.starts_with("Expected Commands[")) << format_diagnostic(name, text, d);
    }
  }
  EXPECT_EQ(files, 34);
}

TEST(Corpus, FragmentsLackOnlyTheVersion) {
  for (const auto& entry : fs::directory_iterator(kCorpus)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("guide-fragment-")) continue;
    const std::string text = read(entry.path());
    const ParseOutcome out = parse_buildspec(text, name);
    ASSERT_FALSE(out.diagnostics.empty()) << name;
    EXPECT_EQ(out.diagnostics[0].message,
              "buildspec `version` is not specified, see documentation");
  }
}

// The §1.2 skeleton with every key filled in.
TEST(Corpus, SkeletonFillsEveryField) {
  const std::string text = read(kCorpus / "skeleton-0.2.yml");
  const ParseOutcome out = parse_buildspec(text, "skeleton-0.2.yml");
  ASSERT_TRUE(out.spec);
  EXPECT_TRUE(out.diagnostics.empty());
  const Buildspec& s = *out.spec;
  EXPECT_EQ(s.run_as, "builder");
  EXPECT_EQ(s.env.shell, "bash");
  ASSERT_EQ(s.env.variables.size(), 2u);
  EXPECT_EQ(s.env.variables[1].second, "1.10");
  EXPECT_EQ(s.env.parameter_store.size(), 1u);
  EXPECT_EQ(s.env.exported_variables, std::vector<std::string>{"VERSION"});
  EXPECT_EQ(s.env.secrets_manager.size(), 1u);
  EXPECT_TRUE(s.env.git_credential_helper);
  EXPECT_FALSE(s.proxy.upload_artifacts);
  EXPECT_TRUE(s.proxy.logs);
  const Phase& install = s.phases.at(PhaseName::kInstall);
  EXPECT_EQ(install.run_as, "root");
  EXPECT_EQ(install.on_failure.kind, OnFailure::Kind::kAbort);
  EXPECT_EQ(install.runtime_versions.size(), 2u);
  EXPECT_EQ(install.finally.size(), 1u);
  EXPECT_EQ(s.phases.at(PhaseName::kPreBuild).on_failure.retry_regex, ".*timed out.*");
  EXPECT_EQ(s.phases.at(PhaseName::kBuild).on_failure.kind, OnFailure::Kind::kContinue);
  EXPECT_EQ(s.phases.at(PhaseName::kPostBuild).commands[0].text,
            "[ ${CODEBUILD_BUILD_SUCCEEDING:-0} -eq 1 ] || exit 1");
  ASSERT_EQ(s.reports.size(), 2u);
  EXPECT_EQ(s.reports[1].file_format, "coberturaxml");
  EXPECT_TRUE(s.artifacts.primary.enable_symlinks);
  EXPECT_EQ(s.artifacts.secondary.size(), 2u);
  EXPECT_EQ(s.cache.fallback_keys.size(), 2u);
  EXPECT_EQ(s.cache.action, "restore");
}

TEST(Corpus, HandWrittenSeedsParseAsExpected) {
  for (const char* name : {"version-0.1.yml", "batch-graph.yml", "batch-list.yml",
                           "batch-matrix.yml", "batch-fanout.yml", "anchors-merge.yml"}) {
    const std::string text = read(kCorpus / name);
    const ParseOutcome out = parse_buildspec(text, name);
    EXPECT_TRUE(out.spec) << name << ": "
                          << (out.diagnostics.empty()
                                  ? ""
                                  : format_diagnostic(name, text, out.diagnostics[0]));
  }
  for (const char* name :
       {"bad-tab.yml", "bad-colon.yml", "bad-version-phase.yml", "bad-flow.yml"}) {
    EXPECT_FALSE(parse_buildspec(read(kCorpus / name), name).spec) << name;
  }
}

}  // namespace
}  // namespace kiln::spec
