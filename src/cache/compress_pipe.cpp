#include "cache/compress_pipe.h"

#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

namespace kiln::cache::detail {

namespace {

struct WriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};

la_ssize_t append(archive*, void* client, const void* buf, size_t n) {
  auto* out = static_cast<std::vector<char>*>(client);
  const char* p = static_cast<const char*>(buf);
  out->insert(out->end(), p, p + n);
  return static_cast<la_ssize_t>(n);
}

// One chunk as one zstd frame, through libarchive's "raw" format (a bare stream).
std::string compress(const std::vector<char>& in, int level, std::vector<char>& out) {
  std::unique_ptr<archive, WriteFree> a(archive_write_new());
  std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(),
                                                                  &archive_entry_free);
  if (!a || !e) return "libarchive: out of memory";
  archive_entry_set_pathname(e.get(), "data");
  archive_entry_set_filetype(e.get(), AE_IFREG);
  // No blocking: padding zeros between frames would corrupt the stream.
  if (archive_write_set_format_raw(a.get()) != ARCHIVE_OK ||
      archive_write_add_filter_zstd(a.get()) != ARCHIVE_OK ||
      archive_write_set_filter_option(a.get(), "zstd", "compression-level",
                                      std::to_string(level).c_str()) != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(a.get(), 0) != ARCHIVE_OK ||
      archive_write_open2(a.get(), &out, nullptr, append, nullptr, nullptr) != ARCHIVE_OK ||
      archive_write_header(a.get(), e.get()) != ARCHIVE_OK ||
      archive_write_data(a.get(), in.data(), in.size()) != static_cast<la_ssize_t>(in.size()) ||
      archive_write_close(a.get()) != ARCHIVE_OK) {
    const char* msg = archive_error_string(a.get());
    return std::string("compress: ") + (msg ? msg : "libarchive error");
  }
  return "";
}

}  // namespace

CompressPipe::~CompressPipe() {
  if (threads_.empty()) return;
  {
    const std::lock_guard lock(mu_);
    done_ = true;
    if (!failed_) stop("abandoned");
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void CompressPipe::start(int fd, int level, std::size_t chunk_bytes, int workers) {
  fd_ = fd;
  level_ = level;
  chunk_bytes_ = chunk_bytes;
  max_in_flight_ = static_cast<std::size_t>(workers) * 2 + 1;
  current_.data.reserve(chunk_bytes_);
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { run(); });
}

void CompressPipe::stop(const std::string& error) {
  failed_ = true;
  error_ = error;
  queue_.clear();
  cv_.notify_all();
}

std::string CompressPipe::error() {
  const std::lock_guard lock(mu_);
  return error_;
}

void CompressPipe::push_current() {
  current_.seq = next_seq_++;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ < max_in_flight_ || failed_; });
    ++in_flight_;
    queue_.push_back(std::move(current_));
  }
  cv_.notify_all();
  current_ = Chunk();
  current_.data.reserve(chunk_bytes_);
}

bool CompressPipe::write(const void* data, std::size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const std::size_t take = std::min(n, chunk_bytes_ - current_.data.size());
    current_.data.insert(current_.data.end(), p, p + take);
    p += take;
    n -= take;
    if (current_.data.size() == chunk_bytes_) push_current();
  }
  const std::lock_guard lock(mu_);
  return !failed_;
}

Result<void> CompressPipe::finish() {
  if (!current_.data.empty()) push_current();
  {
    const std::lock_guard lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  if (failed_) return fail(ErrorCode::kIo, "compress the cache: " + error_);
  return {};
}

void CompressPipe::run() {
  std::vector<char> out;
  for (;;) {
    Chunk chunk;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return !queue_.empty() || done_ || failed_; });
      if (failed_ || queue_.empty()) return;
      chunk = std::move(queue_.front());
      queue_.pop_front();
    }
    out.clear();
    const std::string err = compress(chunk.data, level_, out);
    std::unique_lock lock(mu_);
    if (!err.empty()) return stop(err);
    ready_.emplace(chunk.seq, std::move(out));
    out = std::vector<char>();
    // Whoever completes the next chunk in order writes every chunk that is ready.
    for (auto it = ready_.find(next_write_); it != ready_.end() && !failed_;
         it = ready_.find(next_write_)) {
      for (std::size_t done = 0; done < it->second.size();) {
        const ssize_t w = ::write(fd_, it->second.data() + done, it->second.size() - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return stop(std::string("write: ") + std::strerror(errno));
        done += static_cast<std::size_t>(w);
      }
      ready_.erase(it);
      ++next_write_;
      --in_flight_;
    }
    lock.unlock();
    cv_.notify_all();
  }
}

}  // namespace kiln::cache::detail
