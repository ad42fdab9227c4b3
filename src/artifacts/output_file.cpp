#include "artifacts/output_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "util/files.h"
#include "util/string.h"

namespace kiln::artifacts {

namespace {

std::string sha256_hex(sha256_ctx* ctx) {
  std::uint8_t out[SHA256_DIGEST_SIZE];
  nettle_sha256_digest(ctx, sizeof out, out);
  return to_hex(out);
}

std::string md5_hex(md5_ctx* ctx) {
  std::uint8_t out[MD5_DIGEST_SIZE];
  nettle_md5_digest(ctx, sizeof out, out);
  return to_hex(out);
}

}  // namespace

Result<OutputFile> OutputFile::create(const std::filesystem::path& dest) {
  OutputFile f;
  f.dest_ = dest;
  // O_EXCL with a random name rather than mkostemp: mkostemp creates 0600, and fixing that up
  // would mean reading the process-wide umask, which is racy. Here the kernel applies it.
  for (int attempt = 0;; ++attempt) {
    auto suffix = random_suffix();
    if (!suffix) return fail(std::move(suffix.error()));
    f.temp_ = dest.parent_path() / ("." + dest.filename().string() + ".tmp-" + *suffix);
    int fd = ::open(f.temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      f.fd_ = UniqueFd(fd);
      break;
    }
    if (errno != EEXIST || attempt == 16) {
      Error err = errno_error(ErrorCode::kIo, "create " + f.temp_.string());
      f.temp_.clear();  // not ours: the destructor must not unlink it
      return fail(std::move(err));
    }
  }
  nettle_sha256_init(&f.sha256_);
  nettle_md5_init(&f.md5_);
  return f;
}

OutputFile::OutputFile(OutputFile&& o) noexcept
    : dest_(std::move(o.dest_)),
      temp_(std::move(o.temp_)),
      fd_(std::move(o.fd_)),
      sha256_(o.sha256_),
      md5_(o.md5_),
      size_(o.size_),
      committed_(o.committed_) {
  o.temp_.clear();
}

OutputFile::~OutputFile() {
  if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());  // best effort on failure paths
}

Result<void> OutputFile::write(const void* data, std::size_t size) {
  nettle_sha256_update(&sha256_, size, static_cast<const std::uint8_t*>(data));
  nettle_md5_update(&md5_, size, static_cast<const std::uint8_t*>(data));
  const char* p = static_cast<const char*>(data);
  std::size_t left = size;
  while (left > 0) {
    ssize_t n = ::write(fd_.get(), p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno_error(ErrorCode::kIo, "write " + temp_.string()));
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  size_ += size;
  return {};
}

Result<Digests> OutputFile::commit() {
  if (::fsync(fd_.get()) != 0) return fail(errno_error(ErrorCode::kIo, "fsync " + temp_.string()));
  if (auto r = fd_.close(temp_.string()); !r) return fail(std::move(r.error()));
  if (::rename(temp_.c_str(), dest_.c_str()) != 0) {
    return fail(errno_error(ErrorCode::kIo, "rename " + temp_.string() + " to " + dest_.string()));
  }
  committed_ = true;
  if (auto r = fsync_directory(dest_.parent_path()); !r) return fail(std::move(r.error()));
  Digests d;
  d.sha256 = sha256_hex(&sha256_);
  d.md5 = md5_hex(&md5_);
  d.size = size_;
  return d;
}

}  // namespace kiln::artifacts
