#include "api/build_json.h"

#include <cmath>

namespace kiln::api {

bool build_complete(const nlohmann::json& build) {
  const auto it = build.find("buildComplete");
  return it != build.end() && it->is_boolean() && it->get<bool>();
}

void end_build(nlohmann::json& build, const std::string& status, double now,
               const std::string& context_code, const std::string& context_message) {
  if (build_complete(build)) return;
  auto& phases = build["phases"];
  if (!phases.is_array()) phases = nlohmann::json::array();
  if (!phases.empty()) {
    auto& last = phases.back();
    if (!last.contains("endTime")) {
      const double start = last.value("startTime", now);
      last["phaseStatus"] = status;
      last["endTime"] = now;
      last["durationInSeconds"] = static_cast<long>(std::floor(now - start));
      last["contexts"] =
          nlohmann::json::array({{{"statusCode", context_code}, {"message", context_message}}});
    }
  }
  phases.push_back({{"phaseType", "COMPLETED"}, {"startTime", now}});
  build["currentPhase"] = "COMPLETED";
  build["buildStatus"] = status;
  build["buildComplete"] = true;
  build["endTime"] = now;
}

}  // namespace kiln::api
