#include "secrets/remote_resolver.h"

#include <nlohmann/json.hpp>

#include "util/json_text.h"

namespace kiln::secrets {
namespace {

using nlohmann::json;

// "com.amazonaws.ssm#ParameterNotFound" and "ParameterNotFound" name the same error.
std::string short_type(std::string type) {
  if (const auto hash = type.rfind('#'); hash != std::string::npos) type.erase(0, hash + 1);
  if (const auto colon = type.find(':'); colon != std::string::npos) type.erase(colon);
  return type;
}

}  // namespace

Result<std::string> RemoteSecretResolver::call(const std::string& service,
                                               const std::string& target, const std::string& body) {
  net::HttpRequest req;
  req.url = endpoint_;
  req.headers = {{"Content-Type", "application/x-amz-json-1.1"}, {"X-Amz-Target", target}};
  req.body = body;
  req.sigv4_region = region_;
  req.sigv4_service = service;
  req.credentials = credentials_;
  auto resp = http_.send(req);
  if (!resp) return fail(std::move(resp.error()).with("calling " + target + " at " + endpoint_));
  if (resp->status == 200) return std::move(resp->body);
  const auto err = json::parse(resp->body, nullptr, /*allow_exceptions=*/false);
  std::string type = "HTTP " + std::to_string(resp->status);
  std::string message;
  if (err.is_object()) {
    type = short_type(err.value("__type", type));
    message = err.value("message", err.value("Message", ""));
  }
  const bool missing = type == "ParameterNotFound" || type == "ResourceNotFoundException";
  return fail(missing ? ErrorCode::kNotFound : ErrorCode::kInvalidArgument, type + ": " + message);
}

Result<std::string> RemoteSecretResolver::parameter(const std::string& name) {
  auto body = call("ssm", "AmazonSSM.GetParameter",
                   json_text(json{{"Name", name}, {"WithDecryption", true}}));
  if (!body) {
    if (body.error().code() == ErrorCode::kNotFound)
      return fail(ErrorCode::kNotFound, "parameter does not exist: " + name);
    return fail(std::move(body.error()));
  }
  const auto doc = json::parse(*body, nullptr, /*allow_exceptions=*/false);
  const json* value = nullptr;
  if (doc.is_object() && doc.contains("Parameter") && doc["Parameter"].is_object()) {
    const auto& p = doc["Parameter"];
    if (p.contains("Value") && p["Value"].is_string()) value = &p["Value"];
  }
  if (value == nullptr)
    return fail(ErrorCode::kParse, "GetParameter at " + endpoint_ + ": no Parameter.Value");
  return value->get<std::string>();
}

Result<std::string> RemoteSecretResolver::secret_text(const SecretReference& ref) {
  json in{{"SecretId", ref.secret_id}};
  if (!ref.version_id.empty()) in["VersionId"] = ref.version_id;
  if (!ref.version_stage.empty()) in["VersionStage"] = ref.version_stage;
  auto body = call("secretsmanager", "secretsmanager.GetSecretValue", json_text(in));
  if (!body) return fail(std::move(body.error()));
  const auto doc = json::parse(*body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object() && doc.contains("SecretString") && doc["SecretString"].is_string())
    return doc["SecretString"].get<std::string>();
  if (doc.is_object() && doc.contains("SecretBinary") && doc["SecretBinary"].is_string()) {
    // The JSON protocol carries blobs as base64; the build gets the bytes' base64 text, as
    // CodeBuild passes SecretBinary through unchanged.
    return doc["SecretBinary"].get<std::string>();
  }
  return fail(ErrorCode::kParse,
              "GetSecretValue at " + endpoint_ + ": neither SecretString nor SecretBinary");
}

}  // namespace kiln::secrets
