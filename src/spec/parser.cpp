// parse_buildspec(): the top level of a buildspec (docs/reference/codebuild-semantics.md §1.2-1.4,
// §1.8, §1.9). Each section has its own file (sections.h); this one checks the document, the
// version, and which top-level keys exist.
#include "spec/parser.h"

#include <algorithm>

#include "spec/sections.h"
#include "spec/yaml_tree.h"

namespace kiln::spec {
namespace {

using detail::Context;
using yaml::Node;

const Node* find_key(const Node& map, std::string_view name) {
  for (const auto& [k, v] : map.entries)
    if (k->is_scalar() && k->text == name) return k.get();
  return nullptr;
}

const Node* find_value(const Node& map, std::string_view name) {
  for (const auto& [k, v] : map.entries)
    if (k->is_scalar() && k->text == name) return v.get();
  return nullptr;
}

// §1.4. The value is compared as written, so `0.2` and "0.2" pass and `0.20` does not (the
// observed message quotes the value as written: "specified: 1.0", not "1"). Without a `version`
// key the error points at the mapping that lacks it.
void read_version_value(Context& ctx, const Node& root, Buildspec& spec) {
  const Node* key = find_key(root, "version");
  const Node* value = find_value(root, "version");
  if (!key || value->is_null()) {
    ctx.error(key ? key->mark : root.mark,
              "buildspec `version` is not specified, see documentation");
    return;
  }
  if (value->is_scalar() && value->text == "0.1") {
    spec.version = ctx.version = Version::k0_1;
  } else if (value->is_scalar() && value->text == "0.2") {
    spec.version = ctx.version = Version::k0_2;
  } else {
    const std::string written = value->is_scalar() ? value->text : detail::describe(*value);
    ctx.error(value->mark,
              "invalid buildspec `version` specified: " + written + ", see documentation");
  }
}

// CodeBuild reads the version before anything else, so its error is listed first
// (Diagnostic::leading).
void read_version(Context& ctx, const Node& root, Buildspec& spec) {
  const size_t before = ctx.diagnostics.size();
  read_version_value(ctx, root, spec);
  for (size_t i = before; i < ctx.diagnostics.size(); ++i) ctx.diagnostics[i].leading = true;
}

ParseOutcome finish(Context& ctx, std::optional<Buildspec> spec) {
  ParseOutcome out;
  sort_diagnostics(ctx.diagnostics);
  out.diagnostics = std::move(ctx.diagnostics);
  if (!has_errors(out.diagnostics)) out.spec = std::move(spec);
  return out;
}

}  // namespace

ParseOutcome parse_buildspec(const std::string& text, const std::string& path) {
  yaml::Document doc = yaml::load(text);
  Context ctx;
  ctx.diagnostics = std::move(doc.diagnostics);
  if (has_errors(ctx.diagnostics)) return finish(ctx, std::nullopt);
  if (!doc.root || doc.root->is_null()) {
    ctx.error(Mark{1, 1}, "the buildspec is empty");
    return finish(ctx, std::nullopt);
  }
  const Node& root = *doc.root;
  if (!root.is_map()) {
    ctx.error(root.mark,
              "the buildspec must be a mapping of keys such as version and phases, "
              "found " +
                  detail::describe(root));
    return finish(ctx, std::nullopt);
  }

  Buildspec spec;
  spec.path = path;
  for (PhaseName p : kAllPhases) spec.phases[p] = Phase{};
  read_version(ctx, root, spec);  // first: 0.1 and 0.2 accept different keys

  const Node* phases_key = nullptr;
  const Node* phases_value = nullptr;
  detail::visit_map(
      ctx, root, "",
      {
          {"version", [](const Node&, const Node&) {}},  // read above
          {"run-as", [&](const Node&,
                         const Node& v) { spec.run_as = detail::read_string(ctx, v, "run-as"); }},
          {"env", [&](const Node&, const Node& v) { detail::parse_env(ctx, v, "env", spec.env); }},
          {"environment_variables",
           [&](const Node& k, const Node& v) {
             if (ctx.version == Version::k0_1)
               detail::parse_env(ctx, v, "environment_variables", spec.env);
             else
               ctx.warning(k.mark,
                           "\"environment_variables\" is the version 0.1 name of \"env\" "
                           "(ignored in version 0.2)");
           }},
          {"proxy", [&](const Node&, const Node& v) { detail::parse_proxy(ctx, v, spec.proxy); }},
          {"batch", [&](const Node&, const Node& v) { detail::parse_batch(ctx, v, spec.batch); }},
          {"phases",
           [&](const Node& k, const Node& v) {
             phases_key = &k;
             phases_value = &v;
             detail::parse_phases(ctx, v, spec);
           }},
          {"reports",
           [&](const Node&, const Node& v) { detail::parse_reports(ctx, v, spec.reports); }},
          {"artifacts", [&](const Node& k,
                            const Node& v) { detail::parse_artifacts(ctx, k, v, spec.artifacts); }},
          {"cache", [&](const Node&, const Node& v) { detail::parse_cache(ctx, v, spec.cache); }},
          // The Elastic Beanstalk CLI's own settings (`eb init` with CodeBuild writes them into
          // buildspec.yml; tests/corpus/buildspecs/025, 027). CodeBuild skips them.
          {"eb_codebuild_settings",
           [&](const Node& k, const Node&) {
             ctx.warning(k.mark,
                         "\"eb_codebuild_settings\" is read by the Elastic Beanstalk CLI, not by "
                         "CodeBuild (ignored)");
           }},
      });

  // §1.3: `phases` is required. A batch buildspec whose tasks all name their own buildspec has
  // no use for it (tests/corpus/buildspecs/004), so with `batch` present the engine decides
  // (docs/buildspec.md). Without the key, the error points at the mapping that lacks it.
  const bool no_phases = !phases_value || phases_value->is_null() ||
                         (phases_value->is_map() && phases_value->entries.empty());
  if (no_phases && !spec.batch.present)
    ctx.error(phases_key ? phases_key->mark : root.mark,
              "buildspec `phases` is not specified, see documentation");
  return finish(ctx, std::move(spec));
}

std::string phase_context_message(const Diagnostic& d) {
  if (d.yaml_line < 0) return d.message;
  return d.message + " at line " + std::to_string(d.yaml_line);
}

bool has_phases(const Buildspec& spec) {
  return std::ranges::any_of(spec.phases, [](const auto& entry) { return entry.second.present; });
}

BatchShape batch_shape(const std::string& text, const std::string& path) {
  if (text.find("batch") == std::string::npos) return BatchShape::kNone;
  const auto parsed = parse_buildspec(text, path);
  if (!parsed.spec || !parsed.spec->batch.present) return BatchShape::kNone;
  return has_phases(*parsed.spec) ? BatchShape::kBatchAndPhases : BatchShape::kBatchOnly;
}

}  // namespace kiln::spec
