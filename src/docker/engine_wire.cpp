#include "docker/engine_wire.h"

#include <charconv>

#include "util/string.h"

namespace kiln::docker::wire {
namespace {

std::optional<int> parse_int(std::string_view s) {
  int v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

const nlohmann::json& null_json() {
  static const nlohmann::json kNull;
  return kNull;
}

}  // namespace

std::optional<ApiVersion> parse_api_version(std::string_view text) {
  const auto dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const auto major = parse_int(text.substr(0, dot));
  const auto minor = parse_int(text.substr(dot + 1));
  if (!major || !minor) return std::nullopt;
  return ApiVersion{*major, *minor};
}

std::string query(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    out += out.empty() ? '?' : '&';
    out += percent_encode(k, "-._~") + "=" + percent_encode(v, "-._~");
  }
  return out;
}

std::string path_part(std::string_view text) {
  return percent_encode(text, "-._~/:@");
}

Error answer_error(long status, std::string_view body, ErrorCode conflict) {
  std::string message(body);
  const auto doc = nlohmann::json::parse(body, nullptr, false);
  if (!doc.is_discarded() && doc.is_object() && doc.contains("message"))
    message = text(doc, "message");
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) message.pop_back();
  ErrorCode code = ErrorCode::kIo;
  if (status == 400) code = ErrorCode::kInvalidArgument;
  if (status == 401 || status == 403) code = ErrorCode::kPermission;
  if (status == 404) code = ErrorCode::kNotFound;
  if (status == 409) code = conflict;
  return {code, std::to_string(status) + ": " + (message.empty() ? "(no message)" : message)};
}

Result<nlohmann::json> parse_body(std::string_view body) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded()) {
    const std::string_view head = body.substr(0, 200);
    return fail(ErrorCode::kParse, "the daemon's answer is not JSON: " + std::string(head));
  }
  return doc;
}

void JsonLines::feed(std::string_view chunk) {
  for (;;) {
    const auto nl = chunk.find('\n');
    if (nl == std::string_view::npos) {
      partial_.append(chunk);
      return;
    }
    if (partial_.empty()) {
      line(chunk.substr(0, nl));
    } else {
      partial_.append(chunk.substr(0, nl));
      line(partial_);
      partial_.clear();
    }
    chunk.remove_prefix(nl + 1);
  }
}

void JsonLines::finish() {
  if (!partial_.empty()) line(partial_);
  partial_.clear();
}

void JsonLines::line(std::string_view text_line) {
  while (!text_line.empty() && (text_line.back() == '\r' || text_line.back() == ' '))
    text_line.remove_suffix(1);
  if (text_line.empty()) return;
  if (progress_) progress_(text_line);
  const auto doc = nlohmann::json::parse(text_line, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return;
  if (const std::string status = text(doc, "status"); !status.empty()) last_status_ = status;
  if (error_) return;
  std::string message = text(object(doc, "errorDetail"), "message");
  if (message.empty()) message = text(doc, "error");
  if (message.empty() && (doc.contains("error") || doc.contains("errorDetail")))
    message = "the daemon reported an error without a message";
  if (!message.empty()) error_ = std::move(message);
}

std::string text(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::int64_t number(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<std::int64_t>() : 0;
}

bool flag(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

std::vector<std::string> strings(const nlohmann::json& j, const char* key) {
  std::vector<std::string> out;
  const auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& v : *it)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

std::map<std::string, std::string> string_map(const nlohmann::json& j, const char* key) {
  std::map<std::string, std::string> out;
  const auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return out;
  for (const auto& [k, v] : it->items())
    if (v.is_string()) out.emplace(k, v.get<std::string>());
  return out;
}

const nlohmann::json& object(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : null_json();
}

}  // namespace kiln::docker::wire
