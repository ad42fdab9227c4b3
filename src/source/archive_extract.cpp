#include "source/archive_extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/string.h"
#include "util/unique_fd.h"

namespace kiln::source {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kBlock = std::size_t{64} << 10;

using Fd = kiln::UniqueFd;

struct ReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};

// Names come from an attacker: control characters are escaped so a message cannot forge lines.
std::string shown(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) {
    return std::numeric_limits<std::uint64_t>::max();
  }
  return a * b;
}

class Extractor {
 public:
  Extractor(std::string archive_name, Fd dest, std::uint64_t byte_limit, std::string limit_name,
            std::uint64_t max_entries)
      : archive_name_(std::move(archive_name)),
        dest_(std::move(dest)),
        byte_limit_(byte_limit),
        limit_name_(std::move(limit_name)),
        max_entries_(max_entries) {}

  Result<ExtractStats> run(archive* a);

 private:
  Error entry_error(ErrorCode code, const std::string& reason) const {
    return Error(code, archive_name_ + ": entry " + shown(name_) + ": " + reason);
  }
  Error entry_errno(const std::string& what) const {
    return errno_error(ErrorCode::kIo, archive_name_ + ": entry " + shown(name_) + ": " + what);
  }
  // libarchive reports a malformed archive with EILSEQ, EINVAL or -1 (platform-dependent), so
  // only the errnos of a failed read of the file itself count as I/O errors.
  Error archive_error(archive* a, const std::string& where) const {
    const int err = archive_errno(a);
    const bool io = err == EIO || err == ENOMEM;
    const char* msg = archive_error_string(a);
    return Error(io ? ErrorCode::kIo : ErrorCode::kInvalidArgument,
                 archive_name_ + ": " + where + (msg ? msg : "unreadable archive"));
  }

  Result<std::vector<std::string>> normalise() const;
  Result<Fd> enter_dir(int parent, const std::string& name, const std::string& walked);
  Result<Fd> open_parent(const std::vector<std::string>& parts);
  Result<void> write_file(archive* a, archive_entry* e, int parent, const std::string& leaf);
  Result<void> make_symlink(archive_entry* e, int parent, const std::vector<std::string>& parts);

  std::string archive_name_;
  Fd dest_;
  std::uint64_t byte_limit_;
  std::string limit_name_;
  std::uint64_t max_entries_;
  std::string name_;  // the current entry, as the archive spells it
  ExtractStats stats_;
  std::vector<char> buffer_ = std::vector<char>(kBlock);
  std::vector<std::string> last_parts_;  // the folder open_parent() opened last
  Fd last_dir_{-1};
};

// Lexical normalisation is sound here only because no entry is ever written through a symlink,
// so "a/.." on disk is the folder the lexical result names.
Result<std::vector<std::string>> Extractor::normalise() const {
  if (name_.empty()) return fail(entry_error(ErrorCode::kInvalidArgument, "empty name"));
  if (name_.front() == '/') {
    return fail(entry_error(ErrorCode::kPathEscape, "absolute paths are refused"));
  }
  std::vector<std::string> parts;
  for (const std::string_view c : split(name_, '/', SplitMode::kSkipEmpty)) {
    if (c == ".") continue;
    if (c != "..") {
      parts.emplace_back(c);
    } else if (parts.empty()) {
      return fail(entry_error(ErrorCode::kPathEscape, "leaves the destination folder"));
    } else {
      parts.pop_back();
    }
  }
  return parts;
}

Result<Fd> Extractor::enter_dir(int parent, const std::string& name, const std::string& walked) {
  const bool created = ::mkdirat(parent, name.c_str(), 0755) == 0;
  if (!created && errno != EEXIST) return fail(entry_errno("mkdir " + shown(walked)));
  Fd dir(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) {
    const int err = errno;
    struct stat st {};
    if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
      return fail(entry_error(ErrorCode::kPathEscape,
                              "would be written through the symlink " + shown(walked)));
    }
    if (err == ENOTDIR) {
      return fail(entry_error(ErrorCode::kInvalidArgument, shown(walked) + " is not a folder"));
    }
    errno = err;
    return fail(entry_errno("open " + shown(walked)));
  }
  if (created) {
    ++stats_.dirs;
    // mkdirat's mode is filtered by the umask; the rule is 0755 whatever the umask.
    if (::fchmod(dir.get(), 0755) != 0) return fail(entry_errno("chmod " + shown(walked)));
  }
  return dir;
}

Result<Fd> Extractor::open_parent(const std::vector<std::string>& parts) {
  // Archives list a folder's files together: the previous entry's folder, already walked with
  // O_NOFOLLOW, is reused (a later entry cannot turn a folder into a symlink: that create fails
  // with EEXIST). It saves a mkdirat and an openat per path component per file.
  const std::size_t depth = parts.empty() ? 0 : parts.size() - 1;
  if (last_dir_ && last_parts_.size() == depth &&
      std::equal(last_parts_.begin(), last_parts_.end(), parts.begin())) {
    Fd again(::fcntl(last_dir_.get(), F_DUPFD_CLOEXEC, 0));
    if (!again) return fail(entry_errno("dup"));
    return again;
  }
  Fd dir(::fcntl(dest_.get(), F_DUPFD_CLOEXEC, 0));
  if (!dir) return fail(entry_errno("dup"));
  std::string walked;
  for (std::size_t i = 0; i < depth; ++i) {
    walked += (walked.empty() ? "" : "/") + parts[i];
    auto next = enter_dir(dir.get(), parts[i], walked);
    if (!next) return fail(std::move(next.error()));
    dir = std::move(*next);
  }
  last_parts_.assign(parts.begin(), parts.begin() + static_cast<std::ptrdiff_t>(depth));
  last_dir_ = Fd(::fcntl(dir.get(), F_DUPFD_CLOEXEC, 0));
  return dir;
}

Result<void> Extractor::write_file(archive* a, archive_entry* e, int parent,
                                   const std::string& leaf) {
  Fd out(
      ::openat(parent, leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out && errno == EEXIST) {
    return fail(entry_error(ErrorCode::kInvalidArgument, "appears twice in the archive"));
  }
  if (!out) return fail(entry_errno("create"));
  for (;;) {
    const la_ssize_t n = archive_read_data(a, buffer_.data(), buffer_.size());
    if (n < 0) return fail(archive_error(a, "entry " + shown(name_) + ": "));
    if (n == 0) break;
    const auto len = static_cast<std::uint64_t>(n);
    if (len > byte_limit_ - stats_.bytes) {
      return fail(
          entry_error(ErrorCode::kInvalidArgument, "the archive expands past " + limit_name_));
    }
    for (std::uint64_t done = 0; done < len;) {
      const ssize_t w = ::write(out.get(), buffer_.data() + done, len - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return fail(entry_errno("write"));
      done += static_cast<std::uint64_t>(w);
    }
    stats_.bytes += len;
  }
  // Only the executable bit survives: setuid, setgid, sticky and odd permissions are dropped.
  const mode_t mode = (archive_entry_perm(e) & 0111) != 0 ? 0755 : 0644;
  if (::fchmod(out.get(), mode) != 0) return fail(entry_errno("chmod"));
  if (archive_entry_mtime_is_set(e) != 0) {
    const struct timespec times[2] = {{0, UTIME_OMIT},
                                      {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
    if (::futimens(out.get(), times) != 0) return fail(entry_errno("set mtime"));
  }
  // Reported separately: on some file systems close() is where a failed write surfaces.
  if (::close(out.release()) != 0) return fail(entry_errno("close"));
  ++stats_.files;
  return {};
}

// A target may only climb with leading ".." (through real folders, which extraction created) and
// then descend. A ".." after a name is refused: that name may be a symlink, and the kernel would
// climb from where it points, which a lexical check cannot see (l -> "." then m -> "l/..").
Result<void> Extractor::make_symlink(archive_entry* e, int parent,
                                     const std::vector<std::string>& parts) {
  const char* raw = archive_entry_symlink(e);
  const std::string target = raw ? raw : "";
  if (target.empty()) {
    return fail(entry_error(ErrorCode::kInvalidArgument, "symlink with an empty target"));
  }
  if (target.front() == '/') {
    return fail(entry_error(ErrorCode::kPathEscape,
                            "symlink to the absolute path " + shown(target) + " is refused"));
  }
  std::size_t up = 0;
  bool descended = false;
  for (const std::string_view c : split(target, '/', SplitMode::kSkipEmpty)) {
    if (c == ".") continue;
    if (c != "..") {
      descended = true;
    } else if (descended) {
      return fail(entry_error(ErrorCode::kPathEscape, "symlink target " + shown(target) +
                                                          " has \"..\" after a name; refused"));
    } else {
      ++up;
    }
  }
  if (up >= parts.size()) {
    return fail(entry_error(ErrorCode::kPathEscape,
                            "symlink to " + shown(target) + " leaves the destination folder"));
  }
  if (::symlinkat(target.c_str(), parent, parts.back().c_str()) != 0) {
    if (errno == EEXIST) {
      return fail(entry_error(ErrorCode::kInvalidArgument, "appears twice in the archive"));
    }
    return fail(entry_errno("symlink"));
  }
  ++stats_.symlinks;
  return {};
}

Result<ExtractStats> Extractor::run(archive* a) {
  std::uint64_t entries = 0;
  for (;;) {
    archive_entry* e = nullptr;
    const int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      return fail(archive_error(a, name_.empty() ? "" : "after entry " + shown(name_) + ": "));
    }
    if (++entries > max_entries_) {
      return fail(Error(ErrorCode::kInvalidArgument, archive_name_ + ": more than max_entries (" +
                                                         std::to_string(max_entries_) +
                                                         ") entries"));
    }
    const char* name = archive_entry_pathname(e);
    if (name == nullptr) name = archive_entry_pathname_utf8(e);
    name_ = name ? name : "";
    auto parts = normalise();
    if (!parts) return fail(std::move(parts.error()));
    const auto type = archive_entry_filetype(e);
    if (archive_entry_hardlink(e) != nullptr) {
      return fail(entry_error(ErrorCode::kInvalidArgument, "hard links are refused"));
    }
    if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) {
      const char* what = type == AE_IFIFO                       ? "a fifo"
                         : type == AE_IFSOCK                    ? "a socket"
                         : type == AE_IFCHR || type == AE_IFBLK ? "a device"
                                                                : "of an unknown type";
      return fail(entry_error(ErrorCode::kInvalidArgument, std::string("is ") + what +
                                                               "; only files, folders and symlinks "
                                                               "are extracted"));
    }
    if (parts->empty()) {
      if (type == AE_IFDIR) continue;  // "." or "./": dest itself
      return fail(entry_error(ErrorCode::kInvalidArgument, "names the destination folder"));
    }
    auto parent = open_parent(*parts);
    if (!parent) return fail(std::move(parent.error()));
    Result<void> done;
    if (type == AE_IFDIR) {
      std::string joined;
      for (const std::string& p : *parts) joined += (joined.empty() ? "" : "/") + p;
      auto dir = enter_dir(parent->get(), parts->back(), joined);
      if (!dir) done = fail(std::move(dir.error()));
    } else if (type == AE_IFLNK) {
      done = make_symlink(e, parent->get(), *parts);
    } else {
      done = write_file(a, e, parent->get(), parts->back());
    }
    if (!done) return fail(std::move(done.error()));
  }
  return stats_;
}

}  // namespace

Result<ExtractStats> extract_archive(const fs::path& archive_path, const fs::path& dest,
                                     const ExtractLimits& limits) {
  const std::string name = archive_path.string();
  Fd in(::open(archive_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) {
    return fail(errno_error(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                            "open archive " + name));
  }
  struct stat st {};
  if (::fstat(in.get(), &st) != 0) return fail(errno_error(ErrorCode::kIo, "stat " + name));
  if (!S_ISREG(st.st_mode)) return fail(ErrorCode::kInvalidArgument, name + ": not a file");

  Fd dest_fd(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dest_fd) {
    return fail(errno_error(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                            "open destination " + dest.string()));
  }
  std::error_code ec;
  if (!fs::is_empty(dest, ec) || ec) {
    return fail(ErrorCode::kInvalidArgument, "destination " + dest.string() +
                                                 " is not an empty folder" +
                                                 (ec ? ": " + ec.message() : ""));
  }

  // Only the formats and codecs that kiln links statically (CMakeLists.txt): support_*_all would
  // pull in xar and its libxml2.
  std::unique_ptr<archive, ReadFree> a(archive_read_new());
  if (!a) return fail(ErrorCode::kInternal, "libarchive: out of memory");
  if (archive_read_support_format_zip(a.get()) != ARCHIVE_OK ||
      archive_read_support_format_tar(a.get()) != ARCHIVE_OK ||
      archive_read_support_filter_gzip(a.get()) < ARCHIVE_WARN ||
      archive_read_support_filter_bzip2(a.get()) < ARCHIVE_WARN ||
      archive_read_support_filter_xz(a.get()) < ARCHIVE_WARN ||
      archive_read_support_filter_zstd(a.get()) < ARCHIVE_WARN) {
    const char* msg = archive_error_string(a.get());
    return fail(ErrorCode::kInternal, std::string("libarchive: ") + (msg ? msg : "setup failed"));
  }
  if (archive_read_open_fd(a.get(), in.get(), kBlock) != ARCHIVE_OK) {
    const char* msg = archive_error_string(a.get());
    return fail(ErrorCode::kInvalidArgument, name + ": " + (msg ? msg : "unreadable archive"));
  }

  const auto size = static_cast<std::uint64_t>(st.st_size);
  const std::uint64_t by_ratio = saturating_mul(limits.max_ratio, size);
  // Below the floor the ratio says nothing useful: tiny archives of compressible files are
  // legitimate, and the bytes they can produce are bounded by the floor.
  const bool floor_binds = by_ratio < limits.ratio_floor_bytes;
  const std::uint64_t ratio_limit = floor_binds ? limits.ratio_floor_bytes : by_ratio;
  const bool ratio_binds = ratio_limit < limits.max_total_bytes;
  const std::uint64_t limit = ratio_binds ? ratio_limit : limits.max_total_bytes;
  std::string limit_name =
      !ratio_binds ? "max_total_bytes (" + std::to_string(limit) + " bytes)"
      : floor_binds
          ? "max_ratio (" + std::to_string(limits.max_ratio) + " x the archive's " +
                std::to_string(size) +
                " bytes, enforced past ratio_floor_bytes = " + std::to_string(limit) + " bytes)"
          : "max_ratio (" + std::to_string(limits.max_ratio) + " x the archive's " +
                std::to_string(size) + " bytes = " + std::to_string(limit) + " bytes)";
  Extractor x(name, std::move(dest_fd), limit, std::move(limit_name), limits.max_entries);
  return x.run(a.get());
}

}  // namespace kiln::source
