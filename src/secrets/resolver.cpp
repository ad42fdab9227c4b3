#include "secrets/resolver.h"

#include <nlohmann/json.hpp>

#include "util/string.h"

namespace kiln::secrets {
namespace {

// Secrets Manager's own exception names, so the phase context reads like CodeBuild's.
std::string exception_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNotFound: return "ResourceNotFoundException";
    case ErrorCode::kInvalidArgument: return "InvalidRequestException";
    default: return "InternalServiceError";
  }
}

Error secret_error(const Error& e) {
  const std::string& m = e.message();
  // Remote resolvers already carry the service's "Exception: message" text.
  if (m.find("Exception: ") != std::string::npos || m.find("Error: ") != std::string::npos)
    return {e.code(), m};
  return {e.code(), exception_name(e.code()) + ": " + m};
}

}  // namespace

Result<SecretReference> parse_secret_reference(std::string_view text) {
  const auto parts = split(text, ':');
  SecretReference ref;
  std::size_t next = 1;
  if (text.starts_with("arn:")) {
    if (parts.size() < 7)
      return fail(ErrorCode::kInvalidArgument,
                  "InvalidParameterException: invalid secret ARN: " + std::string(text));
    ref.secret_id = parts[0];
    for (std::size_t i = 1; i < 7; ++i) ref.secret_id.append(":").append(parts[i]);
    next = 7;
  } else {
    ref.secret_id = parts[0];
  }
  if (parts.size() > next + 3)
    return fail(ErrorCode::kInvalidArgument,
                "InvalidParameterException: too many fields in secrets-manager reference " +
                    std::string(text) + " (secret-id:json-key:version-stage:version-id)");
  if (parts.size() > next) ref.json_key = parts[next];
  if (parts.size() > next + 1) ref.version_stage = parts[next + 1];
  if (parts.size() > next + 2) ref.version_id = parts[next + 2];
  if (ref.secret_id.empty())
    return fail(ErrorCode::kInvalidArgument,
                "InvalidParameterException: empty secret-id in " + std::string(text));
  if (!ref.version_stage.empty() && !ref.version_id.empty())
    return fail(ErrorCode::kInvalidArgument,
                "InvalidParameterException: version-stage and version-id are mutually "
                "exclusive in " +
                    std::string(text));
  return ref;
}

Result<std::string> SecretResolver::secret(const std::string& reference) {
  auto ref = parse_secret_reference(reference);
  if (!ref) return fail(std::move(ref.error()));
  auto text = secret_text(*ref);
  if (!text) return fail(secret_error(text.error()));
  if (ref->json_key.empty()) return text;
  const auto doc = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object())
    return fail(
        ErrorCode::kInvalidArgument,
        "secret " + ref->secret_id + " is not a JSON object, so it has no key " + ref->json_key);
  const auto it = doc.find(ref->json_key);
  if (it == doc.end())
    return fail(ErrorCode::kNotFound,
                "json key " + ref->json_key + " not found in secret " + ref->secret_id);
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

Result<std::string> NullSecretResolver::parameter(const std::string& name) {
  return fail(ErrorCode::kNotFound,
              "parameter does not exist: " + name + " (this run has no parameter store)");
}

Result<std::string> NullSecretResolver::secret_text(const SecretReference& ref) {
  return fail(ErrorCode::kNotFound,
              "ResourceNotFoundException: Secrets Manager can't find the specified secret. "
              "(this run has no secrets manager)");
}

Result<std::string> StoreSecretResolver::parameter(const std::string& name) {
  auto p = store_.get_parameter(name);
  if (p) return std::move(p->value);
  if (p.error().code() == ErrorCode::kNotFound)
    return fail(ErrorCode::kNotFound, "parameter does not exist: " + name);
  return fail(std::move(p.error()));
}

Result<std::string> StoreSecretResolver::secret_text(const SecretReference& ref) {
  auto v = store_.get_secret_value(ref.secret_id, ref.version_id, ref.version_stage);
  if (!v) return fail(std::move(v.error()));
  if (v->secret_string) return std::move(*v->secret_string);
  return std::move(v->secret_binary).value_or("");
}

Result<SecretResolver*> LazyStoreResolver::open() {
  if (resolver_) return resolver_.get();
  std::error_code ec;
  if (!std::filesystem::is_directory(dir_, ec)) return nullptr;
  auto store = open_secret_store(dir_, clock_);
  if (!store) return fail(std::move(store.error()));
  store_ = std::move(*store);
  resolver_ = std::make_unique<StoreSecretResolver>(*store_);
  return resolver_.get();
}

Result<std::string> LazyStoreResolver::parameter(const std::string& name) {
  auto r = open();
  if (!r) return fail(std::move(r.error()));
  if (*r == nullptr)
    return fail(ErrorCode::kNotFound, "parameter does not exist: " + name +
                                          " (no secret store at " + dir_.string() + ")");
  return (*r)->parameter(name);
}

Result<std::string> LazyStoreResolver::secret_text(const SecretReference& ref) {
  auto r = open();
  if (!r) return fail(std::move(r.error()));
  if (*r == nullptr)
    return fail(ErrorCode::kNotFound,
                "ResourceNotFoundException: Secrets Manager can't find the specified secret. "
                "(no secret store at " +
                    dir_.string() + ")");
  return (*r)->secret_text(ref);
}

Result<std::vector<SecretStore::SourceCredential>> StoreSecretResolver::source_credentials() {
  auto list = store_.list_source_credentials();  // without tokens
  if (!list) return fail(std::move(list.error()));
  std::vector<SecretStore::SourceCredential> out;
  for (const auto& c : *list) {
    auto full = store_.source_credential(c.server_type);
    if (!full) return fail(std::move(full.error()));
    out.push_back(std::move(*full));
  }
  return out;
}

Result<std::vector<SecretStore::SourceCredential>> LazyStoreResolver::source_credentials() {
  auto r = open();
  if (!r) return fail(std::move(r.error()));
  if (*r == nullptr) return std::vector<SecretStore::SourceCredential>{};
  return (*r)->source_credentials();
}

Result<std::string> OverlaySecretResolver::parameter(const std::string& name) {
  if (const auto it = values_.find(name); it != values_.end()) return it->second;
  return fallback_.parameter(name);
}

Result<std::string> OverlaySecretResolver::secret_text(const SecretReference& ref) {
  if (const auto it = values_.find(ref.secret_id); it != values_.end()) return it->second;
  return fallback_.secret_text(ref);
}

}  // namespace kiln::secrets
