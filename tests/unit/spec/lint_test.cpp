// lint_files() / lint_text(): what `kiln lint` prints and returns (docs/reference/design.md §3.2).
#include "spec/lint.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "spec/diagnostic.h"
#include "spec/parser.h"

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
    // Keep the folder of a failed test so it can be inspected.
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
  EXPECT_EQ(out.str(), dir_.string() + ": error: cannot read file: is a directory\n");
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
  EXPECT_EQ(out.str(), path + ":1:1: error: the buildspec is empty\n");
}

TEST(LintText, UsesThePathGiven) {
  std::ostringstream out;
  EXPECT_FALSE(lint_text("inline", "version: 0.2\n", out));
  EXPECT_EQ(out.str(),
            "inline:1:1: error: buildspec `phases` is not specified, see documentation\n"
            "version: 0.2\n"
            "^\n");
  std::ostringstream clean;
  EXPECT_TRUE(lint_text("inline", kGood, clean));
  EXPECT_EQ(clean.str(), "");
}

// Files that are not buildspecs, or that carry terminal control characters (docs/security.md):
// nothing quoted reaches a terminal raw, a key that could not be a key is not quoted, and
// devices, FIFOs and huge files fail at once.

const std::string kPhases = "version: 0.2\nphases:\n  build:\n    commands: [make]\n";

TEST_F(LintTest, ControlCharactersInKeysAreEscaped) {
  const std::string path = write("b.yml", kPhases + "\"a\\e]0;pwned\\ab\": 1\n");
  std::ostringstream out;
  EXPECT_EQ(lint_files({path}, out), 0);
  // The key (with a real ESC and BEL) is not a plausible key name, so it is not quoted.
  EXPECT_EQ(out.str(), path +
                           ":5:1: warning: unknown top-level key that is not a key name "
                           "(ignored)\n\"a\\e]0;pwned\\ab\": 1\n^\n");
  EXPECT_EQ(out.str().find('\x1b'), std::string::npos);
  EXPECT_EQ(out.str().find('\x07'), std::string::npos);
}

TEST_F(LintTest, RawControlBytesInTheSourceLineAreEscapedAndTheCaretFollows) {
  Diagnostic d;
  d.severity = Diagnostic::Severity::kWarning;
  d.mark = {1, 4};
  d.message = "bad \x1b[31mred";
  EXPECT_EQ(format_diagnostic("f\x07.yml",
                              "a\x1b"
                              "b: x\n",
                              d),
            "f\\x07.yml:1:4: warning: bad \\x1b[31mred\na\\x1bb: x\n      ^\n");
}

TEST_F(LintTest, AnotherFilesLinesAreNeverQuoted) {
  // What /etc/shadow looks like to the parser: a mapping whose keys are whole lines.
  const std::string shadow =
      "root: $y$j9T$abcdefghijklmnop$qrstuvwxyz0123456789ABCDEFGHIJK:19000:0:99999:7:::\n"
      "daemon: *:19000:0:99999:7:::\n";
  auto parsed = parse_buildspec(
      kPhases + "\"root:$y$j9T$secret-hash:19000:0:99999:7:::\": 1\n" + shadow, "buildspec.yml");
  for (const auto& d : parsed.diagnostics) {
    EXPECT_EQ(d.message.find("secret-hash"), std::string::npos) << d.message;
    EXPECT_EQ(d.message.find("abcdefghijklmnop"), std::string::npos) << d.message;
  }
  // A key that could be one is still named, with its suggestion.
  auto typo = parse_buildspec(kPhases + "artifact:\n  files: [a]\n", "buildspec.yml");
  ASSERT_FALSE(typo.diagnostics.empty());
  EXPECT_EQ(typo.diagnostics[0].message,
            "unknown top-level key \"artifact\" (ignored; did you mean \"artifacts\"?)");
}

TEST_F(LintTest, DevicesFifosAndHugeFilesFailAtOnce) {
  const std::string fifo = (dir_ / "fifo.yml").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string big = (dir_ / "big.yml").string();
  std::ofstream(big) << kPhases << "# " << std::string(kMaxBuildspecBytes, 'x') << "\n";
  auto run = std::async(std::launch::async, [&] {
    std::ostringstream out;
    const int rc = lint_files({"/dev/zero", fifo, big}, out);
    return std::make_pair(rc, out.str());
  });
  ASSERT_EQ(run.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const auto [rc, text] = run.get();
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(text, "/dev/zero: error: cannot read file: is a device\n" + fifo +
                      ": error: cannot read file: is a FIFO\n" + big +
                      ": error: cannot read file: is larger than 1 MiB, the limit\n");
}

}  // namespace
}  // namespace kiln::spec
