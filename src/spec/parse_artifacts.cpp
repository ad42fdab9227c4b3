// `artifacts` and `secondary-artifacts`: docs/reference/codebuild-semantics.md §5.1, §1.8 (0.1's
// `type`), §1.9.
#include "spec/sections.h"

namespace kiln::spec::detail {
namespace {

// The keys of one artifact definition. `extra` adds the primary-only keys.
void parse_spec(Context& ctx, const Node& value, const std::string& path, ArtifactSpec& spec,
                std::vector<Field> extra) {
  std::vector<Field> fields = {
      {"files",
       [&](const Node&, const Node& v) {
         spec.files = read_string_list(ctx, v, join(path, "files"), ScalarList::kAccept);
       }},
      {"name",
       [&](const Node&, const Node& v) { spec.name = read_string(ctx, v, join(path, "name")); }},
      {"discard-paths",
       [&](const Node&, const Node& v) {
         if (auto b = read_bool(ctx, v, join(path, "discard-paths"))) spec.discard_paths = *b;
       }},
      {"base-directory",
       [&](const Node&, const Node& v) {
         spec.base_directory = read_string(ctx, v, join(path, "base-directory"));
       }},
      {"exclude-paths",
       [&](const Node&, const Node& v) {
         spec.exclude_paths =
             read_string_list(ctx, v, join(path, "exclude-paths"), ScalarList::kAccept);
       }},
      {"enable-symlinks",
       [&](const Node&, const Node& v) {
         if (auto b = read_bool(ctx, v, join(path, "enable-symlinks"))) spec.enable_symlinks = *b;
       }},
      {"s3-prefix",
       [&](const Node&, const Node& v) {
         spec.s3_prefix = read_string(ctx, v, join(path, "s3-prefix"));
       }},
  };
  for (auto& f : extra) fields.push_back(std::move(f));
  visit_map(ctx, value, path, fields);
}

void parse_secondary(Context& ctx, const Node& value, Artifacts& artifacts) {
  const std::string path = "artifacts/secondary-artifacts";
  if (value.is_null()) return;
  if (!value.is_map()) {
    ctx.error(value.mark, "\"" + path +
                              "\" must be a mapping of artifact identifiers to "
                              "artifact definitions, found " +
                              describe(value));
    return;
  }
  for (const auto& [key, spec_node] : value.entries) {
    if (!key->is_scalar()) {
      ctx.error(key->mark, "\"" + path + "\" has an identifier that is not a string");
      continue;
    }
    ArtifactSpec spec;
    spec.mark = key->mark;
    const std::string spec_path = join(path, key->text);
    parse_spec(ctx, *spec_node, spec_path, spec, {});
    if (!has_value(*spec_node, "files"))
      ctx.warning(key->mark, "\"" + spec_path + "\" has no files: the artifact will be empty");
    artifacts.secondary.emplace_back(key->text, std::move(spec));
  }
}

}  // namespace

void parse_artifacts(Context& ctx, const Node& key, const Node& value, Artifacts& artifacts) {
  if (value.is_null()) {
    ctx.warning(key.mark, "\"artifacts\" is empty (ignored)");
    return;
  }
  artifacts.mark = key.mark;
  artifacts.primary.mark = key.mark;
  std::vector<Field> extra = {
      {"secondary-artifacts",
       [&](const Node&, const Node& v) { parse_secondary(ctx, v, artifacts); }},
      // §1.8: "The type property for artifacts has been deprecated" in 0.2; 0.1 files use it.
      {"type",
       [&](const Node& k, const Node&) {
         if (ctx.version == Version::k0_2)
           ctx.warning(k.mark, "\"artifacts/type\" is deprecated since version 0.2 (ignored)");
       }},
  };
  parse_spec(ctx, value, "artifacts", artifacts.primary, std::move(extra));
  if (!value.is_map()) return;  // parse_spec reported it
  artifacts.present = true;
  // Not a parse error: CodeBuild accepts the buildspec and, when the project defines artifacts,
  // fails later (§1.9), and so does the engine. A project without artifacts (NO_ARTIFACTS, or
  // `kiln run` without an artifacts folder) never reads the section, as in
  // tests/corpus/buildspecs/058.
  if (!has_value(value, "files"))
    ctx.warning(key.mark,
                "\"artifacts\" has no files: if the project defines artifacts, CodeBuild fails "
                "UPLOAD_ARTIFACTS with \"no definition for primary artifacts in buildspec\"");
}

}  // namespace kiln::spec::detail
