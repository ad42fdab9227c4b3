// Where `kiln run` (and `kiln lint`) get parameter-store and secrets-manager values from: the
// user's local encrypted store (`kiln secret`), a `--secrets-from URL` endpoint, and
// `--parameter NAME=VALUE` values laid over either (docs/secrets.md).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "net/http_client.h"
#include "secrets/resolver.h"
#include "util/clock.h"
#include "util/error.h"

namespace CLI {
class App;
}

namespace kiln::app {

struct SecretOptions {
  std::vector<std::string> parameters;  // NAME=VALUE
  std::string secrets_from;             // URL
  std::string store_dir;                // "" = default_secret_store_dir()
};

// $KILN_SECRETS_DIR, else $XDG_DATA_HOME/kiln/secrets, else ~/.local/share/kiln/secrets.
std::string default_secret_store_dir();

// Owns the resolver chain for one run.
class SecretSources {
 public:
  static Result<std::unique_ptr<SecretSources>> make(const SecretOptions& o, const Clock& clock);
  secrets::SecretResolver& resolver() { return *top_; }
  // The `--parameter` values, for `kiln lint`'s length check.
  const std::map<std::string, std::string>& one_off() const { return one_off_; }

 private:
  std::unique_ptr<net::HttpClient> http_;
  std::unique_ptr<secrets::SecretResolver> base_;
  std::unique_ptr<secrets::SecretResolver> overlay_;
  std::map<std::string, std::string> one_off_;
  secrets::SecretResolver* top_ = nullptr;
};

// Adds --parameter, --secrets-from and --secrets-store to a command.
void add_secret_options(CLI::App& cmd, SecretOptions& o);

}  // namespace kiln::app
