// lint_files() / lint_text(): what `kiln lint` prints and returns (DESIGN §3.2).
#include "spec/lint.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace kiln::spec {
namespace {

namespace fs = std::filesystem;

class LintTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "kiln-lint-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    // Keep the folder of a failed test so it can be inspected (style.md §9).
    if (HasFailure())
      std::fprintf(stderr, "kept %s\n", dir_.c_str());
    else
      fs::remove_all(dir_);
  }
  std::string write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
  fs::path dir_;
};

const std::string kGood = "version: 0.2\nphases:\n  build:\n    commands:\n      - make\n";

TEST_F(LintTest, CleanFilePrintsNothingAndReturnsZero) {
  std::ostringstream out;
  EXPECT_EQ(lint_files({write("buildspec.yml", kGood)}, out), 0);
  EXPECT_EQ(out.str(), "");
}

TEST_F(LintTest, WarningsAloneReturnZero) {
  const std::string path = write("b.yml", kGood + "foo: 1\n");
  std::ostringstream out;
  EXPECT_EQ(lint_files({path}, out), 0);
  EXPECT_EQ(out.str(),
            path + ":6:1: warning: unknown top-level key \"foo\" (ignored)\nfoo: 1\n^\n");
}

TEST_F(LintTest, ErrorsReturnOne) {
  const std::string path = write("b.yml", "version: 0.3\nphases:\n  build:\n    commands: [a]\n");
  std::ostringstream out;
  EXPECT_EQ(lint_files({path}, out), 1);
  EXPECT_EQ(out.str(), path +
                           ":1:10: error: invalid buildspec `version` specified: 0.3, see "
                           "documentation\nversion: 0.3\n         ^\n");
}

TEST_F(LintTest, MissingFileUsesCodeBuildsMessage) {
  const std::string path = (dir_ / "nope.yml").string();
  std::ostringstream out;
  EXPECT_EQ(lint_files({path}, out), 1);
  EXPECT_EQ(out.str(), path + ": error: YAML file does not exist\n");
}

TEST_F(LintTest, DirectoryCannotBeRead) {
  std::ostringstream out;
  EXPECT_EQ(lint_files({dir_.string()}, out), 1);
  EXPECT_EQ(out.str(), dir_.string() + ": error: cannot read file: Is a directory\n");
}

TEST_F(LintTest, EveryFileIsCheckedInOrder) {
  const std::string bad = write("bad.yml", "version: 0.2\nphases:\n\tbuild:\n");
  const std::string good = write("good.yml", kGood);
  const std::string missing = (dir_ / "missing.yml").string();
  std::ostringstream out;
  EXPECT_EQ(lint_files({bad, good, missing}, out), 1);
  EXPECT_EQ(out.str(),
            bad + ":3:1: error: found character that cannot start any token\n\tbuild:\n^\n" +
                missing + ": error: YAML file does not exist\n");
}

TEST_F(LintTest, EmptyFile) {
  const std::string path = write("empty.yml", "");
  std::ostringstream out;
  EXPECT_EQ(lint_files({path}, out), 1);
  EXPECT_EQ(out.str(), path + ": error: the buildspec is empty\n");
}

TEST(LintText, UsesThePathGiven) {
  std::ostringstream out;
  EXPECT_FALSE(lint_text("inline", "version: 0.2\n", out));
  EXPECT_EQ(out.str(), "inline: error: buildspec `phases` is not specified, see documentation\n");
  std::ostringstream clean;
  EXPECT_TRUE(lint_text("inline", kGood, clean));
  EXPECT_EQ(clean.str(), "");
}

}  // namespace
}  // namespace kiln::spec
