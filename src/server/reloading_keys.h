// The server's view of keys.json: `kiln key create|revoke` edit the file from another process,
// so the server reads it again when its modification time changes (checked at most once a
// second). A file that fails to load keeps the last good keys in force. Policies (`kiln key
// set-policy`) come with the keys, so they too apply within a second, without a restart.
// Thread safety: find() and policy_of() may be called from many threads.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include "auth/keys.h"

namespace kiln::server {

class ReloadingKeys final : public auth::KeyLookup, public auth::PolicyLookup {
 public:
  explicit ReloadingKeys(std::unique_ptr<auth::KeyFile> keys);
  std::optional<auth::AccessKey> find(std::string_view id) const override;
  std::shared_ptr<const auth::Policy> policy_of(std::string_view id) const override;

 private:
  void maybe_reload() const;
  std::shared_ptr<const auth::KeyFile> current() const;

  std::filesystem::path path_;
  mutable std::shared_mutex mu_;
  mutable std::shared_ptr<const auth::KeyFile> keys_;
  mutable std::mutex check_mu_;
  mutable std::chrono::steady_clock::time_point last_check_{};
  mutable std::filesystem::file_time_type last_mtime_{};
};

}  // namespace kiln::server
