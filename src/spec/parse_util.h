// Helpers shared by the section parsers (parse_*.cpp). Internal to spec/.
//
// Every reader reports its own problems into the Context, naming the key by its path as the
// CodeBuild docs write it ("env/variables", "batch/build-graph[2]/identifier"), and returns an
// empty result on failure, so section parsers read top to bottom without error plumbing.
// Nothing here throws.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "spec/buildspec.h"
#include "spec/diagnostic.h"
#include "spec/yaml_tree.h"

namespace kiln::spec::detail {

using yaml::Node;
using yaml::NodePtr;

// The diagnostics of one parse, plus what section parsers need to know about the whole file.
struct Context {
  Version version = Version::k0_2;
  std::vector<Diagnostic> diagnostics;

  void error(const Mark& mark, std::string message);
  void warning(const Mark& mark, std::string message);
};

// "a string", "a list", "a mapping" or "an empty value", for "found ..." in messages.
std::string describe(const Node& n);

// Key paths for messages: join("env", "variables") == "env/variables"; join("", "env") == "env".
std::string join(std::string_view path, std::string_view key);
// item("batch/build-graph", 2) == "batch/build-graph[2]".
std::string item(std::string_view path, size_t index);

// One key a mapping may hold, and what to do with its value.
struct Field {
  std::string_view name;
  std::function<void(const Node& key, const Node& value)> handle;
};

// Whether `key` could be a buildspec key: 1 to kMaxKeyNameLength letters, digits, '_', '-' or
// '.'. Unknown keys that are not are reported without their text (visit_map).
inline constexpr std::size_t kMaxKeyNameLength = 64;
bool plausible_key(std::string_view key);

// Runs the handler of each known key, in source order. Any other key gets a warning
// (`unknown key "x" in "path" (ignored)`, with a "did you mean" when a known key is close;
// `unknown key that is not a key name in "path" (ignored)` when !plausible_key), so a
// newer buildspec still runs (docs/reference/design.md §3.2). A null `map` is an empty mapping.
// Anything else is an error (`"path" must be a mapping, found a list`) and returns false.
bool visit_map(Context& ctx, const Node& map, std::string_view path,
               const std::vector<Field>& fields);

// Readers. A null value means "not set" and is not an error.
std::optional<std::string> read_string(Context& ctx, const Node& value, std::string_view path);
// yes, no, true or false, in any letter case (what the CodeBuild docs use: "no | yes").
std::optional<bool> read_bool(Context& ctx, const Node& value, std::string_view path);
// Decimal digits only, within [min, max].
std::optional<int> read_int(Context& ctx, const Node& value, std::string_view path, int min,
                            int max);

// Whether a single string may stand for a one-element list (docs/buildspec.md lists the keys).
enum class ScalarList { kReject, kAccept };

// A list of strings. Empty items are skipped with a warning.
std::vector<std::string> read_string_list(Context& ctx, const Node& value, std::string_view path,
                                          ScalarList scalar);

// A mapping of names to strings, in source order; a null value reads as "".
std::vector<std::pair<std::string, std::string>> read_string_map(Context& ctx, const Node& value,
                                                                 std::string_view path);

// Whether `map` has `key` with something in it: not null, not an empty list. Used for "has no
// files" warnings, which would only repeat an error when the value has the wrong shape.
bool has_value(const Node& map, std::string_view key);

}  // namespace kiln::spec::detail
