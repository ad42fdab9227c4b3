#include "artifacts/zip_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "artifacts/output_file.h"
#include "util/files.h"

namespace kiln::artifacts {

namespace {

struct ArchiveFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

struct Sink {
  OutputFile* out;
  Error error{ErrorCode::kIo, ""};  // set by the write callback; libarchive only sees -1
  bool failed = false;
};

la_ssize_t write_cb(archive* a, void* client, const void* buf, size_t n) {
  auto* sink = static_cast<Sink*>(client);
  auto r = sink->out->write(buf, n);
  if (!r) {
    sink->error = std::move(r.error());
    sink->failed = true;
    archive_set_error(a, EIO, "%s", sink->error.message().c_str());
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

class ZipWriter {
 public:
  ZipWriter(const ZipOptions& options, Sink* sink)
      : options_(options), sink_(sink), buffer_(options.buffer_size) {}

  Result<void> open();
  Result<void> add(const Entry& e, int root_fd);
  Result<void> close();

 private:
  Error archive_error(const std::string& what) const {
    if (sink_->failed) return sink_->error;
    const char* msg = archive_error_string(a_.get());
    return Error(ErrorCode::kIo, what + ": " + (msg ? msg : "unknown libarchive error"));
  }
  Result<void> add_file(const Entry& e, int root_fd);
  Result<void> add_symlink(const Entry& e, int root_fd);

  const ZipOptions& options_;
  Sink* sink_;
  std::unique_ptr<archive, ArchiveFree> a_;
  std::unique_ptr<archive_entry, EntryFree> entry_{archive_entry_new()};
  std::vector<char> buffer_;
};

Result<void> ZipWriter::open() {
  a_.reset(archive_write_new());
  if (!a_ || !entry_) return fail(ErrorCode::kInternal, "libarchive: out of memory");
  const std::string opts = "zip:compression=deflate,zip:compression-level=" +
                           std::to_string(options_.compression_level) + ",zip:hdrcharset=UTF-8";
  // Writes reach the sink in large blocks; the last block is not padded (tar-style padding
  // would change the zip's size and hashes).
  if (archive_write_set_format_zip(a_.get()) != ARCHIVE_OK ||
      archive_write_set_options(a_.get(), opts.c_str()) != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(a_.get(), static_cast<int>(options_.buffer_size)) !=
          ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a_.get(), 1) != ARCHIVE_OK) {
    return fail(archive_error("configure zip writer"));
  }
  if (archive_write_open2(a_.get(), sink_, nullptr, write_cb, nullptr, nullptr) != ARCHIVE_OK) {
    return fail(archive_error("open zip"));
  }
  return {};
}

Result<void> ZipWriter::add(const Entry& e, int root_fd) {
  archive_entry_clear(entry_.get());
  archive_entry_set_pathname_utf8(entry_.get(), e.archive_path.c_str());
  return e.is_symlink ? add_symlink(e, root_fd) : add_file(e, root_fd);
}

Result<void> ZipWriter::add_file(const Entry& e, int root_fd) {
  auto fd = open_beneath(root_fd, e.source_rel, O_RDONLY);
  if (!fd) return fail(std::move(fd.error()));
  struct stat st;
  if (::fstat(fd->get(), &st) != 0)
    return fail(errno_error(ErrorCode::kIo, "stat " + e.source.string()));
  if (!S_ISREG(st.st_mode)) {
    return fail(ErrorCode::kIo, "not a regular file any more: " + e.source.string());
  }
  archive_entry* ae = entry_.get();
  archive_entry_set_filetype(ae, AE_IFREG);
  archive_entry_set_perm(ae, st.st_mode & 0777);
  archive_entry_set_size(ae, st.st_size);
  archive_entry_set_mtime(ae, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  if (archive_write_header(a_.get(), ae) < ARCHIVE_OK) {
    return fail(archive_error("zip entry " + e.archive_path));
  }
  // Read exactly the size declared in the header, so the entry is consistent even if the file
  // grows meanwhile, and a small file costs one read().
  auto left = static_cast<std::uint64_t>(st.st_size);
  while (left > 0) {
    const std::size_t want =
        left < buffer_.size() ? static_cast<std::size_t>(left) : buffer_.size();
    ssize_t n = ::read(fd->get(), buffer_.data(), want);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno_error(ErrorCode::kIo, "read " + e.source.string()));
    }
    if (n == 0)
      return fail(ErrorCode::kIo, "file shrank while being archived: " + e.source.string());
    if (archive_write_data(a_.get(), buffer_.data(), static_cast<std::size_t>(n)) != n) {
      return fail(archive_error("zip entry " + e.archive_path));
    }
    left -= static_cast<std::uint64_t>(n);
  }
  if (archive_write_finish_entry(a_.get()) < ARCHIVE_OK) {
    return fail(archive_error("zip entry " + e.archive_path));
  }
  return {};  // fd closes here; a read-only fd's close cannot lose data
}

Result<void> ZipWriter::add_symlink(const Entry& e, int root_fd) {
  auto st = lstat_at(root_fd, e.source_rel.c_str(), e.source.string());
  if (!st) return fail(std::move(st.error()));
  archive_entry* ae = entry_.get();
  archive_entry_set_filetype(ae, AE_IFLNK);
  archive_entry_set_perm(ae, 0777);
  archive_entry_set_symlink_utf8(ae, e.link_target.c_str());
  archive_entry_set_mtime(ae, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
  if (archive_write_header(a_.get(), ae) < ARCHIVE_OK ||
      archive_write_finish_entry(a_.get()) < ARCHIVE_OK) {
    return fail(archive_error("zip entry " + e.archive_path));
  }
  return {};
}

Result<void> ZipWriter::close() {
  if (archive_write_close(a_.get()) != ARCHIVE_OK) return fail(archive_error("finish zip"));
  return {};
}

}  // namespace

Result<WriteResult> write_zip(const FileList& files, const std::filesystem::path& dest,
                              const ZipOptions& options) {
  RootFds roots;
  auto out = OutputFile::create(dest);
  if (!out) return fail(std::move(out.error()));
  Sink sink{&*out};
  ZipWriter zip(options, &sink);
  if (auto r = zip.open(); !r) return fail(std::move(r.error()));
  for (const Entry& e : files.entries) {
    auto root_fd = roots.get(files, e);
    if (!root_fd) return fail(std::move(root_fd.error()));
    if (auto r = zip.add(e, *root_fd); !r) {
      return fail(std::move(r.error()).with("while writing " + dest.string()));
    }
  }
  if (auto r = zip.close(); !r) return fail(std::move(r.error()));
  auto digests = out->commit();
  if (!digests) return fail(std::move(digests.error()));
  WriteResult result;
  result.location = dest;
  result.sha256 = std::move(digests->sha256);
  result.md5 = std::move(digests->md5);
  result.file_count = files.entries.size();
  result.bytes = digests->size;
  return result;
}

}  // namespace kiln::artifacts
