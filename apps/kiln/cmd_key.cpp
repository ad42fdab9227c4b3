// kiln key create|list|revoke: the access keys of a `kiln server` data folder (docs/server.md).
// A running server reads keys.json again when it changes, so changes apply without a restart.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "auth/keys.h"
#include "commands.h"

namespace kiln::app {
namespace {

struct KeyOptions {
  std::string data = "./kiln-data";
  std::string user = "admin";
  std::string id;
  std::string credentials;  // also write an AWS shared-credentials file here
};

Result<std::unique_ptr<auth::KeyFile>> open_keys(const std::string& data) {
  const auto path = std::filesystem::path(data) / "keys.json";
  auto keys = auth::KeyFile::load(path);
  if (!keys && keys.error().code() == ErrorCode::kNotFound) return auth::KeyFile::empty(path);
  return keys;
}

int report(const Error& e) {
  std::fprintf(stderr, "kiln key: %s\n", e.describe().c_str());
  return 1;
}

int create_key(const KeyOptions& o) {
  auto keys = open_keys(o.data);
  if (!keys) return report(keys.error());
  auto key = (*keys)->create(o.user);
  if (!key) return report(key.error());
  if (!o.credentials.empty()) {
    if (auto w = auth::write_shared_credentials(o.credentials, *key, ""); !w)
      return report(w.error());
  }
  std::printf("aws_access_key_id = %s\naws_secret_access_key = %s\nuser = %s\n", key->id.c_str(),
              key->secret.c_str(), key->user.c_str());
  return 0;
}

int list_keys(const KeyOptions& o) {
  auto keys = open_keys(o.data);
  if (!keys) return report(keys.error());
  for (const auto& k : (*keys)->list()) {
    std::printf("%s  %-20s %s\n", k.id.c_str(), k.user.c_str(), k.active ? "active" : "revoked");
  }
  return 0;
}

int revoke_key(const KeyOptions& o) {
  auto keys = open_keys(o.data);
  if (!keys) return report(keys.error());
  if (auto r = (*keys)->revoke(o.id); !r) return report(r.error());
  std::printf("revoked %s\n", o.id.c_str());
  return 0;
}

}  // namespace

std::function<int()> add_key_command(CLI::App& app) {
  auto opts = std::make_shared<KeyOptions>();
  CLI::App* cmd = app.add_subcommand("key", "manage the access keys of a kiln server");
  cmd->require_subcommand(1);
  cmd->add_option("--data", opts->data, "the server's data folder")->capture_default_str();
  auto* create = cmd->add_subcommand("create", "make a new access key");
  create->add_option("--user", opts->user, "user name (the builds' initiator)")
      ->capture_default_str();
  create->add_option("--credentials-file", opts->credentials,
                     "also write an AWS shared-credentials file");
  auto* list = cmd->add_subcommand("list", "list keys (without secrets)");
  auto* revoke = cmd->add_subcommand("revoke", "revoke a key");
  revoke->add_option("id", opts->id, "access key id")->required();
  return [opts, create, list, revoke] {
    if (create->parsed()) return create_key(*opts);
    if (list->parsed()) return list_keys(*opts);
    if (revoke->parsed()) return revoke_key(*opts);
    return 2;
  };
}

}  // namespace kiln::app
