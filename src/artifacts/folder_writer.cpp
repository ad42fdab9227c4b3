// write_folder (zip_writer.h): Packaging::kNone output.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <set>
#include <vector>

#include "artifacts/zip_writer.h"
#include "util/files.h"

namespace kiln::artifacts {

namespace {

// Copies all of `in` to `out`, in the kernel where it can.
Result<std::uint64_t> copy_contents(int in, int out, const std::string& shown) {
  std::uint64_t total = 0;
  bool kernel_copy = true;
  std::vector<char> buf;
  for (;;) {
    ssize_t n;
    if (kernel_copy) {
      n = ::copy_file_range(in, nullptr, out, nullptr, 1 << 30, 0);
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP ||
                    errno == EPERM)) {
        kernel_copy = false;  // e.g. cross-filesystem on old kernels, or a seccomp filter
        continue;
      }
    } else {
      if (buf.empty()) buf.resize(1 << 20);
      n = ::read(in, buf.data(), buf.size());
      for (ssize_t off = 0; n > 0 && off < n;) {
        ssize_t w = ::write(out, buf.data() + off, static_cast<std::size_t>(n - off));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return fail(errno_error(ErrorCode::kIo, "write copy of " + shown));
        off += w;
      }
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errno_error(ErrorCode::kIo, "copy " + shown));
    if (n == 0) return total;
    total += static_cast<std::uint64_t>(n);
  }
}

class FolderWriter {
 public:
  FolderWriter(const FileList& files, int out_fd) : files_(files), out_fd_(out_fd) {}

  Result<void> add(const Entry& e) {
    auto root = roots_.get(files_, e);
    if (!root) return fail(std::move(root.error()));
    root_fd_ = *root;
    if (auto r = make_parents(e.archive_path); !r) return r;
    return e.is_symlink ? add_symlink(e) : add_file(e);
  }
  std::uint64_t bytes() const { return bytes_; }

 private:
  Result<void> make_parents(const std::string& path) {
    for (std::size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      std::string dir = path.substr(0, slash);
      if (made_.count(dir)) continue;
      if (::mkdirat(out_fd_, dir.c_str(), 0777) != 0 && errno != EEXIST) {
        return fail(errno_error(ErrorCode::kIo, "mkdir " + dir));
      }
      made_.insert(std::move(dir));
    }
    return {};
  }

  Result<void> add_file(const Entry& e) {
    auto in = open_beneath(root_fd_, e.source_rel, O_RDONLY);
    if (!in) return fail(std::move(in.error()));
    struct stat st;
    if (::fstat(in->get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return fail(ErrorCode::kIo, "not a regular file any more: " + e.source.string());
    }
    // The temp tree is ours alone, so a path relative to it is safe; O_EXCL|O_NOFOLLOW still
    // refuse anything unexpected.
    int fd = ::openat(out_fd_, e.archive_path.c_str(),
                      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return fail(errno_error(ErrorCode::kIo, "create " + e.archive_path));
    UniqueFd out(fd);
    auto n = copy_contents(in->get(), out.get(), e.source.string());
    if (!n) return fail(std::move(n.error()));
    bytes_ += *n;
    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::fchmod(out.get(), st.st_mode & 0777) != 0 || ::futimens(out.get(), times) != 0) {
      return fail(errno_error(ErrorCode::kIo, "set mode and mtime of " + e.archive_path));
    }
    return out.close(e.archive_path);
  }

  Result<void> add_symlink(const Entry& e) {
    auto st = lstat_at(root_fd_, e.source_rel.c_str(), e.source.string());
    if (!st) return fail(std::move(st.error()));
    if (::symlinkat(e.link_target.c_str(), out_fd_, e.archive_path.c_str()) != 0) {
      return fail(errno_error(ErrorCode::kIo, "symlink " + e.archive_path));
    }
    const struct timespec times[2] = {st->st_atim, st->st_mtim};
    if (::utimensat(out_fd_, e.archive_path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      return fail(errno_error(ErrorCode::kIo, "set mtime of " + e.archive_path));
    }
    return {};
  }

  const FileList& files_;
  RootFds roots_;
  int root_fd_ = -1;  // of the entry being added
  int out_fd_;
  std::set<std::string> made_;
  std::uint64_t bytes_ = 0;
};

// Removes a temp tree on scope exit unless released.
struct TempDirGuard {
  std::filesystem::path path;
  ~TempDirGuard() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);  // best effort on failure paths
  }
};

}  // namespace

Result<WriteResult> write_folder(const FileList& files, const std::filesystem::path& dest) {
  auto suffix = random_suffix();
  if (!suffix) return fail(std::move(suffix.error()));
  const std::filesystem::path parent = dest.parent_path();
  TempDirGuard temp{parent / ("." + dest.filename().string() + ".tmp-" + *suffix)};
  if (::mkdir(temp.path.c_str(), 0777) != 0) {
    Error err = errno_error(ErrorCode::kIo, "mkdir " + temp.path.string());
    temp.path.clear();
    return fail(std::move(err));
  }
  auto out_fd = open_directory(temp.path);
  if (!out_fd) return fail(std::move(out_fd.error()));

  FolderWriter writer(files, out_fd->get());
  for (const Entry& e : files.entries) {
    if (auto r = writer.add(e); !r)
      return fail(std::move(r.error()).with("while writing " + dest.string()));
  }
  // One syncfs instead of an fsync per file: the whole tree must be durable before it appears.
  if (::syncfs(out_fd->get()) != 0)
    return fail(errno_error(ErrorCode::kIo, "syncfs " + temp.path.string()));

  if (::renameat2(AT_FDCWD, temp.path.c_str(), AT_FDCWD, dest.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno != EEXIST) {
      return fail(
          errno_error(ErrorCode::kIo, "rename " + temp.path.string() + " to " + dest.string()));
    }
    // Swap atomically with the previous output, then delete it from its new (temp) name: readers
    // see either the old folder or the new one, never a mix.
    if (::renameat2(AT_FDCWD, temp.path.c_str(), AT_FDCWD, dest.c_str(), RENAME_EXCHANGE) != 0) {
      return fail(errno_error(ErrorCode::kIo, "replace " + dest.string()));
    }
  } else {
    temp.path.clear();
  }
  if (auto r = fsync_directory(parent); !r) return fail(std::move(r.error()));

  WriteResult result;
  result.location = dest;
  result.file_count = files.entries.size();
  result.bytes = writer.bytes();
  return result;  // `temp` now names the old output (if any), which the guard deletes
}

}  // namespace kiln::artifacts
