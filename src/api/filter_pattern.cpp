#include "api/filter_pattern.h"

#include <re2/re2.h>

#include <string>
#include <vector>

#include "api/filter_pattern_impl.h"

namespace kiln::api {
namespace filter_detail {

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool glob_match(std::string_view glob, std::string_view s) {
  std::size_t g = 0;
  std::size_t i = 0;
  std::size_t star = std::string_view::npos;
  std::size_t mark = 0;
  while (i < s.size()) {
    if (g < glob.size() && glob[g] == '*') {
      star = g++;
      mark = i;
    } else if (g < glob.size() && glob[g] == s[i]) {
      ++g;
      ++i;
    } else if (star != std::string_view::npos) {
      g = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

Result<std::shared_ptr<const re2::RE2>> compile_regex(std::string_view body) {
  if (body.empty()) return invalid();
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\\') {
      ++i;
    } else if (body[i] == '(' || body[i] == ')') {
      return invalid();
    }
  }
  re2::RE2::Options opts;
  opts.set_log_errors(false);
  opts.set_max_mem(std::int64_t{1} << 20);
  auto re = std::make_shared<const re2::RE2>(re2::StringPiece(body.data(), body.size()), opts);
  if (!re->ok()) return invalid();
  return re;
}

Result<std::string> quoted(std::string_view s, std::size_t& at) {
  std::string out;
  for (++at; at < s.size(); ++at) {
    const char c = s[at];
    if (c == '"') {
      ++at;
      return out;
    }
    if (c == '\\' && at + 1 < s.size() && (s[at + 1] == '"' || s[at + 1] == '\\')) {
      out += s[++at];
      continue;
    }
    out += c;
  }
  return invalid();  // unterminated
}

}  // namespace filter_detail

namespace {

using filter_detail::invalid;
using filter_detail::is_space;
using filter_detail::quoted;
using Node = FilterPattern::Node;

class RegexNode final : public Node {
 public:
  explicit RegexNode(std::shared_ptr<const re2::RE2> re) : re_(std::move(re)) {}
  bool matches(std::string_view m) const override {
    return re2::RE2::PartialMatch(re2::StringPiece(m.data(), m.size()), *re_);
  }

 private:
  std::shared_ptr<const re2::RE2> re_;
};

// ---- text terms ----

struct TermGroup {
  std::vector<std::string> present;
  std::vector<std::string> absent;
};

class TextNode final : public Node {
 public:
  explicit TextNode(std::vector<TermGroup> groups) : groups_(std::move(groups)) {}
  bool matches(std::string_view m) const override {
    for (const auto& g : groups_) {
      bool ok = true;
      for (const auto& t : g.present) ok = ok && m.find(t) != std::string_view::npos;
      for (const auto& t : g.absent) ok = ok && m.find(t) == std::string_view::npos;
      if (ok) return true;
    }
    return false;
  }

 private:
  std::vector<TermGroup> groups_;
};

Result<std::unique_ptr<Node>> compile_text(std::string_view s) {
  std::vector<TermGroup> groups;
  std::size_t at = 0;
  while (at < s.size()) {
    if (is_space(s[at])) {
      ++at;
      continue;
    }
    const char prefix = s[at] == '?' || s[at] == '-' ? s[at] : '\0';
    if (prefix) ++at;
    std::string term;
    if (at < s.size() && s[at] == '"') {
      auto q = quoted(s, at);
      if (!q) return tl::unexpected(q.error());
      if (at < s.size() && !is_space(s[at])) return invalid();  // "a"b
      term = std::move(*q);
    } else {
      const std::size_t start = at;
      while (at < s.size() && !is_space(s[at])) {
        if (s[at] == '"') return invalid();
        ++at;
      }
      term = std::string(s.substr(start, at - start));
    }
    if (term.empty()) {
      if (prefix) return invalid();  // a lone `?` or `-`
      continue;                      // "" matches everything: it adds nothing
    }
    if (prefix == '?' || groups.empty()) groups.emplace_back();
    (prefix == '-' ? groups.back().absent : groups.back().present).push_back(std::move(term));
  }
  if (groups.empty()) return std::unique_ptr<Node>();
  return std::unique_ptr<Node>(std::make_unique<TextNode>(std::move(groups)));
}

}  // namespace

Result<FilterPattern> FilterPattern::compile(std::string_view text) {
  const std::string_view s = filter_detail::trim(text);
  FilterPattern out;
  if (s.empty()) return out;
  if (s.front() == '{') {
    if (s.back() != '}') return invalid("If a filter pattern starts with '{' it must end with '}'");
    auto node = filter_detail::compile_json(s.substr(1, s.size() - 2));
    if (!node) return tl::unexpected(node.error());
    out.root_ = std::shared_ptr<const Node>(std::move(*node));
    return out;
  }
  if (s.front() == '[') {
    return invalid(
        "Invalid filter pattern: Kiln does not support space-delimited patterns ([w1, w2, ...])");
  }
  if (s.front() == '%') {
    if (s.size() < 2 || s.back() != '%') return invalid();
    auto re = filter_detail::compile_regex(s.substr(1, s.size() - 2));
    if (!re) return tl::unexpected(re.error());
    out.root_ = std::make_shared<RegexNode>(std::move(*re));
    return out;
  }
  auto node = compile_text(s);
  if (!node) return tl::unexpected(node.error());
  out.root_ = std::shared_ptr<const Node>(std::move(*node));
  return out;
}

bool FilterPattern::matches(std::string_view message) const {
  return !root_ || root_->matches(message);
}

}  // namespace kiln::api
