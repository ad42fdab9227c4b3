// batch/plan.h: buildspec `batch` sections into plans (docs/reference/codebuild-semantics.md §8.1).
#include "batch/plan.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "spec/parser.h"

namespace kiln::batch {
namespace {

namespace fs = std::filesystem;
using Strings = std::vector<std::string>;
using Pairs = std::vector<std::pair<std::string, std::string>>;

spec::Batch parse(const std::string& body) {
  auto out = spec::parse_buildspec("version: 0.2\n" + body, "buildspec.yml");
  EXPECT_TRUE(out.spec) << (out.diagnostics.empty() ? "" : out.diagnostics.front().message);
  return out.spec ? out.spec->batch : spec::Batch{};
}

Plan plan_of(const std::string& body, const Restrictions& r = {}) {
  auto p = make_plan(parse(body), r, "BUILD_GENERAL1_SMALL");
  EXPECT_TRUE(p) << (p ? "" : p.error().status_code + ": " + p.error().message);
  return p ? *p : Plan{};
}

PlanError error_of(const spec::Batch& batch, const Restrictions& r = {},
                   const std::string& compute = "BUILD_GENERAL1_SMALL") {
  auto p = make_plan(batch, r, compute);
  EXPECT_FALSE(p);
  return p ? PlanError{} : p.error();
}

Strings ids(const Plan& p) {
  Strings out;
  for (const auto& m : p.members) out.push_back(m.identifier);
  return out;
}

spec::BatchTask task(const std::string& id, Strings deps = {}) {
  spec::BatchTask t;
  t.identifier = id;
  t.depend_on = std::move(deps);
  return t;
}

spec::Batch list(std::vector<spec::BatchTask> tasks,
                 spec::Batch::Kind kind = spec::Batch::Kind::kBuildList) {
  spec::Batch b;
  b.present = true;
  b.kind = kind;
  b.tasks = std::move(tasks);
  return b;
}

TEST(MakePlan, BuildGraphMembersAsWritten) {
  Plan p = plan_of(
      "batch:\n"
      "  fast-fail: true\n"
      "  build-graph:\n"
      "    - identifier: first\n"
      "      buildspec: ci/first.yml\n"
      "      ignore-failure: true\n"
      "      debug-session: true\n"
      "      env:\n"
      "        compute-type: BUILD_GENERAL1_LARGE\n"
      "        image: aws/codebuild/standard:7.0\n"
      "        privileged-mode: true\n"
      "        type: ARM_CONTAINER\n"
      "        variables:\n"
      "          A: '1'\n"
      "          B: two\n"
      "    - identifier: second\n"
      "      depend-on: [first]\n");
  EXPECT_EQ(p.type, BatchType::kBuildGraph);
  EXPECT_TRUE(p.fast_fail);
  ASSERT_EQ(ids(p), (Strings{"first", "second"}));
  const Member& a = p.members[0];
  EXPECT_EQ(a.buildspec, "ci/first.yml");
  EXPECT_TRUE(a.ignore_failure);
  EXPECT_TRUE(a.debug_session);
  EXPECT_EQ(a.env.compute_type, "BUILD_GENERAL1_LARGE");
  EXPECT_EQ(a.env.image, "aws/codebuild/standard:7.0");
  EXPECT_EQ(a.env.privileged_mode, true);
  EXPECT_EQ(a.env.type, "ARM_CONTAINER");
  EXPECT_EQ(a.env.variables, (Pairs{{"A", "1"}, {"B", "two"}}));
  const Member& b = p.members[1];
  EXPECT_FALSE(b.buildspec);
  EXPECT_EQ(b.depend_on, Strings{"first"});
  EXPECT_FALSE(b.env.compute_type);
  EXPECT_FALSE(b.env.privileged_mode);
  EXPECT_FALSE(b.ignore_failure);
}

TEST(MakePlan, BuildListKeepsOrderAndHasNoDependencies) {
  Plan p = plan_of("batch:\n  build-list:\n    - identifier: z\n    - identifier: a\n");
  EXPECT_EQ(p.type, BatchType::kBuildList);
  EXPECT_FALSE(p.fast_fail);
  EXPECT_EQ(ids(p), (Strings{"z", "a"}));
}

// Two buildspecs x MY_VAR in {VALUE1, VALUE2, VALUE3}: the documented 6 builds (§8.1), in the
// order plan.h documents (buildspec, image, compute type, variables; the last fastest).
TEST(MakePlan, MatrixIsTheProductInAStableOrder) {
  Plan p = plan_of(
      "batch:\n"
      "  build-matrix:\n"
      "    static:\n"
      "      ignore-failure: true\n"
      "      env:\n"
      "        privileged-mode: true\n"
      "        type: LINUX_CONTAINER\n"
      "        compute-type: BUILD_GENERAL1_MEDIUM\n"
      "        variables:\n"
      "          STATIC: s\n"
      "          MY_VAR: overridden\n"
      "    dynamic:\n"
      "      buildspec: [one.yml, two.yml]\n"
      "      env:\n"
      "        variables:\n"
      "          MY_VAR: [VALUE1, VALUE2, VALUE3]\n");
  EXPECT_EQ(p.type, BatchType::kBuildMatrix);
  ASSERT_EQ(ids(p), (Strings{"build1", "build2", "build3", "build4", "build5", "build6"}));
  const Strings buildspecs{"one.yml", "one.yml", "one.yml", "two.yml", "two.yml", "two.yml"};
  const Strings values{"VALUE1", "VALUE2", "VALUE3", "VALUE1", "VALUE2", "VALUE3"};
  for (size_t i = 0; i < 6; ++i) {
    const Member& m = p.members[i];
    EXPECT_EQ(m.buildspec, buildspecs[i]) << i;
    // Static first, the dynamic value after it, so the dynamic one wins.
    EXPECT_EQ(m.env.variables,
              (Pairs{{"STATIC", "s"}, {"MY_VAR", "overridden"}, {"MY_VAR", values[i]}}))
        << i;
    EXPECT_TRUE(m.ignore_failure);
    EXPECT_EQ(m.env.privileged_mode, true);
    EXPECT_EQ(m.env.type, "LINUX_CONTAINER");
    EXPECT_EQ(m.env.compute_type, "BUILD_GENERAL1_MEDIUM");
    EXPECT_FALSE(m.env.image);
    EXPECT_TRUE(m.depend_on.empty());
  }
}

TEST(MakePlan, MatrixOrderAcrossEveryDimension) {
  Plan p = plan_of(
      "batch:\n  build-matrix:\n    static:\n      env:\n        image: static-image\n"
      "    dynamic:\n"
      "      buildspec: [b1, b2]\n"
      "      env:\n"
      "        image: [i1, i2]\n"
      "        compute-type: [c1, c2]\n"
      "        variables:\n"
      "          X: [x1, x2]\n"
      "          EMPTY: []\n"
      "          Y: [y1, y2]\n");
  ASSERT_EQ(p.members.size(), 32u);
  // build1 is every dimension's first value; build2 changes the last variable only; build32
  // every last value. An empty list does not vary (EMPTY is absent).
  auto shape = [](const Member& m) {
    std::string s = *m.buildspec + " " + *m.env.image + " " + *m.env.compute_type;
    for (const auto& [k, v] : m.env.variables) s += " " + k + "=" + v;
    return s;
  };
  EXPECT_EQ(shape(p.members[0]), "b1 i1 c1 X=x1 Y=y1");
  EXPECT_EQ(shape(p.members[1]), "b1 i1 c1 X=x1 Y=y2");
  EXPECT_EQ(shape(p.members[2]), "b1 i1 c1 X=x2 Y=y1");
  EXPECT_EQ(shape(p.members[4]), "b1 i1 c2 X=x1 Y=y1");
  EXPECT_EQ(shape(p.members[8]), "b1 i2 c1 X=x1 Y=y1");
  EXPECT_EQ(shape(p.members[16]), "b2 i1 c1 X=x1 Y=y1");
  EXPECT_EQ(shape(p.members[31]), "b2 i2 c2 X=x2 Y=y2");
  EXPECT_EQ(p.members[31].identifier, "build32");
}

TEST(MakePlan, MatrixStaticImageWhenNotVaried) {
  Plan p = plan_of(
      "batch:\n  build-matrix:\n    static:\n      env:\n        image: static-image\n"
      "    dynamic:\n      env:\n        variables:\n          X: [a, b]\n");
  ASSERT_EQ(p.members.size(), 2u);
  EXPECT_EQ(p.members[0].env.image, "static-image");
  EXPECT_FALSE(p.members[0].buildspec);
}

TEST(MakePlan, Fanout) {
  Plan p = plan_of("batch:\n  build-fanout:\n    parallelism: 3\n    ignore-failure: true\n");
  EXPECT_EQ(p.type, BatchType::kBuildFanout);
  EXPECT_EQ(ids(p), (Strings{"build1", "build2", "build3"}));
  for (const auto& m : p.members) {
    EXPECT_TRUE(m.ignore_failure);
    EXPECT_FALSE(m.buildspec);
  }
}

TEST(MakePlan, EmptyBatchesAreYamlErrors) {
  spec::Batch none;
  none.present = true;
  EXPECT_EQ(error_of(none).status_code, "YAML_FILE_ERROR");
  EXPECT_EQ(error_of(none).message,
            "The batch section has none of build-list, build-graph, build-matrix and build-fanout: "
            "there is no build to run");
  EXPECT_EQ(error_of(list({})).message,
            "The batch's build list is empty: there is no build to run");
  spec::Batch matrix;
  matrix.kind = spec::Batch::Kind::kBuildMatrix;
  matrix.matrix.variables = {{"X", {}}};
  EXPECT_EQ(error_of(matrix).message,
            "The batch's build-matrix has no dynamic value: there is no build to run");
  EXPECT_EQ(error_of(matrix).status_code, "YAML_FILE_ERROR");
  spec::Batch fanout;
  fanout.kind = spec::Batch::Kind::kBuildFanout;
  EXPECT_EQ(error_of(fanout).status_code, "YAML_FILE_ERROR");
}

TEST(MakePlan, InvalidIdentifiers) {
  for (const std::string& id :
       Strings{"has-dash", "", "DOWNLOAD_SOURCE", "a b", std::string(128, 'a')}) {
    PlanError e = error_of(list({task("ok"), task(id)}));
    EXPECT_EQ(e.status_code, "YAML_FILE_ERROR");
    EXPECT_EQ(e.message, "Invalid batch build identifier \"" + id +
                             "\": use 1 to 127 letters, digits or underscores (DOWNLOAD_SOURCE is "
                             "reserved)");
  }
  // s2n-tls's generalbatch has `32BitBuildAndUnit`, in use on CodeBuild.
  EXPECT_TRUE(make_plan(list({task("32BitBuildAndUnit"), task(std::string(127, 'a'))}), {}, "X"));
  EXPECT_TRUE(valid_member_identifier("a_1"));
  EXPECT_FALSE(valid_member_identifier("a.1"));
}

TEST(MakePlan, DuplicateIdentifier) {
  PlanError e = error_of(list({task("a"), task("b"), task("a")}));
  EXPECT_EQ(e.status_code, "YAML_FILE_ERROR");
  EXPECT_EQ(e.message, "Duplicate batch build identifier \"a\"");
}

TEST(MakePlan, UnknownDependencyFromStoredData) {
  PlanError e = error_of(list({task("a", {"zz"})}, spec::Batch::Kind::kBuildGraph));
  EXPECT_EQ(e.status_code, "YAML_FILE_ERROR");
  EXPECT_EQ(e.message, "Build \"a\" depends on \"zz\", which is not a build of the batch");
}

TEST(MakePlan, BuildspecThatEscapesTheSource) {
  for (const std::string path : {"../outside.yml", "/etc/passwd", "ci/../../x.yml", ".."}) {
    auto t = task("escape");
    t.buildspec = path;
    PlanError e = error_of(list({task("a"), t}));
    EXPECT_EQ(e.status_code, "YAML_FILE_ERROR");
    EXPECT_EQ(e.message, "Invalid buildspec path \"" + path +
                             "\" for build \"escape\": it must be relative to the source, without "
                             "\"..\"");
  }
  for (const std::string path : {"ci/x.yml", "./x.yml", "a..b/x.yml", "..x.yml"}) {
    auto t = task("fine");
    t.buildspec = path;
    EXPECT_TRUE(make_plan(list({t}), {}, "X")) << path;
  }
}

TEST(MakePlan, MaximumBuildsAllowed) {
  // 10 x 10 x 10 = 1000 builds against a limit of 100.
  spec::Batch m;
  m.kind = spec::Batch::Kind::kBuildMatrix;
  for (const char* name : {"A", "B", "C"}) {
    Strings values;
    for (int i = 0; i < 10; ++i) values.push_back(std::to_string(i));
    m.matrix.variables.emplace_back(name, values);
  }
  Restrictions r;
  r.maximum_builds_allowed = 100;
  PlanError e = error_of(m, r);
  EXPECT_EQ(e.status_code, "CLIENT_ERROR");
  EXPECT_EQ(e.message,
            "Batch build exceeded maximum builds allowed: the batch has 1000 builds and the "
            "project's maximumBuildsAllowed is 100");
  r.maximum_builds_allowed = 1000;
  auto p = make_plan(m, r, "X");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->members.size(), 1000u);
  EXPECT_EQ(p->members.back().identifier, "build1000");
  // A list counts the same way; exactly the maximum is allowed.
  r.maximum_builds_allowed = 2;
  EXPECT_TRUE(make_plan(list({task("a"), task("b")}), r, "X"));
  EXPECT_EQ(error_of(list({task("a"), task("b"), task("c")}), r).status_code, "CLIENT_ERROR");
}

// 100^5 (and a product that overflows 64 bits) is refused before any member is made.
TEST(MakePlan, HugeMatrixIsRefusedWithoutMaterialising) {
  spec::Batch m;
  m.kind = spec::Batch::Kind::kBuildMatrix;
  Strings values;
  for (int i = 0; i < 100; ++i) values.push_back(std::to_string(i));
  for (int v = 0; v < 5; ++v) m.matrix.variables.emplace_back("V" + std::to_string(v), values);
  PlanError e = error_of(m);
  EXPECT_EQ(e.status_code, "CLIENT_ERROR");
  EXPECT_EQ(
      e.message,
      "Batch build exceeded maximum builds allowed: the batch has 10000000000 builds and Kiln "
      "runs at most 1000 in one batch");
  for (int v = 5; v < 12; ++v) m.matrix.variables.emplace_back("V" + std::to_string(v), values);
  Restrictions r;
  r.maximum_builds_allowed = 5000;
  EXPECT_EQ(error_of(m, r).message,
            "Batch build exceeded maximum builds allowed: the batch has more than 2^64 builds and "
            "the project's maximumBuildsAllowed is 5000");
  spec::Batch fan;
  fan.kind = spec::Batch::Kind::kBuildFanout;
  fan.fanout_parallelism = 1001;
  EXPECT_EQ(error_of(fan).status_code, "CLIENT_ERROR");
}

TEST(MakePlan, ComputeTypesAllowed) {
  Restrictions r;
  r.compute_types_allowed = {"BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM"};
  auto big = task("big");
  big.env.compute_type = "BUILD_GENERAL1_LARGE";
  PlanError e = error_of(list({task("a"), big}), r);
  EXPECT_EQ(e.status_code, "CLIENT_ERROR");
  EXPECT_EQ(e.message,
            "Compute type BUILD_GENERAL1_LARGE of build \"big\" is not allowed by the batch "
            "restrictions (computeTypesAllowed: BUILD_GENERAL1_SMALL, BUILD_GENERAL1_MEDIUM)");
  // A member without its own compute type is checked with the batch's.
  e = error_of(list({task("a")}), r, "BUILD_GENERAL2_LARGE");
  EXPECT_EQ(e.message,
            "Compute type BUILD_GENERAL2_LARGE of build \"a\" is not allowed by the batch "
            "restrictions (computeTypesAllowed: BUILD_GENERAL1_SMALL, BUILD_GENERAL1_MEDIUM)");
  EXPECT_TRUE(make_plan(list({task("a")}), r, "BUILD_GENERAL1_MEDIUM"));
  // A matrix's dynamic compute types are checked too.
  spec::Batch m;
  m.kind = spec::Batch::Kind::kBuildMatrix;
  m.matrix.compute_types = {"BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_2XLARGE"};
  EXPECT_EQ(error_of(m, r).message,
            "Compute type BUILD_GENERAL1_2XLARGE of build \"build2\" is not allowed by the batch "
            "restrictions (computeTypesAllowed: BUILD_GENERAL1_SMALL, BUILD_GENERAL1_MEDIUM)");
}

TEST(SelectMembers, NamedAndTheirDependenciesInPlanOrder) {
  auto b = list({task("a"), task("b", {"a"}), task("c"), task("d", {"b", "c"}), task("e", {"a"})},
                spec::Batch::Kind::kBuildGraph);
  auto p = make_plan(b, {}, "X");
  ASSERT_TRUE(p);
  auto s = select_members(*p, {"d"});
  ASSERT_TRUE(s);
  EXPECT_EQ(ids(*s), (Strings{"a", "b", "c", "d"}));
  EXPECT_EQ(s->type, BatchType::kBuildGraph);
  s = select_members(*p, {"e", "c", "e"});
  ASSERT_TRUE(s);
  EXPECT_EQ(ids(*s), (Strings{"a", "c", "e"}));
  auto bad = select_members(*p, {"a", "nope"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message(),
            "--only: the batch has no build \"nope\" (builds: a, b, c, d, e)");
}

TEST(PlanJson, RoundTripsExactly) {
  auto p = plan_of(
      "batch:\n  fast-fail: true\n  build-graph:\n"
      "    - identifier: a\n      buildspec: x.yml\n      debug-session: true\n"
      "      env:\n        compute-type: C\n        image: I\n        privileged-mode: false\n"
      "        type: T\n        variables: {V: '1', W: ''}\n"
      "    - identifier: b\n      depend-on: [a]\n      ignore-failure: true\n"
      "      buildspec: ''\n");
  const auto j = plan_to_json(p);
  auto back = plan_from_json(j);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(plan_to_json(*back), j);
  EXPECT_EQ(back->type, BatchType::kBuildGraph);
  EXPECT_TRUE(back->fast_fail);
  ASSERT_EQ(back->members.size(), 2u);
  EXPECT_EQ(back->members[0].env.privileged_mode, false);  // set to false, not unset
  EXPECT_FALSE(back->members[1].env.privileged_mode);
  EXPECT_FALSE(back->members[1].buildspec);  // "" is the batch's own buildspec
  EXPECT_EQ(back->members[0].env.variables, (Pairs{{"V", "1"}, {"W", ""}}));
  EXPECT_EQ(back->members[1].depend_on, Strings{"a"});
  EXPECT_TRUE(back->members[1].ignore_failure);
  EXPECT_TRUE(back->members[0].debug_session);
  // Every type survives.
  for (BatchType t : {BatchType::kBuildList, BatchType::kBuildMatrix, BatchType::kBuildFanout}) {
    Plan q;
    q.type = t;
    auto r = plan_from_json(plan_to_json(q));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->type, t);
  }
}

TEST(PlanJson, FromJsonNamesTheBadMember) {
  auto j =
      plan_to_json(plan_of("batch:\n  build-list:\n    - identifier: a\n"
                           "    - identifier: b\n"));
  j["members"][1]["env"]["image"] = 7;
  auto r = plan_from_json(j);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kParse);
  EXPECT_EQ(r.error().message(), "batch plan: plan.members[1] (b).env.image: expected a string");
  j["members"][1] = {{"buildspec", "x"}};
  EXPECT_EQ(plan_from_json(j).error().message(), "batch plan: plan.members[1].identifier: missing");
  j["members"][1] = {{"identifier", "b"}, {"env", {{"variables", {{{"name", "N"}}}}}}};
  EXPECT_EQ(plan_from_json(j).error().message(),
            "batch plan: plan.members[1] (b).env.variables[0].value: missing");
  j["members"][1] = {{"identifier", "b"}, {"dependOn", {"a", 1}}};
  EXPECT_EQ(plan_from_json(j).error().message(),
            "batch plan: plan.members[1] (b).dependOn[1]: expected a string");
  j["type"] = "BUILD_TREE";
  EXPECT_EQ(plan_from_json(j).error().message(),
            "batch plan: plan.type: unknown batch type \"BUILD_TREE\"");
  EXPECT_EQ(plan_from_json(nlohmann::json::array()).error().message(),
            "batch plan: expected an object");
}

// tests/unit/batch/plan_test.cpp -> the repository root.
const fs::path kCorpus =
    fs::path(__FILE__).parent_path().parent_path().parent_path().parent_path() / "tests" /
    "corpus" / "buildspecs";

// Every real buildspec with a batch section parses and plans; a matrix gives its product.
TEST(MakePlan, CorpusBatchBuildspecsPlan) {
  std::map<std::string, size_t> planned;
  for (const auto& entry : fs::directory_iterator(kCorpus)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    auto out = spec::parse_buildspec(text.str(), entry.path().filename().string());
    if (!out.spec || !out.spec->batch.present) continue;
    auto p = make_plan(out.spec->batch, {}, "BUILD_GENERAL1_SMALL");
    ASSERT_TRUE(p) << entry.path() << ": " << p.error().message;
    planned[entry.path().filename().string()] = p->members.size();
  }
  const std::map<std::string, size_t> expected = {
      {"001-aws-s2n-tls-integ-rust.yml", 10},
      {"002-aws-s2n-tls-integv2-matrix.yml", 12},  // 1 image x 1 compute type x 3 x 4
      {"004-aws-s2n-tls-generalbatch.yml", 31},
      {"005-aws-s2n-tls-sanitizer.yml", 14},
      {"011-aws-aws-encryption-sdk-python-batch-graph.yml", 73},
      {"029-aws-copilot-cli-e2e-graph.yml", 18},
      {"030-aws-copilot-cli-regression-list.yml", 1},
      {"036-aws-aws-lc-windows-omnibus.yml", 5},
      {"051-aws-aws-encryption-sdk-javascript-batch-list.yml", 9},
  };
  EXPECT_EQ(planned, expected);
}

}  // namespace
}  // namespace kiln::batch
