// The record's view of a build's variables and times as CodeBuild's answers show them: the
// effective environment (overrides applied, secrets as references) and one precision for every
// time (engine/record.h).
#include <gtest/gtest.h>

#include "engine/engine.h"
#include "engine/record.h"

namespace kiln::engine {
namespace {

using nlohmann::json;

TEST(RecordFidelity, EnvironmentIsTheEffectiveList) {
  BuildRequest req;
  req.identity.project = "demo";
  req.identity.uuid = "u";
  req.project_vars = {{"A", "project"}, {"B", "b"}};
  req.project_secret_vars = {{"S", SecretVar::Kind::kParameterStore, "/db/pass"}};
  req.override_vars = {{"S", "plain-now"}, {"C", "c"}};
  req.override_secret_vars = {{"A", SecretVar::Kind::kSecretsManager, "db:password"}};
  const json vars = to_json(record_for(req))["environment"]["environmentVariables"];
  EXPECT_EQ(vars,
            json::array({{{"name", "A"}, {"value", "db:password"}, {"type", "SECRETS_MANAGER"}},
                         {{"name", "B"}, {"value", "b"}, {"type", "PLAINTEXT"}},
                         {{"name", "S"}, {"value", "plain-now"}, {"type", "PLAINTEXT"}},
                         {{"name", "C"}, {"value", "c"}, {"type", "PLAINTEXT"}}}));
}

TEST(RecordFidelity, EveryTimeIsToTheMillisecond) {
  EXPECT_DOUBLE_EQ(record_time(1700000000.1234567), 1700000000.123);
  EXPECT_DOUBLE_EQ(record_time(1700000000.9996), 1700000001.0);
  BuildRecord r;
  r.start_time = 1700000000.000123;
  r.end_time = 1700000009.876543;
  PhaseRecord p{
      PhaseType::kBuild, Status::kSucceeded, 1700000001.2345678, 1700000002.0004, 1, {}, false};
  r.phases = {p};
  const json j = to_json(r);
  EXPECT_DOUBLE_EQ(j["startTime"].get<double>(), 1700000000.0);
  EXPECT_DOUBLE_EQ(j["endTime"].get<double>(), 1700000009.877);
  EXPECT_DOUBLE_EQ(j["phases"][0]["startTime"].get<double>(), 1700000001.235);
  EXPECT_DOUBLE_EQ(j["phases"][0]["endTime"].get<double>(), 1700000002.0);
}

}  // namespace
}  // namespace kiln::engine
