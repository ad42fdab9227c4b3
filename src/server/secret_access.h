// Builds' own reads of parameters and secrets, with the rights of their project's key
// (docs/server.md "Builds' own calls: serviceRole"). CodeBuild runs those reads with the
// project's service role; in Kiln the key that last created or updated the project plays that
// role, so a build can read no more than that key may read through the API, whoever chose its
// buildspec.
//
// Every lookup, before it reaches the inner resolver, reads keys.json again (read-only, so
// revoking the key or narrowing its policy applies to the next read) and checks the key's
// policy exactly as the key's own GetParameter / GetSecretValue call of the same name would be
// checked (api/authorize.h): `ssm:GetParameter` on arn:aws:ssm:R:A:parameter/NAME (without the
// leading '/'), `secretsmanager:GetSecretValue` on the stored secret's ARN. A revoked or unknown
// key, or a keys.json that cannot be read, denies. A denied read fails with kPermission and a
// message in IAM's words naming the parameter or secret and the key's user, never a value,
// and the inner resolver is not asked (so neither is whether the name exists).
//
// Source credentials (env/git-credential-helper) are passed through unchecked: they are the
// server's, as CodeBuild's are the account's.
//
// Ownership: borrows `inner`. Thread safety: one build, one thread (as every SecretResolver).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "api/authorize.h"
#include "secrets/resolver.h"
#include "util/error.h"

namespace kiln::server {

struct SecretAccessOptions {
  std::string key_id;               // the project's key
  std::filesystem::path keys_file;  // the server's DATA/keys.json
  // The build's region, the server's account, and the stored secrets' ARNs.
  api::ArnContext arns;
};

class AuthorizingSecretResolver final : public secrets::SecretResolver {
 public:
  AuthorizingSecretResolver(SecretAccessOptions options, secrets::SecretResolver& inner)
      : options_(std::move(options)), inner_(inner) {}

  Result<std::string> parameter(const std::string& name) override;
  Result<std::string> secret_text(const secrets::SecretReference& ref) override;
  Result<std::vector<secrets::SecretStore::SourceCredential>> source_credentials() override {
    return inner_.source_credentials();
  }

 private:
  // kPermission unless the key, as keys.json holds it now, may perform `access`.
  [[nodiscard]] Result<void> check(const api::Access& access) const;

  SecretAccessOptions options_;
  secrets::SecretResolver& inner_;
};

}  // namespace kiln::server
