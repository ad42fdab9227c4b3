// Shared by the events tests: a temp folder, and a build record going through its phases as
// the engine stores it (BatchGetBuilds' shape, times in epoch seconds).
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kiln::events::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kiln-events-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline constexpr const char* kArn = "arn:aws:codebuild:us-east-1:000000000000:build/app:u-1";

// The record once `ended` phases of kOrder have ended (the next one in progress); with
// `status` set, the build is complete with that status and the last phase failed with it.
inline nlohmann::json record(std::size_t ended, const std::string& status = "") {
  static const std::vector<std::string> kOrder = {
      "SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE",  "INSTALL",
      "PRE_BUILD", "BUILD",  "POST_BUILD",   "UPLOAD_ARTIFACTS", "FINALIZING"};
  nlohmann::json phases = nlohmann::json::array();
  double t = 1700000000;
  for (std::size_t i = 0; i < ended && i < kOrder.size(); ++i) {
    const bool last = !status.empty() && i + 1 == ended;
    phases.push_back({{"phaseType", kOrder[i]},
                      {"phaseStatus", last && status != "SUCCEEDED" ? status : "SUCCEEDED"},
                      {"startTime", t},
                      {"endTime", t + 2},
                      {"durationInSeconds", 2},
                      {"contexts", {{{"statusCode", ""}, {"message", ""}}}}});
    t += 2;
  }
  const bool done = !status.empty();
  const std::string current =
      done ? "COMPLETED" : (ended < kOrder.size() ? kOrder[ended] : "COMPLETED");
  phases.push_back({{"phaseType", current}, {"startTime", t}});
  return {{"id", "app:u-1"},
          {"arn", kArn},
          {"buildNumber", 7},
          {"projectName", "app"},
          {"currentPhase", current},
          {"buildStatus", done ? status : "IN_PROGRESS"},
          {"buildComplete", done},
          {"startTime", 1700000000.25},
          {"initiator", "admin"},
          {"timeoutInMinutes", 60},
          {"phases", phases},
          {"source", {{"type", "NO_SOURCE"}, {"buildspec", "version: 0.2"}}},
          {"environment",
           {{"type", "LINUX_CONTAINER"},
            {"image", "kiln/host"},
            {"computeType", "BUILD_GENERAL1_SMALL"},
            {"privilegedMode", false},
            {"environmentVariables",
             {{{"name", "PLAIN"}, {"value", "v"}, {"type", "PLAINTEXT"}},
              {{"name", "TOKEN"}, {"value", "/prod/token"}, {"type", "PARAMETER_STORE"}},
              {{"name", "PW"}, {"value", "db-pass:password"}, {"type", "SECRETS_MANAGER"}}}}}},
          {"logs", {{"groupName", "/aws/codebuild/app"}, {"streamName", "u-1"}}},
          {"artifacts", {{"location", ""}}}};
}

}  // namespace kiln::events::testing
