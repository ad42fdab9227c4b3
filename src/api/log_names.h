// CloudWatch Logs names as Kiln maps them onto its data folder (docs/server.md, "Logs"): the log
// group /aws/codebuild/<project> is the folder DATA/logs/<project> (it exists once a build of the
// project has started, as CodeBuild creates the group at a project's first build), and its
// stream <uuid> is the file <uuid>.log in it. Shared by logs_ops.cpp and log_groups.cpp.
// Thread safety: pure functions, and reads of the file system.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/api_error.h"
#include "api/data_layout.h"
#include "api/validate.h"

namespace kiln::api {

inline constexpr std::string_view kLogGroupPrefix = "/aws/codebuild/";

inline ApiError no_log_group() {
  return {"ResourceNotFoundException", "The specified log group does not exist.", 400};
}
inline ApiError no_log_stream() {
  return {"ResourceNotFoundException", "The specified log stream does not exist.", 400};
}

// Stream names are build uuids: hex and dashes only, so they can name a file.
bool valid_log_stream(std::string_view s);

// The project whose log group the call names (logGroupName, or logGroupIdentifier: a name or
// an ARN), refused as CloudWatch does when no such group exists.
ApiResult<std::string> log_group_project(const Fields& f, const DataLayout& data);

// The folder of a project's log group.
inline std::filesystem::path log_group_dir(const DataLayout& data, const std::string& project) {
  return data.log_path(project, "x").parent_path();
}

// What DescribeLogStreams shows of a stream; times in epoch milliseconds, -1 when unknown
// (a stream with no events has no event times).
struct StreamInfo {
  std::string name;
  std::int64_t creation_ms = 0;
  std::int64_t first_event_ms = -1;
  std::int64_t last_event_ms = -1;
  std::uint64_t bytes = 0;
};

// Every stream of a group's folder, sorted by name; with `stat_only`, only name, creation time
// and size are filled (what DescribeLogGroups needs).
std::vector<StreamInfo> list_streams(const std::filesystem::path& dir, bool stat_only);

}  // namespace kiln::api
