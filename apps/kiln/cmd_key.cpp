// kiln key create|list|revoke|set-policy: the access keys of a `kiln server` data folder and
// their IAM policies (docs/server.md, "Keys and policies"). A running server reads keys.json
// again when it changes, so changes apply without a restart.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "auth/keys.h"
#include "commands.h"
#include "util/files.h"

namespace kiln::app {
namespace {

struct KeyOptions {
  std::string data = "./kiln-data";
  std::string user = "admin";
  std::string id;
  std::string credentials;  // also write an AWS shared-credentials file here
  std::string policy;       // a policy document (JSON file)
};

Result<auth::Policy> read_policy(const std::string& file) {
  auto text = read_file(file);
  if (!text) return fail(std::move(text.error()));
  auto policy = auth::Policy::parse(*text);
  if (!policy) return fail(Error(ErrorCode::kParse, file + ": " + policy.error().message()));
  return policy;
}

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
  std::optional<auth::Policy> policy;
  if (!o.policy.empty()) {
    auto p = read_policy(o.policy);
    if (!p) return report(p.error());
    policy = std::move(*p);
  }
  auto keys = open_keys(o.data);
  if (!keys) return report(keys.error());
  auto key = (*keys)->create(o.user, std::move(policy));
  if (!key) return report(key.error());
  if (!o.credentials.empty()) {
    if (auto w = auth::write_shared_credentials(o.credentials, *key, ""); !w)
      return report(w.error());
  }
  std::printf("aws_access_key_id = %s\naws_secret_access_key = %s\nuser = %s\n", key->id.c_str(),
              key->secret.c_str(), key->user.c_str());
  if (o.policy.empty()) {
    std::fprintf(stderr,
                 "kiln key: this key has no policy and may do nothing yet: give it one with "
                 "`kiln key set-policy %s FILE` (docs/policies/)\n",
                 key->id.c_str());
  }
  return 0;
}

int set_policy(const KeyOptions& o) {
  auto policy = read_policy(o.policy);
  if (!policy) return report(policy.error());
  auto keys = open_keys(o.data);
  if (!keys) return report(keys.error());
  if (auto r = (*keys)->set_policy(o.id, *policy); !r) return report(r.error());
  std::printf("policy of %s set from %s\n", o.id.c_str(), o.policy.c_str());
  return 0;
}

int list_keys(const KeyOptions& o) {
  auto keys = open_keys(o.data);
  if (!keys) return report(keys.error());
  for (const auto& k : (*keys)->list()) {
    std::printf("%s  %-20s %-8s %s\n", k.id.c_str(), k.user.c_str(),
                k.active ? "active" : "revoked", k.rights.c_str());
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
  create->add_option("--policy", opts->policy,
                     "IAM policy document (JSON) of the key; without one it may do nothing");
  auto* list = cmd->add_subcommand("list", "list keys (without secrets)");
  auto* revoke = cmd->add_subcommand("revoke", "revoke a key");
  revoke->add_option("id", opts->id, "access key id")->required();
  auto* set = cmd->add_subcommand("set-policy", "replace a key's IAM policy");
  set->add_option("id", opts->id, "access key id")->required();
  set->add_option("file", opts->policy, "IAM policy document (JSON)")->required();
  return [opts, create, list, revoke, set] {
    if (create->parsed()) return create_key(*opts);
    if (list->parsed()) return list_keys(*opts);
    if (revoke->parsed()) return revoke_key(*opts);
    if (set->parsed()) return set_policy(*opts);
    return 2;
  };
}

}  // namespace kiln::app
