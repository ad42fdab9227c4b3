#include "secret_sources.h"

#include <CLI/CLI.hpp>

#include <cstdlib>

#include "secrets/remote_resolver.h"

namespace kiln::app {

std::string default_secret_store_dir() {
  if (const char* d = std::getenv("KILN_SECRETS_DIR"); d != nullptr && *d != '\0') return d;
  if (const char* x = std::getenv("XDG_DATA_HOME"); x != nullptr && *x != '\0')
    return std::string(x) + "/kiln/secrets";
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : ".") + "/.local/share/kiln/secrets";
}

Result<std::unique_ptr<SecretSources>> SecretSources::make(const SecretOptions& o,
                                                           const Clock& clock) {
  auto s = std::make_unique<SecretSources>();
  for (const auto& p : o.parameters) {
    const auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0)
      return fail(ErrorCode::kInvalidArgument, "--parameter wants NAME=VALUE");
    s->one_off_[p.substr(0, eq)] = p.substr(eq + 1);
  }
  if (!o.secrets_from.empty()) {
    if (!o.secrets_from.starts_with("http://") && !o.secrets_from.starts_with("https://"))
      return fail(ErrorCode::kInvalidArgument,
                  "--secrets-from wants an http:// or https:// URL, got " + o.secrets_from);
    auto creds = net::default_aws_credentials();
    if (!creds) return fail(std::move(creds.error()).with("--secrets-from " + o.secrets_from));
    s->http_ = net::make_curl_client();
    s->base_ = std::make_unique<secrets::RemoteSecretResolver>(
        *s->http_, o.secrets_from, net::default_aws_region(), std::move(*creds));
  } else {
    s->base_ = std::make_unique<secrets::LazyStoreResolver>(
        o.store_dir.empty() ? default_secret_store_dir() : o.store_dir, clock);
  }
  s->top_ = s->base_.get();
  if (!s->one_off_.empty()) {
    s->overlay_ = std::make_unique<secrets::OverlaySecretResolver>(s->one_off_, *s->base_);
    s->top_ = s->overlay_.get();
  }
  return s;
}

void add_secret_options(CLI::App& cmd, SecretOptions& o) {
  cmd.add_option("--parameter", o.parameters,
                 "NAME=VALUE: a parameter (or secret id) for this run only");
  cmd.add_option("--secrets-from", o.secrets_from,
                 "URL of a Kiln server or an SSM / Secrets Manager endpoint (SigV4 with the "
                 "usual AWS credentials)");
  cmd.add_option("--secrets-store", o.store_dir,
                 "Local secret store folder (default $KILN_SECRETS_DIR or "
                 "~/.local/share/kiln/secrets)");
}

}  // namespace kiln::app
