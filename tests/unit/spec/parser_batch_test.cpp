// `batch` (docs/reference/codebuild-semantics.md §8.1).
#include <gtest/gtest.h>

#include "spec/messages.h"
#include "spec/parser.h"

namespace kiln::spec {
namespace {

using Strings = std::vector<std::string>;
using Pairs = std::vector<std::pair<std::string, std::string>>;

// The body starts at line 2.
ParseOutcome parse(const std::string& body) {
  return parse_buildspec("version: 0.2\n" + body + "phases:\n  build:\n    commands: [make]\n",
                         "buildspec.yml");
}

using testing::messages;

TEST(ParseBatch, BuildList) {
  auto out = parse(
      "batch:\n"
      "  fast-fail: true\n"
      "  build-list:\n"
      "    - identifier: build1\n"
      "      env:\n"
      "        variables:\n"
      "          BUILD_ID: build1\n"
      "      ignore-failure: false\n"
      "    - identifier: build2\n"
      "      buildspec: build2.yml\n"
      "      debug-session: yes\n"
      "      env:\n"
      "        compute-type: BUILD_GENERAL1_LARGE\n"
      "        image: aws/codebuild/standard:7.0\n"
      "        privileged-mode: true\n"
      "        type: LINUX_CONTAINER\n"
      "      ignore-failure: true\n");
  ASSERT_TRUE(out.spec) << messages(out).front();
  EXPECT_TRUE(out.diagnostics.empty());
  const Batch& b = out.spec->batch;
  EXPECT_TRUE(b.present);
  EXPECT_TRUE(b.fast_fail);
  EXPECT_EQ(b.kind, Batch::Kind::kBuildList);
  ASSERT_EQ(b.tasks.size(), 2u);
  EXPECT_EQ(b.tasks[0].identifier, "build1");
  EXPECT_EQ(b.tasks[0].env.variables, (Pairs{{"BUILD_ID", "build1"}}));
  EXPECT_FALSE(b.tasks[0].ignore_failure);
  EXPECT_FALSE(b.tasks[0].buildspec);
  EXPECT_FALSE(b.tasks[0].debug_session);
  EXPECT_FALSE(b.tasks[0].env.privileged_mode);
  EXPECT_EQ(b.tasks[1].buildspec, "build2.yml");
  EXPECT_TRUE(b.tasks[1].debug_session);
  EXPECT_EQ(b.tasks[1].env.compute_type, "BUILD_GENERAL1_LARGE");
  EXPECT_EQ(b.tasks[1].env.image, "aws/codebuild/standard:7.0");
  EXPECT_EQ(b.tasks[1].env.privileged_mode, true);
  EXPECT_EQ(b.tasks[1].env.type, "LINUX_CONTAINER");
  EXPECT_TRUE(b.tasks[1].ignore_failure);
}

TEST(ParseBatch, FastFailDefaultsToFalse) {
  auto out = parse("batch:\n  build-list:\n    - identifier: a\n");
  ASSERT_TRUE(out.spec);
  EXPECT_FALSE(out.spec->batch.fast_fail);
}

TEST(ParseBatch, BuildGraphDependOn) {
  auto out = parse(
      "batch:\n"
      "  build-graph:\n"
      "    - identifier: build1\n"
      "    - identifier: build2\n"
      "      depend-on:\n"
      "        - build1\n"
      "    - identifier: build3\n"
      "      depend-on: [build1, build2]\n"
      "    - identifier: build4\n"
      "      depend-on: build3\n");
  ASSERT_TRUE(out.spec) << messages(out).front();
  const auto& t = out.spec->batch.tasks;
  EXPECT_EQ(out.spec->batch.kind, Batch::Kind::kBuildGraph);
  ASSERT_EQ(t.size(), 4u);
  EXPECT_TRUE(t[0].depend_on.empty());
  EXPECT_EQ(t[1].depend_on, Strings{"build1"});
  EXPECT_EQ(t[2].depend_on, (Strings{"build1", "build2"}));
  EXPECT_EQ(t[3].depend_on, Strings{"build3"});
}

TEST(ParseBatch, DependOnUnknownTask) {
  EXPECT_EQ(messages(parse("batch:\n  build-graph:\n    - identifier: a\n      depend-on: [b]\n")),
            Strings{"error 4:7 \"batch/build-graph[0]/depend-on\": no task has the identifier "
                    "\"b\""});
}

TEST(ParseBatch, DependencyCycle) {
  EXPECT_EQ(messages(parse("batch:\n  build-graph:\n"
                           "    - identifier: a\n      depend-on: [c]\n"
                           "    - identifier: b\n      depend-on: [a]\n"
                           "    - identifier: c\n      depend-on: [b]\n"
                           "    - identifier: d\n")),
            Strings{"error 4:7 \"batch/build-graph\": dependency cycle (each task depends on the "
                    "next): a -> c -> b -> a"});
  EXPECT_EQ(messages(parse("batch:\n  build-graph:\n    - identifier: a\n      depend-on: [a]\n")),
            Strings{"error 4:7 \"batch/build-graph\": dependency cycle (each task depends on the "
                    "next): a -> a"});
}

TEST(ParseBatch, IdentifiersAreRequiredAndUnique) {
  EXPECT_EQ(messages(parse("batch:\n  build-list:\n    - identifier: a\n    - identifier: a\n"
                           "    - buildspec: x.yml\n")),
            (Strings{"error 5:7 \"batch/build-list[1]\": the identifier \"a\" is already used by "
                     "\"batch/build-list[0]\"",
                     "error 6:7 \"batch/build-list[2]\" has no identifier"}));
}

TEST(ParseBatch, DependsOnTypoGetsAHint) {
  auto out = parse(
      "batch:\n  build-graph:\n    - identifier: a\n    - identifier: b\n"
      "      depends-on: [a]\n");
  ASSERT_TRUE(out.spec);
  EXPECT_TRUE(out.spec->batch.tasks[1].depend_on.empty());
  EXPECT_EQ(messages(out), Strings{"warning 6:7 \"batch/build-graph[1]/depends-on\": depends-on "
                                   "is not a CodeBuild key; use depend-on (ignored)"});
}

TEST(ParseBatch, DependOnIsOnlyForBuildGraph) {
  auto out = parse("batch:\n  build-list:\n    - identifier: a\n      depend-on: [b]\n");
  ASSERT_TRUE(out.spec);
  EXPECT_TRUE(out.spec->batch.tasks[0].depend_on.empty());
  EXPECT_EQ(messages(out), Strings{"warning 5:7 \"batch/build-list[0]/depend-on\": depend-on is "
                                   "only used in build-graph (ignored)"});
}

TEST(ParseBatch, ComputeTypeAndFleetAreExclusive) {
  EXPECT_EQ(messages(parse("batch:\n  build-list:\n    - identifier: a\n      env:\n"
                           "        compute-type: BUILD_GENERAL1_SMALL\n        fleet: f\n")),
            Strings{"error 7:9 \"batch/build-list[0]/env\": compute-type and fleet cannot be used "
                    "together"});
}

TEST(ParseBatch, TasksMustBeAListOfMappings) {
  EXPECT_EQ(messages(parse("batch:\n  build-list:\n    identifier: a\n")),
            Strings{"error 4:5 \"batch/build-list\" must be a list of tasks, found a mapping"});
  EXPECT_EQ(messages(parse("batch:\n  build-graph:\n    - a\n")),
            Strings{"error 4:7 \"batch/build-graph[0]\" must be a mapping, found a string"});
}

TEST(ParseBatch, BuildMatrix) {
  auto out = parse(
      "batch:\n"
      "  build-matrix:\n"
      "    static:\n"
      "      ignore-failure: true\n"
      "      env:\n"
      "        type: LINUX_CONTAINER\n"
      "        privileged-mode: true\n"
      "        image: aws/codebuild/standard:7.0\n"
      "    dynamic:\n"
      "      buildspec:\n"
      "        - matrix1.yml\n"
      "        - matrix2.yml\n"
      "      env:\n"
      "        compute-type: BUILD_GENERAL1_SMALL\n"
      "        image:\n"
      "          - aws/codebuild/amazonlinux2-x86_64-standard:4.0\n"
      "          - aws/codebuild/standard:7.0\n"
      "        variables:\n"
      "          MY_VAR:\n"
      "            - VALUE1\n"
      "            - VALUE2\n"
      "            - VALUE3\n"
      "          ONE: single\n");
  ASSERT_TRUE(out.spec) << messages(out).front();
  EXPECT_TRUE(out.diagnostics.empty()) << messages(out).front();
  const Batch& b = out.spec->batch;
  EXPECT_EQ(b.kind, Batch::Kind::kBuildMatrix);
  const BatchMatrix& m = b.matrix;
  EXPECT_TRUE(m.ignore_failure);
  EXPECT_EQ(m.static_env.type, "LINUX_CONTAINER");
  EXPECT_EQ(m.static_env.privileged_mode, true);
  EXPECT_EQ(m.static_env.image, "aws/codebuild/standard:7.0");
  EXPECT_EQ(m.buildspecs, (Strings{"matrix1.yml", "matrix2.yml"}));
  EXPECT_EQ(m.compute_types, Strings{"BUILD_GENERAL1_SMALL"});
  EXPECT_EQ(m.images, (Strings{"aws/codebuild/amazonlinux2-x86_64-standard:4.0",
                               "aws/codebuild/standard:7.0"}));
  ASSERT_EQ(m.variables.size(), 2u);
  EXPECT_EQ(m.variables[0].first, "MY_VAR");
  EXPECT_EQ(m.variables[0].second, (Strings{"VALUE1", "VALUE2", "VALUE3"}));
  EXPECT_EQ(m.variables[1].second, Strings{"single"});
}

TEST(ParseBatch, BuildMatrixShapes) {
  EXPECT_EQ(messages(parse("batch:\n  build-matrix:\n    dynamic:\n      env:\n"
                           "        variables: [A]\n")),
            Strings{"error 6:20 \"batch/build-matrix/dynamic/env/variables\" must be a mapping of "
                    "names to lists of values, found a list"});
  EXPECT_EQ(messages(parse("batch:\n  build-matrix:\n    dynamic:\n      envs: {}\n")),
            (Strings{"error 3:3 \"batch/build-matrix\" has no dynamic buildspec, image, "
                     "compute-type or variable values: a batch needs at least one build",
                     "warning 5:7 unknown key \"envs\" in \"batch/build-matrix/dynamic\" (ignored; "
                     "did you mean \"env\"?)"}));
}

TEST(ParseBatch, BuildFanout) {
  auto out = parse(
      "batch:\n  fast-fail: false\n  build-fanout:\n    parallelism: 5\n"
      "    ignore-failure: yes\n");
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(out.spec->batch.kind, Batch::Kind::kBuildFanout);
  EXPECT_EQ(out.spec->batch.fanout_parallelism, 5);
  EXPECT_TRUE(out.spec->batch.fanout_ignore_failure);
}

TEST(ParseBatch, FanoutNeedsAPositiveParallelism) {
  EXPECT_EQ(messages(parse("batch:\n  build-fanout:\n    ignore-failure: no\n")),
            Strings{"error 3:3 \"batch/build-fanout\" has no parallelism"});
  EXPECT_EQ(messages(parse("batch:\n  build-fanout:\n    parallelism: 0\n")),
            Strings{"error 4:18 \"batch/build-fanout/parallelism\" must be a whole number from 1 "
                    "to 100000, found \"0\""});
  EXPECT_EQ(messages(parse("batch:\n  build-fanout:\n    parallelism: five\n")),
            Strings{"error 4:18 \"batch/build-fanout/parallelism\" must be a whole number from 1 "
                    "to 100000, found \"five\""});
}

TEST(ParseBatch, OnlyOneKind) {
  EXPECT_EQ(messages(parse("batch:\n  build-list:\n    - identifier: a\n  build-fanout:\n"
                           "    parallelism: 2\n")),
            Strings{"error 5:3 \"batch\" can hold only one of build-list, build-graph, "
                    "build-matrix and build-fanout; \"build-list\" is already given"});
}

TEST(ParseBatch, BatchWithoutAKindWarns) {
  auto out = parse("batch:\n  fast-fail: true\n");
  ASSERT_TRUE(out.spec);
  EXPECT_TRUE(out.spec->batch.present);
  EXPECT_EQ(out.spec->batch.kind, Batch::Kind::kNone);
  EXPECT_EQ(messages(out), Strings{"warning 3:3 \"batch\" has none of build-list, build-graph, "
                                   "build-matrix and build-fanout: there is nothing to run as a "
                                   "batch"});
}

}  // namespace
}  // namespace kiln::spec
