// copy_tree (workspace.h): one thread walks the source with directory fds and creates
// directories, symlinks and hard links; a small pool of workers copies file data, which is where
// the time goes. Directory modes and mtimes are applied last, after every file in them exists
// (creating a file changes its folder's mtime, and a read-only folder could not be filled).
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "util/unique_fd.h"
#include "workspace/workspace.h"

namespace kiln::workspace {
namespace {

Error io_error(const std::string& what, const std::string& path) {
  return errno_error(ErrorCode::kIo, what + " " + path);
}

using Fd = kiln::UniqueFd;

// The fds of one source folder and its copy, shared by the batches of its files so workers can
// open files by name (openat) instead of resolving full paths.
struct FolderFds {
  Fd src;
  Fd dst;
  std::string src_path;
  std::string dst_path;
};

struct FileEntry {
  std::string name;
  struct stat st;
};

// Up to kBatchFiles files of one folder. Batching by folder keeps the workers creating files in
// different folders, rather than contending for one folder's lock.
struct Batch {
  std::shared_ptr<const FolderFds> folder;
  std::vector<FileEntry> files;
};

struct DirMeta {
  std::string path;
  struct stat st;
};

// The process umask, read without changing it (umask(2) would race with other threads).
std::optional<mode_t> current_umask() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("Umask:"))
      return static_cast<mode_t>(std::stoul(line.substr(6), nullptr, 8));
  }
  return std::nullopt;
}

// Whether FICLONE works here: unknown until the first file tries it.
enum class Reflink { kUnknown, kWorks, kUnsupported };

bool clone_unsupported(int err) {
  return err == EOPNOTSUPP || err == EXDEV || err == EINVAL || err == ENOTTY || err == ENOSYS;
}

// Copies the data of `in` into `out` from their current offsets with read/write: the fallback
// when the kernel cannot copy between these two files.
Result<void> copy_with_read_write(int in, int out, const std::string& src, const std::string& dst) {
  thread_local std::vector<char> buf(std::size_t{256} * 1024);
  while (true) {
    const ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(io_error("read", src));
    if (n == 0) return {};
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(out, buf.data() + done, static_cast<std::size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return fail(io_error("write", dst));
      done += w;
    }
  }
}

// In-kernel copy until EOF, so a file that grows or shrinks meanwhile is copied as it is.
Result<void> copy_data(int in, int out, off_t size, const std::string& src,
                       const std::string& dst) {
  off_t copied = 0;
  while (true) {
    const ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, 1 << 30, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL) {
        return copy_with_read_write(in, out, src, dst);
      }
      return fail(io_error("copy_file_range", src + " -> " + dst));
    }
    // Some pseudo filesystems report 0 without copying anything; let read() decide.
    if (n == 0)
      return copied == 0 && size > 0 ? copy_with_read_write(in, out, src, dst) : Result<void>{};
    copied += n;
  }
}

class Copier {
 public:
  Copier(CopyMode mode, unsigned threads) : mode_(mode), threads_(threads) {
    if (mode_ == CopyMode::kCopy) reflink_ = Reflink::kUnsupported;
    if (mode_ == CopyMode::kReflink) reflink_ = Reflink::kWorks;
  }

  Result<CopyStats> run(const std::filesystem::path& source, const std::filesystem::path& dest) {
    Fd src(::open(source.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (src.get() < 0) return fail(io_error("open source folder", source.string()));
    struct stat root {};
    if (::fstat(src.get(), &root) != 0) return fail(io_error("stat", source.string()));
    if (::mkdir(dest.c_str(), 0700) != 0) {
      if (errno == EEXIST) {
        return fail(ErrorCode::kInvalidArgument, "destination already exists: " + dest.string());
      }
      return fail(io_error("create", dest.string()));
    }
    Fd dst(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (dst.get() < 0) return fail(io_error("open", dest.string()));
    // When the destination lies inside the source (TMPDIR under the source folder), the walk
    // must not descend into it, or it would copy its own output for ever.
    // Its parent (the build's own folder) is skipped as well: none of it is source.
    if (::fstat(dst.get(), &dest_st_) != 0) return fail(io_error("stat", dest.string()));
    if (::fstatat(dst.get(), "..", &dest_parent_st_, 0) != 0)
      return fail(io_error("stat", dest.string() + "/.."));

    walk(src.get(), dst.get(), source.string(), dest.string());
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    has_work_.notify_all();
    if (workers_.empty()) work();  // a small tree: copied here, as starting threads costs more
    for (auto& t : workers_) t.join();
    dirs_.push_back(DirMeta{dest.string(), root});
    ++stats_.dirs;
    if (error_) return fail(std::move(*error_));

    // Children were pushed before their parents; order does not matter for mtimes, as setting
    // a folder's mtime does not touch its parent.
    for (const DirMeta& d : dirs_) {
      if (auto r = apply_metadata(AT_FDCWD, d.path.c_str(), d.st, d.path); !r)
        return fail(r.error());
    }
    CopyStats out = stats_;
    out.files += files_.load();
    out.bytes += bytes_.load();
    out.reflinked = reflinked_.load();
    return out;
  }

 private:
  struct stat dest_st_ {};
  struct stat dest_parent_st_ {};

  bool failed() {
    std::lock_guard lock(mu_);
    return error_.has_value();
  }
  void record(Error e) {
    std::lock_guard lock(mu_);
    if (!error_) error_ = std::move(e);
  }

  // Owner (when root, as cp -a does), then mode (chown clears setuid bits), then times.
  // For symlinks only owner and times apply.
  Result<void> apply_metadata(int dirfd, const char* name, const struct stat& st,
                              const std::string& path) {
    const bool link = S_ISLNK(st.st_mode);
    const int nofollow = link ? AT_SYMLINK_NOFOLLOW : 0;
    if (as_root_ && ::fchownat(dirfd, name, st.st_uid, st.st_gid, nofollow) != 0) {
      return fail(io_error("chown", path));
    }
    if (!link && ::fchmodat(dirfd, name, st.st_mode & 07777, 0) != 0) {
      return fail(io_error("chmod", path));
    }
    const timespec times[2] = {st.st_atim, st.st_mtim};
    if (::utimensat(dirfd, name, times, nofollow) != 0) return fail(io_error("set times of", path));
    return {};
  }

  void walk(int sfd, int dfd, const std::string& spath, const std::string& dpath) {
    // Read the whole listing first so only the two folder fds stay open while recursing.
    std::vector<std::string> names;
    {
      const int list_fd = ::dup(sfd);
      DIR* dir = list_fd < 0 ? nullptr : ::fdopendir(list_fd);
      if (dir == nullptr) {
        record(io_error("list", spath));
        if (list_fd >= 0) ::close(list_fd);
        return;
      }
      errno = 0;
      while (const dirent* e = ::readdir(dir)) {
        const std::string_view n = e->d_name;
        if (n != "." && n != "..") names.emplace_back(n);
      }
      const int list_errno = errno;
      ::closedir(dir);
      if (list_errno != 0) {
        errno = list_errno;
        return record(io_error("list", spath));
      }
    }
    std::shared_ptr<FolderFds> folder;  // made at the first regular file
    Batch batch;
    for (const std::string& name : names) {
      if (failed()) return;
      const std::string s = spath + "/" + name;
      const std::string d = dpath + "/" + name;
      struct stat st {};
      if (::fstatat(sfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        return record(io_error("stat", s));
      if (S_ISDIR(st.st_mode)) {
        if ((st.st_dev == dest_st_.st_dev && st.st_ino == dest_st_.st_ino) ||
            (st.st_dev == dest_parent_st_.st_dev && st.st_ino == dest_parent_st_.st_ino))
          continue;
        if (::mkdirat(dfd, name.c_str(), 0700) != 0) return record(io_error("create", d));
        Fd sub_s(::openat(sfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (sub_s.get() < 0) return record(io_error("open", s));
        Fd sub_d(::openat(dfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (sub_d.get() < 0) return record(io_error("open", d));
        walk(sub_s.get(), sub_d.get(), s, d);
        dirs_.push_back(DirMeta{d, st});
        ++stats_.dirs;
      } else if (S_ISLNK(st.st_mode)) {
        std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
        ssize_t n;
        while ((n = ::readlinkat(sfd, name.c_str(), target.data(), target.size())) ==
               static_cast<ssize_t>(target.size())) {
          target.resize(target.size() * 2);  // the link changed since fstatat
        }
        if (n < 0) return record(io_error("read link", s));
        target.resize(static_cast<std::size_t>(n));
        if (::symlinkat(target.c_str(), dfd, name.c_str()) != 0)
          return record(io_error("create link", d));
        if (auto r = apply_metadata(dfd, name.c_str(), st, d); !r) return record(r.error());
        ++stats_.symlinks;
      } else if (S_ISREG(st.st_mode)) {
        if (mode_ == CopyMode::kHardlink) {
          if (::linkat(sfd, name.c_str(), dfd, name.c_str(), 0) != 0)
            return record(io_error("link", d));
          ++stats_.hardlinked;
          files_.fetch_add(1);
          bytes_.fetch_add(static_cast<std::uint64_t>(st.st_size));
        } else {
          if (!folder) {
            folder = std::make_shared<FolderFds>(FolderFds{Fd(::fcntl(sfd, F_DUPFD_CLOEXEC, 0)),
                                                           Fd(::fcntl(dfd, F_DUPFD_CLOEXEC, 0)),
                                                           spath, dpath});
            if (folder->src.get() < 0 || folder->dst.get() < 0)
              return record(io_error("dup fd of", spath));
            batch.folder = folder;
          }
          batch.files.push_back(FileEntry{name, st});
          if (batch.files.size() >= kBatchFiles) {
            push(std::move(batch));
            batch = Batch{folder, {}};
          }
        }
      } else {
        ++stats_.skipped;  // socket, fifo or device: not part of a source tree
      }
    }
    if (!batch.files.empty()) push(std::move(batch));
  }

  void push(Batch batch) {
    // The workers start with the second batch: a tree of one batch is copied by the walker.
    if (workers_.empty() && ++batches_ > 1) {
      for (unsigned i = 0; i < threads_; ++i) workers_.emplace_back([this] { work(); });
    }
    std::unique_lock lock(mu_);
    has_room_.wait(lock, [&] { return queue_.size() < kQueueLimit || error_; });
    queue_.push_back(std::move(batch));
    lock.unlock();
    has_work_.notify_one();
  }

  void work() {
    while (true) {
      std::unique_lock lock(mu_);
      has_work_.wait(lock, [&] { return !queue_.empty() || closed_; });
      if (queue_.empty()) return;
      Batch batch = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      has_room_.notify_one();
      for (const FileEntry& file : batch.files) {
        if (failed()) break;  // drain the queue after an error
        if (auto r = copy_file(*batch.folder, file); !r) {
          record(std::move(r.error()));
          has_room_.notify_all();
        }
      }
    }
  }

  Result<void> copy_file(const FolderFds& folder, const FileEntry& file) {
    const std::string src = folder.src_path + "/" + file.name;
    const std::string dst = folder.dst_path + "/" + file.name;
    const struct stat& st = file.st;
    const mode_t mode = st.st_mode & 07777;
    Fd in(::openat(folder.src.get(), file.name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (in.get() < 0) return fail(io_error("open", src));
    // Created with its final permission bits (writing goes through this fd, so even 0444 is
    // fine); fchmod below only when the umask or special bits got in the way.
    Fd out(::openat(folder.dst.get(), file.name.c_str(),
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0777));
    if (out.get() < 0) return fail(io_error("create", dst));

    bool cloned = false;
    if (st.st_size > 0 && reflink_.load() != Reflink::kUnsupported) {
      if (::ioctl(out.get(), FICLONE, in.get()) == 0) {
        cloned = true;
        reflink_.store(Reflink::kWorks);
      } else if (mode_ == CopyMode::kReflink) {
        return fail(io_error("reflink (FICLONE)", src + " -> " + dst));
      } else if (clone_unsupported(errno)) {
        // Not on this filesystem: stop trying for the rest of the tree.
        Reflink expected = Reflink::kUnknown;
        reflink_.compare_exchange_strong(expected, Reflink::kUnsupported);
      }  // else a problem with this file only (e.g. it is busy): copy it instead
    }
    if (!cloned) {
      if (auto r = copy_data(in.get(), out.get(), st.st_size, src, dst); !r) return r;
    }
    const int fd = out.get();
    // New files belong to (euid, egid): the copy's folders have no setgid bit until the end.
    const bool chown_needed = as_root_ && (st.st_uid != euid_ || st.st_gid != egid_);
    if (chown_needed && ::fchown(fd, st.st_uid, st.st_gid) != 0)
      return fail(io_error("chown", dst));
    if ((chown_needed || !umask_ || mode != ((mode & 0777) & ~*umask_)) &&
        ::fchmod(fd, mode) != 0) {
      return fail(io_error("chmod", dst));
    }
    const timespec times[2] = {st.st_atim, st.st_mtim};
    if (::futimens(fd, times) != 0) return fail(io_error("set times of", dst));
    if (::close(out.release()) != 0) return fail(io_error("close", dst));
    files_.fetch_add(1);
    bytes_.fetch_add(static_cast<std::uint64_t>(st.st_size));
    if (cloned) reflinked_.fetch_add(1);
    return {};
  }

  static constexpr std::size_t kBatchFiles = 32;
  static constexpr std::size_t kQueueLimit = 64;  // batches; bounds the folder fds held open
  const CopyMode mode_;
  const unsigned threads_;
  const uid_t euid_ = ::geteuid();
  const gid_t egid_ = ::getegid();
  const bool as_root_ = euid_ == 0;
  const std::optional<mode_t> umask_ = current_umask();
  std::atomic<Reflink> reflink_{Reflink::kUnknown};

  std::mutex mu_;
  std::condition_variable has_work_;
  std::condition_variable has_room_;
  std::deque<Batch> queue_;
  std::vector<std::thread> workers_;  // walker thread only
  std::size_t batches_ = 0;           // walker thread only
  bool closed_ = false;
  std::optional<Error> error_;

  CopyStats stats_;  // walker thread only
  std::vector<DirMeta> dirs_;
  std::atomic<std::uint64_t> files_{0};
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<std::uint64_t> reflinked_{0};
};

}  // namespace

Result<CopyStats> copy_tree(const std::filesystem::path& source, const std::filesystem::path& dest,
                            CopyMode mode, unsigned threads) {
  if (threads == 0) threads = std::max(2u, std::thread::hardware_concurrency());
  Copier copier(mode, threads);
  auto stats = copier.run(source, dest);
  if (!stats)
    return fail(std::move(stats.error()).with("copy " + source.string() + " to " + dest.string()));
  return stats;
}

}  // namespace kiln::workspace
