// plan_to_json / plan_from_json (batch/plan.h): the plan as the server stores it. The shape:
//   {"type": "BUILD_GRAPH", "fastFail": false, "members": [{"identifier": "b", "buildspec":
//   "x.yml",
//    "dependOn": ["a"], "env": {"computeType": ..., "image": ..., "privilegedMode": true,
//    "type": ..., "variables": [{"name": "N", "value": "V"}]}, "ignoreFailure": false,
//    "debugSession": false}]}
// Optional members are absent when unset, so a round trip keeps "unset" apart from "".
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "batch/plan.h"

#include "util/json_reader.h"

namespace kiln::batch {
namespace {

using nlohmann::json;

std::optional<BatchType> type_from(const std::string& s) {
  for (BatchType t : {BatchType::kBuildList, BatchType::kBuildGraph, BatchType::kBuildMatrix,
                      BatchType::kBuildFanout})
    if (s == type_name(t)) return t;
  return std::nullopt;
}

json env_to_json(const MemberEnv& env) {
  json j = json::object();
  if (env.compute_type) j["computeType"] = *env.compute_type;
  if (env.image) j["image"] = *env.image;
  if (env.privileged_mode) j["privilegedMode"] = *env.privileged_mode;
  if (env.type) j["type"] = *env.type;
  json vars = json::array();
  for (const auto& [name, value] : env.variables)
    vars.push_back({{"name", name}, {"value", value}});
  j["variables"] = std::move(vars);
  return j;
}

using Reader = JsonReader;

MemberEnv env_from_json(Reader& r, const json& j, const std::string& at) {
  MemberEnv env;
  r.read(j, at, "computeType", env.compute_type);
  r.read(j, at, "image", env.image);
  r.read(j, at, "privilegedMode", env.privileged_mode);
  r.read(j, at, "type", env.type);
  const json* vars = r.array(j, at, "variables", false);
  for (std::size_t i = 0; vars != nullptr && i < vars->size() && r.ok(); ++i) {
    const std::string v_at = at + ".variables[" + std::to_string(i) + "]";
    if (!(*vars)[i].is_object()) {
      r.fail_at(v_at, "expected an object");
      break;
    }
    std::string name, value;
    r.read((*vars)[i], v_at, "name", name, true);
    r.read((*vars)[i], v_at, "value", value, true);
    env.variables.emplace_back(std::move(name), std::move(value));
  }
  return env;
}

Member member_from_json(Reader& r, const json& j, const std::string& at) {
  Member m;
  r.read(j, at, "identifier", m.identifier, true);
  r.read(j, at, "buildspec", m.buildspec);
  r.read(j, at, "dependOn", m.depend_on);
  if (const json* env = r.object(j, at, "env")) m.env = env_from_json(r, *env, at + ".env");
  r.read(j, at, "ignoreFailure", m.ignore_failure);
  r.read(j, at, "debugSession", m.debug_session);
  return m;
}

}  // namespace

json plan_to_json(const Plan& plan) {
  json members = json::array();
  for (const Member& m : plan.members) {
    json jm = {{"identifier", m.identifier}};
    if (m.buildspec) jm["buildspec"] = *m.buildspec;
    jm["dependOn"] = m.depend_on;
    jm["env"] = env_to_json(m.env);
    jm["ignoreFailure"] = m.ignore_failure;
    jm["debugSession"] = m.debug_session;
    members.push_back(std::move(jm));
  }
  return {{"type", type_name(plan.type)}, {"fastFail", plan.fast_fail}, {"members", members}};
}

Result<Plan> plan_from_json(const json& j) {
  if (!j.is_object()) return fail(ErrorCode::kParse, "batch plan: expected an object");
  Reader r;
  Plan plan;
  std::string type;
  r.read(j, "plan", "type", type, true);
  if (r.ok()) {
    if (auto t = type_from(type)) {
      plan.type = *t;
    } else {
      r.fail_at("plan.type", "unknown batch type \"" + type + "\"");
    }
  }
  r.read(j, "plan", "fastFail", plan.fast_fail);
  const json* members = r.array(j, "plan", "members", true);
  for (std::size_t i = 0; members != nullptr && i < members->size() && r.ok(); ++i) {
    const json& jm = (*members)[i];
    std::string at = "plan.members[" + std::to_string(i) + "]";
    if (!jm.is_object()) {
      r.fail_at(at, "expected an object");
      break;
    }
    // Names the member by its identifier too, when it has a readable one.
    if (const auto id = jm.find("identifier"); id != jm.end() && id->is_string())
      at += " (" + id->get<std::string>() + ")";
    plan.members.push_back(member_from_json(r, jm, at));
  }
  if (!r.ok()) return fail(ErrorCode::kParse, "batch plan: " + r.error());
  return plan;
}

}  // namespace kiln::batch
