// SqliteSecretStore: the SecretStore on one SQLite connection to secrets.db, every value sealed
// under the master key (seal.h). Internal to secrets/; callers use open_secret_store or
// memory_secret_store (secret_store.h). The schema is in sqlite_secret_store.cpp and
// docs-worthy choices are noted there.
//
// Sealed values are kept as base64 text of nonce||ciphertext (store::Db binds text only, and
// SQLite text should be valid UTF-8). The associated data names the row:
//   param:<name>:<version>      parameter values (every type, so nothing is plaintext on disk)
//   secret:<name>:<version_id>  secret versions; the plaintext starts with 's' (SecretString)
//                               or 'b' (SecretBinary), so the kind is authenticated too
//   srccred:<server_type>       source credential tokens
//
// Secrets: Secret::versions lists every kept version in creation order, staged or not (the API
// layer shows the staged ones in DescribeSecret). A secret whose recovery window has passed is
// treated as gone, and is purged by the next write to the secrets tables.
//
// Thread safety: one mutex (mu_) serialises every call on the connection, as Clang's
// -Wthread-safety checks (util/thread_annotations.h). Other processes (the server's build
// workers) may use the same folder at once: writes take the write lock up front (BEGIN
// IMMEDIATE), reads see a consistent snapshot, and both wait up to the busy timeout.
#pragma once

#include <memory>

#include "secrets/seal.h"
#include "secrets/secret_store.h"
#include "store/sqlite_db.h"
#include "util/thread_annotations.h"

namespace kiln::secrets {

// Adds `what` to a failure of the store itself (kIo, kInternal). The services' own errors (not
// found, already exists, refused) go out exactly as they are: the API layer reuses their text.
template <typename T>
Result<T> in_context(Result<T> r, const std::string& what) {
  if (!r && (r.error().code() == ErrorCode::kIo || r.error().code() == ErrorCode::kInternal)) {
    r.error().with(what);
  }
  return r;
}

class SqliteSecretStore final : public SecretStore {
 public:
  SqliteSecretStore(std::unique_ptr<store::Db> db, MasterKey key, std::string key_file,
                    const Clock& clock)
      : db_(std::move(db)), key_(std::move(key)), key_file_(std::move(key_file)), clock_(clock) {}

  Result<std::int64_t> put_parameter(const PutParameterInput& in) override;
  Result<Parameter> get_parameter(const std::string& name) override;
  Result<std::vector<Parameter>> parameters_by_path(const std::string& path,
                                                    bool recursive) override;
  Result<void> delete_parameter(const std::string& name) override;
  Result<std::vector<Parameter>> list_parameters() override;

  Result<Secret> create_secret(const std::string& name, const std::string& description,
                               const std::string& kms_key_id, const NewSecretValue& value) override;
  Result<SecretValue> get_secret_value(const std::string& id, const std::string& version_id,
                                       const std::string& stage) override;
  Result<SecretVersionInfo> put_secret_value(const std::string& id, const NewSecretValue& value,
                                             const std::vector<std::string>& stages) override;
  Result<Secret> update_secret(const std::string& id, const std::optional<std::string>& description,
                               const std::optional<std::string>& kms_key_id,
                               const std::optional<NewSecretValue>& value) override;
  Result<Secret> delete_secret(const std::string& id, int recovery_days, bool force) override;
  Result<Secret> describe_secret(const std::string& id) override;
  Result<std::vector<Secret>> list_secrets() override;

  Result<void> put_source_credential(const SourceCredential& c, bool overwrite) override;
  Result<SourceCredential> source_credential(const std::string& server_type) override;
  Result<std::vector<SourceCredential>> list_source_credentials() override;
  Result<void> delete_source_credential(const std::string& server_type) override;

  // Checks that the master key opens the store's canary, a value sealed when the store was first
  // opened (made now if missing, once one stored value of each kind opens). kInvalidArgument
  // naming both files if the key is not the store's.
  Result<void> check_key_canary();

 private:
  // The base64 text stored for `plaintext` in the row named `ad`.
  std::string seal_text(std::string_view plaintext, const std::string& ad) const;
  // kInternal, naming the row and the files, if the text is not base64 or does not open.
  Result<std::string> unseal_text(const std::string& text, const std::string& ad) const
      REQUIRES(mu_);  // names the database in its log line
  std::int64_t now_ms() const;

  // ---- secrets (secrets_versions.cpp); every *_locked function needs mu_ held ----
  // The secret `id` (a name, a full ARN or a partial ARN) names, if any.
  Result<std::optional<Secret>> find_secret_locked(const std::string& id) REQUIRES(mu_);
  // As find_secret_locked, but kNotFound if there is none, and kInvalidArgument if it is marked
  // for deletion unless `allow_deleted`.
  Result<Secret> require_secret_locked(const std::string& id, bool allow_deleted) REQUIRES(mu_);
  Result<Secret> describe_locked(const Secret& row) REQUIRES(mu_);
  Result<SecretVersionInfo> put_version_locked(const Secret& row, const NewSecretValue& value,
                                               std::vector<std::string> stages) REQUIRES(mu_);
  Result<std::vector<std::string>> stages_of_locked(const std::string& name,
                                                    const std::string& version_id) REQUIRES(mu_);
  Result<void> purge_expired_locked() REQUIRES(mu_);

  // Serialises every call on the connection; the bodies of the public functions run in lambdas
  // marked REQUIRES(mu_), so the analysis checks them as well.
  Mutex mu_;
  std::unique_ptr<store::Db> db_ GUARDED_BY(mu_);
  const MasterKey key_;
  const std::string key_file_;  // for error messages; "" for a memory store
  const Clock& clock_;
};

}  // namespace kiln::secrets
