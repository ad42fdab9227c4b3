// `batch`: docs/reference/codebuild-semantics.md §8.1 (build-list, build-graph, build-matrix,
// build-fanout).
#include <algorithm>
#include <map>
#include <set>

#include "spec/sections.h"

namespace kiln::spec::detail {
namespace {

constexpr char kKinds[] = "build-list, build-graph, build-matrix and build-fanout";

// The `env` of a task or of build-matrix/static.
void parse_batch_env(Context& ctx, const Node& value, const std::string& path, BatchEnv& env) {
  const Node* compute_type = nullptr;
  const Node* fleet = nullptr;
  visit_map(
      ctx, value, path,
      {
          {"compute-type",
           [&](const Node& k, const Node& v) {
             compute_type = &k;
             env.compute_type = read_string(ctx, v, join(path, "compute-type"));
           }},
          {"fleet",
           [&](const Node& k, const Node& v) {
             fleet = &k;
             env.fleet = read_string(ctx, v, join(path, "fleet"));
           }},
          {"image", [&](const Node&,
                        const Node& v) { env.image = read_string(ctx, v, join(path, "image")); }},
          {"privileged-mode",
           [&](const Node&, const Node& v) {
             env.privileged_mode = read_bool(ctx, v, join(path, "privileged-mode"));
           }},
          {"type",
           [&](const Node&, const Node& v) { env.type = read_string(ctx, v, join(path, "type")); }},
          {"variables",
           [&](const Node&, const Node& v) {
             env.variables = read_string_map(ctx, v, join(path, "variables"));
           }},
      });
  // §8.1: "compute-type and fleet cannot be provided in the same identifier".
  if (compute_type && fleet)
    ctx.error((compute_type->mark.line > fleet->mark.line ? compute_type : fleet)->mark,
              "\"" + path + "\": compute-type and fleet cannot be used together");
}

// A warning, not an error: only a batch run needs the identifier (batch::make_plan refuses it
// then, in DOWNLOAD_BATCHSPEC), and a buildspec with `phases` still runs as a single build.
// Hyphenated identifiers are common in guides (build-api); whether CodeBuild refuses them when
// the file is used for a single build is unverified (docs/batch.md).
void check_identifier(Context& ctx, const Node& value, const std::string& path,
                      const std::string& id) {
  if (id == "DOWNLOAD_SOURCE") {
    ctx.warning(value.mark, "\"" + path +
                                "\": DOWNLOAD_SOURCE is reserved for the batch's first build "
                                "group; a batch build fails on it");
  } else if (!valid_batch_identifier(id)) {
    ctx.warning(value.mark, "\"" + path + "\": \"" + id +
                                "\" is not a valid identifier: use 1 to 127 letters, digits or "
                                "underscores; a batch build fails on it");
  }
}

BatchTask parse_task(Context& ctx, const Node& value, const std::string& path, bool graph) {
  BatchTask task;
  bool has_identifier = false;
  std::vector<Field> fields = {
      {"identifier",
       [&](const Node&, const Node& v) {
         if (auto id = read_string(ctx, v, join(path, "identifier")); id && !id->empty()) {
           task.identifier = *id;
           has_identifier = true;
           check_identifier(ctx, v, join(path, "identifier"), *id);
         }
       }},
      {"buildspec",
       [&](const Node&, const Node& v) {
         task.buildspec = read_string(ctx, v, join(path, "buildspec"));
       }},
      {"debug-session",
       [&](const Node&, const Node& v) {
         if (auto b = read_bool(ctx, v, join(path, "debug-session"))) task.debug_session = *b;
       }},
      {"env",
       [&](const Node&, const Node& v) { parse_batch_env(ctx, v, join(path, "env"), task.env); }},
      {"ignore-failure",
       [&](const Node&, const Node& v) {
         if (auto b = read_bool(ctx, v, join(path, "ignore-failure"))) task.ignore_failure = *b;
       }},
      {"depend-on",
       [&](const Node& k, const Node& v) {
         if (graph) {
           task.depend_on = read_string_list(ctx, v, join(path, "depend-on"), ScalarList::kAccept);
         } else {
           ctx.warning(k.mark, "\"" + join(path, "depend-on") +
                                   "\": depend-on is only used in build-graph (ignored)");
         }
       }},
      // The spelling of an old guide; CodeBuild ignores the key, so the dependency is not applied
      // here either, and the task would start at once.
      {"depends-on",
       [&](const Node& k, const Node&) {
         ctx.warning(k.mark, "\"" + join(path, "depends-on") +
                                 "\": depends-on is not a CodeBuild key; use depend-on (ignored)");
       }},
  };
  if (visit_map(ctx, value, path, fields) && !has_identifier)
    ctx.error(value.mark, "\"" + path + "\" has no identifier");
  return task;
}

// Dependencies must name tasks of the graph and must not loop.
void check_graph(Context& ctx, const Node& list, const std::vector<BatchTask>& tasks) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < tasks.size(); ++i) index.emplace(tasks[i].identifier, i);
  std::vector<std::vector<size_t>> deps(tasks.size());
  bool unknown = false;
  for (size_t i = 0; i < tasks.size(); ++i) {
    for (const auto& d : tasks[i].depend_on) {
      auto it = index.find(d);
      if (it != index.end()) {
        deps[i].push_back(it->second);
        continue;
      }
      unknown = true;
      ctx.error(list.items[i]->mark, "\"" + item("batch/build-graph", i) +
                                         "/depend-on\": no task has the identifier \"" + d + "\"");
    }
  }
  if (unknown) return;
  // Kahn's algorithm: whatever cannot be scheduled is on, or waits for, a cycle.
  std::vector<size_t> waiting(tasks.size());
  std::vector<std::vector<size_t>> dependents(tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) {
    waiting[i] = deps[i].size();
    for (size_t d : deps[i]) dependents[d].push_back(i);
  }
  std::vector<size_t> ready;
  for (size_t i = 0; i < tasks.size(); ++i)
    if (waiting[i] == 0) ready.push_back(i);
  while (!ready.empty()) {
    const size_t t = ready.back();
    ready.pop_back();
    for (size_t d : dependents[t])
      if (--waiting[d] == 0) ready.push_back(d);
  }
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (waiting[i] == 0) continue;
    // Walk unscheduled dependencies until one repeats: that stretch is the cycle.
    std::vector<size_t> path{i};
    std::set<size_t> seen{i};
    size_t at = i;
    while (true) {
      size_t next = at;
      for (size_t d : deps[at])
        if (waiting[d] != 0) next = d;
      if (seen.count(next)) {
        std::string cycle;
        size_t start = 0;
        while (path[start] != next) ++start;
        for (size_t p = start; p < path.size(); ++p) cycle += tasks[path[p]].identifier + " -> ";
        cycle += tasks[next].identifier;
        ctx.error(
            list.items[next]->mark,
            "\"batch/build-graph\": dependency cycle (each task depends on the next): " + cycle);
        return;
      }
      path.push_back(next);
      seen.insert(next);
      at = next;
    }
  }
}

void parse_tasks(Context& ctx, const Node& value, const std::string& path, bool graph,
                 Batch& batch) {
  if (!value.is_seq()) {
    ctx.error(value.mark, "\"" + path + "\" must be a list of tasks, found " + describe(value));
    return;
  }
  if (value.items.empty()) {
    // CodeBuild fails a batch without builds (DOWNLOAD_BATCHSPEC); say so before it runs.
    ctx.error(value.mark, "\"" + path + "\" has no tasks: a batch needs at least one build");
    return;
  }
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < value.items.size(); ++i) {
    BatchTask task = parse_task(ctx, *value.items[i], item(path, i), graph);
    if (!task.identifier.empty() && !seen.emplace(task.identifier, i).second)
      ctx.error(value.items[i]->mark, "\"" + item(path, i) + "\": the identifier \"" +
                                          task.identifier + "\" is already used by \"" +
                                          item(path, seen[task.identifier]) + "\"");
    batch.tasks.push_back(std::move(task));
  }
  if (graph) check_graph(ctx, value, batch.tasks);
}

// build-matrix/dynamic/env/variables: each variable takes a list of values.
void parse_matrix_variables(Context& ctx, const Node& value, const std::string& path,
                            BatchMatrix& m) {
  m.variables.clear();
  if (value.is_null()) return;
  if (!value.is_map()) {
    ctx.error(value.mark, "\"" + path + "\" must be a mapping of names to lists of values, found " +
                              describe(value));
    return;
  }
  for (const auto& [k, values] : value.entries) {
    if (!k->is_scalar()) continue;
    m.variables.emplace_back(
        k->text, read_string_list(ctx, *values, join(path, k->text), ScalarList::kAccept));
  }
}

void parse_matrix_dynamic(Context& ctx, const Node& value, const std::string& path,
                          BatchMatrix& m) {
  const std::string env = path + "/env";
  auto list = [&](const Node& v, const std::string& p) {
    return read_string_list(ctx, v, p, ScalarList::kAccept);
  };
  visit_map(ctx, value, path,
            {
                {"buildspec",
                 [&](const Node&, const Node& v) { m.buildspecs = list(v, path + "/buildspec"); }},
                {"env",
                 [&](const Node&, const Node& e) {
                   visit_map(
                       ctx, e, env,
                       {
                           {"compute-type",
                            [&](const Node&, const Node& v) {
                              m.compute_types = list(v, env + "/compute-type");
                            }},
                           {"image", [&](const Node&,
                                         const Node& v) { m.images = list(v, env + "/image"); }},
                           {"variables",
                            [&](const Node&, const Node& v) {
                              parse_matrix_variables(ctx, v, env + "/variables", m);
                            }},
                       });
                 }},
            });
}

std::size_t errors(const Context& ctx) {
  return std::count_if(ctx.diagnostics.begin(), ctx.diagnostics.end(), [](const Diagnostic& d) {
    return d.severity == Diagnostic::Severity::kError;
  });
}

void parse_matrix(Context& ctx, const Node& key, const Node& value, BatchMatrix& m) {
  const std::string path = "batch/build-matrix";
  const auto errors_before = errors(ctx);
  const bool ok = visit_map(
      ctx, value, path,
      {
          {"static",
           [&](const Node&, const Node& v) {
             visit_map(ctx, v, path + "/static",
                       {
                           {"ignore-failure",
                            [&](const Node&, const Node& b) {
                              if (auto f = read_bool(ctx, b, path + "/static/ignore-failure"))
                                m.ignore_failure = *f;
                            }},
                           {"env",
                            [&](const Node&, const Node& e) {
                              parse_batch_env(ctx, e, path + "/static/env", m.static_env);
                            }},
                       });
           }},
          {"dynamic",
           [&](const Node&, const Node& v) { parse_matrix_dynamic(ctx, v, path + "/dynamic", m); }},
      });
  // An empty dynamic list does not vary its dimension (batch/plan.h); with none varied there
  // is no build, which CodeBuild fails.
  bool varied = !m.buildspecs.empty() || !m.images.empty() || !m.compute_types.empty();
  for (const auto& [name, values] : m.variables) varied = varied || !values.empty();
  // After an error in the matrix, this would only repeat it.
  if (ok && !varied && errors(ctx) == errors_before) {
    ctx.error(key.mark, "\"" + path +
                            "\" has no dynamic buildspec, image, compute-type or variable values: "
                            "a batch needs at least one build");
  }
}

void parse_fanout(Context& ctx, const Node& key, const Node& value, Batch& batch) {
  const std::string path = "batch/build-fanout";
  bool has_parallelism = false;
  const bool ok = visit_map(ctx, value, path,
                            {
                                {"parallelism",
                                 [&](const Node&, const Node& v) {
                                   // A wrong value is reported by read_int.
                                   has_parallelism = !v.is_null();
                                   if (auto n = read_int(ctx, v, path + "/parallelism", 1, 100000))
                                     batch.fanout_parallelism = *n;
                                 }},
                                {"ignore-failure",
                                 [&](const Node&, const Node& v) {
                                   if (auto b = read_bool(ctx, v, path + "/ignore-failure"))
                                     batch.fanout_ignore_failure = *b;
                                 }},
                            });
  if (ok && !has_parallelism) ctx.error(key.mark, "\"" + path + "\" has no parallelism");
}

}  // namespace
}  // namespace kiln::spec::detail

namespace kiln::spec {

bool valid_batch_identifier(std::string_view id) {
  if (id.empty() || id.size() > 127 || id == "DOWNLOAD_SOURCE") return false;
  for (char c : id) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace kiln::spec

namespace kiln::spec::detail {

void parse_batch(Context& ctx, const Node& value, Batch& batch) {
  if (value.is_null()) return;
  // The batch's own errors fail DOWNLOAD_BATCHSPEC, whose context names the line (a cycle
  // three tasks long is found only with it): phase_context_message appends yaml_line.
  const std::size_t first = ctx.diagnostics.size();
  struct LineInContext {
    Context& ctx;
    std::size_t first;
    ~LineInContext() {
      for (std::size_t i = first; i < ctx.diagnostics.size(); ++i) {
        auto& d = ctx.diagnostics[i];
        if (d.severity == Diagnostic::Severity::kError && d.yaml_line < 0)
          d.yaml_line = d.mark.line;
      }
    }
  } line_in_context{ctx, first};
  const Node* kind_key = nullptr;
  auto kind = [&](Batch::Kind k, const Node& key) {
    if (kind_key) {
      ctx.error(key.mark, "\"batch\" can hold only one of " + std::string(kKinds) + "; \"" +
                              kind_key->text + "\" is already given");
      return false;
    }
    kind_key = &key;
    batch.kind = k;
    return true;
  };
  const bool ok = visit_map(ctx, value, "batch",
                            {
                                {"fast-fail",
                                 [&](const Node&, const Node& v) {
                                   if (auto b = read_bool(ctx, v, "batch/fast-fail"))
                                     batch.fast_fail = *b;
                                 }},
                                {"build-list",
                                 [&](const Node& k, const Node& v) {
                                   if (kind(Batch::Kind::kBuildList, k))
                                     parse_tasks(ctx, v, "batch/build-list", false, batch);
                                 }},
                                {"build-graph",
                                 [&](const Node& k, const Node& v) {
                                   if (kind(Batch::Kind::kBuildGraph, k))
                                     parse_tasks(ctx, v, "batch/build-graph", true, batch);
                                 }},
                                {"build-matrix",
                                 [&](const Node& k, const Node& v) {
                                   if (kind(Batch::Kind::kBuildMatrix, k))
                                     parse_matrix(ctx, k, v, batch.matrix);
                                 }},
                                {"build-fanout",
                                 [&](const Node& k, const Node& v) {
                                   if (kind(Batch::Kind::kBuildFanout, k))
                                     parse_fanout(ctx, k, v, batch);
                                 }},
                            });
  if (!ok) return;
  batch.present = true;
  if (!kind_key)
    ctx.warning(value.mark, "\"batch\" has none of " + std::string(kKinds) +
                                ": there is nothing to run as a batch");
}

}  // namespace kiln::spec::detail
