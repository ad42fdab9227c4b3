// The encrypted store behind Kiln's parameter store, secrets manager and source credentials
// (docs/secrets.md). The server keeps one in its data folder (DATA/secrets/); `kiln run` keeps one
// per user (`kiln secret ...`). Values are encrypted at rest; this interface deals in plaintext.
//
// Names follow the AWS services: a parameter name is "/a/b" or "a"; a secret is found by its
// name or by its ARN (`arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 chars>`, the
// suffix is `Secret::arn_suffix`). Region and account belong to the caller (the API layer), so
// ARNs are built there and the store matches on name and suffix.
//
// Errors: kNotFound (no such parameter, secret, version or stage), kAlreadyExists (name taken
// and no overwrite), kInvalidArgument (a request the services refuse, e.g. a secret marked for
// deletion), kIo / kInternal (the store itself failed). Messages are the services' own where
// they have one (see the implementation).
// Thread safety: implementations are safe to call from several threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/clock.h"
#include "util/error.h"

namespace kiln::secrets {

// ---- Parameter store (SSM) ----
enum class ParamType { kString, kStringList, kSecureString };
const char* to_string(ParamType t);                          // "String", "StringList", ...
std::optional<ParamType> param_type_from(std::string_view);  // inverse

struct Parameter {
  std::string name;
  ParamType type = ParamType::kString;
  std::string value;
  std::int64_t version = 0;      // 1 for the first put, +1 for each overwrite
  std::int64_t modified_ms = 0;  // epoch milliseconds of the last put
  std::string description;
  std::string key_id;  // only for SecureString; "alias/aws/ssm" when the caller gave none
};

struct PutParameterInput {
  std::string name;
  ParamType type = ParamType::kString;
  std::string value;
  std::string description;
  std::string key_id;
  bool overwrite = false;
};

// ---- Secrets manager ----
struct SecretValue {
  std::string name;
  std::string arn_suffix;
  std::string version_id;                    // a UUID
  std::optional<std::string> secret_string;  // exactly one of string and binary is set
  std::optional<std::string> secret_binary;  // raw bytes (the API layer base64-encodes)
  std::vector<std::string> stages;           // e.g. {"AWSCURRENT"}
  std::int64_t created_ms = 0;
};

struct SecretVersionInfo {
  std::string version_id;
  std::vector<std::string> stages;
  std::int64_t created_ms = 0;
};

struct Secret {  // metadata only, never the value
  std::string name;
  std::string arn_suffix;
  std::string description;
  std::string kms_key_id;
  std::int64_t created_ms = 0;
  std::int64_t changed_ms = 0;
  std::int64_t deleted_ms = 0;  // 0: not marked for deletion; else the scheduled deletion time
  std::vector<SecretVersionInfo> versions;
};

struct NewSecretValue {
  std::optional<std::string> secret_string;
  std::optional<std::string> secret_binary;
  std::string client_request_token;  // the version id to use; "" = generate a UUID
};

class SecretStore {
 public:
  virtual ~SecretStore() = default;

  virtual Result<std::int64_t> put_parameter(const PutParameterInput& in) = 0;
  virtual Result<Parameter> get_parameter(const std::string& name) = 0;
  // Parameters whose name is under `path` ("/a" matches "/a/b"; with recursive, "/a/b/c" too).
  virtual Result<std::vector<Parameter>> parameters_by_path(const std::string& path,
                                                            bool recursive) = 0;
  virtual Result<void> delete_parameter(const std::string& name) = 0;
  virtual Result<std::vector<Parameter>> list_parameters() = 0;  // sorted by name

  // Creates the secret with its first version staged AWSCURRENT (when a value is given).
  virtual Result<Secret> create_secret(const std::string& name, const std::string& description,
                                       const std::string& kms_key_id,
                                       const NewSecretValue& value) = 0;
  // `id` is a name or an ARN. With neither version_id nor stage: the AWSCURRENT version.
  virtual Result<SecretValue> get_secret_value(const std::string& id, const std::string& version_id,
                                               const std::string& stage) = 0;
  // Adds a version. With `stages` empty it becomes AWSCURRENT, the old current becomes
  // AWSPREVIOUS, and the previous AWSPREVIOUS loses its stage. Returns the new version's info.
  virtual Result<SecretVersionInfo> put_secret_value(const std::string& id,
                                                     const NewSecretValue& value,
                                                     const std::vector<std::string>& stages) = 0;
  // Changes the description and/or KMS key; a value, when given, is put as in put_secret_value.
  virtual Result<Secret> update_secret(const std::string& id,
                                       const std::optional<std::string>& description,
                                       const std::optional<std::string>& kms_key_id,
                                       const std::optional<NewSecretValue>& value) = 0;
  // force: removed now; otherwise marked for deletion after `recovery_days` (7-30).
  virtual Result<Secret> delete_secret(const std::string& id, int recovery_days, bool force) = 0;
  virtual Result<Secret> describe_secret(const std::string& id) = 0;
  virtual Result<std::vector<Secret>> list_secrets() = 0;  // sorted by name

  // ---- Source credentials (CodeBuild ImportSourceCredentials) ----
  struct SourceCredential {
    std::string server_type;  // GITHUB, GITHUB_ENTERPRISE, GITLAB, GITLAB_SELF_MANAGED, BITBUCKET
    std::string auth_type;    // OAUTH, BASIC_AUTH, PERSONAL_ACCESS_TOKEN, CODECONNECTIONS, ...
    std::string username;     // BASIC_AUTH only
    std::string token;        // never logged
  };
  // One credential per server type: importing again replaces it only with `overwrite`.
  virtual Result<void> put_source_credential(const SourceCredential& c, bool overwrite) = 0;
  virtual Result<SourceCredential> source_credential(const std::string& server_type) = 0;
  virtual Result<std::vector<SourceCredential>> list_source_credentials() = 0;  // tokens empty
  virtual Result<void> delete_source_credential(const std::string& server_type) = 0;
};

// Opens the store kept in `dir` (created 0700 on first use): dir/secrets.db (SQLite) and
// dir/master.key (32 random bytes, 0600, made on first use). Values are sealed with libsodium's
// XChaCha20-Poly1305 under the master key, with the row's identity as associated data, so a
// value copied onto another row does not decrypt. `clock` is borrowed for the store's lifetime.
Result<std::unique_ptr<SecretStore>> open_secret_store(const std::filesystem::path& dir,
                                                       const Clock& clock);

// The same store on an in-memory database and a random key: for tests.
std::unique_ptr<SecretStore> memory_secret_store(const Clock& clock);

}  // namespace kiln::secrets
