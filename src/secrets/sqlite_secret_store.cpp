// Opening secrets.db, sealing helpers, parameters and source credentials. The secrets manager
// half is in secrets_versions.cpp.
#include "secrets/sqlite_secret_store.h"

#include <sodium.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "store/schema.h"
#include "util/clock.h"
#include "util/string.h"

namespace kiln::secrets {

namespace {

namespace fs = std::filesystem;
using store::Query;
using store::Transaction;

// Version 1. Notes on the choices:
// - Every value column ("sealed") is base64 of nonce||ciphertext; see sqlite_secret_store.h for
//   the associated data that ties each one to its row.
// - parameters keeps only the latest value and its version number; SSM's history is not needed
//   by CodeBuild.
// - secret_versions.seq orders versions by creation (for trimming and for describe).
// - A stage names at most one version of a secret: (secret, stage) is the key of
//   secret_stages, so moving a stage is an upsert. Deleting a secret cascades to both tables.
const char* const kSchemaV1 = R"sql(
CREATE TABLE parameters (
  name TEXT PRIMARY KEY NOT NULL,
  type TEXT NOT NULL CHECK (type IN ('String', 'StringList', 'SecureString')),
  version INTEGER NOT NULL,
  modified_ms INTEGER NOT NULL,
  description TEXT NOT NULL,
  key_id TEXT NOT NULL,
  sealed TEXT NOT NULL
);

CREATE TABLE secrets (
  name TEXT PRIMARY KEY NOT NULL,
  arn_suffix TEXT NOT NULL,
  description TEXT NOT NULL,
  kms_key_id TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  changed_ms INTEGER NOT NULL,
  deleted_ms INTEGER NOT NULL
);

CREATE TABLE secret_versions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  secret TEXT NOT NULL REFERENCES secrets (name) ON DELETE CASCADE,
  version_id TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  sealed TEXT NOT NULL,
  UNIQUE (secret, version_id)
);

CREATE TABLE secret_stages (
  secret TEXT NOT NULL,
  stage TEXT NOT NULL,
  version_id TEXT NOT NULL,
  PRIMARY KEY (secret, stage),
  FOREIGN KEY (secret, version_id) REFERENCES secret_versions (secret, version_id)
    ON DELETE CASCADE
);
CREATE INDEX secret_stages_by_version ON secret_stages (secret, version_id);

CREATE TABLE source_credentials (
  server_type TEXT PRIMARY KEY NOT NULL,
  auth_type TEXT NOT NULL,
  username TEXT NOT NULL,
  sealed TEXT NOT NULL
);
)sql";

// Version 2: one value sealed under the master key when the store is first opened, so a start
// with another key (a master.key from elsewhere, or a new one made after it was deleted) is
// refused at once instead of failing every secret read afterwards.
const char* const kSchemaV2 = R"sql(
CREATE TABLE key_canary (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  sealed TEXT NOT NULL
);
)sql";

const std::string kCanaryAd = "canary:master-key";

const std::vector<store::Migration>& secret_migrations() {
  static const std::vector<store::Migration> steps = {
      {1, "create parameters, secrets and source credentials", kSchemaV1},
      {2, "add the master key canary", kSchemaV2},
  };
  return steps;
}

// As the build store: a statement waits this long for another process's write lock.
constexpr int kBusyTimeoutMs = 5000;

Result<void> configure(store::Db& db, bool in_memory) {
  KILN_STORE_CHECK(db.use_wal(in_memory));
  // FULL, unlike the build store's NORMAL: writes here are rare, and a rotated secret lost to a
  // power cut cannot be recovered from anywhere else once the old value is revoked.
  KILN_STORE_CHECK(db.exec("PRAGMA synchronous = FULL"));
  // The cascades from secrets to their versions and stages need it.
  KILN_STORE_CHECK(db.exec("PRAGMA foreign_keys = ON"));
  return {};
}

Result<std::unique_ptr<store::Db>> open_db(const fs::path& file) {
  KILN_STORE_TRY(db, store::Db::open(file));
  if (sqlite3_busy_timeout(db->handle(), kBusyTimeoutMs) != SQLITE_OK) {
    return fail(db->error("sqlite3_busy_timeout"));
  }
  const auto& steps = secret_migrations();
  KILN_STORE_CHECK(store::check_schema(*db, steps.back().version));
  KILN_STORE_CHECK(store::quick_check(*db));
  KILN_STORE_CHECK(configure(*db, file == ":memory:"));
  KILN_STORE_CHECK(store::migrate(*db, steps));
  return std::move(db);
}

// True if the store holds its canary or any sealed value.
Result<bool> holds_sealed_values(store::Db& db) {
  for (const char* table : {"key_canary", "parameters", "secret_versions", "source_credentials"}) {
    KILN_STORE_TRY(q, db.query(std::string("SELECT 1 FROM ") + table + " LIMIT 1"));
    KILN_STORE_TRY(row, q.step());
    if (row) return true;
  }
  return false;
}

// Creates `dir` 0700 (and its missing parents with the default mode).
Result<void> make_private_dir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) return {};
  if (errno == ENOENT && dir.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(dir.parent_path(), ec);
    if (ec)
      return fail(ErrorCode::kIo, "mkdir " + dir.parent_path().string() + ": " + ec.message());
    if (::mkdir(dir.c_str(), 0700) == 0) return {};
  }
  if (errno != EEXIST) return fail(errno_error(ErrorCode::kIo, "mkdir " + dir.string()));
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0)
    return fail(errno_error(ErrorCode::kIo, "stat " + dir.string()));
  if (!S_ISDIR(st.st_mode)) {
    return fail(ErrorCode::kInvalidArgument,
                "cannot keep secrets in " + dir.string() + ": it is not a directory");
  }
  return {};
}

const std::string kParamColumns = "name, type, version, modified_ms, description, key_id, sealed";

std::string param_not_found(const std::string& name) {
  return "Parameter " + name + " not found.";
}

std::string source_credential_not_found(const std::string& server_type) {
  return "Source credentials for server type " + server_type + " not found.";
}

}  // namespace

std::string SqliteSecretStore::seal_text(std::string_view plaintext, const std::string& ad) const {
  return base64_encode(seal(key_, plaintext, ad));
}

Result<std::string> SqliteSecretStore::unseal_text(const std::string& text,
                                                   const std::string& ad) const {
  auto opened = [&]() -> Result<std::string> {
    const auto sealed = base64_decode(text);
    if (!sealed) {
      return fail(ErrorCode::kInternal, "cannot decrypt the value of " + ad +
                                            ": the secret store is corrupt or its key is wrong");
    }
    return unseal(key_, *sealed, ad);
  }();
  if (!opened) {
    // The files go to the server's log, not into the error an API caller sees.
    std::fprintf(stderr, "kiln: secret store %s%s: %s\n", db_->file().c_str(),
                 key_file_.empty() ? "" : (" with the key " + key_file_).c_str(),
                 opened.error().describe().c_str());
  }
  return opened;
}

Result<void> SqliteSecretStore::check_key_canary() {
  MutexLock lock(mu_);
  const auto wrong_key = [&](const std::string& what) REQUIRES(mu_) {
    return fail(ErrorCode::kInvalidArgument,
                "the master key " + key_file_ + " does not open " + what + " in " + db_->file() +
                    ": it is not the key this secret store was sealed with. Put back the "
                    "master.key that belongs to this data folder (from a backup: kiln backup, "
                    "docs/server.md); Kiln refuses to start rather than fail every secret read");
  };
  {
    KILN_STORE_TRY(q, db_->query("SELECT sealed FROM key_canary WHERE id = 1"));
    KILN_STORE_TRY(row, q.step());
    if (row) {
      if (!unseal_text(q.text(0), kCanaryAd)) return wrong_key("its canary");
      return {};
    }
  }
  // A store from before the canary: one value of each kind must open before the canary vouches
  // for this key.
  const std::pair<const char*, std::string (*)(const Query&)> probes[] = {
      {"SELECT sealed, name, version FROM parameters LIMIT 1",
       [](const Query& q) { return "param:" + q.text(1) + ":" + q.text(2); }},
      {"SELECT sealed, secret, version_id FROM secret_versions LIMIT 1",
       [](const Query& q) { return "secret:" + q.text(1) + ":" + q.text(2); }},
      {"SELECT sealed, server_type FROM source_credentials LIMIT 1",
       [](const Query& q) { return "srccred:" + q.text(1); }},
  };
  for (const auto& [sql, ad_of] : probes) {
    KILN_STORE_TRY(q, db_->query(sql));
    KILN_STORE_TRY(row, q.step());
    if (row && !unseal_text(q.text(0), ad_of(q))) return wrong_key("the stored values");
  }
  Transaction tx(*db_);
  KILN_STORE_CHECK(tx.begin(Transaction::Mode::kWrite));
  KILN_STORE_TRY(insert, db_->query("INSERT INTO key_canary (id, sealed) VALUES (1, ?) "
                                    "ON CONFLICT (id) DO NOTHING"));
  KILN_STORE_CHECK(insert.bind(1, seal_text(random_alnum(32), kCanaryAd)));
  KILN_STORE_CHECK(insert.run());
  return tx.commit();
}

std::int64_t SqliteSecretStore::now_ms() const {
  return to_epoch_millis(clock_.now());
}

// ---- Parameters ----

namespace {

// Reads the kParamColumns of the current row, without the value.
Result<Parameter> param_row(const Query& q) {
  Parameter p;
  p.name = q.text(0);
  const auto type = param_type_from(q.text(1));
  if (!type) return fail(ErrorCode::kInternal, "parameter " + p.name + " has an unknown type");
  p.type = *type;
  p.version = q.int64(2);
  p.modified_ms = q.int64(3);
  p.description = q.text(4);
  p.key_id = q.text(5);
  return p;
}

std::string param_ad(const std::string& name, std::int64_t version) {
  return "param:" + name + ":" + std::to_string(version);
}

}  // namespace

Result<std::int64_t> SqliteSecretStore::put_parameter(const PutParameterInput& in) {
  MutexLock lock(mu_);
  return in_context(
      [&]() REQUIRES(mu_) -> Result<std::int64_t> {
        Transaction tx(*db_);
        KILN_STORE_CHECK(tx.begin(Transaction::Mode::kWrite));
        std::int64_t version = 1;
        std::string description = in.description;
        {
          KILN_STORE_TRY(q,
                         db_->query("SELECT version, description FROM parameters WHERE name = ?"));
          KILN_STORE_CHECK(q.bind(1, in.name));
          KILN_STORE_TRY(row, q.step());
          if (row && !in.overwrite) {
            return fail(ErrorCode::kAlreadyExists,
                        "The parameter already exists. To overwrite this value, set the overwrite "
                        "option in the request to true.");
          }
          if (row) {
            version = q.int64(0) + 1;
            // As SSM: an overwrite that gives no description keeps the one the parameter has.
            if (description.empty()) description = q.text(1);
          }
        }
        std::string key_id;
        if (in.type == ParamType::kSecureString) {
          key_id = in.key_id.empty() ? "alias/aws/ssm" : in.key_id;
        }
        KILN_STORE_TRY(q,
                       db_->query("INSERT INTO parameters (" + kParamColumns +
                                  ") VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                                  "type = excluded.type, version = excluded.version, "
                                  "modified_ms = excluded.modified_ms, "
                                  "description = excluded.description, key_id = excluded.key_id, "
                                  "sealed = excluded.sealed"));
        KILN_STORE_CHECK(q.bind_all(in.name, std::string(to_string(in.type)), version, now_ms(),
                                    description, key_id,
                                    seal_text(in.value, param_ad(in.name, version))));
        KILN_STORE_CHECK(q.run());
        KILN_STORE_CHECK(tx.commit());
        return version;
      }(),
      "while putting parameter " + in.name);
}

Result<Parameter> SqliteSecretStore::get_parameter(const std::string& name) {
  MutexLock lock(mu_);
  return in_context(
      [&]() REQUIRES(mu_) -> Result<Parameter> {
        KILN_STORE_TRY(q,
                       db_->query("SELECT " + kParamColumns + " FROM parameters WHERE name = ?"));
        KILN_STORE_CHECK(q.bind(1, name));
        KILN_STORE_TRY(row, q.step());
        if (!row) return fail(ErrorCode::kNotFound, param_not_found(name));
        KILN_STORE_TRY(p, param_row(q));
        KILN_STORE_TRY(value, unseal_text(q.text(6), param_ad(p.name, p.version)));
        p.value = std::move(value);
        return std::move(p);
      }(),
      "while reading parameter " + name);
}

Result<std::vector<Parameter>> SqliteSecretStore::parameters_by_path(const std::string& path,
                                                                     bool recursive) {
  if (path.empty() || path[0] != '/') {
    return fail(ErrorCode::kInvalidArgument, "The path must begin with a forward slash \"/\".");
  }
  const std::string prefix = path.back() == '/' ? path : path + "/";
  // Every name that starts with prefix sorts in [prefix, prefix with its final '/' raised to
  // '0'), so the primary key's index finds them.
  std::string upper = prefix;
  upper.back() = '/' + 1;
  MutexLock lock(mu_);
  return in_context(
      [&]() REQUIRES(mu_) -> Result<std::vector<Parameter>> {
        KILN_STORE_TRY(q, db_->query("SELECT " + kParamColumns +
                                     " FROM parameters WHERE name > ? AND name < ? ORDER BY name"));
        KILN_STORE_CHECK(q.bind_all(prefix, upper));
        std::vector<Parameter> out;
        for (;;) {
          KILN_STORE_TRY(row, q.step());
          if (!row) break;
          KILN_STORE_TRY(p, param_row(q));
          if (!recursive && p.name.find('/', prefix.size()) != std::string::npos) continue;
          KILN_STORE_TRY(value, unseal_text(q.text(6), param_ad(p.name, p.version)));
          p.value = std::move(value);
          out.push_back(std::move(p));
        }
        return out;
      }(),
      "while reading parameters under " + path);
}

Result<void> SqliteSecretStore::delete_parameter(const std::string& name) {
  MutexLock lock(mu_);
  return in_context(
      [&]() REQUIRES(mu_) -> Result<void> {
        KILN_STORE_TRY(q, db_->query("DELETE FROM parameters WHERE name = ?"));
        KILN_STORE_CHECK(q.bind(1, name));
        KILN_STORE_CHECK(q.run());
        if (db_->changes() == 0) return fail(ErrorCode::kNotFound, param_not_found(name));
        return {};
      }(),
      "while deleting parameter " + name);
}

Result<std::vector<Parameter>> SqliteSecretStore::list_parameters() {
  MutexLock lock(mu_);
  return in_context(
      [&]() REQUIRES(mu_) -> Result<std::vector<Parameter>> {
        KILN_STORE_TRY(q, db_->query("SELECT " + kParamColumns + " FROM parameters ORDER BY name"));
        std::vector<Parameter> out;
        for (;;) {
          KILN_STORE_TRY(row, q.step());
          if (!row) break;
          KILN_STORE_TRY(p, param_row(q));
          KILN_STORE_TRY(value, unseal_text(q.text(6), param_ad(p.name, p.version)));
          p.value = std::move(value);
          out.push_back(std::move(p));
        }
        return out;
      }(),
      "while listing parameters");
}

// ---- Source credentials ----

Result<void> SqliteSecretStore::put_source_credential(const SourceCredential& c, bool overwrite) {
  MutexLock lock(mu_);
  return in_context(
      [&]() REQUIRES(mu_) -> Result<void> {
        KILN_STORE_TRY(q, db_->query(overwrite ? "INSERT OR REPLACE INTO source_credentials "
                                                 "(server_type, auth_type, username, sealed) "
                                                 "VALUES (?, ?, ?, ?)"
                                               : "INSERT INTO source_credentials "
                                                 "(server_type, auth_type, username, sealed) "
                                                 "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"));
        KILN_STORE_CHECK(q.bind_all(c.server_type, c.auth_type, c.username,
                                    seal_text(c.token, "srccred:" + c.server_type)));
        KILN_STORE_CHECK(q.run());
        if (db_->changes() == 0) {
          return fail(ErrorCode::kAlreadyExists,
                      "Source credentials for server type " + c.server_type + " already exist.");
        }
        return {};
      }(),
      "while importing source credentials for " + c.server_type);
}

Result<SecretStore::SourceCredential> SqliteSecretStore::source_credential(
    const std::string& server_type) {
  MutexLock lock(mu_);
  return in_context(
      [&]() REQUIRES(mu_) -> Result<SourceCredential> {
        KILN_STORE_TRY(q, db_->query("SELECT auth_type, username, sealed FROM source_credentials "
                                     "WHERE server_type = ?"));
        KILN_STORE_CHECK(q.bind(1, server_type));
        KILN_STORE_TRY(row, q.step());
        if (!row) return fail(ErrorCode::kNotFound, source_credential_not_found(server_type));
        KILN_STORE_TRY(token, unseal_text(q.text(2), "srccred:" + server_type));
        return SourceCredential{server_type, q.text(0), q.text(1), std::move(token)};
      }(),
      "while reading source credentials for " + server_type);
}

Result<std::vector<SecretStore::SourceCredential>> SqliteSecretStore::list_source_credentials() {
  MutexLock lock(mu_);
  return in_context(
      [&]() REQUIRES(mu_) -> Result<std::vector<SourceCredential>> {
        KILN_STORE_TRY(q,
                       db_->query("SELECT server_type, auth_type, username FROM source_credentials "
                                  "ORDER BY server_type"));
        std::vector<SourceCredential> out;
        for (;;) {
          KILN_STORE_TRY(row, q.step());
          if (!row) break;
          out.push_back({q.text(0), q.text(1), q.text(2), ""});
        }
        return out;
      }(),
      "while listing source credentials");
}

Result<void> SqliteSecretStore::delete_source_credential(const std::string& server_type) {
  MutexLock lock(mu_);
  return in_context(
      [&]() REQUIRES(mu_) -> Result<void> {
        KILN_STORE_TRY(q, db_->query("DELETE FROM source_credentials WHERE server_type = ?"));
        KILN_STORE_CHECK(q.bind(1, server_type));
        KILN_STORE_CHECK(q.run());
        if (db_->changes() == 0) {
          return fail(ErrorCode::kNotFound, source_credential_not_found(server_type));
        }
        return {};
      }(),
      "while deleting source credentials for " + server_type);
}

// ---- Opening ----

Result<std::unique_ptr<SecretStore>> open_secret_store(const std::filesystem::path& dir,
                                                       const Clock& clock) {
  auto opened = [&]() -> Result<std::unique_ptr<SecretStore>> {
    KILN_STORE_CHECK(init_sodium());
    KILN_STORE_CHECK(make_private_dir(dir));
    const fs::path key_file = dir / "master.key";
    KILN_STORE_TRY(db, open_db(dir / "secrets.db"));
    // A lost key is never replaced by a new one while values sealed under the old one remain.
    // The database is read before the key file is looked for: a store opening at the same time
    // makes the key before it seals its canary, so sealed values seen here mean a key that is
    // already on disk unless it was lost.
    KILN_STORE_TRY(sealed, holds_sealed_values(*db));
    std::error_code ec;
    if (sealed && !fs::exists(fs::symlink_status(key_file, ec))) {
      return fail(ErrorCode::kInvalidArgument,
                  "the master key " + key_file.string() + " is missing, but " + db->file() +
                      " holds values sealed under it: put it back from a backup (kiln backup, "
                      "docs/server.md). Kiln will not make a new key that opens none of them");
    }
    KILN_STORE_TRY(key, MasterKey::load_or_create(key_file));
    auto store = std::make_unique<SqliteSecretStore>(std::move(db), std::move(key),
                                                     key_file.string(), clock);
    KILN_STORE_CHECK(store->check_key_canary());
    return std::unique_ptr<SecretStore>(std::move(store));
  }();
  if (!opened) opened.error().with("while opening the secret store in " + dir.string());
  return opened;
}

std::unique_ptr<SecretStore> memory_secret_store(const Clock& clock) {
  auto db = open_db(":memory:");
  if (!db) {
    // Only memory exhaustion fails an in-memory database; tests cannot go on without it.
    std::fprintf(stderr, "kiln: %s\n", db.error().describe().c_str());
    std::abort();
  }
  return std::make_unique<SqliteSecretStore>(std::move(*db), MasterKey::random(), "", clock);
}

}  // namespace kiln::secrets
