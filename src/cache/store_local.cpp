// local_cache_store: cache objects as files under a root folder (the server's
// DATA/cache/archives, or `kiln run --cache-dir`).
//
// An object "ns/ver/keys/k.tar.zst" is the file <root>/ns/ver/keys/k.tar.zst. put() writes a
// temp file ".~tmp-<random>" in the object's folder, fsyncs it and renames it over the name,
// so a reader sees the old object or the new one; list() never reports temp files. Names are
// checked lexically (no empty, "." or ".." component, no leading '/', no NUL, no temp-file
// name), so no name can reach outside the root. The root belongs to kiln, not to builds, so
// symlinks inside it are not looked for.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <system_error>
#include <vector>

#include "cache/build_cache.h"
#include "cache/internal.h"
#include "util/files.h"
#include "util/string.h"

namespace kiln::cache {

namespace fs = std::filesystem;

namespace {

constexpr char kTempPrefix[] = ".~tmp-";

bool is_temp(std::string_view leaf) {
  return leaf.starts_with(kTempPrefix);
}

}  // namespace

namespace detail {

Result<void> check_object_name(const std::string& name) {
  if (name.empty() || name.front() == '/' || name.find('\0') != std::string::npos) {
    return fail(ErrorCode::kPathEscape, "invalid cache object name \"" + name + "\"");
  }
  for (const std::string_view part : split(name, '/')) {
    if (part.empty() || part == "." || part == ".." || is_temp(part)) {
      return fail(ErrorCode::kPathEscape, "invalid cache object name \"" + name + "\"");
    }
  }
  return {};
}

}  // namespace detail

namespace {

using detail::check_object_name;

double mtime_of(const struct stat& st) {
  return static_cast<double>(st.st_mtim.tv_sec) + static_cast<double>(st.st_mtim.tv_nsec) / 1e9;
}

Result<void> fsync_path(const fs::path& p) {
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return fail(errno_error(ErrorCode::kIo, "open " + p.string()));
  if (::fsync(fd.get()) != 0) return fail(errno_error(ErrorCode::kIo, "fsync " + p.string()));
  return fd.close(p.string());
}

class LocalStore final : public CacheStore {
 public:
  explicit LocalStore(fs::path root) : root_(std::move(root)) {}

  Result<std::optional<CacheObject>> find(const std::string& name) override {
    if (auto ok = check_object_name(name); !ok) return fail(std::move(ok.error()));
    const fs::path p = root_ / name;
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return std::optional<CacheObject>();
      return fail(errno_error(ErrorCode::kIo, "stat " + p.string()));
    }
    if (!S_ISREG(st.st_mode)) return std::optional<CacheObject>();
    return CacheObject{name, static_cast<std::uint64_t>(st.st_size), mtime_of(st)};
  }

  Result<std::vector<CacheObject>> list(const std::string& prefix) override {
    // Walk only the deepest folder the prefix names whole ("ns/ver/keys/npm-" -> ns/ver/keys).
    const std::size_t slash = prefix.rfind('/');
    const std::string dir = slash == std::string::npos ? "" : prefix.substr(0, slash);
    if (!dir.empty()) {
      if (auto ok = check_object_name(dir); !ok) return fail(std::move(ok.error()));
    }
    std::vector<CacheObject> out;
    const fs::path start = dir.empty() ? root_ : root_ / dir;
    std::error_code ec;
    if (!fs::is_directory(start, ec)) return out;
    fs::recursive_directory_iterator it(start, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      const fs::directory_entry& e = *it;
      if (!e.is_regular_file(ec) || ec || is_temp(e.path().filename().string())) continue;
      std::string name = e.path().lexically_relative(root_).generic_string();
      if (name.rfind(prefix, 0) != 0) continue;
      struct stat st {};
      if (::stat(e.path().c_str(), &st) != 0) {
        if (errno == ENOENT) continue;  // removed by a concurrent eviction
        return fail(errno_error(ErrorCode::kIo, "stat " + e.path().string()));
      }
      out.push_back(
          CacheObject{std::move(name), static_cast<std::uint64_t>(st.st_size), mtime_of(st)});
    }
    if (ec) return fail(ErrorCode::kIo, "list " + start.string() + ": " + ec.message());
    std::sort(out.begin(), out.end(),
              [](const CacheObject& a, const CacheObject& b) { return a.name < b.name; });
    return out;
  }

  Result<void> fetch(const std::string& name, const fs::path& dest) override {
    if (auto ok = check_object_name(name); !ok) return fail(std::move(ok.error()));
    const fs::path p = root_ / name;
    std::error_code ec;
    fs::remove(dest, ec);
    // A hard link costs nothing and keeps the object's bytes even if a save replaces it now.
    if (::link(p.c_str(), dest.c_str()) == 0) return {};
    if (errno == ENOENT) return fail(errno_error(ErrorCode::kNotFound, "cache object " + name));
    if (errno != EXDEV && errno != EPERM && errno != EMLINK) {
      return fail(errno_error(ErrorCode::kIo, "link " + p.string() + " to " + dest.string()));
    }
    if (!fs::copy_file(p, dest, fs::copy_options::overwrite_existing, ec)) {
      return fail(ErrorCode::kIo, "copy " + p.string() + ": " + ec.message());
    }
    return {};
  }

  Result<void> put(const std::string& name, const fs::path& file) override {
    if (auto ok = check_object_name(name); !ok) return fail(std::move(ok.error()));
    const fs::path target = root_ / name;
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec)
      return fail(ErrorCode::kIo, "create " + target.parent_path().string() + ": " + ec.message());
    auto suffix = random_suffix();
    if (!suffix) return fail(std::move(suffix.error()));
    const fs::path tmp = target.parent_path() / (kTempPrefix + *suffix);
    // The caller's file is durable first; then a hard link (same file system) or a copy.
    auto synced = fsync_path(file);
    if (!synced) return fail(std::move(synced.error()));
    if (::link(file.c_str(), tmp.c_str()) != 0) {
      if (errno != EXDEV && errno != EPERM && errno != EMLINK) {
        return fail(errno_error(ErrorCode::kIo, "link " + file.string() + " to " + tmp.string()));
      }
      if (!fs::copy_file(file, tmp, ec)) {
        fs::remove(tmp, ec);
        return fail(ErrorCode::kIo, "copy " + file.string() + ": " + ec.message());
      }
      if (auto s = fsync_path(tmp); !s) {
        fs::remove(tmp, ec);
        return fail(std::move(s.error()));
      }
    }
    // A linked file keeps the pack's mtime; the object's mtime must be the time it was stored.
    if (::utimensat(AT_FDCWD, tmp.c_str(), nullptr, AT_SYMLINK_NOFOLLOW) != 0 ||
        ::rename(tmp.c_str(), target.c_str()) != 0) {
      Error err = errno_error(ErrorCode::kIo, "store " + target.string());
      fs::remove(tmp, ec);
      return fail(std::move(err));
    }
    return fsync_directory(target.parent_path());
  }

  Result<void> remove(const std::string& name) override {
    if (auto ok = check_object_name(name); !ok) return fail(std::move(ok.error()));
    const fs::path p = root_ / name;
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) {
      return fail(errno_error(ErrorCode::kIo, "remove " + p.string()));
    }
    return {};
  }

  std::string describe() const override { return root_.string(); }

 private:
  fs::path root_;
};

}  // namespace

std::unique_ptr<CacheStore> local_cache_store(fs::path root) {
  return std::make_unique<LocalStore>(std::move(root));
}

}  // namespace kiln::cache
