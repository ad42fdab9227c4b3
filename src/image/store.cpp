// ImageStore (store.h): whole images only, by staging and rename.
#include "image/store.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "util/files.h"
#include "util/json_text.h"
#include "util/unique_fd.h"

namespace kiln::image {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::string_view kMetadata = "image.json";

std::string bare_name(const std::string& name) {
  return name.ends_with(":latest") ? name.substr(0, name.size() - 7) : name;
}

bool alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// One path component of a docker repository name: [a-z0-9]+ joined by '.', '_', '__' or '-'s.
bool valid_component(std::string_view c) {
  if (c.empty() || !alnum(c.front()) || !alnum(c.back())) return false;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (alnum(c[i])) continue;
    if (c[i] != '.' && c[i] != '_' && c[i] != '-') return false;
    if (c[i] == '.' && !alnum(c[i + 1])) return false;  // no "..", ".-" or "._"
  }
  return true;
}

// The pid in ".<folder>.tmp-<pid>-<random>", or 0 for any other name.
pid_t staging_pid(const std::string& entry) {
  const auto at = entry.rfind(".tmp-");
  if (entry.empty() || entry.front() != '.' || at == std::string::npos) return 0;
  return static_cast<pid_t>(std::strtol(entry.c_str() + at + 5, nullptr, 10));
}

Result<ImageEntry> read_entry(const fs::path& dir) {
  auto text = read_file(dir / kMetadata);
  if (!text) return fail(std::move(text.error()));
  const json j = json::parse(*text, nullptr, false);
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string())
    return fail(ErrorCode::kParse, (dir / kMetadata).string() + ": not an image description");
  ImageEntry e;
  try {
    e.name = j.at("name").get<std::string>();
    e.suite = j.value("suite", "");
    e.packages = j.value("packages", std::vector<std::string>{});
    const json runtimes = j.value("runtimes", json::object());
    for (const auto& [k, v] : runtimes.items()) e.runtimes.emplace_back(k, v.get<std::string>());
    e.built_at = j.value("built_at", "");
    e.rootfs_bytes = j.value("rootfs_bytes", std::uint64_t{0});
    e.tar_bytes = j.value("tar_bytes", std::uint64_t{0});
    e.build_seconds = j.value("build_seconds", 0.0);
  } catch (const json::exception& ex) {
    return fail(ErrorCode::kParse, (dir / kMetadata).string() + ": " + ex.what());
  }
  e.dir = dir;
  e.rootfs = dir / "rootfs";
  e.tar = dir / "image.tar";
  return e;
}

json to_json(const ImageEntry& e) {
  json runtimes = json::object();
  for (const auto& [k, v] : e.runtimes) runtimes[k] = v;
  return {{"name", e.name},           {"suite", e.suite},
          {"packages", e.packages},   {"runtimes", runtimes},
          {"built_at", e.built_at},   {"rootfs_bytes", e.rootfs_bytes},
          {"tar_bytes", e.tar_bytes}, {"build_seconds", e.build_seconds}};
}

// Mount points as /proc/self/mountinfo writes them: field 5, with octal escapes ("\040").
std::vector<std::string> mount_points() {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string f;
    for (int i = 0; i < 5 && fields >> f; ++i) {
    }
    std::string decoded;
    for (std::size_t i = 0; i < f.size(); ++i) {
      if (f[i] == '\\' && i + 3 < f.size() && std::isdigit(static_cast<unsigned char>(f[i + 1]))) {
        decoded.push_back(static_cast<char>(std::strtol(f.substr(i + 1, 3).c_str(), nullptr, 8)));
        i += 3;
      } else {
        decoded.push_back(f[i]);
      }
    }
    out.push_back(decoded);
  }
  return out;
}

Result<void> fsync_dir(const fs::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0)
    return fail(errno_error(ErrorCode::kIo, "fsync " + dir.string()));
  return {};
}

// Moves `from` to `to`, exchanging the two when `to` exists; `from` then holds the old tree.
// Returns whether an exchange happened.
Result<bool> move_into_place(const fs::path& from, const fs::path& to) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0)
      return false;
    if (errno != EEXIST && errno != EINVAL)
      return fail(errno_error(ErrorCode::kIo, "rename " + from.string() + " to " + to.string()));
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_EXCHANGE) == 0)
      return true;
    if (errno == ENOENT) continue;  // the old image went meanwhile: plain rename again
    if (errno != EINVAL)
      return fail(errno_error(ErrorCode::kIo, "exchange " + from.string() + " and " + to.string()));
    // No RENAME_EXCHANGE on this file system: a moment without the image, never half a one.
    const fs::path aside = to.parent_path() / ("." + to.filename().string() + ".tmp-" +
                                               std::to_string(::getpid()) + "-old");
    if (::rename(to.c_str(), aside.c_str()) != 0 || ::rename(from.c_str(), to.c_str()) != 0)
      return fail(errno_error(ErrorCode::kIo, "rename " + from.string() + " to " + to.string()));
    if (::rename(aside.c_str(), from.c_str()) != 0)
      return fail(errno_error(ErrorCode::kIo, "rename " + aside.string()));
    return true;
  }
  return fail(ErrorCode::kIo, "rename " + from.string() + " to " + to.string() + ": keeps racing");
}

}  // namespace

Result<void> remove_tree(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(dir, ec))) return {};
  const std::string base = fs::weakly_canonical(dir, ec).string();
  for (const auto& m : mount_points()) {
    if (m == base || m.starts_with(base + "/")) {
      return fail(ErrorCode::kIo, "cannot delete " + dir.string() + ": " + m +
                                      " is mounted inside it (umount it first)");
    }
  }
  fs::remove_all(dir, ec);
  if (ec) return fail(ErrorCode::kIo, "delete " + dir.string() + ": " + ec.message());
  return {};
}

Result<std::uint64_t> tree_bytes(const fs::path& dir) {
  std::uint64_t total = 0;
  std::set<std::pair<dev_t, ino_t>> seen;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0)
      return fail(errno_error(ErrorCode::kIo, "lstat " + it->path().string()));
    if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) continue;
    if (st.st_nlink > 1 && !seen.insert({st.st_dev, st.st_ino}).second) continue;
    total += static_cast<std::uint64_t>(st.st_size);
  }
  if (ec) return fail(ErrorCode::kIo, "walk " + dir.string() + ": " + ec.message());
  return total;
}

ImageStore::ImageStore(fs::path root) : root_(std::move(root)) {}

fs::path default_image_dir() {
  const char* dir = std::getenv("KILN_IMAGE_DIR");
  if (dir != nullptr && *dir != '\0') return dir;
  const char* xdg = std::getenv("XDG_DATA_HOME");
  if (xdg != nullptr && *xdg != '\0') return fs::path(xdg) / "kiln" / "images";
  const char* home = std::getenv("HOME");
  return fs::path(home != nullptr && *home != '\0' ? home : "/root") / ".local" / "share" / "kiln" /
         "images";
}

Result<std::string> ImageStore::folder_name(const std::string& name) {
  const std::string bare = bare_name(name);
  std::string folder;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = bare.find('/', start);
    const std::string_view part =
        std::string_view(bare).substr(start, slash == std::string::npos ? slash : slash - start);
    if (!valid_component(part)) {
      return fail(ErrorCode::kInvalidArgument,
                  "invalid image name '" + name +
                      "': use lower-case letters and digits joined by '.', '_', '-' and '/' "
                      "(no registry, no tag but :latest)");
    }
    folder += std::string(part);
    if (slash == std::string::npos) break;
    folder += '_';
    start = slash + 1;
  }
  return folder;
}

Result<std::optional<ImageEntry>> ImageStore::find(const std::string& name) const {
  auto folder = folder_name(name);
  if (!folder) return fail(std::move(folder.error()));
  const fs::path dir = root_ / *folder;
  std::error_code ec;
  if (!fs::exists(dir / kMetadata, ec)) return std::optional<ImageEntry>();
  auto entry = read_entry(dir);
  if (!entry) return fail(std::move(entry.error()));
  if (entry->name != bare_name(name))
    return std::optional<ImageEntry>();  // a name sharing the folder
  return std::optional<ImageEntry>(std::move(*entry));
}

Result<std::vector<ImageEntry>> ImageStore::list() const {
  std::vector<ImageEntry> out;
  std::error_code ec;
  if (!fs::exists(root_, ec)) return out;
  for (fs::directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string leaf = it->path().filename().string();
    if (leaf.starts_with(".") || !it->is_directory(ec)) continue;
    if (!fs::exists(it->path() / kMetadata, ec)) continue;
    if (auto e = read_entry(it->path())) out.push_back(std::move(*e));
  }
  if (ec) return fail(ErrorCode::kIo, "list " + root_.string() + ": " + ec.message());
  std::sort(out.begin(), out.end(),
            [](const ImageEntry& a, const ImageEntry& b) { return a.name < b.name; });
  return out;
}

Result<void> ImageStore::remove(const std::string& name) {
  auto found = find(name);
  if (!found) return fail(std::move(found.error()));
  if (!*found)
    return fail(ErrorCode::kNotFound, "no image named " + name + " in " + root_.string());
  const fs::path aside = root_ / ("." + (*found)->dir.filename().string() + ".tmp-" +
                                  std::to_string(::getpid()) + "-rm");
  if (::rename((*found)->dir.c_str(), aside.c_str()) != 0)
    return fail(errno_error(ErrorCode::kIo, "rename " + (*found)->dir.string()));
  return remove_tree(aside);
}

ImageStore::Staging::Staging(Staging&& other) noexcept
    : name_(std::move(other.name_)),
      dir_(std::move(other.dir_)),
      final_(std::move(other.final_)),
      lock_(std::move(other.lock_)) {
  other.dir_.clear();
}

ImageStore::Staging::~Staging() {
  if (!dir_.empty()) (void)remove_tree(dir_);  // best effort; begin() retries stale ones
}

Result<ImageStore::Staging> ImageStore::begin(const std::string& name) {
  auto folder = folder_name(name);
  if (!folder) return fail(std::move(folder.error()));
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) return fail(ErrorCode::kIo, "create " + root_.string() + ": " + ec.message());

  for (fs::directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
    const pid_t pid = staging_pid(it->path().filename().string());
    if (pid <= 0 || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    auto lock = try_lock_file(it->path() / ".lock");
    if (lock && *lock) (void)remove_tree(it->path());
  }
  const fs::path final_dir = root_ / *folder;
  if (fs::exists(final_dir / kMetadata, ec)) {
    auto old = read_entry(final_dir);
    if (old && old->name != bare_name(name)) {
      return fail(ErrorCode::kAlreadyExists,
                  final_dir.string() + " holds the image " + old->name + ", not " + name);
    }
  }
  std::string tmpl =
      (root_ / ("." + *folder + ".tmp-" + std::to_string(::getpid()) + "-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    return fail(errno_error(ErrorCode::kIo, "mkdtemp " + tmpl));
  ::chmod(tmpl.c_str(), 0755);  // the docker daemon and sandboxed users read the image
  auto lock = try_lock_file(fs::path(tmpl) / ".lock");
  if (!lock || !*lock) {
    (void)remove_tree(tmpl);
    return fail(ErrorCode::kIo, "cannot lock " + tmpl);
  }
  return Staging(bare_name(name), tmpl, final_dir, std::move(*lock));
}

Result<ImageEntry> ImageStore::commit(Staging staging, ImageEntry entry) {
  entry.name = staging.name();
  entry.dir = staging.final_;
  entry.rootfs = entry.dir / "rootfs";
  entry.tar = entry.dir / "image.tar";
  if (auto w = write_file_atomic(staging.dir() / kMetadata, json_text(to_json(entry), 2) + "\n");
      !w) {
    return fail(std::move(w.error()));
  }
  ::unlink((staging.dir() / ".lock").c_str());  // held until the Staging goes; not in images
  // The tree was written without fsync; flush it all before it may look complete.
  UniqueFd fd(::open(staging.dir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::syncfs(fd.get()) != 0)
    return fail(errno_error(ErrorCode::kIo, "syncfs " + staging.dir().string()));
  auto exchanged = move_into_place(staging.dir(), staging.final_);
  if (!exchanged) return fail(std::move(exchanged.error()));
  if (!*exchanged) staging.dir_.clear();  // nothing left behind; else ~Staging deletes the old
  if (auto s = fsync_dir(root_); !s) return fail(std::move(s.error()));
  return entry;
}

}  // namespace kiln::image
