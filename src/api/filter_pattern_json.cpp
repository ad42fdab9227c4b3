// JSON filter patterns (filter_pattern.h): `{ $.a.b = "x" && ($.n > 5 || $.ok IS TRUE) }`,
// parsed by recursive descent into an expression tree that is evaluated on each message that
// parses as JSON (nlohmann, without exceptions).
#include <charconv>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/filter_pattern_impl.h"

namespace kiln::api {
namespace {

using filter_detail::invalid;
using filter_detail::is_space;
using nlohmann::json;
using Node = FilterPattern::Node;

// Parentheses nest no deeper than this: a pattern is at most 1024 characters (the model's
// limit), and the parser recurses once per level.
constexpr int kMaxDepth = 32;

struct Step {
  std::string key;  // a member, when !is_index
  bool is_index = false;
  bool any = false;  // [*]
  std::size_t index = 0;
};

class Expr {
 public:
  virtual ~Expr() = default;
  [[nodiscard]] virtual bool eval(const json& doc) const = 0;
};

class BoolExpr final : public Expr {
 public:
  BoolExpr(bool is_and, std::unique_ptr<Expr> l, std::unique_ptr<Expr> r)
      : and_(is_and), l_(std::move(l)), r_(std::move(r)) {}
  bool eval(const json& doc) const override {
    return and_ ? l_->eval(doc) && r_->eval(doc) : l_->eval(doc) || r_->eval(doc);
  }

 private:
  bool and_;
  std::unique_ptr<Expr> l_, r_;
};

void select(const json& at, const std::vector<Step>& path, std::size_t i,
            std::vector<const json*>& out) {
  if (i == path.size()) {
    out.push_back(&at);
    return;
  }
  const Step& s = path[i];
  if (!s.is_index) {
    if (!at.is_object()) return;
    const auto it = at.find(s.key);
    if (it != at.end()) select(*it, path, i + 1, out);
    return;
  }
  if (!at.is_array()) return;
  if (s.any) {
    for (const auto& e : at) select(e, path, i + 1, out);
  } else if (s.index < at.size()) {
    select(at[s.index], path, i + 1, out);
  }
}

enum class Test { kEq, kNe, kLt, kGt, kLe, kGe, kTrue, kFalse, kNull, kNotExists };

class Compare final : public Expr {
 public:
  std::vector<Step> path;
  Test test = Test::kEq;
  bool numeric = false;
  double number = 0;
  std::string glob;
  std::shared_ptr<const re2::RE2> regex;

  bool eval(const json& doc) const override {
    std::vector<const json*> found;
    select(doc, path, 0, found);
    if (test == Test::kNotExists) return found.empty();
    for (const json* v : found) {
      if (one(*v)) return true;
    }
    return false;
  }

 private:
  bool one(const json& v) const {
    switch (test) {
      case Test::kTrue: return v.is_boolean() && v.get<bool>();
      case Test::kFalse: return v.is_boolean() && !v.get<bool>();
      case Test::kNull: return v.is_null();
      default: break;
    }
    if (numeric) {
      if (!v.is_number()) return false;
      const double x = v.get<double>();
      switch (test) {
        case Test::kEq: return x == number;
        case Test::kNe: return x != number;
        case Test::kLt: return x < number;
        case Test::kGt: return x > number;
        case Test::kLe: return x <= number;
        case Test::kGe: return x >= number;
        default: return false;
      }
    }
    if (!v.is_string()) return false;
    const auto& s = v.get_ref<const std::string&>();
    const bool hit = regex ? re2::RE2::PartialMatch(s, *regex) : filter_detail::glob_match(glob, s);
    return test == Test::kEq ? hit : !hit;
  }
};

class JsonParser {
 public:
  explicit JsonParser(std::string_view s) : s_(s) {}

  Result<std::unique_ptr<Expr>> parse() {
    auto e = disjunction(0);
    if (!e) return e;
    skip();
    if (at_ != s_.size()) return invalid();
    return e;
  }

 private:
  void skip() {
    while (at_ < s_.size() && is_space(s_[at_])) ++at_;
  }
  bool eat(std::string_view tok) {
    skip();
    if (s_.substr(at_).starts_with(tok)) {
      at_ += tok.size();
      return true;
    }
    return false;
  }
  // A keyword, ending at a space or the end.
  bool word(std::string_view w) {
    skip();
    const std::string_view rest = s_.substr(at_);
    if (!rest.starts_with(w) ||
        (rest.size() > w.size() && !is_space(rest[w.size()]) && rest[w.size()] != ')'))
      return false;
    at_ += w.size();
    return true;
  }

  Result<std::unique_ptr<Expr>> disjunction(int depth) {
    auto l = conjunction(depth);
    while (l && eat("||")) {
      auto r = conjunction(depth);
      if (!r) return r;
      l = std::make_unique<BoolExpr>(false, std::move(*l), std::move(*r));
    }
    return l;
  }
  Result<std::unique_ptr<Expr>> conjunction(int depth) {
    auto l = primary(depth);
    while (l && eat("&&")) {
      auto r = primary(depth);
      if (!r) return r;
      l = std::make_unique<BoolExpr>(true, std::move(*l), std::move(*r));
    }
    return l;
  }
  Result<std::unique_ptr<Expr>> primary(int depth) {
    if (eat("(")) {
      if (depth >= kMaxDepth) return invalid();
      auto e = disjunction(depth + 1);
      if (!e) return e;
      if (!eat(")")) return invalid();
      return e;
    }
    return comparison();
  }

  Result<std::unique_ptr<Expr>> comparison() {
    auto c = std::make_unique<Compare>();
    if (!eat("$")) return invalid();
    while (at_ < s_.size()) {
      if (s_[at_] == '.') {
        const std::size_t start = ++at_;
        while (at_ < s_.size() &&
               std::string_view(" \t\r\n.[]=!<>&|()\"").find(s_[at_]) == std::string_view::npos)
          ++at_;
        if (at_ == start) return invalid();
        c->path.push_back({std::string(s_.substr(start, at_ - start))});
      } else if (s_[at_] == '[') {
        const std::size_t close = s_.find(']', at_);
        if (close == std::string_view::npos) return invalid();
        const std::string_view in = s_.substr(at_ + 1, close - at_ - 1);
        Step step;
        step.is_index = true;
        if (in == "*") {
          step.any = true;
        } else {
          const auto r = std::from_chars(in.data(), in.data() + in.size(), step.index);
          if (in.empty() || r.ec != std::errc() || r.ptr != in.data() + in.size()) return invalid();
        }
        c->path.push_back(std::move(step));
        at_ = close + 1;
      } else {
        break;
      }
    }
    if (c->path.empty()) return invalid();
    if (word("IS")) {
      if (word("TRUE"))
        c->test = Test::kTrue;
      else if (word("FALSE"))
        c->test = Test::kFalse;
      else if (word("NULL"))
        c->test = Test::kNull;
      else
        return invalid();
      return std::unique_ptr<Expr>(std::move(c));
    }
    if (word("NOT")) {
      if (!word("EXISTS")) return invalid();
      c->test = Test::kNotExists;
      return std::unique_ptr<Expr>(std::move(c));
    }
    // Two-character operators first.
    if (eat("!="))
      c->test = Test::kNe;
    else if (eat("<="))
      c->test = Test::kLe;
    else if (eat(">="))
      c->test = Test::kGe;
    else if (eat("="))
      c->test = Test::kEq;
    else if (eat("<"))
      c->test = Test::kLt;
    else if (eat(">"))
      c->test = Test::kGt;
    else
      return invalid();
    if (auto v = value(*c); !v) return tl::unexpected(v.error());
    return std::unique_ptr<Expr>(std::move(c));
  }

  Result<void> value(Compare& c) {
    skip();
    if (at_ >= s_.size()) return invalid();
    const bool ordering = c.test != Test::kEq && c.test != Test::kNe;
    if (s_[at_] == '"') {
      if (ordering) return invalid();
      auto q = filter_detail::quoted(s_, at_);
      if (!q) return tl::unexpected(q.error());
      c.glob = std::move(*q);
      return {};
    }
    if (s_[at_] == '%') {
      const std::size_t close = s_.find('%', at_ + 1);
      if (ordering || close == std::string_view::npos) return invalid();
      auto re = filter_detail::compile_regex(s_.substr(at_ + 1, close - at_ - 1));
      if (!re) return tl::unexpected(re.error());
      c.regex = std::move(*re);
      at_ = close + 1;
      return {};
    }
    const std::size_t start = at_;
    while (at_ < s_.size() && !is_space(s_[at_]) && s_[at_] != ')' &&
           !s_.substr(at_).starts_with("&&") && !s_.substr(at_).starts_with("||"))
      ++at_;
    const std::string_view bare = s_.substr(start, at_ - start);
    if (bare.empty()) return invalid();
    const auto r = std::from_chars(bare.data(), bare.data() + bare.size(), c.number);
    c.numeric = r.ec == std::errc() && r.ptr == bare.data() + bare.size();
    if (ordering && !c.numeric) return invalid();
    if (!c.numeric) c.glob = std::string(bare);
    return {};
  }

  std::string_view s_;
  std::size_t at_ = 0;
};

class JsonNode final : public Node {
 public:
  explicit JsonNode(std::unique_ptr<Expr> e) : expr_(std::move(e)) {}
  bool matches(std::string_view m) const override {
    const std::string_view t = filter_detail::trim(m);
    if (t.empty() || (t.front() != '{' && t.front() != '[')) return false;  // cheap: not JSON
    const json doc = json::parse(t, nullptr, false);
    return !doc.is_discarded() && expr_->eval(doc);
  }

 private:
  std::unique_ptr<Expr> expr_;
};

}  // namespace

Result<std::unique_ptr<FilterPattern::Node>> filter_detail::compile_json(std::string_view body) {
  auto e = JsonParser(body).parse();
  if (!e) return tl::unexpected(e.error());
  return std::unique_ptr<Node>(std::make_unique<JsonNode>(std::move(*e)));
}

}  // namespace kiln::api
