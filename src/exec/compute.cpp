#include "exec/compute.h"

#include <array>
#include <string_view>

namespace kiln::exec {
namespace {

constexpr std::uint64_t kGB = 1000ull * 1000 * 1000;  // CodeBuild's table is in GB
constexpr std::uint64_t kGiB = 1024ull * 1024 * 1024;
// A fork bomb must not take the host down with the build; no real build comes near it.
constexpr std::uint32_t kPids = 16384;

struct Row {
  std::string_view name;
  std::uint64_t memory;
  std::uint32_t vcpus;
};

constexpr std::array kTable{
    Row{"BUILD_GENERAL1_SMALL", 3 * kGB, 2},      Row{"BUILD_GENERAL1_MEDIUM", 7 * kGB, 4},
    Row{"BUILD_GENERAL1_LARGE", 15 * kGB, 8},     Row{"BUILD_GENERAL1_XLARGE", 72 * kGiB, 36},
    Row{"BUILD_GENERAL1_2XLARGE", 145 * kGB, 72}, Row{"BUILD_LAMBDA_1GB", 1 * kGiB, 2},
    Row{"BUILD_LAMBDA_2GB", 2 * kGiB, 2},         Row{"BUILD_LAMBDA_4GB", 4 * kGiB, 2},
    Row{"BUILD_LAMBDA_8GB", 8 * kGiB, 4},         Row{"BUILD_LAMBDA_10GB", 10 * kGiB, 6},
    Row{"ATTRIBUTE_BASED_COMPUTE", 0, 0},         Row{"CUSTOM_INSTANCE_TYPE", 0, 0},
};

}  // namespace

std::string ComputeLimits::describe() const {
  if (memory_bytes == 0 && vcpus == 0) return "no memory or CPU limit";
  std::string mem = memory_bytes % kGB == 0 ? std::to_string(memory_bytes / kGB) + " GB"
                                            : std::to_string(memory_bytes / kGiB) + " GiB";
  return mem + ", " + std::to_string(vcpus) + " vCPUs";
}

std::optional<ComputeLimits> compute_limits(const std::string& compute_type) {
  for (const auto& r : kTable) {
    if (r.name == compute_type) return ComputeLimits{r.memory, r.vcpus, kPids};
  }
  return std::nullopt;
}

}  // namespace kiln::exec
