// `batch`: the bad input of issue 17, each with its lint diagnostic and position
// (docs/reference/codebuild-semantics.md §8.1). parser_batch_test.cpp covers the shapes.
#include <gtest/gtest.h>

#include "spec/messages.h"
#include "spec/parser.h"

namespace kiln::spec {
namespace {

using Strings = std::vector<std::string>;
using testing::messages;

// The body starts at line 2.
ParseOutcome parse(const std::string& body) {
  return parse_buildspec("version: 0.2\n" + body + "phases:\n  build:\n    commands: [make]\n",
                         "buildspec.yml");
}

// `depends-on` (an old guide's spelling) is ignored by CodeBuild: the task starts at once.
// parser_batch_test.cpp's DependsOnTypoGetsAHint has the build-graph case.
TEST(BatchLint, DependsOnInABuildList) {
  auto out = parse("batch:\n  build-list:\n    - identifier: a\n      depends-on: [b]\n");
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(messages(out), Strings{"warning 5:7 \"batch/build-list[0]/depends-on\": depends-on "
                                   "is not a CodeBuild key; use depend-on (ignored)"});
}

TEST(BatchLint, DependsOnBesideDependOn) {
  auto out = parse(
      "batch:\n  build-graph:\n    - identifier: a\n    - identifier: c\n"
      "    - identifier: b\n      depend-on: [a]\n      depends-on: [c]\n");
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(out.spec->batch.tasks[2].depend_on, Strings{"a"});
  EXPECT_EQ(messages(out).size(), 1u);
}

TEST(BatchLint, Cycle) {
  EXPECT_EQ(messages(parse("batch:\n  build-graph:\n"
                           "    - identifier: x\n"
                           "    - identifier: a\n      depend-on: [x, b]\n"
                           "    - identifier: b\n      depend-on: [a]\n")),
            Strings{"error 5:7 \"batch/build-graph\": dependency cycle (each task depends on the "
                    "next): a -> b -> a"});
}

TEST(BatchLint, SelfDependencyIsACycle) {
  EXPECT_EQ(messages(parse("batch:\n  build-graph:\n    - identifier: a\n"
                           "    - identifier: b\n      depend-on: [a, b]\n")),
            Strings{"error 5:7 \"batch/build-graph\": dependency cycle (each task depends on the "
                    "next): b -> b"});
}

TEST(BatchLint, UnknownIdentifier) {
  EXPECT_EQ(messages(parse("batch:\n  build-graph:\n    - identifier: a\n"
                           "    - identifier: b\n      depend-on:\n        - a\n        - c\n")),
            Strings{"error 5:7 \"batch/build-graph[1]/depend-on\": no task has the identifier "
                    "\"c\""});
}

TEST(BatchLint, DuplicateIdentifier) {
  EXPECT_EQ(messages(parse("batch:\n  build-graph:\n    - identifier: a\n    - identifier: b\n"
                           "    - identifier: a\n")),
            Strings{"error 6:7 \"batch/build-graph[2]\": the identifier \"a\" is already used by "
                    "\"batch/build-graph[0]\""});
}

TEST(BatchLint, InvalidIdentifier) {
  EXPECT_EQ(messages(parse("batch:\n  build-list:\n    - identifier: linux-x86\n")),
            Strings{"warning 4:19 \"batch/build-list[0]/identifier\": \"linux-x86\" is not a "
                    "valid identifier: use 1 to 127 letters, digits or underscores; a batch build "
                    "fails on it"});
  EXPECT_EQ(
      messages(parse("batch:\n  build-list:\n    - identifier: " + std::string(128, 'a') + "\n")),
      Strings{"warning 4:19 \"batch/build-list[0]/identifier\": \"" + std::string(128, 'a') +
              "\" is not a valid identifier: use 1 to 127 letters, digits or underscores; a "
              "batch build fails on it"});
  EXPECT_EQ(messages(parse("batch:\n  build-graph:\n    - identifier: ok\n"
                           "    - identifier: DOWNLOAD_SOURCE\n")),
            Strings{"warning 5:19 \"batch/build-graph[1]/identifier\": DOWNLOAD_SOURCE is "
                    "reserved for the batch's first build group; a batch build fails on it"});
  // A digit first is fine: s2n-tls runs `32BitBuildAndUnit` on CodeBuild.
  EXPECT_TRUE(messages(parse("batch:\n  build-list:\n    - identifier: 32BitBuildAndUnit\n"
                             "    - identifier: " +
                             std::string(127, 'z') + "\n"))
                  .empty());
  EXPECT_TRUE(valid_batch_identifier("a_B_9"));
  EXPECT_FALSE(valid_batch_identifier(""));
  EXPECT_FALSE(valid_batch_identifier("a.b"));
}

TEST(BatchLint, EmptyTaskListIsAnError) {
  EXPECT_EQ(messages(parse("batch:\n  build-list: []\n")),
            Strings{"error 3:15 \"batch/build-list\" has no tasks: a batch needs at least one "
                    "build"});
  EXPECT_EQ(messages(parse("batch:\n  fast-fail: true\n  build-graph: []\n")),
            Strings{"error 4:16 \"batch/build-graph\" has no tasks: a batch needs at least one "
                    "build"});
  EXPECT_EQ(messages(parse("batch:\n  build-list:\n")),
            Strings{"error 3:3 \"batch/build-list\" must be a list of tasks, found an empty "
                    "value"});
}

TEST(BatchLint, MatrixWithNothingToVaryIsAnError) {
  const std::string error =
      "\"batch/build-matrix\" has no dynamic buildspec, image, compute-type or variable values: "
      "a batch needs at least one build";
  EXPECT_EQ(messages(parse("batch:\n  build-matrix:\n")), Strings{"error 3:3 " + error});
  EXPECT_EQ(messages(parse("batch:\n  build-matrix:\n    static:\n      ignore-failure: true\n")),
            Strings{"error 3:3 " + error});
  EXPECT_EQ(messages(parse("batch:\n  build-matrix:\n    dynamic:\n      buildspec: []\n"
                           "      env:\n        variables:\n          A: []\n")),
            Strings{"error 3:3 " + error});
  EXPECT_TRUE(messages(parse("batch:\n  build-matrix:\n    dynamic:\n      env:\n"
                             "        variables:\n          A: [x]\n"))
                  .empty());
}

// `batch:` with no kind stays a warning (make_plan refuses it when it is run as a batch).
TEST(BatchLint, NoKindIsAWarning) {
  auto out = parse("batch:\n  fast-fail: false\n");
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(messages(out), Strings{"warning 3:3 \"batch\" has none of build-list, build-graph, "
                                   "build-matrix and build-fanout: there is nothing to run as a "
                                   "batch"});
}

}  // namespace
}  // namespace kiln::spec

namespace kiln::spec {
namespace {

TEST(BatchShape, DecidesWhetherABuildspecRunsAsABatch) {
  EXPECT_EQ(batch_shape("version: 0.2\nphases:\n  build:\n    commands: [true]\n", "b.yml"),
            BatchShape::kNone);
  EXPECT_EQ(batch_shape("version: 0.2\nbatch:\n  build-list:\n    - identifier: a\n", "b.yml"),
            BatchShape::kBatchOnly);
  EXPECT_EQ(batch_shape("version: 0.2\nbatch:\n  build-list:\n    - identifier: a\n"
                        "phases:\n  build:\n    commands: [true]\n",
                        "b.yml"),
            BatchShape::kBatchAndPhases);
  // Mentions batch but does not parse: the build reports it.
  EXPECT_EQ(batch_shape("version: 0.2\nbatch: [\n", "b.yml"), BatchShape::kNone);
}

}  // namespace
}  // namespace kiln::spec
