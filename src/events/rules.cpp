// The rules file of `kiln server --event-targets` and the signed POST of one event
// (events/targets.h, docs/events.md "Targets").
#include <algorithm>

#include <nlohmann/json.hpp>

#include "auth/digest.h"
#include "events/targets.h"
#include "util/files.h"
#include "util/string.h"

namespace kiln::events {
namespace {

using nlohmann::json;

bool valid_rule_name(const std::string& n) {
  return !n.empty() && n.size() <= 64 && std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

Result<std::vector<std::string>> strings(const json& r, const char* key, bool required) {
  std::vector<std::string> out;
  const auto it = r.find(key);
  if (it == r.end()) {
    if (required) return tl::unexpected(Error(ErrorCode::kParse, std::string(key) + " is missing"));
    return out;
  }
  if (!it->is_array())
    return tl::unexpected(
        Error(ErrorCode::kParse, std::string(key) + " must be a list of strings"));
  for (const auto& s : *it) {
    if (!s.is_string() || s.get<std::string>().empty())
      return tl::unexpected(
          Error(ErrorCode::kParse, std::string(key) + " must be a list of strings"));
    out.push_back(s.get<std::string>());
  }
  return out;
}

Result<Rule> parse_rule(const json& r) {
  if (!r.is_object()) return tl::unexpected(Error(ErrorCode::kParse, "a rule must be an object"));
  Rule rule;
  for (const auto& [key, value] : r.items()) {
    if (key != "name" && key != "url" && key != "projects" && key != "detailTypes" &&
        key != "secret" && key != "maxAttempts")
      return tl::unexpected(Error(ErrorCode::kParse, "unknown member " + key));
  }
  rule.name = r.value("name", "");
  if (!valid_rule_name(rule.name))
    return tl::unexpected(Error(ErrorCode::kParse, "name must be 1-64 of A-Z a-z 0-9 - _"));
  rule.url = r.value("url", "");
  if (!rule.url.starts_with("http://") && !rule.url.starts_with("https://"))
    return tl::unexpected(Error(ErrorCode::kParse, "url must be http:// or https://"));
  auto projects = strings(r, "projects", true);
  if (!projects) return tl::unexpected(projects.error());
  if (projects->empty())
    return tl::unexpected(Error(ErrorCode::kParse, "projects is empty (\"*\" means all)"));
  rule.projects = std::move(*projects);
  auto types = strings(r, "detailTypes", false);
  if (!types) return tl::unexpected(types.error());
  for (const auto& t : *types) {
    if (t != "CodeBuild Build State Change" && t != "CodeBuild Build Phase Change")
      return tl::unexpected(Error(ErrorCode::kParse, "detailTypes: unknown type " + t));
  }
  rule.detail_types = std::move(*types);
  const auto secret = r.find("secret");
  if (secret == r.end() || !secret->is_string() || secret->get<std::string>().empty())
    return tl::unexpected(Error(ErrorCode::kParse, "secret is missing: every POST is signed"));
  rule.secret = secret->get<std::string>();
  if (const auto m = r.find("maxAttempts"); m != r.end()) {
    if (!m->is_number_integer() || m->get<long long>() < 1 || m->get<long long>() > 100)
      return tl::unexpected(Error(ErrorCode::kParse, "maxAttempts must be 1 to 100"));
    rule.max_attempts = m->get<int>();
  }
  return rule;
}

}  // namespace

Result<std::vector<Rule>> parse_rules(const std::string& text) {
  const auto doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_array())
    return tl::unexpected(Error(ErrorCode::kParse, "the rules file must be a JSON array of rules"));
  std::vector<Rule> rules;
  for (std::size_t i = 0; i < doc.size(); ++i) {
    auto rule = parse_rule(doc[i]);
    const std::string where = "rule " + std::to_string(i + 1);
    if (!rule) {
      const std::string name = doc[i].is_object() ? doc[i].value("name", "") : "";
      return tl::unexpected(
          Error(ErrorCode::kParse,
                where + (name.empty() ? "" : " (" + name + ")") + ": " + rule.error().message()));
    }
    for (const auto& other : rules) {
      if (other.name == rule->name)
        return tl::unexpected(Error(ErrorCode::kParse, where + ": the name " + rule->name +
                                                           " is taken by an earlier rule"));
    }
    rules.push_back(std::move(*rule));
  }
  return rules;
}

Result<std::vector<Rule>> load_rules(const std::filesystem::path& path) {
  auto text = read_file(path);
  if (!text) return tl::unexpected(text.error());
  auto rules = parse_rules(*text);
  if (!rules)
    return tl::unexpected(Error(ErrorCode::kParse, path.string() + ": " + rules.error().message()));
  return rules;
}

bool rule_matches(const Rule& rule, const std::string& project, const std::string& detail_type) {
  const bool project_ok =
      std::any_of(rule.projects.begin(), rule.projects.end(),
                  [&](const std::string& p) { return p == "*" || p == project; });
  const bool type_ok = rule.detail_types.empty() ||
                       std::find(rule.detail_types.begin(), rule.detail_types.end(), detail_type) !=
                           rule.detail_types.end();
  return project_ok && type_ok;
}

std::string signature(const std::string& secret, const std::string& body) {
  return "sha256=" + to_hex(auth::hmac_sha256(std::string_view(secret), body));
}

net::HttpRequest delivery_request(const Rule& rule, std::uint64_t seq, const std::string& body) {
  net::HttpRequest r;
  r.method = "POST";
  r.url = rule.url;
  const auto event = json::parse(body, nullptr, /*allow_exceptions=*/false);
  const std::string id = event.is_object() ? event.value("id", "") : "";
  const std::string type = event.is_object() ? event.value("detail-type", "") : "";
  r.headers = {{"Content-Type", "application/json"},
               {"User-Agent", "kiln-events"},
               {"X-Kiln-Event-Id", id},
               {"X-Kiln-Event-Sequence", std::to_string(seq)},
               {"X-Kiln-Event-Type", type},
               {"X-Kiln-Signature-256", signature(rule.secret, body)}};
  r.body = body;
  r.timeout_ms = 10000;
  r.connect_timeout_ms = 5000;
  return r;
}

}  // namespace kiln::events
