// `env` (and version 0.1's `environment_variables`) and `proxy`:
// docs/reference/codebuild-semantics.md §1.6-1.8.
#include <algorithm>

#include "spec/sections.h"

namespace kiln::spec::detail {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

constexpr std::string_view kShells[] = {"bash", "/bin/sh", "sh", "powershell.exe", "cmd.exe"};

void append(Pairs& to, Pairs from) {
  to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
}

// §1.6: "Do not set any environment variable with a name that starts with CODEBUILD_". The
// reference says don't, not can't, so this is a warning and the variable is kept.
void warn_reserved(Context& ctx, const Node& map, std::string_view path) {
  if (!map.is_map()) return;
  for (const auto& [k, v] : map.entries) {
    if (k->is_scalar() && k->text.starts_with("CODEBUILD_"))
      ctx.warning(k->mark, "\"" + join(path, k->text) +
                               "\": names starting with CODEBUILD_ are reserved for CodeBuild");
  }
}

// parameter-store and secrets-manager values name something to fetch: empty is a mistake.
Pairs read_references(Context& ctx, const Node& value, std::string_view path, std::string_view what,
                      std::map<std::string, Mark>& marks) {
  Pairs out = read_string_map(ctx, value, path);
  for (const auto& [k, v] : value.entries) {
    if (k->is_scalar() && (v->is_null() || (v->is_scalar() && v->text.empty())))
      ctx.error(v->is_null() ? k->mark : v->mark,
                "\"" + join(path, k->text) + "\" must name " + std::string(what));
    if (k->is_scalar()) marks[k->text] = v->mark;
  }
  std::erase_if(out, [](const auto& p) { return p.second.empty(); });
  warn_reserved(ctx, value, path);
  return out;
}

std::vector<std::string> read_exported(Context& ctx, const Node& value, std::string_view path) {
  std::vector<std::string> names = read_string_list(ctx, value, path, ScalarList::kAccept);
  std::vector<const Node*> nodes;  // the scalars behind `names`, for their positions
  if (value.is_scalar()) nodes.push_back(&value);
  if (value.is_seq()) {
    for (const auto& n : value.items)
      if (n->is_scalar()) nodes.push_back(n.get());
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < names.size() && i < nodes.size(); ++i) {
    // §1.6: variables whose names start with AWS_ "cannot be exported". What CodeBuild does with
    // them is not documented; we leave them out with a warning rather than fail a build that
    // would otherwise work (docs/buildspec.md).
    if (names[i].starts_with("AWS_")) {
      ctx.warning(nodes[i]->mark, "\"" + std::string(path) + "\": " + names[i] +
                                      " cannot be exported: names starting with AWS_ are "
                                      "reserved (ignored)");
      continue;
    }
    out.push_back(std::move(names[i]));
  }
  return out;
}

}  // namespace

void parse_env(Context& ctx, const Node& value, std::string_view path, Env& env) {
  auto variables = [&](std::string_view key) {
    return Field{key, [&ctx, &env, path, key](const Node&, const Node& v) {
                   const std::string p = join(path, key);
                   append(env.variables, read_string_map(ctx, v, p));
                   warn_reserved(ctx, v, p);
                 }};
  };
  std::vector<Field> fields = {
      {"shell",
       [&](const Node&, const Node& v) {
         env.shell = read_string(ctx, v, join(path, "shell"));
         if (env.shell &&
             std::find(std::begin(kShells), std::end(kShells), *env.shell) == std::end(kShells))
           ctx.warning(v.mark, "unknown shell \"" + *env.shell + "\" in \"" + join(path, "shell") +
                                   "\" (CodeBuild supports bash, /bin/sh, powershell.exe and "
                                   "cmd.exe)");
       }},
      variables("variables"),
      {"parameter-store",
       [&](const Node&, const Node& v) {
         append(env.parameter_store,
                read_references(ctx, v, join(path, "parameter-store"),
                                "a Parameter Store parameter", env.reference_marks));
       }},
      {"secrets-manager",
       [&](const Node&, const Node& v) {
         append(env.secrets_manager,
                read_references(ctx, v, join(path, "secrets-manager"), "a Secrets Manager secret",
                                env.reference_marks));
       }},
      {"exported-variables",
       [&](const Node&, const Node& v) {
         auto names = read_exported(ctx, v, join(path, "exported-variables"));
         env.exported_variables.insert(env.exported_variables.end(), names.begin(), names.end());
       }},
      {"git-credential-helper",
       [&](const Node&, const Node& v) {
         if (auto b = read_bool(ctx, v, join(path, "git-credential-helper")))
           env.git_credential_helper = *b;
       }},
  };
  // §1.8: version 0.1 called `variables` `plaintext`.
  if (ctx.version == Version::k0_1) {
    fields.push_back(variables("plaintext"));
  } else {
    fields.push_back({"plaintext", [&](const Node& k, const Node&) {
                        ctx.warning(k.mark, "\"" + join(path, "plaintext") +
                                                "\" is the version 0.1 name of \"env/variables\" "
                                                "(ignored in version 0.2)");
                      }});
  }
  visit_map(ctx, value, path, fields);
}

void parse_proxy(Context& ctx, const Node& value, Proxy& proxy) {
  visit_map(ctx, value, "proxy",
            {
                {"upload-artifacts",
                 [&](const Node&, const Node& v) {
                   if (auto b = read_bool(ctx, v, "proxy/upload-artifacts"))
                     proxy.upload_artifacts = *b;
                 }},
                {"logs",
                 [&](const Node&, const Node& v) {
                   if (auto b = read_bool(ctx, v, "proxy/logs")) proxy.logs = *b;
                 }},
            });
}

}  // namespace kiln::spec::detail
