// kiln secret: the local encrypted store that `kiln run` reads env/parameter-store and
// env/secrets-manager values from (docs/secrets.md). Values come from --value or, so they stay
// out of shell history and `ps`, from standard input (one trailing newline removed).
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>

#include "commands.h"
#include "secret_sources.h"
#include "secrets/masker.h"
#include "secrets/secret_store.h"

namespace kiln::app {
namespace {

struct SecretCliOptions {
  std::string store;
  std::string name;
  std::optional<std::string> value;
  std::string type = "SecureString";
  std::string stage;
  std::string username;
  bool force = false;
};

int report(const Error& e) {
  std::fprintf(stderr, "kiln secret: %s\n", e.describe().c_str());
  return 1;
}

std::string read_value(const SecretCliOptions& o) {
  if (o.value) return *o.value;
  if (::isatty(STDIN_FILENO) == 1) std::fprintf(stderr, "value (end with Ctrl-D): ");
  std::string v((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (!v.empty() && v.back() == '\n') v.pop_back();
  return v;
}

void warn_if_short(const std::string& value) {
  if (value.size() < secrets::kMinSecretLength)
    std::fprintf(stderr,
                 "kiln secret: warning: the value is shorter than %zu characters, so builds "
                 "will not mask it in their logs\n",
                 secrets::kMinSecretLength);
}

using Action = int (*)(secrets::SecretStore&, const SecretCliOptions&);

int put_parameter(secrets::SecretStore& s, const SecretCliOptions& o) {
  const auto type = secrets::param_type_from(o.type);
  if (!type)
    return report(Error(ErrorCode::kInvalidArgument,
                        "--type must be String, StringList or SecureString, got " + o.type));
  secrets::PutParameterInput in;
  in.name = o.name;
  in.type = *type;
  in.value = read_value(o);
  in.overwrite = true;
  warn_if_short(in.value);
  auto v = s.put_parameter(in);
  if (!v) return report(v.error());
  std::printf("%s version %lld\n", o.name.c_str(), static_cast<long long>(*v));
  return 0;
}

int put_secret(secrets::SecretStore& s, const SecretCliOptions& o) {
  secrets::NewSecretValue v;
  v.secret_string = read_value(o);
  warn_if_short(*v.secret_string);
  if (s.describe_secret(o.name)) {
    auto put = s.put_secret_value(o.name, v, {});
    if (!put) return report(put.error());
    std::printf("%s version %s (AWSCURRENT)\n", o.name.c_str(), put->version_id.c_str());
    return 0;
  }
  auto made = s.create_secret(o.name, "", "", v);
  if (!made) return report(made.error());
  std::printf("%s created\n", o.name.c_str());
  return 0;
}

int get_parameter(secrets::SecretStore& s, const SecretCliOptions& o) {
  auto p = s.get_parameter(o.name);
  if (!p) return report(p.error());
  std::printf("%s\n", p->value.c_str());
  return 0;
}

int get_secret(secrets::SecretStore& s, const SecretCliOptions& o) {
  auto v = s.get_secret_value(o.name, "", o.stage);
  if (!v) return report(v.error());
  const std::string text = v->secret_string ? *v->secret_string : v->secret_binary.value_or("");
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::printf("\n");
  return 0;
}

int delete_parameter(secrets::SecretStore& s, const SecretCliOptions& o) {
  auto r = s.delete_parameter(o.name);
  return r ? 0 : report(r.error());
}

int delete_secret(secrets::SecretStore& s, const SecretCliOptions& o) {
  auto r = s.delete_secret(o.name, 7, /*force=*/true);
  return r ? 0 : report(r.error());
}

int list(secrets::SecretStore& s, const SecretCliOptions&) {
  auto params = s.list_parameters();
  if (!params) return report(params.error());
  for (const auto& p : *params)
    std::printf("parameter  %-40s %s v%lld\n", p.name.c_str(), secrets::to_string(p.type),
                static_cast<long long>(p.version));
  auto secs = s.list_secrets();
  if (!secs) return report(secs.error());
  for (const auto& x : *secs) std::printf("secret     %s\n", x.name.c_str());
  auto creds = s.list_source_credentials();
  if (!creds) return report(creds.error());
  for (const auto& c : *creds)
    std::printf("source-credential %s %s\n", c.server_type.c_str(), c.auth_type.c_str());
  return 0;
}

int import_source_credential(secrets::SecretStore& s, const SecretCliOptions& o) {
  secrets::SecretStore::SourceCredential c;
  c.server_type = o.name;
  c.auth_type = o.username.empty() ? "PERSONAL_ACCESS_TOKEN" : "BASIC_AUTH";
  c.username = o.username;
  c.token = read_value(o);
  auto r = s.put_source_credential(c, o.force);
  return r ? 0 : report(r.error());
}

}  // namespace

std::function<int()> add_secret_command(CLI::App& app) {
  auto o = std::make_shared<SecretCliOptions>();
  auto action = std::make_shared<Action>(nullptr);
  auto* cmd = app.add_subcommand("secret", "Manage the local parameter and secret store");
  cmd->add_option("--store", o->store,
                  "Store folder (default $KILN_SECRETS_DIR or "
                  "~/.local/share/kiln/secrets)");
  cmd->require_subcommand(1);
  auto sub = [&](const char* name, const char* help, Action a, const char* what) {
    auto* c = cmd->add_subcommand(name, help);
    if (what != nullptr) c->add_option(what, o->name)->required();
    c->callback([action, a] { *action = a; });
    return c;
  };
  auto* pp =
      sub("put-parameter", "Set a parameter (value from --value or stdin)", put_parameter, "NAME");
  pp->add_option("--value", o->value, "The value (default: read standard input)");
  pp->add_option("--type", o->type, "String | StringList | SecureString (default)");
  auto* ps =
      sub("put-secret", "Create a secret or add its new AWSCURRENT version", put_secret, "ID");
  ps->add_option("--value", o->value, "The value (default: read standard input)");
  sub("get-parameter", "Print a parameter's value", get_parameter, "NAME");
  auto* gs = sub("get-secret", "Print a secret's value", get_secret, "ID");
  gs->add_option("--version-stage", o->stage, "AWSCURRENT (default) or AWSPREVIOUS");
  sub("delete-parameter", "Delete a parameter", delete_parameter, "NAME");
  sub("delete-secret", "Delete a secret now", delete_secret, "ID");
  sub("list", "List names (never values)", list, nullptr);
  auto* sc = sub("import-source-credential",
                 "Store a token for git-credential-helper (token from --value or stdin)",
                 import_source_credential, "SERVER_TYPE");
  sc->add_option("--value", o->value, "The token (default: read standard input)");
  sc->add_option("--username", o->username, "For BASIC_AUTH (Bitbucket)");
  sc->add_flag("--overwrite", o->force, "Replace an existing credential");
  return [o, action]() {
    SystemClock clock;
    auto store =
        secrets::open_secret_store(o->store.empty() ? default_secret_store_dir() : o->store, clock);
    if (!store) return report(store.error());
    return (*action)(**store, *o);
  };
}

}  // namespace kiln::app
