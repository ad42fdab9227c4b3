// A read-only YAML document tree, built from yaml-cpp's event parser rather than YAML::Node.
//
// Why not YAML::Node: its accessors throw, it silently drops content that follows the first
// document's root without a `---` (e.g. "- a\nb: c"), it accepts an unterminated quoted scalar
// at the end of the file, it does not apply `<<` merge keys, and it hides duplicate keys. CodeBuild
// parses buildspecs with go-yaml, which rejects or handles all of these, so this loader does too
// and reports syntax errors in go-yaml's wording where there is a clear equivalent (see
// yaml_errors.h and docs/buildspec.md).
//
// Internal to spec/. Never throws.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "spec/buildspec.h"
#include "spec/diagnostic.h"

namespace kiln::spec::yaml {

struct Node;
using NodePtr = std::shared_ptr<const Node>;

struct Node {
  enum class Kind { kNull, kScalar, kSequence, kMap };
  Kind kind = Kind::kNull;
  Mark mark;                   // 1-based position of the node's first character
  std::string text;            // kScalar: the value as written, after unquoting; never converted
  bool plain = true;           // kScalar: written without quotes, block indicator or tag
  std::vector<NodePtr> items;  // kSequence
  std::vector<std::pair<NodePtr, NodePtr>> entries;  // kMap, in source order (see below)

  bool is_null() const { return kind == Kind::kNull; }
  bool is_scalar() const { return kind == Kind::kScalar; }
  bool is_seq() const { return kind == Kind::kSequence; }
  bool is_map() const { return kind == Kind::kMap; }
};

// Map entries are normalised as go-yaml decodes them: when a key appears twice the later entry
// wins (a warning is reported at its key), and the entries of `<<` merge values are spliced in
// where the `<<` key stood, except for keys the map sets itself.

struct Document {
  NodePtr root;                         // null when the text holds no document
  std::vector<Diagnostic> diagnostics;  // syntax errors, duplicate keys, ignored documents
};

// Parses the first YAML document of `text`. Later documents are ignored (with a warning), as
// go-yaml's Unmarshal does; content after the root that is not a new document is an error.
// A leading UTF-8 byte order mark is not counted in columns (as in yaml-cpp);
// format_diagnostic() does not show it either.
Document load(const std::string& text);

}  // namespace kiln::spec::yaml
