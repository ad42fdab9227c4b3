// pack_paths: the files `cache.paths` select, as one tar + zstd stream (build_cache.h).
//
// The walk is kiln's own rather than artifacts::collect, because a cache must also keep
// empty folders and must never follow a symlink: it opens every folder beneath a workspace fd
// with O_NOFOLLOW and matches names with the artifact globs' NFA (artifacts/glob.h), so a
// folder no pattern can reach is never read. Symlinks are stored as links, except those that
// source::extract_archive would refuse on restore (absolute targets, targets that climb out of
// the workspace): those are skipped with a log line, so one odd link cannot void the cache.
// File contents stream through a fixed buffer; zstd compresses on other threads, one frame
// per chunk (compress_pipe.h, PackOptions::threads), while this thread reads the next files.
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "artifacts/glob.h"
#include "cache/build_cache.h"
#include "cache/compress_pipe.h"
#include "util/files.h"
#include "util/string.h"

namespace kiln::cache {

namespace fs = std::filesystem;

namespace {

using artifacts::Glob;

struct WriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
struct DirClose {
  void operator()(DIR* d) const { ::closedir(d); }
};

// The rule of extract_archive: relative, ".." only at the start, never above the workspace.
bool link_stays_inside(const std::string& rel, const std::string& target) {
  if (target.empty() || target.front() == '/') return false;
  const auto depth = static_cast<std::size_t>(std::count(rel.begin(), rel.end(), '/')) + 1;
  std::size_t up = 0;
  bool descended = false;
  for (const std::string_view part : split(target, '/', SplitMode::kSkipEmpty)) {
    if (part == ".") continue;
    if (part != "..") {
      descended = true;
    } else if (descended) {
      return false;
    } else {
      ++up;
    }
  }
  return up < depth;
}

class Packer {
 public:
  Packer(const std::vector<Glob>& globs, logs::LogSink& log, std::size_t buffer)
      : globs_(&globs), log_(log), buffer_(buffer) {}

  Result<void> open(const fs::path& out, const PackOptions& options);
  Result<void> walk(int dir_fd, const std::string& rel, const std::vector<Glob::State>& states);
  // The patterns the next walk() matches (each tree of pack_trees has its own).
  void set_globs(const std::vector<Glob>& globs) { globs_ = &globs; }
  // A folder entry named `rel`, with `dir_fd`'s mode and mtime.
  Result<void> add_folder(int dir_fd, const std::string& rel);
  Result<PackStats> close();

 private:
  Error archive_error(const std::string& what) const {
    const char* msg = archive_error_string(a_.get());
    return Error(ErrorCode::kIo, what + ": " + (msg ? msg : "libarchive error"));
  }
  Result<void> header(const std::string& rel, const struct stat& st, unsigned type);
  Result<void> add_file(int dir_fd, const char* name, const std::string& rel);
  Result<void> add_symlink(int dir_fd, const char* name, const std::string& rel,
                           const struct stat& st);

  const std::vector<Glob>* globs_;  // not owned
  logs::LogSink& log_;
  std::vector<char> buffer_;
  UniqueFd out_;
  fs::path out_path_;
  std::unique_ptr<detail::CompressPipe> pipe_;  // declared before a_: outlives the writer
  std::unique_ptr<archive, WriteFree> a_;
  std::unique_ptr<archive_entry, EntryFree> entry_{archive_entry_new()};
  PackStats stats_;
};

la_ssize_t pipe_write(archive* a, void* client, const void* buf, size_t n) {
  auto* pipe = static_cast<detail::CompressPipe*>(client);
  if (pipe->write(buf, n)) return static_cast<la_ssize_t>(n);
  archive_set_error(a, EIO, "%s", pipe->error().c_str());
  return -1;
}

Result<void> Packer::open(const fs::path& out, const PackOptions& options) {
  out_path_ = out;
  out_ = UniqueFd(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!out_) return fail(errno_error(ErrorCode::kIo, "create " + out.string()));
  a_.reset(archive_write_new());
  if (!a_ || !entry_) return fail(ErrorCode::kInternal, "libarchive: out of memory");
  int threads = options.threads;
  if (threads < 0) threads = static_cast<int>(std::min(4U, std::thread::hardware_concurrency()));
  if (archive_write_set_format_pax_restricted(a_.get()) != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(a_.get(), 128 << 10) != ARCHIVE_OK) {
    return fail(archive_error("configure the cache archive"));
  }
  if (threads > 0) {
    // The tar stream goes to compressor threads (compress_pipe.h).
    pipe_ = std::make_unique<detail::CompressPipe>();
    pipe_->start(out_.get(), options.level, options.chunk_bytes, threads);
    if (archive_write_open2(a_.get(), pipe_.get(), nullptr, pipe_write, nullptr, nullptr) !=
        ARCHIVE_OK) {
      return fail(archive_error("open " + out.string()));
    }
    return {};
  }
  if (archive_write_add_filter_zstd(a_.get()) != ARCHIVE_OK ||
      archive_write_set_filter_option(a_.get(), "zstd", "compression-level",
                                      std::to_string(options.level).c_str()) != ARCHIVE_OK ||
      archive_write_open_fd(a_.get(), out_.get()) != ARCHIVE_OK) {
    return fail(archive_error("open " + out.string()));
  }
  return {};
}

Result<void> Packer::header(const std::string& rel, const struct stat& st, unsigned type) {
  archive_entry* e = entry_.get();
  archive_entry_clear(e);
  archive_entry_set_pathname(e, rel.c_str());
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, st.st_mode & 0777);
  archive_entry_set_mtime(e, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  if (type == AE_IFREG) archive_entry_set_size(e, st.st_size);
  return {};
}

Result<void> Packer::add_file(int dir_fd, const char* name, const std::string& rel) {
  UniqueFd fd(::openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) return fail(errno_error(ErrorCode::kIo, "open " + rel));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail(errno_error(ErrorCode::kIo, "stat " + rel));
  if (!S_ISREG(st.st_mode)) return {};  // replaced meanwhile; not worth failing the cache
  (void)header(rel, st, AE_IFREG);
  if (archive_write_header(a_.get(), entry_.get()) < ARCHIVE_OK) {
    return fail(archive_error("cache entry " + rel));
  }
  // Exactly the size in the header, so a file that grows meanwhile cannot corrupt the stream;
  // one that shrinks is padded with zeros (tar has no way to shorten an entry).
  auto left = static_cast<std::uint64_t>(st.st_size);
  while (left > 0) {
    const std::size_t want = std::min<std::uint64_t>(left, buffer_.size());
    const ssize_t n = ::read(fd.get(), buffer_.data(), want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errno_error(ErrorCode::kIo, "read " + rel));
    const std::size_t got = n == 0 ? want : static_cast<std::size_t>(n);
    if (n == 0) std::fill(buffer_.begin(), buffer_.begin() + static_cast<long>(got), '\0');
    if (archive_write_data(a_.get(), buffer_.data(), got) != static_cast<la_ssize_t>(got)) {
      return fail(archive_error("write cache entry " + rel));
    }
    left -= got;
    stats_.bytes_in += got;
  }
  ++stats_.files;
  return {};
}

Result<void> Packer::add_symlink(int dir_fd, const char* name, const std::string& rel,
                                 const struct stat& st) {
  auto target = read_link_at(dir_fd, name, rel);
  if (!target) return fail(std::move(target.error()));
  if (!link_stays_inside(rel, *target)) {
    log_.agent_line("Skipping cache path " + rel + ": symlink to " + *target +
                    " leaves the workspace");
    return {};
  }
  (void)header(rel, st, AE_IFLNK);
  archive_entry_set_symlink(entry_.get(), target->c_str());
  if (archive_write_header(a_.get(), entry_.get()) < ARCHIVE_OK) {
    return fail(archive_error("cache entry " + rel));
  }
  ++stats_.files;
  return {};
}

Result<void> Packer::walk(int dir_fd, const std::string& rel,
                          const std::vector<Glob::State>& states) {
  const int dup = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return fail(errno_error(ErrorCode::kIo, "dup"));
  std::unique_ptr<DIR, DirClose> dir(::fdopendir(dup));
  if (!dir) {
    ::close(dup);
    return fail(errno_error(ErrorCode::kIo, "read folder " + (rel.empty() ? "." : rel)));
  }
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* d = ::readdir(dir.get())) {
    const std::string_view n = d->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  if (errno != 0) return fail(errno_error(ErrorCode::kIo, "read folder " + rel));
  std::sort(names.begin(), names.end());  // deterministic archives

  std::vector<Glob::State> next(states.size());
  for (const std::string& name : names) {
    bool matched = false;
    bool below = false;
    for (std::size_t i = 0; i < globs_->size(); ++i) {
      next[i] = (*globs_)[i].step(states[i], name);
      matched = matched || (*globs_)[i].accepts(next[i]);
      below = below || (*globs_)[i].may_match_below(next[i]);
    }
    if (!matched && !below) continue;
    const std::string child = rel.empty() ? name : rel + "/" + name;
    auto st = lstat_at(dir_fd, name.c_str(), child);
    if (!st) return fail(std::move(st.error()));
    if (S_ISDIR(st->st_mode)) {
      UniqueFd sub(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) return fail(errno_error(ErrorCode::kIo, "open folder " + child));
      if (matched) {
        (void)header(child, *st, AE_IFDIR);
        if (archive_write_header(a_.get(), entry_.get()) < ARCHIVE_OK) {
          return fail(archive_error("cache entry " + child));
        }
      }
      auto r = walk(sub.get(), child, next);
      if (!r) return r;
    } else if (matched && S_ISREG(st->st_mode)) {
      auto r = add_file(dir_fd, name.c_str(), child);
      if (!r) return r;
    } else if (matched && S_ISLNK(st->st_mode)) {
      auto r = add_symlink(dir_fd, name.c_str(), child, *st);
      if (!r) return r;
    }  // fifos, sockets, devices: never cached
  }
  return {};
}

Result<void> Packer::add_folder(int dir_fd, const std::string& rel) {
  struct stat st {};
  if (::fstat(dir_fd, &st) != 0) return fail(errno_error(ErrorCode::kIo, "stat " + rel));
  (void)header(rel, st, AE_IFDIR);
  if (archive_write_header(a_.get(), entry_.get()) < ARCHIVE_OK) {
    return fail(archive_error("cache entry " + rel));
  }
  return {};
}

Result<PackStats> Packer::close() {
  if (archive_write_close(a_.get()) != ARCHIVE_OK) {
    return fail(archive_error("finish " + out_path_.string()));
  }
  if (pipe_) {
    auto finished = pipe_->finish();
    pipe_.reset();
    if (!finished) return fail(std::move(finished.error()));
  }
  struct stat st {};
  if (::fstat(out_.get(), &st) != 0) {
    return fail(errno_error(ErrorCode::kIo, "stat " + out_path_.string()));
  }
  stats_.bytes_out = static_cast<std::uint64_t>(st.st_size);
  auto closed = out_.close(out_path_.string());
  if (!closed) return fail(std::move(closed.error()));
  return stats_;
}

}  // namespace

Result<PackStats> pack_paths(const std::vector<std::string>& paths, const fs::path& workspace,
                             const fs::path& out, logs::LogSink& log, const PackOptions& options) {
  return pack_trees({PackTree{workspace, paths, ""}}, out, log, options);
}

Result<PackStats> pack_trees(const std::vector<PackTree>& trees, const fs::path& out,
                             logs::LogSink& log, const PackOptions& options) {
  Glob::Options subtree;
  subtree.literal_selects_subtree = true;  // `.m2` caches the whole folder, as in artifacts
  std::vector<std::vector<Glob>> globs(trees.size());
  bool any = false;
  for (std::size_t t = 0; t < trees.size(); ++t) {
    for (const std::string& p : trees[t].paths) {
      auto g = Glob::compile(p, subtree);
      if (g) {
        globs[t].push_back(std::move(*g));
      } else if (g.error().code() == ErrorCode::kPathEscape) {
        log.agent_line("Skipping cache path " + p + ": outside the workspace");
      } else {
        log.agent_line("Skipping invalid cache path " + p + ": " + g.error().message());
      }
    }
    any = any || !globs[t].empty();
  }
  if (!any) return PackStats{};
  std::optional<Packer> packer;
  for (std::size_t t = 0; t < trees.size(); ++t) {
    if (globs[t].empty()) continue;
    auto root = open_directory(trees[t].root);
    if (!root) return fail(std::move(root.error()));
    if (!packer) {
      packer.emplace(globs[t], log, options.buffer_bytes);
      auto opened = packer->open(out, options);
      if (!opened) return fail(std::move(opened.error()));
    } else {
      packer->set_globs(globs[t]);
    }
    std::vector<Glob::State> start;
    start.reserve(globs[t].size());
    for (const Glob& g : globs[t]) start.push_back(g.start());
    if (!trees[t].name_prefix.empty()) {
      auto r = packer->add_folder(root->get(), trees[t].name_prefix);
      if (!r) return fail(std::move(r.error()));
    }
    auto walked = packer->walk(root->get(), trees[t].name_prefix, start);
    if (!walked) return fail(std::move(walked.error()).with("while packing the cache"));
  }
  return packer->close();
}

}  // namespace kiln::cache
