// What a CodeBuild compute type means for a container executor's limits
// (docs/reference/codebuild-semantics.md §10.4). The figures are the Linux container table
// (BUILD_GENERAL1_SMALL = 2 vCPUs and 3 GB, as the issue and CodeBuild's 2022 table say; the API
// text now says "up to 4 GiB"). Lambda types get their named memory and 2 vCPUs.
// ATTRIBUTE_BASED_COMPUTE and CUSTOM_INSTANCE_TYPE have no fixed size here and run unlimited.
// docs/executors.md has the table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace kiln::exec {

struct ComputeLimits {
  std::uint64_t memory_bytes = 0;  // 0 = no limit
  std::uint32_t vcpus = 0;         // 0 = no limit
  std::uint32_t pids = 0;          // 0 = no limit

  // "3 GB, 2 vCPUs" for the log.
  std::string describe() const;
};

// nullopt for a compute type CodeBuild does not have.
std::optional<ComputeLimits> compute_limits(const std::string& compute_type);

}  // namespace kiln::exec
