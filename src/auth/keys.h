// The access keys Kiln's server accepts, kept in DATA/keys.json, and the shared-credentials file
// an AWS CLI or boto3 user points at Kiln.
//
// keys.json (mode 0600, replaced atomically on every change):
//   {"version": 1, "keys": [{"accessKeyId": "AKIA...", "secretAccessKey": "...",
//                            "user": "admin", "active": true}, ...]}
// Revoked keys stay in the file with "active": false, so their ids are never handed out again
// and an audit can still name their user.
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

#include "auth/sigv4.h"
#include "util/error.h"

namespace kiln::auth {

// A key without its secret, for listings.
struct KeySummary {
  std::string id;
  std::string user;
  bool active = true;
};

class KeyFile;

struct Bootstrapped {
  std::unique_ptr<KeyFile> keys;
  // Set on the first start, when an admin key was made: where its credentials were written, for
  // the server to tell its operator.
  std::optional<std::filesystem::path> new_credentials;
};

class KeyFile final : public KeyLookup {
 public:
  // Reads `path`. Errors: kNotFound when it does not exist, kParse naming the file and the JSON
  // or shape problem (not JSON, a missing or mistyped member, a bad or repeated id).
  [[nodiscard]] static Result<std::unique_ptr<KeyFile>> load(std::filesystem::path path);
  // No keys yet; the file is written on the first create().
  static std::unique_ptr<KeyFile> empty(std::filesystem::path path);

  // The key, active or not (verify() rejects inactive ones).
  std::optional<AccessKey> find(std::string_view id) const override;

  // A new active key for `user` (1-64 of letters, digits and `+=,.@_-`, as IAM user names),
  // saved before it is returned: id "AKIA" + 16 of [A-Z0-9], 40-character secret, both from
  // getrandom(2). Errors: kInvalidArgument for the user name, kIo when the file cannot be written
  // (the key is then not added).
  [[nodiscard]] Result<AccessKey> create(std::string_view user);
  // Marks the key inactive and saves. Revoking an inactive key succeeds. kNotFound for an
  // unknown id, kIo when the file cannot be written (the key then stays active).
  [[nodiscard]] Result<void> revoke(std::string_view id);
  // Every key, in the order they were created.
  std::vector<KeySummary> list() const;

  const std::filesystem::path& path() const { return path_; }

 private:
  friend Result<Bootstrapped> bootstrap(const std::filesystem::path&, std::string_view);

  explicit KeyFile(std::filesystem::path path) : path_(std::move(path)) {}
  // Saves keys_ plus `key`, then adds it; the caller has checked the id is new.
  [[nodiscard]] Result<void> add(AccessKey key);
  // Writes `keys` to path_ (0600); the caller holds write_mu_.
  [[nodiscard]] Result<void> save(const std::vector<AccessKey>& keys) const;

  const std::filesystem::path path_;
  std::mutex write_mu_;           // one change at a time, held across the file write
  mutable std::shared_mutex mu_;  // guards keys_; held only to read or swap, never across I/O
  std::vector<AccessKey> keys_;   // a handful: found by linear search
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
// exist: creates a key for user "admin", writes data_dir/credentials for it (with `region`), then
// data_dir/keys.json, in that order, so a crash in between only means a fresh key next start.
// Later starts only load keys.json; a malformed one is an error and is left untouched.
[[nodiscard]] Result<Bootstrapped> bootstrap(const std::filesystem::path& data_dir,
                                             std::string_view region = "us-east-1");

}  // namespace kiln::auth
