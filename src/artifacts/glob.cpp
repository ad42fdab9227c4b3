#include "artifacts/glob.h"

#include <bit>
#include <optional>

#include "util/string.h"

namespace kiln::artifacts {

namespace {

constexpr std::size_t kMaxSegments = 63;  // positions 0..63 fit a State

// Decodes one UTF-8 code point at s[i]; invalid bytes decode as themselves, length 1, so a
// name that is not UTF-8 still matches byte by byte.
char32_t decode(std::string_view s, std::size_t i, std::size_t* len) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t n = b0 < 0x80           ? 1
                  : (b0 >> 5) == 0x6  ? 2
                  : (b0 >> 4) == 0xE  ? 3
                  : (b0 >> 3) == 0x1E ? 4
                                      : 0;
  if (n == 0 || i + n > s.size()) {
    *len = 1;
    return b0;
  }
  char32_t cp = n == 1 ? b0 : b0 & (0x7F >> n);
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) {
      *len = 1;
      return b0;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  *len = n;
  return cp;
}

enum class One { kMatch, kNoMatch, kBad };

// Matches the class starting at pat[p] == '[' against code point `ch`; sets *plen to the
// class's length in the pattern.
One match_class(std::string_view pat, std::size_t p, char32_t ch, std::size_t* plen) {
  std::size_t i = p + 1;
  bool negate = false;
  if (i < pat.size() && (pat[i] == '!' || pat[i] == '^')) {
    negate = true;
    ++i;
  }
  bool matched = false;
  bool first = true;
  for (;;) {
    if (i >= pat.size()) return One::kBad;
    if (pat[i] == ']' && !first) break;
    first = false;
    auto read = [&](char32_t* out) {
      if (pat[i] == '\\') {
        if (++i >= pat.size()) return false;
      }
      std::size_t len;
      *out = decode(pat, i, &len);
      i += len;
      return true;
    };
    char32_t lo;
    if (!read(&lo)) return One::kBad;
    char32_t hi = lo;
    if (i + 1 < pat.size() && pat[i] == '-' && pat[i + 1] != ']') {
      ++i;
      if (!read(&hi)) return One::kBad;
    }
    if (lo <= ch && ch <= hi) matched = true;
  }
  *plen = i + 1 - p;
  return matched != negate ? One::kMatch : One::kNoMatch;
}

// Matches one non-star pattern element at pat[p] against the start of name[n].
One match_one(std::string_view pat, std::size_t p, std::string_view name, std::size_t n,
              std::size_t* plen, std::size_t* nlen) {
  const char c = pat[p];
  if (c == '?' || c == '[') {
    const char32_t ch = decode(name, n, nlen);
    if (c == '?') {
      *plen = 1;
      return One::kMatch;
    }
    return match_class(pat, p, ch, plen);
  }
  std::size_t start = p;
  if (c == '\\') {
    if (++start >= pat.size()) return One::kBad;
  }
  *plen = start - p + 1;
  *nlen = 1;
  return pat[start] == name[n] ? One::kMatch : One::kNoMatch;
}

// Checks the syntax of a wildcard segment by matching it against every class once.
bool well_formed(std::string_view seg) {
  for (std::size_t i = 0; i < seg.size(); ++i) {
    if (seg[i] == '\\') {
      if (++i >= seg.size()) return false;
    } else if (seg[i] == '[') {
      std::size_t len;
      if (match_class(seg, i, 0, &len) == One::kBad) return false;
      i += len - 1;
    }
  }
  return true;
}

// Returns the unescaped text if `seg` has no unescaped wildcard.
std::optional<std::string> literal_text(std::string_view seg) {
  std::string out;
  for (std::size_t i = 0; i < seg.size(); ++i) {
    const char c = seg[i];
    if (c == '*' || c == '?' || c == '[') return std::nullopt;
    if (c == '\\' && ++i == seg.size()) return std::nullopt;  // trailing escape: malformed
    out += seg[i];
  }
  return out;
}

// The components of `path`, without empty and "." ones.
std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> out = split(path, '/', SplitMode::kSkipEmpty);
  std::erase(out, ".");
  return out;
}

}  // namespace

bool match_component(std::string_view pat, std::string_view name) {
  std::size_t p = 0, n = 0;
  std::size_t star_p = std::string_view::npos, star_n = 0;
  while (n < name.size()) {
    if (p < pat.size()) {
      if (pat[p] == '*') {
        star_p = ++p;
        star_n = n;
        continue;
      }
      std::size_t plen = 0, nlen = 0;
      const One r = match_one(pat, p, name, n, &plen, &nlen);
      if (r == One::kBad) return false;
      if (r == One::kMatch) {
        p += plen;
        n += nlen;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    // Let the last star swallow one more code point and retry from there. Every other element
    // consumes exactly one code point, so retrying only the last star is enough.
    std::size_t len;
    decode(name, star_n, &len);
    star_n += len;
    n = star_n;
    p = star_p;
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

Result<Glob> Glob::compile(std::string_view pattern) {
  return compile(pattern, Options{});
}

Result<Glob> Glob::compile(std::string_view pattern, Options options) {
  const std::string shown(pattern);
  if (pattern.empty()) return fail(ErrorCode::kInvalidArgument, "empty artifact path");
  if (pattern.front() == '/') {
    return fail(ErrorCode::kPathEscape, "absolute path not allowed: " + shown);
  }
  Glob g;
  g.text_ = shown;
  for (std::string_view comp : components(pattern)) {
    if (comp == "..") {
      return fail(ErrorCode::kPathEscape, "'..' is not allowed in artifact paths: " + shown);
    }
    if (!g.normalized_.empty()) g.normalized_ += '/';
    g.normalized_ += comp;
    Segment seg;
    if (comp == "**") {
      if (!g.segments_.empty() && g.segments_.back().kind == Segment::Kind::kGlobstar) continue;
      seg.kind = Segment::Kind::kGlobstar;
    } else if (comp.find_first_not_of('*') == std::string_view::npos) {
      seg.kind = Segment::Kind::kAny;
    } else if (auto lit = literal_text(comp)) {
      seg.kind = Segment::Kind::kLiteral;
      seg.text = std::move(*lit);
    } else {
      if (!well_formed(comp)) {
        return fail(ErrorCode::kInvalidArgument, "malformed pattern: " + shown);
      }
      seg.kind = Segment::Kind::kWildcard;
      seg.text = std::string(comp);
    }
    if (seg.kind != Segment::Kind::kLiteral) g.has_wildcard_ = true;
    g.segments_.push_back(std::move(seg));
  }
  const bool ends_in_globstar =
      !g.segments_.empty() && g.segments_.back().kind == Segment::Kind::kGlobstar;
  if (options.literal_selects_subtree && !g.has_wildcard_ && !ends_in_globstar) {
    g.segments_.push_back(Segment{Segment::Kind::kGlobstar, {}});
  }
  if (g.segments_.size() > kMaxSegments) {
    return fail(ErrorCode::kInvalidArgument, "pattern has too many components: " + shown);
  }
  return g;
}

Glob::State Glob::closure(State state) const {
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    if (((state >> i) & 1U) && segments_[i].kind == Segment::Kind::kGlobstar) {
      state |= State{1} << (i + 1);
    }
  }
  return state;
}

Glob::State Glob::start() const {
  return closure(1);
}

Glob::State Glob::step(State state, std::string_view component) const {
  State next = 0;
  const std::size_t n = segments_.size();
  for (State bits = state; bits != 0; bits &= bits - 1) {
    const auto i = static_cast<std::size_t>(std::countr_zero(bits));
    if (i >= n) break;
    const Segment& seg = segments_[i];
    switch (seg.kind) {
      case Segment::Kind::kGlobstar: next |= State{1} << i; break;
      case Segment::Kind::kAny: next |= State{1} << (i + 1); break;
      case Segment::Kind::kLiteral:
        if (seg.text == component) next |= State{1} << (i + 1);
        break;
      case Segment::Kind::kWildcard:
        if (match_component(seg.text, component)) next |= State{1} << (i + 1);
        break;
    }
  }
  return closure(next);
}

bool Glob::may_match_below(State state) const {
  const std::size_t n = segments_.size();
  const State below = n >= 64 ? ~State{0} : (State{1} << n) - 1;
  return (state & below) != 0;
}

bool Glob::matches_all_below(State state) const {
  const std::size_t n = segments_.size();
  for (State bits = state; bits != 0; bits &= bits - 1) {
    const auto i = static_cast<std::size_t>(std::countr_zero(bits));
    if (i >= n) break;
    // The rest matches any path of one or more components when it holds a globstar and at
    // most one other segment, which must be a bare `*`.
    bool globstar = false;
    int others = 0;
    bool ok = true;
    for (std::size_t k = i; k < n && ok; ++k) {
      if (segments_[k].kind == Segment::Kind::kGlobstar) {
        globstar = true;
      } else if (segments_[k].kind == Segment::Kind::kAny) {
        ok = ++others <= 1;
      } else {
        ok = false;
      }
    }
    if (ok && globstar) return true;
  }
  return false;
}

bool Glob::match(std::string_view rel_path) const {
  State s = start();
  for (std::string_view comp : components(rel_path)) {
    s = step(s, comp);
    if (s == 0) return false;
  }
  return accepts(s);
}

}  // namespace kiln::artifacts
