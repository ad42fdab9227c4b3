// DOWNLOAD_SOURCE, continued: the values of env/parameter-store, env/secrets-manager and the
// secret-typed project variables (docs/reference/codebuild-semantics.md §1.6, §4.6), and
// env/git-credential-helper. Every value fetched here is registered with the masker before anything
// can print it.
#include <cctype>
#include <charconv>

#include "engine/build_run.h"
#include "util/files.h"
#include "util/string.h"

namespace kiln::engine {

Result<std::string> BuildRun::fetch_secret(const std::string& name, SecretVar::Kind kind,
                                           const std::string& reference) {
  auto v = kind == SecretVar::Kind::kParameterStore ? deps_.secrets.parameter(reference)
                                                    : deps_.secrets.secret(reference);
  if (!v) return v;
  if (!masking_.add_secret(*v) && !v->empty()) {
    log_.line("Warning: the value of " + name + " is shorter than " +
              std::to_string(secrets::kMinSecretLength) +
              " characters, so it is not masked in the log");
  }
  secret_names_.push_back(name);
  return v;
}

std::optional<PhaseOutcome> BuildRun::resolve_secret_vars(const std::vector<SecretVar>& vars,
                                                          VarList& into) {
  for (const auto& var : vars) {
    auto v = fetch_secret(var.name, var.kind, var.reference);
    if (!v) {
      const bool param = var.kind == SecretVar::Kind::kParameterStore;
      return PhaseOutcome{Status::kFailed, PhaseContext{param ? secrets::kParameterErrorCode
                                                              : secrets::kSecretErrorCode,
                                                        v.error().message()}};
    }
    into.emplace_back(var.name, std::move(*v));
  }
  return std::nullopt;
}

namespace {
// The host a source credential is for; self-managed servers have no fixed host.
std::string credential_host(const std::string& server_type) {
  if (server_type == "GITHUB") return "github.com";
  if (server_type == "GITLAB") return "gitlab.com";
  if (server_type == "BITBUCKET") return "bitbucket.org";
  return "";
}

}  // namespace

// env/git-credential-helper: git in the build answers credential requests from the stored
// source credentials through git's own `store` helper, reading a 0600 file outside the
// workspace. The environment names only that file, never a token, and every token is masked.
std::optional<PhaseOutcome> BuildRun::setup_git_credentials() {
  auto creds = deps_.secrets.source_credentials();
  if (!creds)
    return PhaseOutcome{Status::kFailed, PhaseContext{"CLIENT_ERROR", "git-credential-helper: " +
                                                                          creds.error().message()}};
  std::string lines;
  for (const auto& c : *creds) {
    const std::string host = credential_host(c.server_type);
    if (host.empty() || c.token.empty()) continue;
    (void)masking_.add_secret(c.token);
    std::string user = c.username;
    if (user.empty()) user = c.server_type == "GITLAB" ? "oauth2" : "x-access-token";
    lines += "https://" + percent_encode(user, "-_.~") + ":" + percent_encode(c.token, "-_.~") +
             "@" + host + "\n";
  }
  if (lines.empty()) {
    log_.line("git-credential-helper: no source credentials are stored; git will ask none");
    return std::nullopt;
  }
  const auto file = req_.build_root / "git-credentials";
  if (auto w = write_file_atomic(file, lines, 0600); !w)
    return PhaseOutcome{Status::kFailed, PhaseContext{"CLIENT_ERROR", w.error().describe()}};
  auto& env = initial_state_.env;
  int n = 0;
  // Entries the image or the user already configure this way keep their numbers.
  if (auto it = env.find("GIT_CONFIG_COUNT"); it != env.end()) {
    const auto& v = it->second;
    std::from_chars(v.data(), v.data() + v.size(), n);
  }
  env["GIT_CONFIG_KEY_" + std::to_string(n)] = "credential.helper";
  env["GIT_CONFIG_VALUE_" + std::to_string(n)] =
      "store --file=" + deps_.executor.map_path(file).string();
  env["GIT_CONFIG_COUNT"] = std::to_string(n + 1);
  state_ = initial_state_;
  return std::nullopt;
}

// Private HTTPS clones use the source credential stored for the source's server type
// (ImportSourceCredentials), as CodeBuild does; Kiln's plain GIT type uses the credential whose
// server's public host matches the URL. The token reaches git only through its environment.
std::optional<PhaseOutcome> BuildRun::git_credentials_for(const source::SourceSpec& spec,
                                                          source::FetchContext& ctx) {
  const std::string& url = spec.location;
  if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0) return std::nullopt;
  if (spec.type == "CODECOMMIT") return std::nullopt;
  auto creds = deps_.secrets.source_credentials();
  if (!creds) {
    log_.line("Source credentials are unavailable: " + creds.error().message());
    return std::nullopt;
  }
  const std::string host = source::git_host(url);
  for (const auto& c : *creds) {
    const bool match =
        spec.type == "GIT" ? credential_host(c.server_type) == host : c.server_type == spec.type;
    if (!match || c.token.empty()) continue;
    (void)masking_.add_secret(c.token);
    ctx.https_token = c.token;
    ctx.https_username =
        !c.username.empty() ? c.username
                            : (c.server_type.rfind("GITLAB", 0) == 0 ? "oauth2" : "x-access-token");
    log_.line("Using the " + c.server_type + " source credential for " + host);
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace kiln::engine
