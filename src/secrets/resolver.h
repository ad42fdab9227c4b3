// Resolves env/parameter-store and env/secrets-manager values and project variables of the
// PARAMETER_STORE and SECRETS_MANAGER types (docs/reference/codebuild-semantics.md §1.6, §4.6) for
// the engine.
//
// A SecretResolver fetches a parameter by name or a secret's value by id, stage or version from
// one place: the local encrypted store (`kiln secret`, the server's worker), a Kiln server or
// any SSM / Secrets Manager endpoint (`--secrets-from`), or `--parameter NAME=VALUE`. The
// reference syntax and the JSON-key lookup are the same for all of them, so they live here once.
//
// Error messages are CodeBuild's: a parameter error is reported under the status code
// "Decrypted Variables Error" with "parameter does not exist: NAME"; a secret error under
// "Secrets Manager Error" with "<Exception>: <message>" as Secrets Manager words it.
// Thread safety: a resolver is used by one build on one thread.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "secrets/secret_store.h"
#include "util/error.h"

namespace kiln::secrets {

inline constexpr const char* kParameterErrorCode = "Decrypted Variables Error";
inline constexpr const char* kSecretErrorCode = "Secrets Manager Error";

// `secret-id[:json-key[:version-stage[:version-id]]]`; a secret-id that is an ARN keeps its
// own seven colon-separated fields (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME).
struct SecretReference {
  std::string secret_id;
  std::string json_key;
  std::string version_stage;
  std::string version_id;
};
Result<SecretReference> parse_secret_reference(std::string_view text);

class SecretResolver {
 public:
  virtual ~SecretResolver() = default;
  // The parameter's value (SecureString decrypted).
  [[nodiscard]] virtual Result<std::string> parameter(const std::string& name) = 0;
  // The secret's text (or bytes) at the version the reference selects, before any JSON key.
  [[nodiscard]] virtual Result<std::string> secret_text(const SecretReference& ref) = 0;

  // Parses `reference`, fetches, and applies the JSON key.
  [[nodiscard]] Result<std::string> secret(const std::string& reference);

  // The stored source credentials (ImportSourceCredentials), tokens included, for
  // env/git-credential-helper. Sources that hold none return an empty list.
  [[nodiscard]] virtual Result<std::vector<SecretStore::SourceCredential>> source_credentials() {
    return std::vector<SecretStore::SourceCredential>{};
  }
};

// Fails every lookup: for runs that configured no secret source.
class NullSecretResolver final : public SecretResolver {
 public:
  Result<std::string> parameter(const std::string& name) override;
  Result<std::string> secret_text(const SecretReference& ref) override;
};

// Reads a SecretStore (borrowed).
class StoreSecretResolver final : public SecretResolver {
 public:
  explicit StoreSecretResolver(SecretStore& store) : store_(store) {}
  Result<std::string> parameter(const std::string& name) override;
  Result<std::string> secret_text(const SecretReference& ref) override;
  Result<std::vector<SecretStore::SourceCredential>> source_credentials() override;

 private:
  SecretStore& store_;
};

// Opens the store in `dir` at the first lookup, so runs that use no secrets never touch it. A
// folder that does not exist is an empty store: a lookup creates nothing.
class LazyStoreResolver final : public SecretResolver {
 public:
  LazyStoreResolver(std::filesystem::path dir, const Clock& clock)
      : dir_(std::move(dir)), clock_(clock) {}
  Result<std::string> parameter(const std::string& name) override;
  Result<std::string> secret_text(const SecretReference& ref) override;
  Result<std::vector<SecretStore::SourceCredential>> source_credentials() override;

 private:
  Result<SecretResolver*> open();
  std::filesystem::path dir_;
  const Clock& clock_;
  std::unique_ptr<SecretStore> store_;
  std::unique_ptr<StoreSecretResolver> resolver_;
};

// `--parameter NAME=VALUE`: answers for the names it holds (as a parameter name or a secret
// id) and asks `fallback` (borrowed) for the rest.
class OverlaySecretResolver final : public SecretResolver {
 public:
  OverlaySecretResolver(std::map<std::string, std::string> values, SecretResolver& fallback)
      : values_(std::move(values)), fallback_(fallback) {}
  Result<std::string> parameter(const std::string& name) override;
  Result<std::string> secret_text(const SecretReference& ref) override;
  Result<std::vector<SecretStore::SourceCredential>> source_credentials() override {
    return fallback_.source_credentials();
  }

 private:
  std::map<std::string, std::string> values_;
  SecretResolver& fallback_;
};

}  // namespace kiln::secrets
