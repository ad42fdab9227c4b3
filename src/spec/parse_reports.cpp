// `reports` (docs/reference/codebuild-semantics.md §7.1) and `cache` (§6.2).
#include <algorithm>

#include "spec/sections.h"
#include "util/string.h"

namespace kiln::spec::detail {
namespace {

// §7.1; "not case sensitive".
constexpr std::string_view kFileFormats[] = {
    "CUCUMBERJSON",    "JUNITXML",  "NUNITXML",     "NUNIT3XML", "TESTNGXML",
    "VISUALSTUDIOTRX", "CLOVERXML", "COBERTURAXML", "JACOCOXML", "SIMPLECOV",
};

// "A project can have a maximum of five report groups" (§7.1).
constexpr size_t kMaxReportGroups = 5;
// "Up to five fallback keys are supported" (§6.2).
constexpr size_t kMaxFallbackKeys = 5;

void parse_report(Context& ctx, const Node& key, const Node& value, Report& report) {
  const std::string path = join("reports", report.group);
  visit_map(ctx, value, path,
            {
                {"files",
                 [&](const Node&, const Node& v) {
                   report.files =
                       read_string_list(ctx, v, join(path, "files"), ScalarList::kAccept);
                 }},
                {"base-directory",
                 [&](const Node&, const Node& v) {
                   report.base_directory = read_string(ctx, v, join(path, "base-directory"));
                 }},
                {"discard-paths",
                 [&](const Node&, const Node& v) {
                   if (auto b = read_bool(ctx, v, join(path, "discard-paths")))
                     report.discard_paths = *b;
                 }},
                {"file-format",
                 [&](const Node&, const Node& v) {
                   report.file_format = read_string(ctx, v, join(path, "file-format"));
                   if (!report.file_format) return;
                   // A warning: a format added after this list should not stop a build.
                   const bool known = std::any_of(
                       std::begin(kFileFormats), std::end(kFileFormats),
                       [&](std::string_view f) { return iequals(f, *report.file_format); });
                   if (!known)
                     ctx.warning(v.mark, "unknown report file-format \"" + *report.file_format +
                                             "\" in \"" + join(path, "file-format") + "\"");
                 }},
            });
  if ((value.is_map() || value.is_null()) && !has_value(value, "files"))
    ctx.warning(key.mark, "\"" + path + "\" has no files: the report group will collect nothing");
}

}  // namespace

void parse_reports(Context& ctx, const Node& value, std::vector<Report>& reports) {
  if (value.is_null()) return;
  if (!value.is_map()) {
    ctx.error(value.mark,
              "\"reports\" must be a mapping of report group names or ARNs to "
              "report definitions, found " +
                  describe(value));
    return;
  }
  for (const auto& [key, spec] : value.entries) {
    if (!key->is_scalar()) {
      ctx.error(key->mark, "\"reports\" has a report group name that is not a string");
      continue;
    }
    if (reports.size() == kMaxReportGroups)
      ctx.warning(key->mark, "\"reports\": a project can use at most five report groups");
    Report report;
    report.group = key->text;
    parse_report(ctx, *key, *spec, report);
    reports.push_back(std::move(report));
  }
}

void parse_cache(Context& ctx, const Node& value, Cache& cache) {
  if (value.is_null()) return;
  const Node* fallback = nullptr;
  const bool ok = visit_map(
      ctx, value, "cache",
      {
          {"key",
           [&](const Node&, const Node& v) { cache.key = read_string(ctx, v, "cache/key"); }},
          {"fallback-keys",
           [&](const Node&, const Node& v) {
             fallback = &v;
             cache.fallback_keys =
                 read_string_list(ctx, v, "cache/fallback-keys", ScalarList::kAccept);
             if (cache.fallback_keys.size() > kMaxFallbackKeys)
               ctx.warning(v.mark, "\"cache/fallback-keys\": CodeBuild supports up to five");
           }},
          {"action",
           [&](const Node&, const Node& v) {
             auto action = read_string(ctx, v, "cache/action");
             if (!action) return;
             if (iequals(*action, "restore") || iequals(*action, "save")) {
               cache.action = to_lower(*action);
             } else {
               ctx.error(v.mark,
                         "\"cache/action\" must be restore or save, found \"" + *action + "\"");
             }
           }},
          {"paths",
           [&](const Node&, const Node& v) {
             cache.paths = read_string_list(ctx, v, "cache/paths", ScalarList::kAccept);
           }},
      });
  if (!ok) return;
  cache.present = true;
  if (fallback && !cache.fallback_keys.empty() && !cache.key)
    ctx.warning(fallback->mark, "\"cache/fallback-keys\" is ignored when \"cache/key\" is not set");
}

}  // namespace kiln::spec::detail
