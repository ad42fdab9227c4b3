// Artifact path patterns with CodeBuild's semantics (docs/reference/codebuild-semantics.md §5.1;
// docs/artifacts.md):
//
//   *      any run of characters within one path component; never crosses '/'.
//          Matches names that start with '.' too (Go's filepath.Match has no dot rule).
//   **     as a whole component: zero or more whole directories (`a/**/b` matches `a/b`).
//          Inside a component (`a**b`) it is just `*`.
//   ?      one character (one UTF-8 code point), never '/'.
//   [...]  a character class: `[abc]`, `[a-z]`, negated by `[!...]` or `[^...]`; a `]` right
//          after the opening (or the negation) is literal. Code points, not bytes.
//   \c     the character c, literally.
//
// A leading `./`, empty components (`a//b`) and `.` components are ignored; a trailing `/` is
// ignored. Matching is case-sensitive and always against the whole relative path.
//
// A pattern is compiled once into segments and matched as a small NFA over path components, so
// a walker can carry the state of its directory to each child (one step per name) and prune
// directories no pattern can reach. No backtracking: matching is O(components x segments).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace kiln::artifacts {

// True when `name` (one path component) matches `pattern` (one segment, no '/').
// A malformed pattern (unterminated class, trailing backslash) matches nothing.
bool match_component(std::string_view pattern, std::string_view name);

class Glob {
 public:
  struct Options {
    // A pattern without wildcards also matches everything below it, so naming a directory
    // selects its whole contents (`dist` acts as `dist` + `dist/**`). Used for `files` and
    // `exclude-paths`; not for `base-directory`.
    bool literal_selects_subtree = false;
  };

  // Errors: kPathEscape for an absolute pattern or one with a `..` component;
  // kInvalidArgument for an empty pattern, a malformed class or escape, or more than 62
  // components. Messages name the pattern as written.
  [[nodiscard]] static Result<Glob> compile(std::string_view pattern);
  [[nodiscard]] static Result<Glob> compile(std::string_view pattern, Options options);

  const std::string& text() const { return text_; }  // as written
  bool has_wildcard() const { return has_wildcard_; }
  // The pattern after normalisation ("./a//b/" -> "a/b"); for a wildcard-free pattern this is
  // the path it names.
  const std::string& normalized() const { return normalized_; }

  // Whole-path match of a '/'-separated relative path.
  bool match(std::string_view rel_path) const;

  // The NFA, for walkers. A State is a set of segment positions (bit i: "the next component
  // must match segment i"; bit n: "matched everything").
  using State = std::uint64_t;
  State start() const;
  State step(State state, std::string_view component) const;
  bool accepts(State state) const { return (state >> segments_.size()) & 1U; }
  // Some path with at least one more component could still match: descend.
  bool may_match_below(State state) const;
  // Every path with at least one more component matches: an exclusion can prune here.
  bool matches_all_below(State state) const;

 private:
  struct Segment {
    enum class Kind { kLiteral, kAny, kGlobstar, kWildcard };
    Kind kind;
    std::string text;  // literal text (unescaped) or the wildcard pattern
  };

  Glob() = default;
  State closure(State state) const;

  std::string text_;
  std::string normalized_;
  bool has_wildcard_ = false;
  std::vector<Segment> segments_;
};

}  // namespace kiln::artifacts
