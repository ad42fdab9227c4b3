// unpack_into: a cache archive into a workspace that already holds the source (build_cache.h).
//
// Two steps, so a corrupt or hostile archive never touches the workspace: extract_archive into
// a fresh folder under `scratch` (same file system), then move entries over with renameat.
// The move walks both trees by fd with O_NOFOLLOW: a folder present on both sides is merged, a
// name missing from the workspace is renamed in whole (usually node_modules in one rename), and
// anything else is swapped with RENAME_EXCHANGE, so the cached entry replaces what the source
// had atomically and the old one lands in scratch, which is removed at the end.
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>  // renameat2 (glibc >= 2.28)
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "cache/build_cache.h"
#include "cache/internal.h"
#include "source/archive_extract.h"
#include "util/files.h"

namespace kiln::cache {

namespace fs = std::filesystem;

namespace {

struct DirClose {
  void operator()(DIR* d) const { ::closedir(d); }
};

Result<std::vector<std::string>> names_in(int dir_fd, const std::string& shown) {
  const int dup = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return fail(errno_error(ErrorCode::kIo, "dup"));
  std::unique_ptr<DIR, DirClose> dir(::fdopendir(dup));
  if (!dir) {
    ::close(dup);
    return fail(errno_error(ErrorCode::kIo, "read folder " + shown));
  }
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* d = ::readdir(dir.get())) {
    const std::string_view n = d->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  if (errno != 0) return fail(errno_error(ErrorCode::kIo, "read folder " + shown));
  return names;
}

// Moves every entry of `from` into `to` (see the file comment); `to_path` is `to`'s path and
// `rel` its name in messages.
Result<void> merge(int from, int to, const fs::path& to_path, const std::string& rel) {
  auto names = names_in(from, rel.empty() ? "." : rel);
  if (!names) return fail(std::move(names.error()));
  for (const std::string& name : *names) {
    const std::string child = rel.empty() ? name : rel + "/" + name;
    struct stat dst {};
    if (::fstatat(to, name.c_str(), &dst, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT) return fail(errno_error(ErrorCode::kIo, "stat " + child));
      if (::renameat(from, name.c_str(), to, name.c_str()) != 0) {
        return fail(errno_error(ErrorCode::kIo, "move " + child + " into the workspace"));
      }
      continue;
    }
    struct stat src {};
    if (::fstatat(from, name.c_str(), &src, AT_SYMLINK_NOFOLLOW) != 0) {
      return fail(errno_error(ErrorCode::kIo, "stat cached " + child));
    }
    if (S_ISDIR(src.st_mode) && S_ISDIR(dst.st_mode)) {
      UniqueFd sub_from(
          ::openat(from, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd sub_to(::openat(to, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub_from || !sub_to) return fail(errno_error(ErrorCode::kIo, "open folder " + child));
      auto r = merge(sub_from.get(), sub_to.get(), to_path / name, child);
      if (!r) return r;
      continue;
    }
    // Cached items override source items (CodeBuild's user guide,
    // docs/reference/codebuild-semantics.md §6.1).
    if (::renameat2(from, name.c_str(), to, name.c_str(), RENAME_EXCHANGE) != 0) {
      if (errno != EINVAL && errno != ENOSYS) {
        return fail(errno_error(ErrorCode::kIo, "replace " + child + " in the workspace"));
      }
      // A file system without RENAME_EXCHANGE: remove the old entry, then rename. Every
      // folder above it was opened with O_NOFOLLOW, and remove_all does not follow links.
      std::error_code ec;
      fs::remove_all(to_path / name, ec);
      if (ec) return fail(ErrorCode::kIo, "remove " + child + ": " + ec.message());
      if (::renameat(from, name.c_str(), to, name.c_str()) != 0) {
        return fail(errno_error(ErrorCode::kIo, "move " + child + " into the workspace"));
      }
    }
  }
  return {};
}

}  // namespace

Result<PackStats> unpack_into(const fs::path& archive, const fs::path& workspace,
                              const fs::path& scratch,
                              const std::function<Result<void>(const fs::path&)>& absolute) {
  auto suffix = random_suffix();
  if (!suffix) return fail(std::move(suffix.error()));
  const fs::path staging = scratch / ("unpack-" + *suffix);
  if (::mkdir(staging.c_str(), 0700) != 0) {
    return fail(errno_error(ErrorCode::kIo, "create " + staging.string()));
  }
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{staging};

  auto extracted = source::extract_archive(archive, staging, detail::extract_limits());
  if (!extracted) return fail(std::move(extracted.error()).with("while extracting the cache"));
  // The copies of absolute paths are set aside (into scratch, never the workspace) first.
  const fs::path absolute_dir = scratch / ("absolute-" + *suffix);
  struct CleanupAbsolute {
    fs::path dir;
    ~CleanupAbsolute() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup_absolute{absolute_dir};
  struct stat abs_st {};
  const bool has_absolute =
      ::fstatat(AT_FDCWD, (staging / kAbsoluteFolder).c_str(), &abs_st, AT_SYMLINK_NOFOLLOW) == 0;
  if (has_absolute && ::renameat(AT_FDCWD, (staging / kAbsoluteFolder).c_str(), AT_FDCWD,
                                 absolute_dir.c_str()) != 0)
    return fail(errno_error(ErrorCode::kIo, "set aside the cached absolute paths"));
  auto from = open_directory(staging);
  if (!from) return fail(std::move(from.error()));
  auto to = open_directory(workspace);
  if (!to) return fail(std::move(to.error()));
  auto merged = merge(from->get(), to->get(), workspace, "");
  if (!merged) return fail(std::move(merged.error()).with("while restoring the cache"));
  if (has_absolute && S_ISDIR(abs_st.st_mode) && absolute) {
    auto r = absolute(absolute_dir);
    if (!r) return fail(std::move(r.error()).with("while restoring absolute cache paths"));
  }

  PackStats stats;
  stats.files = extracted->files + extracted->symlinks;
  std::error_code ec;
  stats.bytes_in = fs::file_size(archive, ec);
  stats.bytes_out = extracted->bytes;
  return stats;
}

}  // namespace kiln::cache
