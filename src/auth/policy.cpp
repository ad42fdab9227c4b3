#include "auth/policy.h"

#include <algorithm>
#include <cctype>
#include <tuple>
#include <utility>

namespace kiln::auth {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxCharacters = 6144;

char fold(char c, bool ignore_case) {
  return ignore_case ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
}

Error bad(const std::string& where, const std::string& what) {
  return Error(ErrorCode::kParse, "policy: " + where + ": " + what);
}

// IAM's action syntax: `*`, or `service:Name` where the name may hold wildcards.
bool valid_action(const std::string& a) {
  if (a == "*") return true;
  const auto colon = a.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == a.size()) return false;
  const auto svc_ok = std::all_of(a.begin(), a.begin() + static_cast<long>(colon), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
  });
  const auto name_ok = std::all_of(a.begin() + static_cast<long>(colon) + 1, a.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '*' || c == '?';
  });
  return svc_ok && name_ok;
}

// `*`, or an ARN: arn:partition:service:region:account:resource (six fields, the last may hold
// more colons).
bool valid_resource(const std::string& r) {
  return r == "*" ||
         (r.starts_with("arn:") && std::count(r.begin(), r.end(), ':') >= 5 && r.size() <= 2048);
}

// A string or a non-empty array of strings, each accepted by `ok`.
Result<std::vector<std::string>> string_list(const json& v, const std::string& where,
                                             bool (*ok)(const std::string&), const char* expected) {
  std::vector<std::string> out;
  const auto add = [&](const json& item, const std::string& at) -> Result<void> {
    if (!item.is_string()) return fail(bad(at, "must be a string"));
    const auto& s = item.get_ref<const std::string&>();
    if (!ok(s)) return fail(bad(at, "'" + s + "' is not " + expected));
    out.push_back(s);
    return {};
  };
  if (v.is_string()) {
    if (auto r = add(v, where); !r) return fail(std::move(r.error()));
    return out;
  }
  if (!v.is_array() || v.empty()) {
    return fail(bad(where, "must be a string or a non-empty array of strings"));
  }
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (auto r = add(v[i], where + "[" + std::to_string(i) + "]"); !r)
      return fail(std::move(r.error()));
  }
  return out;
}

// Exactly one of `name` and Not`name` in statement `s`: whether it is the Not form, and its list.
Result<std::pair<bool, std::vector<std::string>>> either(const json& s, const std::string& at,
                                                         const std::string& name,
                                                         bool (*ok)(const std::string&),
                                                         const char* expected) {
  const std::string not_name = "Not" + name;
  const bool has = s.contains(name);
  if (has == s.contains(not_name))
    return fail(bad(at, "needs exactly one of " + name + " and " + not_name));
  const std::string& key = has ? name : not_name;
  auto list = string_list(s.at(key), at + "." + key, ok, expected);
  if (!list) return fail(std::move(list.error()));
  return std::pair{!has, std::move(*list)};
}

}  // namespace

bool wildcard_match(std::string_view pattern, std::string_view text, bool ignore_case) {
  // Greedy with one backtrack point (the last `*`): O(pattern x text) at worst, never exponential.
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() &&
        (pattern[p] == '?' || fold(pattern[p], ignore_case) == fold(text[t], ignore_case))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_t = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

Result<Policy> Policy::parse(std::string_view text) {
  const auto visible = std::count_if(text.begin(), text.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) == 0;
  });
  if (static_cast<std::size_t>(visible) > kMaxCharacters) {
    return fail(ErrorCode::kParse, "policy: the document has " + std::to_string(visible) +
                                       " characters without whitespace; the limit is " +
                                       std::to_string(kMaxCharacters));
  }
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) return fail(ErrorCode::kParse, "policy: not valid JSON");
  return from_json(doc);
}

Result<Policy> Policy::from_json(const json& doc) {
  if (!doc.is_object()) return fail(ErrorCode::kParse, "policy: the document must be an object");
  for (const auto& [k, v] : doc.items()) {
    if (k != "Version" && k != "Id" && k != "Statement") {
      return fail(bad(k, "unknown member (expected Version, Id and Statement)"));
    }
  }
  if (auto v = doc.find("Version"); v != doc.end()) {
    if (!v->is_string() || (*v != "2012-10-17" && *v != "2008-10-17")) {
      return fail(bad("Version", "must be \"2012-10-17\" (or \"2008-10-17\")"));
    }
  }
  if (auto id = doc.find("Id"); id != doc.end() && !id->is_string()) {
    return fail(bad("Id", "must be a string"));
  }
  const auto list = doc.find("Statement");
  if (list == doc.end()) return fail(bad("Statement", "is required"));
  if (!list->is_object() && (!list->is_array() || list->empty())) {
    return fail(bad("Statement", "must be an object or a non-empty array of objects"));
  }
  const json statements = list->is_object() ? json::array({*list}) : *list;

  Policy policy;
  policy.document_ = doc;
  for (std::size_t i = 0; i < statements.size(); ++i) {
    const json& s = statements[i];
    const std::string at = list->is_object() ? "Statement" : "Statement[" + std::to_string(i) + "]";
    if (!s.is_object()) return fail(bad(at, "must be an object"));
    for (const auto& [k, v] : s.items()) {
      if (k == "Condition") {
        return fail(bad(at + ".Condition",
                        "conditions are not supported by Kiln; express the "
                        "rule with Action and Resource"));
      }
      if (k == "Principal" || k == "NotPrincipal") {
        return fail(bad(at + "." + k, "not allowed in an identity-based policy"));
      }
      if (k != "Sid" && k != "Effect" && k != "Action" && k != "NotAction" && k != "Resource" &&
          k != "NotResource") {
        return fail(bad(at + "." + k, "unknown member"));
      }
    }
    if (auto sid = s.find("Sid"); sid != s.end() && !sid->is_string())
      return fail(bad(at + ".Sid", "must be a string"));
    Statement st;
    const auto effect = s.find("Effect");
    if (effect == s.end() || (*effect != "Allow" && *effect != "Deny"))
      return fail(bad(at + ".Effect", "must be \"Allow\" or \"Deny\""));
    st.allow = *effect == "Allow";

    auto actions = either(s, at, "Action", valid_action, "an action (service:Name, or *)");
    if (!actions) return fail(std::move(actions.error()));
    std::tie(st.not_action, st.actions) = std::move(*actions);
    auto resources = either(s, at, "Resource", valid_resource,
                            "an ARN (arn:partition:service:region:account:resource) or *");
    if (!resources) return fail(std::move(resources.error()));
    std::tie(st.not_resource, st.resources) = std::move(*resources);
    policy.statements_.push_back(std::move(st));
  }
  return policy;
}

Policy Policy::allow_all() {
  auto p =
      from_json(json{{"Version", "2012-10-17"},
                     {"Statement", {{{"Effect", "Allow"}, {"Action", "*"}, {"Resource", "*"}}}}});
  return std::move(*p);
}

bool Policy::applies(const Statement& s, std::string_view action, std::string_view resource) {
  const bool action_listed = std::any_of(s.actions.begin(), s.actions.end(), [&](const auto& a) {
    return wildcard_match(a, action, true);
  });
  const bool resource_listed =
      std::any_of(s.resources.begin(), s.resources.end(),
                  [&](const auto& r) { return wildcard_match(r, resource, false); });
  return action_listed != s.not_action && resource_listed != s.not_resource;
}

Decision Policy::evaluate(std::string_view action, std::string_view resource) const {
  bool allowed = false;
  for (const auto& s : statements_) {
    if (!applies(s, action, resource)) continue;
    if (!s.allow) return Decision::kExplicitDeny;
    allowed = true;
  }
  return allowed ? Decision::kAllow : Decision::kImplicitDeny;
}

}  // namespace kiln::auth
