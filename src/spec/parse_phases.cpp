// `phases`: docs/reference/codebuild-semantics.md §3.3, §3.4, §3.7, and the messages of §1.9.
#include <algorithm>

#include "spec/on_failure.h"
#include "spec/sections.h"

namespace kiln::spec::detail {
namespace {

// CodeBuild's list, alphabetical and lower case (§1.9, 2020 wording).
constexpr char kExpectedPhases[] = "build,install,post_build,pre_build";

// Reads `commands` or `finally`. `label` is the name CodeBuild uses in its message ("Commands").
std::vector<Command> read_commands(Context& ctx, const Node& value, const std::string& path,
                                   const char* label) {
  std::vector<Command> out;
  if (value.is_null()) return out;
  // A single string is one command: CodeBuild runs `commands: npm install jsonlint -g` (an AWS
  // sample unchanged since 2017, tests/corpus/buildspecs/049), so it is not even a warning.
  if (value.is_scalar()) {
    out.push_back(Command{value.text, value.mark});
    return out;
  }
  if (!value.is_seq()) {
    ctx.error(value.mark, "\"" + path + "\" must be a list of strings, found " + describe(value));
    return out;
  }
  for (size_t i = 0; i < value.items.size(); ++i) {
    const Node& entry = *value.items[i];
    const int line = entry.mark.line;
    const std::string where =
        "Expected " + std::string(label) + "[" + std::to_string(i) + "] to be of string type: ";
    if (entry.is_scalar()) {
      out.push_back(Command{entry.text, entry.mark});
    } else if (entry.is_map()) {
      // §1.9, word for word. An unquoted ": " turned the command into a mapping. The "line N-1"
      // hint is what CodeBuild prints in every observed case (Commands[0] at line 6 -> line 5,
      // Commands[2] at line 40 -> line 39, Commands[4] at line 23 -> line 22).
      ctx.error(entry.mark, where + "found subkeys instead at line " + std::to_string(line) +
                                ", value of the key tag on line " +
                                std::to_string(std::max(line - 1, 0)) + " might be empty");
    } else if (entry.is_seq()) {
      ctx.error(entry.mark, where + "found a list instead at line " + std::to_string(line));
    } else {
      // A bare "-": nothing to run. Running "" would succeed, so skipping is the same build.
      ctx.warning(entry.mark, "\"" + item(path, i) + "\" is an empty command (ignored)");
    }
  }
  return out;
}

void read_runtime_versions(Context& ctx, const Node& value, const std::string& path, Phase& phase) {
  phase.runtime_versions = read_string_map(ctx, value, path);
  // "If specified, at least one runtime must be included". Commenting every runtime out is
  // common and harmless, so only a warning (docs/buildspec.md).
  if (value.is_null() || (value.is_map() && value.entries.empty()))
    ctx.warning(value.mark, "\"" + path + "\" names no runtime (ignored)");
  for (const auto& [k, v] : value.entries) {
    if (k->is_scalar() && (v->is_null() || (v->is_scalar() && v->text.empty())))
      ctx.error(v->is_null() ? k->mark : v->mark,
                "\"" + join(path, k->text) + "\" must name a version");
  }
}

void parse_phase(Context& ctx, PhaseName name, const Node& key, const Node& value, Phase& phase) {
  const std::string path = join("phases", yaml_name(name));
  phase.present = true;
  phase.mark = key.mark;
  bool commands_key = false;
  bool finally_key = false;
  std::vector<Field> fields = {
      {"run-as", [&](const Node&,
                     const Node& v) { phase.run_as = read_string(ctx, v, join(path, "run-as")); }},
      {"on-failure",
       [&](const Node&, const Node& v) {
         auto raw = read_string(ctx, v, join(path, "on-failure"));
         if (!raw) return;
         auto parsed = parse_on_failure(*raw);
         if (parsed)
           phase.on_failure = std::move(*parsed);
         else
           ctx.error(v.mark, "\"" + join(path, "on-failure") + "\": " + parsed.error().message());
       }},
      {"commands",
       [&](const Node&, const Node& v) {
         commands_key = true;
         phase.commands = read_commands(ctx, v, join(path, "commands"), "Commands");
       }},
      {"finally",
       [&](const Node&, const Node& v) {
         finally_key = true;
         phase.finally = read_commands(ctx, v, join(path, "finally"), "Finally");
       }},
      {"runtime-versions",
       [&](const Node& k, const Node& v) {
         if (name == PhaseName::kInstall) {
           read_runtime_versions(ctx, v, join(path, "runtime-versions"), phase);
         } else {
           ctx.warning(k.mark, "\"" + join(path, "runtime-versions") +
                                   "\": runtime-versions is only used in the install phase "
                                   "(ignored)");
         }
       }},
  };
  if (!visit_map(ctx, value, path, fields)) return;
  // §3.3: commands are "Required if <phase> is specified" for all but install. CodeBuild runs a
  // phase with only `finally` (tests/corpus/buildspecs/020, 045) or an emptied `commands:` (041)
  // without a word, so only a phase with neither key, where something else was probably meant
  // (053's `steps:`), gets a warning (docs/buildspec.md).
  if (name != PhaseName::kInstall && !commands_key && !finally_key)
    ctx.warning(key.mark, "\"" + path + "\" has no commands; the reference requires them");
}

}  // namespace

void parse_phases(Context& ctx, const Node& value, Buildspec& spec) {
  if (value.is_null()) return;
  if (!value.is_map()) {
    ctx.error(value.mark, "\"phases\" must be a mapping, found " + describe(value));
    return;
  }
  for (const auto& entry : value.entries) {
    const Node& key = *entry.first;
    const auto name = std::find_if(std::begin(kAllPhases), std::end(kAllPhases), [&](PhaseName p) {
      return key.is_scalar() && key.text == yaml_name(p);
    });
    if (name == std::end(kAllPhases)) {
      // §1.9, word for word; only the four lower-case names are valid.
      ctx.error(key.mark,
                "Invalid buildspec phase name: " + key.text + ". Expecting: " + kExpectedPhases);
      continue;
    }
    parse_phase(ctx, *name, key, *entry.second, spec.phases[*name]);
  }
}

}  // namespace kiln::spec::detail
