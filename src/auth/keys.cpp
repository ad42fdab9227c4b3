#include "auth/keys.h"

#include <sys/random.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <span>

#include <nlohmann/json.hpp>

#include "util/files.h"

namespace kiln::auth {

namespace {

using nlohmann::json;

constexpr int kPrivateMode = 0600;

Result<void> fill_random(std::span<unsigned char> out) {
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::getrandom(out.data() + got, out.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errno_error(ErrorCode::kIo, "getrandom"));
    got += static_cast<std::size_t>(n);
  }
  return {};
}

// `n` characters drawn uniformly from `alphabet` (rejection sampling: no modulo bias).
Result<std::string> random_string(std::string_view alphabet, std::size_t n) {
  const std::size_t limit = 256 - 256 % alphabet.size();
  std::string out;
  unsigned char buf[64];
  while (out.size() < n) {
    if (auto ok = fill_random(buf); !ok) return fail(std::move(ok.error()));
    for (unsigned char b : buf) {
      if (b >= limit || out.size() == n) continue;
      out += alphabet[b % alphabet.size()];
    }
  }
  return out;
}

bool valid_user(std::string_view user) {
  return !user.empty() && user.size() <= 64 && std::all_of(user.begin(), user.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("+=,.@_-").find(c) != std::string_view::npos;
  });
}

bool valid_id(std::string_view id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c));
  });
}

Result<AccessKey> generate_key(std::string_view user) {
  if (!valid_user(user)) {
    return fail(ErrorCode::kInvalidArgument,
                "invalid user name '" + std::string(user) +
                    "': use 1 to 64 letters, digits and the characters +=,.@_-");
  }
  auto id = random_string("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 16);
  if (!id) return fail(std::move(id.error()));
  auto secret =
      random_string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40);
  if (!secret) return fail(std::move(secret.error()));
  return AccessKey{"AKIA" + *id, std::move(*secret), std::string(user), true};
}

Error shape_error(const std::filesystem::path& path, const std::string& what) {
  return Error(ErrorCode::kParse, path.string() + ": " + what);
}

// One entry of "keys"; `where` is "keys[3]" for messages.
Result<AccessKey> parse_key_fields(const std::filesystem::path& path, const json& entry,
                                   const std::string& where) {
  if (!entry.is_object()) return fail(shape_error(path, where + " must be an object"));
  const auto string_member = [&](const char* name) -> Result<std::string> {
    auto it = entry.find(name);
    if (it == entry.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
      return fail(shape_error(path, where + "." + name + " must be a non-empty string"));
    }
    return it->get<std::string>();
  };
  AccessKey key;
  auto id = string_member("accessKeyId");
  if (!id) return fail(std::move(id.error()));
  if (!valid_id(*id)) {
    return fail(shape_error(path, where + ".accessKeyId must be 1 to 128 letters and digits"));
  }
  auto secret = string_member("secretAccessKey");
  if (!secret) return fail(std::move(secret.error()));
  auto user = string_member("user");
  if (!user) return fail(std::move(user.error()));
  auto active = entry.find("active");
  if (active == entry.end() || !active->is_boolean()) {
    return fail(shape_error(path, where + ".active must be true or false"));
  }
  return AccessKey{std::move(*id), std::move(*secret), std::move(*user), active->get<bool>()};
}

}  // namespace

Result<std::vector<KeyFile::Entry>> KeyFile::parse(const std::filesystem::path& path,
                                                   const std::string& text) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    return fail(shape_error(path, std::string("not valid JSON: ") + e.what()));
  }
  if (!doc.is_object()) return fail(shape_error(path, "the top level must be a JSON object"));
  if (auto v = doc.find("version"); v != doc.end() && *v != 1) {
    return fail(shape_error(path, "unsupported version " + v->dump() + " (expected 1)"));
  }
  auto list = doc.find("keys");
  if (list == doc.end() || !list->is_array()) {
    return fail(shape_error(path, "\"keys\" must be an array"));
  }
  std::vector<Entry> keys;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string where = "keys[" + std::to_string(i) + "]";
    auto key = parse_key_fields(path, (*list)[i], where);
    if (!key) return fail(std::move(key.error()));
    for (const auto& k : keys) {
      if (k.key.id == key->id) {
        return fail(shape_error(path, where + ".accessKeyId " + k.key.id + " appears twice"));
      }
    }
    Entry entry{std::move(*key), nullptr, false};
    if (auto p = (*list)[i].find("policy"); p != (*list)[i].end()) {
      auto policy = Policy::from_json(*p);
      if (!policy) return fail(shape_error(path, where + "." + policy.error().message()));
      entry.policy = std::make_shared<const Policy>(std::move(*policy));
    } else {
      // Files from before policies: the key bootstrap() made keeps its rights.
      entry.bootstrap_admin = i == 0 && entry.key.user == "admin";
    }
    keys.push_back(std::move(entry));
  }
  return keys;
}

std::string KeyFile::render(const std::vector<Entry>& keys) {
  json list = json::array();
  for (const auto& e : keys) {
    const auto& k = e.key;
    json item = {{"accessKeyId", k.id},
                 {"secretAccessKey", k.secret},
                 {"user", k.user},
                 {"active", k.active}};
    if (e.policy) item["policy"] = e.policy->document();
    list.push_back(std::move(item));
  }
  return json{{"version", 1}, {"keys", std::move(list)}}.dump(2) + "\n";
}

namespace {

// write_file_atomic creates the file with `mode` already; the chmod covers a umask that would
// leave the owner without read or write.
Result<void> write_private(const std::filesystem::path& path, const std::string& content) {
  if (auto ok = write_file_atomic(path, content, kPrivateMode); !ok) return ok;
  if (::chmod(path.c_str(), kPrivateMode) != 0) {
    return fail(errno_error(ErrorCode::kIo, "chmod " + path.string()));
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<KeyFile>> KeyFile::load(std::filesystem::path path) {
  auto text = read_file(path);
  if (!text) return fail(std::move(text.error()));
  auto keys = parse(path, *text);
  if (!keys) return fail(std::move(keys.error()));
  std::unique_ptr<KeyFile> file(new KeyFile(std::move(path)));
  file->keys_ = std::move(*keys);
  return file;
}

std::unique_ptr<KeyFile> KeyFile::empty(std::filesystem::path path) {
  return std::unique_ptr<KeyFile>(new KeyFile(std::move(path)));
}

std::optional<AccessKey> KeyFile::find(std::string_view id) const {
  std::shared_lock lock(mu_);
  for (const auto& e : keys_) {
    if (e.key.id == id) return e.key;
  }
  return std::nullopt;
}

std::shared_ptr<const Policy> KeyFile::policy_of(std::string_view id) const {
  static const auto kFull = std::make_shared<const Policy>(Policy::allow_all());
  std::shared_lock lock(mu_);
  for (const auto& e : keys_) {
    if (e.key.id != id) continue;
    return e.bootstrap_admin ? kFull : e.policy;
  }
  return nullptr;
}

Result<void> KeyFile::save(const std::vector<Entry>& keys) const {
  if (auto ok = write_private(path_, render(keys)); !ok) {
    return fail(std::move(ok.error()).with("while saving the access keys"));
  }
  return {};
}

Result<void> KeyFile::add(Entry entry) {
  std::lock_guard write_lock(write_mu_);
  // Only writers change keys_, and write_mu_ excludes the others: reading it unlocked is safe.
  std::vector<Entry> next = keys_;
  next.push_back(std::move(entry));
  if (auto ok = save(next); !ok) return ok;
  std::unique_lock lock(mu_);
  keys_ = std::move(next);
  return {};
}

Result<AccessKey> KeyFile::create(std::string_view user, std::optional<Policy> policy) {
  for (;;) {
    auto key = generate_key(user);
    if (!key) return key;
    // 36^16 ids make a collision all but impossible; a repeat would still be a wrong answer.
    if (find(key->id)) continue;
    Entry entry{*key, nullptr, false};
    if (policy) entry.policy = std::make_shared<const Policy>(std::move(*policy));
    if (auto ok = add(std::move(entry)); !ok) return fail(std::move(ok.error()));
    return key;
  }
}

Result<void> KeyFile::set_policy(std::string_view id, const Policy& policy) {
  std::lock_guard write_lock(write_mu_);
  std::vector<Entry> next = keys_;
  auto it = std::find_if(next.begin(), next.end(), [&](const Entry& e) { return e.key.id == id; });
  if (it == next.end()) return fail(ErrorCode::kNotFound, "no access key " + std::string(id));
  it->policy = std::make_shared<const Policy>(policy);
  it->bootstrap_admin = false;
  if (auto ok = save(next); !ok) return ok;
  std::unique_lock lock(mu_);
  keys_ = std::move(next);
  return {};
}

Result<void> KeyFile::revoke(std::string_view id) {
  std::lock_guard write_lock(write_mu_);
  std::vector<Entry> next = keys_;
  auto it = std::find_if(next.begin(), next.end(), [&](const Entry& e) { return e.key.id == id; });
  if (it == next.end()) {
    return fail(ErrorCode::kNotFound, "no access key " + std::string(id));
  }
  if (!it->key.active) return {};
  it->key.active = false;
  if (auto ok = save(next); !ok) return ok;
  std::unique_lock lock(mu_);
  keys_ = std::move(next);
  return {};
}

std::vector<KeySummary> KeyFile::list() const {
  std::shared_lock lock(mu_);
  std::vector<KeySummary> out;
  out.reserve(keys_.size());
  for (const auto& e : keys_) {
    out.push_back(KeySummary{e.key.id, e.key.user, e.key.active,
                             e.policy            ? "policy"
                             : e.bootstrap_admin ? "full (bootstrap admin without a policy)"
                                                 : "none (no policy)"});
  }
  return out;
}

Result<void> write_shared_credentials(const std::filesystem::path& path, const AccessKey& key,
                                      std::string_view region) {
  std::string text =
      "[default]\naws_access_key_id = " + key.id + "\naws_secret_access_key = " + key.secret + "\n";
  if (!region.empty()) text += "region = " + std::string(region) + "\n";
  return write_private(path, text);
}

Result<Bootstrapped> bootstrap(const std::filesystem::path& data_dir, std::string_view region) {
  const auto keys_path = data_dir / "keys.json";
  struct stat st;
  if (::lstat(keys_path.c_str(), &st) == 0) {
    auto file = KeyFile::load(keys_path);
    if (!file) return fail(std::move(file.error()).with("while loading the access keys"));
    return Bootstrapped{std::move(*file), std::nullopt};
  }
  // Only a file that is really absent means a first start: on any other error (EACCES, ...)
  // making a new admin key would replace the operator's keys.
  if (errno != ENOENT) return fail(errno_error(ErrorCode::kIo, "stat " + keys_path.string()));
  // Nor is it a first start when the folder has been used: the keys were lost, and writing a new
  // admin key over `credentials` would lock out every holder of the old ones without a word.
  for (const char* used : {"credentials", "kiln.db"}) {
    if (::lstat((data_dir / used).c_str(), &st) == 0 || errno != ENOENT) {
      return fail(ErrorCode::kAlreadyExists,
                  keys_path.string() + " is missing but " + (data_dir / used).string() +
                      " exists: this data folder was used before, so its keys were lost. Kiln "
                      "will not make a new admin key over existing credentials. Restore "
                      "keys.json from a backup, or make a new admin key explicitly with `kiln "
                      "key create --data " +
                      data_dir.string() + " --policy docs/policies/admin.json`");
    }
  }

  auto admin = generate_key("admin");
  if (!admin) return fail(std::move(admin.error()));
  auto file = KeyFile::empty(keys_path);
  // keys.json first: a crash before `credentials` is written leaves a key the operator can read
  // in keys.json, never a credentials file whose key the server does not know.
  if (auto ok = file->add({*admin, std::make_shared<const Policy>(Policy::allow_all()), false});
      !ok)
    return fail(std::move(ok.error()));
  const auto credentials = data_dir / "credentials";
  if (auto ok = write_shared_credentials(credentials, *admin, region); !ok) {
    return fail(std::move(ok.error()).with("while writing the admin credentials"));
  }
  return Bootstrapped{std::move(file), credentials};
}

}  // namespace kiln::auth
