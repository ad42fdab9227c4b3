#include "batch/plan.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>

namespace kiln::batch {
namespace {

tl::unexpected<PlanError> yaml_error(std::string message) {
  return tl::unexpected<PlanError>(PlanError{"YAML_FILE_ERROR", std::move(message)});
}

tl::unexpected<PlanError> client_error(std::string message) {
  return tl::unexpected<PlanError>(PlanError{"CLIENT_ERROR", std::move(message)});
}

MemberEnv member_env(const spec::BatchEnv& env) {
  // `fleet` has no meaning here: Kiln runs every build on its own host.
  return MemberEnv{env.compute_type, env.image, env.privileged_mode, env.type, env.variables};
}

Member task_member(const spec::BatchTask& t, bool graph) {
  Member m;
  m.identifier = t.identifier;
  if (t.buildspec && !t.buildspec->empty()) m.buildspec = t.buildspec;
  if (graph) m.depend_on = t.depend_on;
  m.env = member_env(t.env);
  m.ignore_failure = t.ignore_failure;
  m.debug_session = t.debug_session;
  return m;
}

// The sizes of the matrix's dimensions, in product order; an empty list does not vary.
std::vector<std::size_t> matrix_dimensions(const spec::BatchMatrix& m) {
  std::vector<std::size_t> dims;
  for (std::size_t n : {m.buildspecs.size(), m.images.size(), m.compute_types.size()})
    if (n > 0) dims.push_back(n);
  for (const auto& [name, values] : m.variables)
    if (!values.empty()) dims.push_back(values.size());
  return dims;
}

// The product, or nullopt when it does not fit in 64 bits.
std::optional<std::uint64_t> product(const std::vector<std::size_t>& dims) {
  std::uint64_t p = 1;
  for (std::size_t d : dims)
    if (__builtin_mul_overflow(p, static_cast<std::uint64_t>(d), &p)) return std::nullopt;
  return p;
}

// `index` in 0..product-1, the last dimension varying fastest (plan.h).
std::vector<Member> expand_matrix(const spec::BatchMatrix& m, std::size_t count) {
  std::vector<Member> out;
  out.reserve(count);
  for (std::size_t index = 0; index < count; ++index) {
    Member member;
    member.identifier = "build" + std::to_string(index + 1);
    member.env = member_env(m.static_env);
    member.ignore_failure = m.ignore_failure;
    std::size_t rest = index;
    // Picks dimension values from the fastest (last) to the slowest (first).
    std::vector<std::pair<std::string, std::string>> dynamic_vars;
    for (auto it = m.variables.rbegin(); it != m.variables.rend(); ++it) {
      if (it->second.empty()) continue;
      dynamic_vars.emplace_back(it->first, it->second[rest % it->second.size()]);
      rest /= it->second.size();
    }
    auto pick = [&rest](const std::vector<std::string>& list) -> std::optional<std::string> {
      if (list.empty()) return std::nullopt;
      std::string v = list[rest % list.size()];
      rest /= list.size();
      return v;
    };
    if (auto c = pick(m.compute_types)) member.env.compute_type = std::move(c);
    if (auto i = pick(m.images)) member.env.image = std::move(i);
    if (auto b = pick(m.buildspecs); b && !b->empty()) member.buildspec = std::move(b);
    // Static variables first, so a dynamic value of the same name wins.
    member.env.variables.insert(member.env.variables.end(), dynamic_vars.rbegin(),
                                dynamic_vars.rend());
    out.push_back(std::move(member));
  }
  return out;
}

// A buildspec is opened beneath the source; one that cannot be is refused before any build.
bool escapes_source(const std::string& path) {
  if (path.front() == '/') return true;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (path.compare(start, end - start, "..") == 0) return true;
    start = end + 1;
  }
  return false;
}

std::string join_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

tl::expected<void, PlanError> check_count(std::optional<std::uint64_t> count,
                                          const Restrictions& restrictions) {
  const std::string shown = count ? std::to_string(*count) : "more than 2^64";
  if (restrictions.maximum_builds_allowed &&
      (!count ||
       *count > static_cast<std::uint64_t>(std::max(0, *restrictions.maximum_builds_allowed)))) {
    return client_error("Batch build exceeded maximum builds allowed: the batch has " + shown +
                        " builds and the project's maximumBuildsAllowed is " +
                        std::to_string(*restrictions.maximum_builds_allowed));
  }
  if (!count || *count > kMaxMembers) {
    return client_error("Batch build exceeded maximum builds allowed: the batch has " + shown +
                        " builds and Kiln runs at most " + std::to_string(kMaxMembers) +
                        " in one batch");
  }
  return {};
}

tl::expected<void, PlanError> check_members(const std::vector<Member>& members,
                                            const Restrictions& restrictions,
                                            const std::string& default_compute_type) {
  std::set<std::string> seen;
  for (const Member& m : members) {
    if (!valid_member_identifier(m.identifier)) {
      return yaml_error("Invalid batch build identifier \"" + m.identifier +
                        "\": use 1 to 127 letters, digits or underscores "
                        "(DOWNLOAD_SOURCE is reserved)");
    }
    if (!seen.insert(m.identifier).second)
      return yaml_error("Duplicate batch build identifier \"" + m.identifier + "\"");
    if (m.buildspec && escapes_source(*m.buildspec)) {
      return yaml_error("Invalid buildspec path \"" + *m.buildspec + "\" for build \"" +
                        m.identifier + "\": it must be relative to the source, without \"..\"");
    }
  }
  for (const Member& m : members) {
    for (const auto& d : m.depend_on) {
      if (!seen.count(d)) {
        return yaml_error("Build \"" + m.identifier + "\" depends on \"" + d +
                          "\", which is not a build of the batch");
      }
    }
  }
  const auto& allowed = restrictions.compute_types_allowed;
  if (allowed.empty()) return {};
  for (const Member& m : members) {
    const std::string& type = m.env.compute_type.value_or(default_compute_type);
    if (std::find(allowed.begin(), allowed.end(), type) == allowed.end()) {
      return client_error("Compute type " + type + " of build \"" + m.identifier +
                          "\" is not allowed by the batch restrictions (computeTypesAllowed: " +
                          join_list(allowed) + ")");
    }
  }
  return {};
}

}  // namespace

bool valid_member_identifier(const std::string& id) {
  return spec::valid_batch_identifier(id);
}

const char* type_name(BatchType t) {
  switch (t) {
    case BatchType::kBuildList: return "BUILD_LIST";
    case BatchType::kBuildGraph: return "BUILD_GRAPH";
    case BatchType::kBuildMatrix: return "BUILD_MATRIX";
    case BatchType::kBuildFanout: return "BUILD_FANOUT";
  }
  return "BUILD_LIST";
}

tl::expected<Plan, PlanError> make_plan(const spec::Batch& batch, const Restrictions& restrictions,
                                        const std::string& default_compute_type) {
  using Kind = spec::Batch::Kind;
  Plan plan;
  plan.fast_fail = batch.fast_fail;
  std::optional<std::uint64_t> count = 0;
  std::vector<std::size_t> dims;
  switch (batch.kind) {
    case Kind::kNone:
      return yaml_error(
          "The batch section has none of build-list, build-graph, build-matrix "
          "and build-fanout: there is no build to run");
    case Kind::kBuildList:
    case Kind::kBuildGraph:
      plan.type = batch.kind == Kind::kBuildList ? BatchType::kBuildList : BatchType::kBuildGraph;
      count = batch.tasks.size();
      break;
    case Kind::kBuildMatrix:
      plan.type = BatchType::kBuildMatrix;
      dims = matrix_dimensions(batch.matrix);
      count = dims.empty() ? std::optional<std::uint64_t>(0) : product(dims);
      break;
    case Kind::kBuildFanout:
      plan.type = BatchType::kBuildFanout;
      count = static_cast<std::uint64_t>(std::max(0, batch.fanout_parallelism));
      break;
  }
  if (count && *count == 0) {
    return yaml_error(std::string("The batch's ") +
                      (plan.type == BatchType::kBuildMatrix   ? "build-matrix has no dynamic value"
                       : plan.type == BatchType::kBuildFanout ? "build-fanout has no parallelism"
                                                              : "build list is empty") +
                      ": there is no build to run");
  }
  if (auto ok = check_count(count, restrictions); !ok) return tl::unexpected(ok.error());

  switch (plan.type) {
    case BatchType::kBuildList:
    case BatchType::kBuildGraph:
      for (const auto& t : batch.tasks)
        plan.members.push_back(task_member(t, plan.type == BatchType::kBuildGraph));
      break;
    case BatchType::kBuildMatrix:
      plan.members = expand_matrix(batch.matrix, static_cast<std::size_t>(*count));
      break;
    case BatchType::kBuildFanout:
      for (std::size_t i = 0; i < *count; ++i) {
        Member m;
        m.identifier = "build" + std::to_string(i + 1);
        m.ignore_failure = batch.fanout_ignore_failure;
        plan.members.push_back(std::move(m));
      }
      break;
  }
  if (auto ok = check_members(plan.members, restrictions, default_compute_type); !ok)
    return tl::unexpected(ok.error());
  return plan;
}

Result<Plan> select_members(const Plan& plan, const std::vector<std::string>& only) {
  std::map<std::string, const Member*> by_id;
  for (const Member& m : plan.members) by_id.emplace(m.identifier, &m);
  std::set<std::string> wanted;
  std::vector<std::string> todo;
  for (const auto& id : only) {
    if (!by_id.count(id)) {
      return fail(ErrorCode::kInvalidArgument, "--only: the batch has no build \"" + id +
                                                   "\" (builds: " + join_list([&] {
                                                     std::vector<std::string> ids;
                                                     for (const Member& m : plan.members)
                                                       ids.push_back(m.identifier);
                                                     return ids;
                                                   }()) +
                                                   ")");
    }
    if (wanted.insert(id).second) todo.push_back(id);
  }
  while (!todo.empty()) {
    const std::string id = std::move(todo.back());
    todo.pop_back();
    for (const auto& d : by_id.at(id)->depend_on)
      if (by_id.count(d) && wanted.insert(d).second) todo.push_back(d);
  }
  Plan out;
  out.type = plan.type;
  out.fast_fail = plan.fast_fail;
  for (const Member& m : plan.members)
    if (wanted.count(m.identifier)) out.members.push_back(m);
  return out;
}

}  // namespace kiln::batch
