#include "artifacts/collect.h"

#include <gtest/gtest.h>

#include "artifacts/temp_tree.h"

namespace kiln::artifacts {
namespace {

using kiln::testing::TempTree;

class CollectTest : public ::testing::Test {
 protected:
  // The tree of the worked examples in docs/reference/codebuild-semantics.md §5.1.
  void worked_example_tree() {
    t_.file("my-build-1/my-file-1.txt", "1");
    t_.file("my-build-2/my-file-2.txt", "2");
    t_.file("my-build-2/my-subdirectory/my-file-3.txt", "3");
  }

  Collected run(const spec::ArtifactSpec& spec) {
    CollectContext ctx{t_.root(), roots_, &expand_, {}};
    auto r = collect(spec, ctx, log_);
    EXPECT_TRUE(r) << r.error().describe();
    return r ? std::move(*r) : Collected{};
  }

  std::vector<std::string> paths(const spec::ArtifactSpec& spec) {
    Collected c = run(spec);
    EXPECT_FALSE(c.failure) << c.failure->message;
    std::vector<std::string> out;
    for (const Entry& e : c.files.entries) out.push_back(e.archive_path);
    return out;
  }

  static spec::ArtifactSpec files(std::vector<std::string> f) {
    spec::ArtifactSpec s;
    s.files = std::move(f);
    return s;
  }

  TempTree t_;
  logs::MemorySink log_;
  std::vector<SourceRoot> roots_;
  Expander expand_;
};

using Paths = std::vector<std::string>;

TEST_F(CollectTest, WorkedExampleStarMatchesOneComponent) {
  worked_example_tree();
  auto s = files({"*/my-file-3.txt"});
  s.base_directory = "my-build-2";
  EXPECT_EQ(paths(s), Paths{"my-subdirectory/my-file-3.txt"});
}

TEST_F(CollectTest, WorkedExampleBaseDirectoryGlobWithDiscardPaths) {
  worked_example_tree();
  auto s = files({"**/*"});
  s.base_directory = "my-build*";
  s.discard_paths = true;
  EXPECT_EQ(paths(s), (Paths{"my-file-1.txt", "my-file-2.txt", "my-file-3.txt"}));
  EXPECT_EQ(log_.text(),
            "Expanding base directory path: my-build*\n"
            "Assembling file list\n"
            "Expanding my-build*\n"
            "Expanding file paths for base directory my-build-1\n"
            "Assembling file list\n"
            "Expanding **/*\n"
            "Found 1 file(s)\n"
            "Expanding file paths for base directory my-build-2\n"
            "Assembling file list\n"
            "Expanding **/*\n"
            "Found 2 file(s)\n");
}

TEST_F(CollectTest, BaseDirectoryGlobKeepsPathsBelowEachBase) {
  worked_example_tree();
  auto s = files({"**/*"});
  s.base_directory = "my-build*";
  EXPECT_EQ(paths(s), (Paths{"my-file-1.txt", "my-file-2.txt", "my-subdirectory/my-file-3.txt"}));
}

TEST_F(CollectTest, AllFilesRecursivelyIncludingHidden) {
  worked_example_tree();
  t_.file(".env", "e");
  t_.file(".git/config", "c");
  EXPECT_EQ(paths(files({"**/*"})),
            (Paths{".env", ".git/config", "my-build-1/my-file-1.txt", "my-build-2/my-file-2.txt",
                   "my-build-2/my-subdirectory/my-file-3.txt"}));
  EXPECT_EQ(log_.text(),
            "Expanding base directory path: .\n"
            "Assembling file list\n"
            "Expanding .\n"
            "Expanding file paths for base directory .\n"
            "Assembling file list\n"
            "Expanding **/*\n"
            "Found 5 file(s)\n");
}

TEST_F(CollectTest, SingleFileAndFileInSubdirectory) {
  t_.file("my-file.jar");
  t_.file("a/b/my-file.jar");
  t_.file("a/b/other.jar");
  EXPECT_EQ(paths(files({"my-file.jar", "a/b/my-file.jar"})),
            (Paths{"a/b/my-file.jar", "my-file.jar"}));
}

TEST_F(CollectTest, SubdirectoryStarIsNotRecursive) {
  worked_example_tree();
  EXPECT_EQ(paths(files({"my-build-2/*"})), Paths{"my-build-2/my-file-2.txt"});
}

TEST_F(CollectTest, SubdirectoryGlobstarIsRecursive) {
  worked_example_tree();
  EXPECT_EQ(paths(files({"my-build-2/**/*"})),
            (Paths{"my-build-2/my-file-2.txt", "my-build-2/my-subdirectory/my-file-3.txt"}));
}

TEST_F(CollectTest, LiteralDirectorySelectsItsWholeContents) {
  worked_example_tree();
  EXPECT_EQ(paths(files({"my-build-2"})),
            (Paths{"my-build-2/my-file-2.txt", "my-build-2/my-subdirectory/my-file-3.txt"}));
}

TEST_F(CollectTest, LeadingDotSlashIsIgnored) {
  worked_example_tree();
  EXPECT_EQ(paths(files({"./my-build-1/my-file-1.txt"})), Paths{"my-build-1/my-file-1.txt"});
}

TEST_F(CollectTest, OverlappingPatternsYieldEachFileOnce) {
  worked_example_tree();
  auto p = paths(files({"**/*", "my-build-1/*", "my-build-1/my-file-1.txt"}));
  EXPECT_EQ(p.size(), 3U);
  EXPECT_NE(log_.text().find("Found 3 file(s)"), std::string::npos);
}

TEST_F(CollectTest, EmptyDirectoriesAndSpecialFilesAreNotEntries) {
  t_.dir("empty/deeper");
  t_.file("f");
  ASSERT_EQ(::mkfifo(t_.path("fifo").c_str(), 0644), 0);
  EXPECT_EQ(paths(files({"**/*"})), Paths{"f"});
}

TEST_F(CollectTest, ExcludeEveryDirectoryNamed) {
  t_.file("keep.txt");
  t_.file("file-name/a.txt");
  t_.file("x/file-name/y/b.txt");
  auto s = files({"**/*"});
  s.exclude_paths = {"**/file-name/**/*"};
  EXPECT_EQ(paths(s), Paths{"keep.txt"});
}

TEST_F(CollectTest, ExcludeDotFoldersAndDotFiles) {
  t_.file("src/main.c");
  t_.file(".git/config");
  t_.file("src/.cache/obj/x.o");
  t_.file("src/.clang-format");
  auto dirs = files({"**/*"});
  dirs.exclude_paths = {"**/.*/**/*"};
  EXPECT_EQ(paths(dirs), (Paths{"src/.clang-format", "src/main.c"}));
  auto dotfiles = files({"**/*"});
  dotfiles.exclude_paths = {"**/.*"};
  EXPECT_EQ(paths(dotfiles), (Paths{".git/config", "src/.cache/obj/x.o", "src/main.c"}));
}

TEST_F(CollectTest, ExcludePathsAreRelativeToBaseDirectory) {
  t_.file("dist/app.js");
  t_.file("dist/app.js.map");
  t_.file("dist/maps/x.map");
  auto s = files({"**/*"});
  s.base_directory = "dist";
  s.exclude_paths = {"*.map", "maps"};
  EXPECT_EQ(paths(s), Paths{"app.js"});
}

TEST_F(CollectTest, ExcludingEverythingAPatternMatchedSkipsIt) {
  t_.file("a.txt");
  t_.file("b.txt");
  auto s = files({"a.txt", "b.txt"});
  s.exclude_paths = {"a.txt"};
  EXPECT_EQ(paths(s), Paths{"b.txt"});
  EXPECT_NE(log_.text().find("Expanding a.txt\nSkipping invalid file path a.txt\n"),
            std::string::npos);
}

TEST_F(CollectTest, DiscardPathsFlattens) {
  t_.file("com/mycompany/app/HelloWorld.java");
  auto s = files({"**/*"});
  s.discard_paths = true;
  EXPECT_EQ(paths(s), Paths{"HelloWorld.java"});
}

TEST_F(CollectTest, DiscardPathsCollisionKeepsFirstAndLogs) {
  t_.file("a/README.md", "from a");
  t_.file("b/README.md", "from b");
  auto s = files({"**/*"});
  s.discard_paths = true;
  Collected c = run(s);
  ASSERT_FALSE(c.failure);
  ASSERT_EQ(c.files.entries.size(), 1U);
  EXPECT_EQ(c.files.entries[0].source, t_.path("a/README.md"));
  EXPECT_NE(log_.text().find("Skipping duplicate artifact path README.md (from b/README.md)\n"),
            std::string::npos)
      << log_.text();
}

TEST_F(CollectTest, EntriesCarryAbsoluteAndRootRelativeSources) {
  t_.file("dist/x/app.js");
  auto s = files({"**/*"});
  s.base_directory = "dist";
  Collected c = run(s);
  ASSERT_EQ(c.files.entries.size(), 1U);
  const Entry& e = c.files.entries[0];
  EXPECT_EQ(c.files.root, t_.root());
  EXPECT_EQ(e.archive_path, "x/app.js");
  EXPECT_EQ(e.source, t_.path("dist/x/app.js"));
  EXPECT_EQ(e.source_rel, "dist/x/app.js");
  EXPECT_FALSE(e.is_symlink);
}

TEST_F(CollectTest, EntriesAreSortedBytewise) {
  t_.file("b");
  t_.file("a-c");
  t_.file("a/b");
  t_.file("B");
  EXPECT_EQ(paths(files({"**/*"})), (Paths{"B", "a-c", "a/b", "b"}));
}

TEST_F(CollectTest, NothingMatchedIsClientErrorWithCodeBuildLog) {
  t_.file("other.txt");
  Collected c = run(files({"imagedefinitions.json"}));
  ASSERT_TRUE(c.failure);
  EXPECT_EQ(c.failure->status_code, "CLIENT_ERROR");
  EXPECT_EQ(c.failure->message, "no matching artifact paths found");
  EXPECT_EQ(log_.text(),
            "Expanding base directory path: .\n"
            "Assembling file list\n"
            "Expanding .\n"
            "Expanding file paths for base directory .\n"
            "Assembling file list\n"
            "Expanding imagedefinitions.json\n"
            "Skipping invalid file path imagedefinitions.json\n");
}

TEST_F(CollectTest, SomePatternsMissingStillSucceeds) {
  t_.file("result.txt");
  EXPECT_EQ(paths(files({"missing.txt", "result.txt"})), Paths{"result.txt"});
  EXPECT_EQ(log_.text(),
            "Expanding base directory path: .\n"
            "Assembling file list\n"
            "Expanding .\n"
            "Expanding file paths for base directory .\n"
            "Assembling file list\n"
            "Expanding missing.txt\n"
            "Skipping invalid file path missing.txt\n"
            "Expanding result.txt\n"
            "Found 1 file(s)\n");
}

TEST_F(CollectTest, MalformedFilePatternIsSkippedLikeAMiss) {
  t_.file("a.txt");
  EXPECT_EQ(paths(files({"[oops", "a.txt"})), Paths{"a.txt"});
  EXPECT_NE(log_.text().find("Expanding [oops\nSkipping invalid file path [oops\n"),
            std::string::npos);
}

TEST_F(CollectTest, MalformedExcludeIsClientError) {
  t_.file("a.txt");
  auto s = files({"**/*"});
  s.exclude_paths = {"[oops"};
  Collected c = run(s);
  ASSERT_TRUE(c.failure);
  EXPECT_EQ(c.failure->message, "exclude-paths: malformed pattern: [oops");
}

TEST_F(CollectTest, MissingBaseDirectoryIsClientError) {
  t_.file("a.txt");
  auto s = files({"**/*"});
  s.base_directory = "cdk.out";
  Collected c = run(s);
  ASSERT_TRUE(c.failure);
  EXPECT_EQ(c.failure->status_code, "CLIENT_ERROR");
  EXPECT_EQ(c.failure->message, "no matching base directory path found for cdk.out");
  s.base_directory = "a.txt";  // a file is not a base directory
  EXPECT_EQ(run(s).failure->message, "no matching base directory path found for a.txt");
  s.base_directory = "nomatch*";
  EXPECT_EQ(run(s).failure->message, "no matching base directory path found for nomatch*");
}

TEST_F(CollectTest, BaseDirectoryIsExpandedOnlyWhenItHasVariables) {
  t_.file("out/linux/app");
  int calls = 0;
  expand_ = [&](const std::string& s) -> Result<std::string> {
    ++calls;
    EXPECT_EQ(s, "out/$PLATFORM");
    return std::string("out/linux");
  };
  auto s = files({"**/*"});
  s.base_directory = "out/$PLATFORM";
  EXPECT_EQ(paths(s), Paths{"app"});
  EXPECT_EQ(calls, 1);
  EXPECT_NE(log_.text().find("Expanding base directory path: out/linux\n"), std::string::npos);
  s.base_directory = "out/linux";
  EXPECT_EQ(paths(s), Paths{"app"});
  EXPECT_EQ(calls, 1);
}

TEST_F(CollectTest, AbsoluteBaseDirectoryMapsToASourceRoot) {
  TempTree secondary;
  secondary.file("dist/lib.so", "so");
  roots_ = {{"/codebuild/output/src1/src/s3/00", t_.root()},
            {"/codebuild/output/src1/src/s3/01", secondary.root()}};
  expand_ = [](const std::string&) -> Result<std::string> {
    return std::string("/codebuild/output/src1/src/s3/01/dist");
  };
  auto s = files({"**/*"});
  s.base_directory = "$CODEBUILD_SRC_DIR_source1/dist";
  Collected c = run(s);
  ASSERT_FALSE(c.failure) << c.failure->message;
  ASSERT_EQ(c.files.entries.size(), 1U);
  EXPECT_EQ(c.files.entries[0].archive_path, "lib.so");
  EXPECT_EQ(c.files.entries[0].source, secondary.path("dist/lib.so"));
}

TEST_F(CollectTest, AbsoluteBaseDirectoryOutsideSourcesIsRejected) {
  auto s = files({"**/*"});
  for (const char* base : {"/etc", "/", "/codebuild/x"}) {
    s.base_directory = base;
    Collected c = run(s);
    ASSERT_TRUE(c.failure) << base;
    EXPECT_EQ(c.failure->message,
              std::string("base-directory is outside the source directories: ") + base);
  }
  roots_ = {{t_.root().string(), t_.root()}};
  s.base_directory = t_.root().string() + "/../..";
  EXPECT_TRUE(run(s).failure);
}

TEST_F(CollectTest, BaseDirectoryCannotEscape) {
  t_.file("a.txt");
  t_.link("etc-link", "/etc");
  auto s = files({"**/*"});
  s.base_directory = "..";
  Collected up = run(s);
  ASSERT_TRUE(up.failure);
  EXPECT_EQ(up.failure->message, "base-directory: '..' is not allowed in artifact paths: ..");
  s.base_directory = "etc-link";
  Collected link = run(s);
  ASSERT_TRUE(link.failure);
  EXPECT_EQ(link.failure->message,
            "base-directory: path escapes its root: etc-link (through symlink etc-link -> /etc)");
}

TEST_F(CollectTest, FilePatternsCannotEscape) {
  t_.file("a.txt");
  Collected up = run(files({"a.txt", "../x"}));
  ASSERT_TRUE(up.failure);
  EXPECT_EQ(up.failure->status_code, "CLIENT_ERROR");
  EXPECT_EQ(up.failure->message, "files: '..' is not allowed in artifact paths: ../x");
  Collected abs = run(files({"/etc/passwd"}));
  ASSERT_TRUE(abs.failure);
  EXPECT_EQ(abs.failure->message, "files: absolute path not allowed: /etc/passwd");
}

TEST_F(CollectTest, EmptyExpandedBaseDirectoryIsClientError) {
  expand_ = [](const std::string&) -> Result<std::string> { return std::string(); };
  auto s = files({"**/*"});
  s.base_directory = "$UNSET";
  Collected c = run(s);
  ASSERT_TRUE(c.failure);
  EXPECT_EQ(c.failure->message, "no matching base directory path found for $UNSET");
}

TEST_F(CollectTest, ExpanderFailureIsAnError) {
  expand_ = [](const std::string&) -> Result<std::string> {
    return fail(ErrorCode::kProcess, "shell died");
  };
  auto s = files({"**/*"});
  s.base_directory = "$X";
  CollectContext ctx{t_.root(), {}, &expand_, {}};
  auto r = collect(s, ctx, log_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().describe(), "while expanding base-directory: shell died");
}

}  // namespace
}  // namespace kiln::artifacts
