// `kiln run --secrets-from URL`: resolves parameters and secrets by calling SSM GetParameter and
// Secrets Manager GetSecretValue (AWS JSON 1.1, SigV4) on one endpoint: a Kiln server, or any
// SSM- and Secrets-Manager-compatible service. Errors carry the service's exception name and
// message, so the build's phase context reads as CodeBuild's would.
// Thread safety: one build, one thread.
#pragma once

#include <string>

#include "net/http_client.h"
#include "secrets/resolver.h"

namespace kiln::secrets {

class RemoteSecretResolver final : public SecretResolver {
 public:
  // `http` is borrowed.
  RemoteSecretResolver(net::HttpClient& http, std::string endpoint, std::string region,
                       net::AwsCredentials credentials)
      : http_(http),
        endpoint_(std::move(endpoint)),
        region_(std::move(region)),
        credentials_(std::move(credentials)) {}

  Result<std::string> parameter(const std::string& name) override;
  Result<std::string> secret_text(const SecretReference& ref) override;

 private:
  // Calls `target` and returns the decoded JSON body of a 200, or the service's error.
  Result<std::string> call(const std::string& service, const std::string& target,
                           const std::string& body);

  net::HttpClient& http_;
  std::string endpoint_;
  std::string region_;
  net::AwsCredentials credentials_;
};

}  // namespace kiln::secrets
