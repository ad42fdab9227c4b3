// expand_variables (buildstatus/reporter.h): the CODEBUILD_* values a build status's context and
// target URL may use, as far as the stored record tells them.
#include <cctype>
#include <map>

#include "buildstatus/reporter.h"

namespace kiln::buildstatus {
namespace {

using nlohmann::json;

std::string text_at(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<long long>());
  return "";
}

// arn:aws:codebuild:<region>:<account>:build/<id>
std::string region_of(const std::string& arn) {
  std::size_t start = 0;
  for (int i = 0; i < 3; ++i) {
    start = arn.find(':', start);
    if (start == std::string::npos) return "";
    ++start;
  }
  const auto end = arn.find(':', start);
  return end == std::string::npos ? "" : arn.substr(start, end - start);
}

std::map<std::string, std::string> values_of(const json& r, const std::string& batch_identifier) {
  std::map<std::string, std::string> v;
  const json& env =
      r.contains("environment") && r["environment"].is_object() ? r["environment"] : json::object();
  // The build's own PLAINTEXT variables first, so the CODEBUILD_* values win as in a build.
  if (const auto vars = env.find("environmentVariables"); vars != env.end() && vars->is_array()) {
    for (const auto& e : *vars) {
      if (!e.is_object() || e.value("type", "PLAINTEXT") != "PLAINTEXT") continue;
      const std::string name = text_at(e, "name");
      if (!name.empty()) v[name] = text_at(e, "value");
    }
  }
  const std::string arn = text_at(r, "arn");
  v["AWS_REGION"] = v["AWS_DEFAULT_REGION"] = region_of(arn);
  v["CODEBUILD_BUILD_ID"] = text_at(r, "id");
  v["CODEBUILD_BUILD_ARN"] = arn;
  v["CODEBUILD_BUILD_NUMBER"] =
      r.contains("buildNumber") ? text_at(r, "buildNumber") : text_at(r, "buildBatchNumber");
  v["CODEBUILD_INITIATOR"] = text_at(r, "initiator");
  v["CODEBUILD_SOURCE_VERSION"] = text_at(r, "sourceVersion");
  v["CODEBUILD_RESOLVED_SOURCE_VERSION"] = text_at(r, "resolvedSourceVersion");
  v["CODEBUILD_BUILD_IMAGE"] = text_at(env, "image");
  v["CODEBUILD_PROJECT_NAME"] = text_at(r, "projectName");
  if (const auto s = r.find("source"); s != r.end() && s->is_object())
    v["CODEBUILD_SOURCE_REPO_URL"] = text_at(*s, "location");
  if (!batch_identifier.empty()) v["CODEBUILD_BATCH_BUILD_IDENTIFIER"] = batch_identifier;
  return v;
}

bool name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

}  // namespace

std::string expand_variables(const std::string& text, const json& record,
                             const std::string& batch_identifier) {
  if (text.find('$') == std::string::npos) return text;
  const auto values = values_of(record, batch_identifier);
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '$' || i + 1 >= text.size()) {
      out += text[i++];
      continue;
    }
    const bool braced = text[i + 1] == '{';
    const std::size_t start = i + (braced ? 2 : 1);
    std::size_t end = start;
    if (end < text.size() && name_start(text[end]))
      while (end < text.size() && name_char(text[end])) ++end;
    const bool closed = !braced || (end < text.size() && text[end] == '}');
    const auto it = values.find(text.substr(start, end - start));
    if (end == start || !closed || it == values.end()) {
      out += text[i++];  // not a known name: kept as written
      continue;
    }
    out += it->second;
    i = end + (braced ? 1 : 0);
  }
  return out;
}

}  // namespace kiln::buildstatus
