// A buildspec's `batch` section turned into the builds it asks for (docs/batch.md;
// docs/reference/codebuild-semantics.md §8.1): build-list and build-graph tasks as written,
// build-matrix as the cartesian product of its dynamic lists, build-fanout as `parallelism`
// copies. `kiln run --batch` and the server both plan with this, then run the plan with
// batch/run.h.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "spec/buildspec.h"
#include "util/error.h"

namespace kiln::batch {

enum class BatchType { kBuildList, kBuildGraph, kBuildMatrix, kBuildFanout };

// What one member build changes relative to the batch's own settings (the project, StartBuild's
// overrides). Unset members keep the batch's value.
struct MemberEnv {
  std::optional<std::string> compute_type;
  std::optional<std::string> image;
  std::optional<bool> privileged_mode;
  std::optional<std::string> type;
  // Layered over the project's variables (StartBuild's overrides still win): later wins.
  std::vector<std::pair<std::string, std::string>> variables;
};

struct Member {
  std::string identifier;  // CODEBUILD_BATCH_BUILD_IDENTIFIER; the build group's identifier
  // Relative to the primary source; unset: the buildspec the batch was read from.
  std::optional<std::string> buildspec;
  std::vector<std::string> depend_on;  // build-graph only; identifiers of this plan
  MemberEnv env;
  bool ignore_failure = false;
  bool debug_session = false;
};

struct Plan {
  BatchType type = BatchType::kBuildList;
  bool fast_fail = false;
  // build-list/graph: in buildspec order. build-matrix: the product in a stable order
  // (buildspec, then image, then compute type, then each variable in buildspec order, the last
  // varying fastest), with the identifiers build1, build2, ... (docs/batch.md: CodeBuild's own
  // are undocumented). An empty dynamic list does not vary its dimension. Every matrix member
  // takes the static ignore-failure and env (privileged-mode, type, and compute-type, image and
  // variables too, which public buildspecs use); a dynamic value replaces the static one, and
  // a dynamic variable is listed after the static ones, so it wins. build-fanout: build1..buildN.
  std::vector<Member> members;
};

// The project's buildBatchConfig.restrictions (ProjectBuildBatchConfig).
struct Restrictions {
  std::optional<int> maximum_builds_allowed;
  std::vector<std::string> compute_types_allowed;  // empty: any
};

// Why a batch fails in DOWNLOAD_BATCHSPEC: the phase context CodeBuild gives.
struct PlanError {
  std::string status_code;  // YAML_FILE_ERROR (the batch section), CLIENT_ERROR (restrictions)
  std::string message;
};

// The batch's identifier rule: 1..127 characters, letters, digits and underscores (as artifact
// identifiers); a leading digit is fine, as s2n-tls's real `32BitBuildAndUnit` shows.
// DOWNLOAD_SOURCE is reserved (the first group). The rule lives in spec::valid_batch_identifier,
// so the parser's lint applies it too.
bool valid_member_identifier(const std::string& id);

// Kiln's own ceiling on a batch's builds, with or without maximumBuildsAllowed: a matrix's size
// is computed before any member is made, so `100^5` is refused without allocating it.
inline constexpr std::size_t kMaxMembers = 1000;

// `default_compute_type` is the batch's own (project or override), checked against
// computeTypesAllowed for members that do not set theirs. Refuses, in this order:
// - YAML_FILE_ERROR: no build at all (`batch` without a kind, an empty list, a matrix that
//   varies nothing, a fanout without parallelism);
// - CLIENT_ERROR: more members than maximumBuildsAllowed or kMaxMembers ("Batch build exceeded
//   maximum builds allowed: the batch has N builds and ..."), counted before any is made;
// - YAML_FILE_ERROR: an invalid or duplicate identifier, a member buildspec that is absolute or
//   has a `..` component, a depend-on naming no member (the parser reports these with their
//   line, but the server plans from stored data too);
// - CLIENT_ERROR: a member's compute type (or the default) not in computeTypesAllowed.
// CodeBuild's own wording for the two restrictions is not public (AWS's docs only say "the
// batch will fail"); these messages are Kiln's (docs/batch.md).
tl::expected<Plan, PlanError> make_plan(const spec::Batch& batch, const Restrictions& restrictions,
                                        const std::string& default_compute_type);

// Only the members named and everything they depend on, transitively, in plan order (kiln run
// --only). An unknown name is an error naming it.
Result<Plan> select_members(const Plan& plan, const std::vector<std::string>& only);

const char* type_name(BatchType t);  // BUILD_LIST, BUILD_GRAPH, BUILD_MATRIX, BUILD_FANOUT

// The plan as the server keeps it between the batchspec's reading and the members' starts (and
// across a restart): every field, round-trips exactly. from_json names a bad member.
nlohmann::json plan_to_json(const Plan& plan);
Result<Plan> plan_from_json(const nlohmann::json& j);

}  // namespace kiln::batch
