// Resolves env/parameter-store and env/secrets-manager values (codebuild-semantics §1.6).
// The real resolvers (SSM, Secrets Manager, masking) are issue #6; until then kiln ships only
// NullSecretResolver, which fails DOWNLOAD_SOURCE with a message that says so.
#pragma once

#include <string>

#include "util/error.h"

namespace kiln::engine {

class SecretResolver {
 public:
  virtual ~SecretResolver() = default;
  [[nodiscard]] virtual Result<std::string> parameter(const std::string& name) = 0;
  // `reference` is the buildspec value: secret-id[:json-key[:version-stage[:version-id]]].
  [[nodiscard]] virtual Result<std::string> secret(const std::string& reference) = 0;
};

class NullSecretResolver final : public SecretResolver {
 public:
  Result<std::string> parameter(const std::string& name) override {
    return fail(ErrorCode::kNotFound,
                "Parameter does not exist: " + name + " (no parameter store is configured)");
  }
  Result<std::string> secret(const std::string& reference) override {
    return fail(ErrorCode::kNotFound,
                "Secret does not exist: " + reference + " (no secrets manager is configured)");
  }
};

}  // namespace kiln::engine
