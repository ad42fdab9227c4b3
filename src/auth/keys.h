// The access keys Kiln's server accepts, kept in DATA/keys.json, and the shared-credentials file
// an AWS CLI or boto3 user points at Kiln.
//
// keys.json (mode 0600, replaced atomically on every change):
//   {"version": 1, "keys": [{"accessKeyId": "AKIA...", "secretAccessKey": "...",
//                            "user": "admin", "active": true, "policy": {...}}, ...]}
// Revoked keys stay in the file with "active": false, so their ids are never handed out again
// and an audit can still name their user.
// "policy" is the key's IAM identity policy (auth/policy.h). A key without one may do nothing,
// except the bootstrap admin of files written before policies existed (the first key, user
// "admin"), which keeps the full rights it always had.
//
// Ownership: a KeyFile owns its in-memory copy and assumes it is the only writer of its file
// (one server per data folder). Thread safety: find() and list() may run concurrently with each
// other and with create()/revoke(); create() and revoke() are serialized among themselves, and a
// change becomes visible to find() only once it is on disk. Secrets never appear in errors.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "auth/policy.h"
#include "auth/sigv4.h"
#include "util/error.h"

namespace kiln::auth {

// A key without its secret, for listings.
struct KeySummary {
  std::string id;
  std::string user;
  bool active = true;
  // "policy", "full (bootstrap admin without a policy)" or "none (no policy)".
  std::string rights;
};

class KeyFile;

struct Bootstrapped {
  std::unique_ptr<KeyFile> keys;
  // Set on the first start, when an admin key was made: where its credentials were written, for
  // the server to tell its operator.
  std::optional<std::filesystem::path> new_credentials;
};

class KeyFile final : public KeyLookup, public PolicyLookup {
 public:
  // Reads `path`. Errors: kNotFound when it does not exist, kParse naming the file and the JSON
  // or shape problem (not JSON, a missing or mistyped member, a bad or repeated id, a malformed
  // policy).
  [[nodiscard]] static Result<std::unique_ptr<KeyFile>> load(std::filesystem::path path);
  // No keys yet; the file is written on the first create().
  static std::unique_ptr<KeyFile> empty(std::filesystem::path path);

  // The key, active or not (verify() rejects inactive ones).
  std::optional<AccessKey> find(std::string_view id) const override;
  // The key's rights; nullptr for an unknown key or one without rights.
  std::shared_ptr<const Policy> policy_of(std::string_view id) const override;

  // A new active key for `user` (1-64 of letters, digits and `+=,.@_-`, as IAM user names),
  // saved before it is returned: id "AKIA" + 16 of [A-Z0-9], 40-character secret, both from
  // getrandom(2). Errors: kInvalidArgument for the user name, kIo when the file cannot be written
  // (the key is then not added). Without `policy` the key may do nothing until given one.
  [[nodiscard]] Result<AccessKey> create(std::string_view user,
                                         std::optional<Policy> policy = std::nullopt);
  // Replaces the key's policy and saves. kNotFound for an unknown id, kIo as create().
  [[nodiscard]] Result<void> set_policy(std::string_view id, const Policy& policy);
  // Marks the key inactive and saves. Revoking an inactive key succeeds. kNotFound for an
  // unknown id, kIo when the file cannot be written (the key then stays active).
  [[nodiscard]] Result<void> revoke(std::string_view id);
  // Every key, in the order they were created.
  std::vector<KeySummary> list() const;

  const std::filesystem::path& path() const { return path_; }

 private:
  friend Result<Bootstrapped> bootstrap(const std::filesystem::path&, std::string_view);

  struct Entry {
    AccessKey key;
    std::shared_ptr<const Policy> policy;  // as in the file; null when it has none
    bool bootstrap_admin = false;          // no policy, first key, user "admin": full rights
  };

  explicit KeyFile(std::filesystem::path path) : path_(std::move(path)) {}
  [[nodiscard]] static Result<std::vector<Entry>> parse(const std::filesystem::path& path,
                                                        const std::string& text);
  static std::string render(const std::vector<Entry>& keys);
  // Saves keys_ plus `entry`, then adds it; the caller has checked the id is new.
  [[nodiscard]] Result<void> add(Entry entry);
  // Writes `keys` to path_ (0600); the caller holds write_mu_.
  [[nodiscard]] Result<void> save(const std::vector<Entry>& keys) const;

  const std::filesystem::path path_;
  std::mutex write_mu_;           // one change at a time, held across the file write
  mutable std::shared_mutex mu_;  // guards keys_; held only to read or swap, never across I/O
  std::vector<Entry> keys_;       // a handful: found by linear search
};

// Writes an AWS shared-credentials file (what ~/.aws/credentials holds):
//   [default]
//   aws_access_key_id = ...
//   aws_secret_access_key = ...
//   region = ...            (when `region` is not empty; botocore reads it from this file too)
// created with mode 0600 and renamed into place, so the secret is never readable by others.
[[nodiscard]] Result<void> write_shared_credentials(const std::filesystem::path& path,
                                                    const AccessKey& key, std::string_view region);

// The server's key store in `data_dir` (which must exist). First start, when keys.json does not
// exist: creates a key for user "admin" with Policy::allow_all(), writes data_dir/keys.json, then
// data_dir/credentials for it (with `region`). Later starts only load keys.json; a malformed one
// is an error and is left untouched. A missing keys.json beside an existing data_dir/credentials
// or kiln.db is not a first start but a damaged folder: kAlreadyExists, and nothing is
// written, so existing credentials are never replaced.
[[nodiscard]] Result<Bootstrapped> bootstrap(const std::filesystem::path& data_dir,
                                             std::string_view region = "us-east-1");

}  // namespace kiln::auth
