// The secrets manager half of SqliteSecretStore: secrets, their versions and staging labels.
#include <algorithm>

#include "secrets/sqlite_secret_store.h"
#include "util/files.h"

namespace kiln::secrets {

namespace {

using store::Query;
using store::Transaction;

const std::string kCurrent = "AWSCURRENT";
const std::string kPrevious = "AWSPREVIOUS";
// Unstaged versions kept per secret (Secrets Manager's own quota is about 100); older ones are
// dropped as new ones arrive. Staged versions are always kept.
constexpr int kKeptUnstagedVersions = 100;
constexpr std::int64_t kDayMs = 24LL * 60 * 60 * 1000;
constexpr std::size_t kArnSuffixChars = 6;

const std::string kSecretColumns =
    "name, arn_suffix, description, kms_key_id, created_ms, changed_ms, deleted_ms";

const char* const kSecretNotFound = "Secrets Manager can't find the specified secret.";
const char* const kMarkedForDeletion =
    "You can't perform this operation on the secret because it was marked for deletion.";

std::string version_ad(const std::string& name, const std::string& version_id) {
  return "secret:" + name + ":" + version_id;
}

// The plaintext sealed for a version: a kind byte, then the value.
Result<std::string> version_plaintext(const NewSecretValue& v) {
  if (v.secret_string && v.secret_binary) {
    return fail(ErrorCode::kInvalidArgument,
                "You can't specify both a binary secret value and a string secret value in the "
                "same secret.");
  }
  if (v.secret_string) return "s" + *v.secret_string;
  if (v.secret_binary) return "b" + *v.secret_binary;
  return fail(ErrorCode::kInvalidArgument, "You must provide either SecretString or SecretBinary.");
}

Result<void> set_value(SecretValue& out, const std::string& plaintext, const std::string& ad) {
  if (plaintext.empty() || (plaintext[0] != 's' && plaintext[0] != 'b')) {
    return fail(ErrorCode::kInternal, "the value of " + ad + " has no kind byte");
  }
  (plaintext[0] == 's' ? out.secret_string : out.secret_binary) = plaintext.substr(1);
  return {};
}

}  // namespace

Result<void> SqliteSecretStore::purge_expired_locked() {
  KILN_STORE_TRY(q, db_->query("DELETE FROM secrets WHERE deleted_ms <> 0 AND deleted_ms <= ?"));
  KILN_STORE_CHECK(q.bind(1, now_ms()));
  return q.run();
}

Result<std::optional<Secret>> SqliteSecretStore::find_secret_locked(const std::string& id) {
  auto lookup = [&](const std::string& name) REQUIRES(mu_) -> Result<std::optional<Secret>> {
    // A secret past its recovery window is gone even before a write purges it.
    KILN_STORE_TRY(q, db_->query("SELECT " + kSecretColumns +
                                 " FROM secrets WHERE name = ? AND "
                                 "(deleted_ms = 0 OR deleted_ms > ?)"));
    KILN_STORE_CHECK(q.bind_all(name, now_ms()));
    KILN_STORE_TRY(row, q.step());
    if (!row) return std::nullopt;
    return Secret{q.text(0),  q.text(1),  q.text(2),  q.text(3),
                  q.int64(4), q.int64(5), q.int64(6), {}};
  };
  if (id.rfind("arn:", 0) != 0) return lookup(id);
  const std::string marker = ":secret:";
  const auto at = id.find(marker);
  if (at == std::string::npos) return std::nullopt;
  const std::string rest = id.substr(at + marker.size());
  // A full ARN ends in "-" and the six-character suffix; a partial ARN is just the name.
  if (rest.size() > kArnSuffixChars + 1 && rest[rest.size() - kArnSuffixChars - 1] == '-') {
    KILN_STORE_TRY(full, lookup(rest.substr(0, rest.size() - kArnSuffixChars - 1)));
    if (full && full->arn_suffix == rest.substr(rest.size() - kArnSuffixChars)) return full;
  }
  return lookup(rest);
}

Result<Secret> SqliteSecretStore::require_secret_locked(const std::string& id, bool allow_deleted) {
  KILN_STORE_TRY(found, find_secret_locked(id));
  if (!found) return fail(ErrorCode::kNotFound, kSecretNotFound);
  if (found->deleted_ms != 0 && !allow_deleted) {
    return fail(ErrorCode::kInvalidArgument, kMarkedForDeletion);
  }
  return std::move(*found);
}

Result<std::vector<std::string>> SqliteSecretStore::stages_of_locked(
    const std::string& name, const std::string& version_id) {
  KILN_STORE_TRY(q, db_->query("SELECT stage FROM secret_stages WHERE secret = ? AND "
                               "version_id = ? ORDER BY stage"));
  KILN_STORE_CHECK(q.bind_all(name, version_id));
  std::vector<std::string> out;
  for (;;) {
    KILN_STORE_TRY(row, q.step());
    if (!row) return out;
    out.push_back(q.text(0));
  }
}

Result<Secret> SqliteSecretStore::describe_locked(const Secret& row) {
  Secret s = row;
  s.versions.clear();
  {
    KILN_STORE_TRY(q, db_->query("SELECT version_id, created_ms FROM secret_versions "
                                 "WHERE secret = ? ORDER BY seq"));
    KILN_STORE_CHECK(q.bind(1, row.name));
    for (;;) {
      KILN_STORE_TRY(more, q.step());
      if (!more) break;
      s.versions.push_back({q.text(0), {}, q.int64(1)});
    }
  }
  KILN_STORE_TRY(q, db_->query("SELECT version_id, stage FROM secret_stages WHERE secret = ? "
                               "ORDER BY stage"));
  KILN_STORE_CHECK(q.bind(1, row.name));
  for (;;) {
    KILN_STORE_TRY(more, q.step());
    if (!more) break;
    const std::string version_id = q.text(0);
    auto v = std::find_if(s.versions.begin(), s.versions.end(),
                          [&](const SecretVersionInfo& i) { return i.version_id == version_id; });
    if (v != s.versions.end()) v->stages.push_back(q.text(1));
  }
  return s;
}

Result<SecretVersionInfo> SqliteSecretStore::put_version_locked(const Secret& row,
                                                                const NewSecretValue& value,
                                                                std::vector<std::string> stages) {
  KILN_STORE_TRY(plaintext, version_plaintext(value));
  if (stages.empty()) stages = {kCurrent};
  const std::string version_id =
      value.client_request_token.empty() ? make_uuid() : value.client_request_token;
  const std::string ad = version_ad(row.name, version_id);
  {
    // A retried request carries the same token: the same value is the same version.
    KILN_STORE_TRY(q, db_->query("SELECT created_ms, sealed FROM secret_versions "
                                 "WHERE secret = ? AND version_id = ?"));
    KILN_STORE_CHECK(q.bind_all(row.name, version_id));
    KILN_STORE_TRY(existing, q.step());
    if (existing) {
      KILN_STORE_TRY(old, unseal_text(q.text(1), ad));
      if (old != plaintext) {
        return fail(ErrorCode::kInvalidArgument,
                    "The client request token " + version_id +
                        " is already used by a version of this secret with a different value.");
      }
      const std::int64_t created = q.int64(0);
      KILN_STORE_TRY(held, stages_of_locked(row.name, version_id));
      return SecretVersionInfo{version_id, std::move(held), created};
    }
  }
  const std::int64_t now = now_ms();
  {
    KILN_STORE_TRY(q, db_->query("INSERT INTO secret_versions (secret, version_id, created_ms, "
                                 "sealed) VALUES (?, ?, ?, ?)"));
    KILN_STORE_CHECK(q.bind_all(row.name, version_id, now, seal_text(plaintext, ad)));
    KILN_STORE_CHECK(q.run());
  }
  auto move_stage = [&](const std::string& stage, const std::string& to)
                        REQUIRES(mu_) -> Result<void> {
    KILN_STORE_TRY(q, db_->query("INSERT INTO secret_stages (secret, stage, version_id) "
                                 "VALUES (?, ?, ?) ON CONFLICT (secret, stage) "
                                 "DO UPDATE SET version_id = excluded.version_id"));
    KILN_STORE_CHECK(q.bind_all(row.name, stage, to));
    return q.run();
  };
  for (const std::string& stage : stages) {
    if (stage == kCurrent) {
      // Moving AWSCURRENT leaves AWSPREVIOUS on the version it came from.
      std::string old_current;
      {
        KILN_STORE_TRY(q, db_->query("SELECT version_id FROM secret_stages "
                                     "WHERE secret = ? AND stage = ?"));
        KILN_STORE_CHECK(q.bind_all(row.name, kCurrent));
        KILN_STORE_TRY(found, q.step());
        if (found) old_current = q.text(0);
      }
      if (!old_current.empty() && old_current != version_id) {
        KILN_STORE_CHECK(move_stage(kPrevious, old_current));
      }
    }
    KILN_STORE_CHECK(move_stage(stage, version_id));
  }
  {
    KILN_STORE_TRY(q, db_->query("UPDATE secrets SET changed_ms = ? WHERE name = ?"));
    KILN_STORE_CHECK(q.bind_all(now, row.name));
    KILN_STORE_CHECK(q.run());
  }
  {
    KILN_STORE_TRY(q,
                   db_->query("DELETE FROM secret_versions WHERE seq IN (SELECT v.seq FROM "
                              "secret_versions v WHERE v.secret = ?1 AND NOT EXISTS (SELECT 1 FROM "
                              "secret_stages s WHERE s.secret = v.secret AND s.version_id = "
                              "v.version_id) ORDER BY v.seq DESC LIMIT -1 OFFSET ?2)"));
    KILN_STORE_CHECK(q.bind_all(row.name, kKeptUnstagedVersions));
    KILN_STORE_CHECK(q.run());
  }
  KILN_STORE_TRY(held, stages_of_locked(row.name, version_id));
  return SecretVersionInfo{version_id, std::move(held), now};
}

Result<Secret> SqliteSecretStore::create_secret(const std::string& name,
                                                const std::string& description,
                                                const std::string& kms_key_id,
                                                const NewSecretValue& value) {
  const bool has_value = value.secret_string || value.secret_binary;
  MutexLock lock(mu_);
  return in_context(
      [&]() REQUIRES(mu_) -> Result<Secret> {
        if (has_value) KILN_STORE_CHECK(version_plaintext(value));  // refuse before writing
        Transaction tx(*db_);
        KILN_STORE_CHECK(tx.begin(Transaction::Mode::kWrite));
        KILN_STORE_CHECK(purge_expired_locked());
        const std::int64_t now = now_ms();
        const Secret row{name, random_alnum(kArnSuffixChars), description, kms_key_id, now, now, 0,
                         {}};
        {
          // A secret marked for deletion still holds its name, as in Secrets Manager.
          KILN_STORE_TRY(q, db_->query("INSERT INTO secrets (" + kSecretColumns +
                                       ") VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"));
          KILN_STORE_CHECK(q.bind_all(row.name, row.arn_suffix, row.description, row.kms_key_id,
                                      row.created_ms, row.changed_ms, row.deleted_ms));
          KILN_STORE_CHECK(q.run());
          if (db_->changes() == 0) {
            return fail(ErrorCode::kAlreadyExists,
                        "The operation failed because the secret " + name + " already exists.");
          }
        }
        if (has_value) KILN_STORE_CHECK(put_version_locked(row, value, {}));
        KILN_STORE_TRY(secret, describe_locked(row));
        KILN_STORE_CHECK(tx.commit());
        return std::move(secret);
      }(),
      "while creating secret " + name);
}

Result<SecretValue> SqliteSecretStore::get_secret_value(const std::string& id,
                                                        const std::string& version_id,
                                                        const std::string& stage) {
  MutexLock lock(mu_);
  return in_context(
      [&]() REQUIRES(mu_) -> Result<SecretValue> {
        Transaction tx(*db_);
        KILN_STORE_CHECK(tx.begin(Transaction::Mode::kRead));
        KILN_STORE_TRY(row, require_secret_locked(id, false));
        SecretValue out;
        out.name = row.name;
        out.arn_suffix = row.arn_suffix;
        std::string sealed;
        if (!version_id.empty()) {
          KILN_STORE_TRY(q, db_->query("SELECT version_id, created_ms, sealed FROM "
                                       "secret_versions WHERE secret = ? AND version_id = ?"));
          KILN_STORE_CHECK(q.bind_all(row.name, version_id));
          KILN_STORE_TRY(found, q.step());
          if (!found) {
            return fail(ErrorCode::kNotFound,
                        "Secrets Manager can't find the specified secret value for VersionId: " +
                            version_id);
          }
          out.version_id = q.text(0);
          out.created_ms = q.int64(1);
          sealed = q.text(2);
        } else {
          const std::string& wanted = stage.empty() ? kCurrent : stage;
          KILN_STORE_TRY(q, db_->query("SELECT v.version_id, v.created_ms, v.sealed FROM "
                                       "secret_stages s JOIN secret_versions v ON v.secret = "
                                       "s.secret AND v.version_id = s.version_id "
                                       "WHERE s.secret = ? AND s.stage = ?"));
          KILN_STORE_CHECK(q.bind_all(row.name, wanted));
          KILN_STORE_TRY(found, q.step());
          if (!found) {
            return fail(ErrorCode::kNotFound,
                        "Secrets Manager can't find the specified secret value for staging "
                        "label: " +
                            wanted);
          }
          out.version_id = q.text(0);
          out.created_ms = q.int64(1);
          sealed = q.text(2);
        }
        KILN_STORE_TRY(stages, stages_of_locked(row.name, out.version_id));
        out.stages = std::move(stages);
        if (!version_id.empty() && !stage.empty() &&
            std::find(out.stages.begin(), out.stages.end(), stage) == out.stages.end()) {
          return fail(ErrorCode::kInvalidArgument,
                      "You provided a VersionStage that is not associated to the provided "
                      "VersionId.");
        }
        const std::string ad = version_ad(row.name, out.version_id);
        KILN_STORE_TRY(plaintext, unseal_text(sealed, ad));
        KILN_STORE_CHECK(set_value(out, plaintext, ad));
        KILN_STORE_CHECK(tx.commit());
        return out;
      }(),
      "while reading the value of secret " + id);
}

Result<SecretVersionInfo> SqliteSecretStore::put_secret_value(
    const std::string& id, const NewSecretValue& value, const std::vector<std::string>& stages) {
  MutexLock lock(mu_);
  return in_context(
      [&]() REQUIRES(mu_) -> Result<SecretVersionInfo> {
        Transaction tx(*db_);
        KILN_STORE_CHECK(tx.begin(Transaction::Mode::kWrite));
        KILN_STORE_CHECK(purge_expired_locked());
        KILN_STORE_TRY(row, require_secret_locked(id, false));
        KILN_STORE_TRY(info, put_version_locked(row, value, stages));
        KILN_STORE_CHECK(tx.commit());
        return std::move(info);
      }(),
      "while putting a value of secret " + id);
}

Result<Secret> SqliteSecretStore::update_secret(const std::string& id,
                                                const std::optional<std::string>& description,
                                                const std::optional<std::string>& kms_key_id,
                                                const std::optional<NewSecretValue>& value) {
  MutexLock lock(mu_);
  return in_context(
      [&]() REQUIRES(mu_) -> Result<Secret> {
        Transaction tx(*db_);
        KILN_STORE_CHECK(tx.begin(Transaction::Mode::kWrite));
        KILN_STORE_CHECK(purge_expired_locked());
        KILN_STORE_TRY(row, require_secret_locked(id, false));
        if (description) row.description = *description;
        if (kms_key_id) row.kms_key_id = *kms_key_id;
        row.changed_ms = now_ms();
        {
          KILN_STORE_TRY(q, db_->query("UPDATE secrets SET description = ?, kms_key_id = ?, "
                                       "changed_ms = ? WHERE name = ?"));
          KILN_STORE_CHECK(q.bind_all(row.description, row.kms_key_id, row.changed_ms, row.name));
          KILN_STORE_CHECK(q.run());
        }
        if (value) KILN_STORE_CHECK(put_version_locked(row, *value, {}));
        KILN_STORE_TRY(secret, describe_locked(row));
        KILN_STORE_CHECK(tx.commit());
        return std::move(secret);
      }(),
      "while updating secret " + id);
}

Result<Secret> SqliteSecretStore::delete_secret(const std::string& id, int recovery_days,
                                                bool force) {
  if (!force && (recovery_days < 7 || recovery_days > 30)) {
    return fail(ErrorCode::kInvalidArgument,
                "The recovery window must be between 7 and 30 days (inclusive).");
  }
  MutexLock lock(mu_);
  return in_context(
      [&]() REQUIRES(mu_) -> Result<Secret> {
        Transaction tx(*db_);
        KILN_STORE_CHECK(tx.begin(Transaction::Mode::kWrite));
        KILN_STORE_CHECK(purge_expired_locked());
        KILN_STORE_TRY(row, require_secret_locked(id, true));
        if (!force && row.deleted_ms != 0) {
          return fail(ErrorCode::kInvalidArgument, kMarkedForDeletion);
        }
        row.deleted_ms = force ? now_ms() : now_ms() + recovery_days * kDayMs;
        KILN_STORE_TRY(secret, describe_locked(row));
        KILN_STORE_TRY(q, db_->query(force ? "DELETE FROM secrets WHERE name = ?2"
                                           : "UPDATE secrets SET deleted_ms = ?1 WHERE name = ?2"));
        if (!force) KILN_STORE_CHECK(q.bind(1, row.deleted_ms));
        KILN_STORE_CHECK(q.bind(2, row.name));
        KILN_STORE_CHECK(q.run());
        KILN_STORE_CHECK(tx.commit());
        return std::move(secret);
      }(),
      "while deleting secret " + id);
}

Result<Secret> SqliteSecretStore::describe_secret(const std::string& id) {
  MutexLock lock(mu_);
  return in_context(
      [&]() REQUIRES(mu_) -> Result<Secret> {
        Transaction tx(*db_);
        KILN_STORE_CHECK(tx.begin(Transaction::Mode::kRead));
        KILN_STORE_TRY(row, require_secret_locked(id, true));
        KILN_STORE_TRY(secret, describe_locked(row));
        KILN_STORE_CHECK(tx.commit());
        return std::move(secret);
      }(),
      "while describing secret " + id);
}

Result<std::vector<Secret>> SqliteSecretStore::list_secrets() {
  MutexLock lock(mu_);
  return in_context(
      [&]() REQUIRES(mu_) -> Result<std::vector<Secret>> {
        Transaction tx(*db_);
        KILN_STORE_CHECK(tx.begin(Transaction::Mode::kRead));
        std::vector<Secret> rows;
        {
          KILN_STORE_TRY(q, db_->query("SELECT " + kSecretColumns +
                                       " FROM secrets WHERE deleted_ms = 0 OR deleted_ms > ? "
                                       "ORDER BY name"));
          KILN_STORE_CHECK(q.bind(1, now_ms()));
          for (;;) {
            KILN_STORE_TRY(more, q.step());
            if (!more) break;
            rows.push_back(
                {q.text(0), q.text(1), q.text(2), q.text(3), q.int64(4), q.int64(5), q.int64(6)});
          }
        }
        std::vector<Secret> out;
        for (const Secret& row : rows) {
          KILN_STORE_TRY(secret, describe_locked(row));
          out.push_back(std::move(secret));
        }
        KILN_STORE_CHECK(tx.commit());
        return out;
      }(),
      "while listing secrets");
}

}  // namespace kiln::secrets
