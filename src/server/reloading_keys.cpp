#include "server/reloading_keys.h"

namespace kiln::server {

ReloadingKeys::ReloadingKeys(std::unique_ptr<auth::KeyFile> keys)
    : path_(keys->path()), keys_(std::move(keys)) {
  std::error_code ec;
  last_mtime_ = std::filesystem::last_write_time(path_, ec);
  last_check_ = std::chrono::steady_clock::now();
}

void ReloadingKeys::maybe_reload() const {
  std::unique_lock lock(check_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return;  // another thread is checking
  const auto now = std::chrono::steady_clock::now();
  if (now - last_check_ < std::chrono::seconds(1)) return;
  last_check_ = now;
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(path_, ec);
  if (ec || mtime == last_mtime_) return;
  auto loaded = auth::KeyFile::load(path_);
  if (!loaded) return;
  last_mtime_ = mtime;
  std::unique_lock write(mu_);
  keys_ = std::shared_ptr<const auth::KeyFile>(std::move(*loaded));
}

std::shared_ptr<const auth::KeyFile> ReloadingKeys::current() const {
  maybe_reload();
  std::shared_lock read(mu_);
  return keys_;
}

std::optional<auth::AccessKey> ReloadingKeys::find(std::string_view id) const {
  return current()->find(id);
}

std::shared_ptr<const auth::Policy> ReloadingKeys::policy_of(std::string_view id) const {
  return current()->policy_of(id);
}

}  // namespace kiln::server
