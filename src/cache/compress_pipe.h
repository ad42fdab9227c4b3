// Parallel zstd for pack_paths: the tar stream is cut into chunks, each compressed as its own
// zstd frame by one of `workers` threads, and the frames are written to the file in order.
// Concatenated frames are one valid zstd stream (RFC 8878 §3.1), read by libarchive, `zstd -d`
// and `tar --zstd` alike. This is how kiln keeps up with `tar | zstd`: libarchive's zstd filter
// compresses inline on the walking thread, and the static libzstd kiln links has no worker
// threads (ZSTD_c_nbWorkers is accepted and ignored), so the walk and the compression would
// add up. Cost: each chunk starts with an empty window, ~0.3% larger output at 8 MiB chunks.
//
// Thread safety: write() and finish() from one thread (the producer). Errors from a worker
// surface in the next write() or in finish().
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "util/error.h"

namespace kiln::cache::detail {

class CompressPipe {
 public:
  CompressPipe() = default;
  ~CompressPipe();  // stops and joins the workers if finish() was not called
  CompressPipe(const CompressPipe&) = delete;
  CompressPipe& operator=(const CompressPipe&) = delete;

  // Starts `workers` threads compressing into `fd` (borrowed) at zstd `level`.
  void start(int fd, int level, std::size_t chunk_bytes, int workers);
  // Copies `n` bytes in; blocks while enough chunks are in flight. False once a worker failed.
  bool write(const void* data, std::size_t n);
  // Flushes the last chunk, joins the workers, and reports the first error.
  [[nodiscard]] Result<void> finish();
  // The first worker error, after write() returned false.
  std::string error();

 private:
  struct Chunk {
    std::uint64_t seq = 0;
    std::vector<char> data;
  };
  void run();
  void push_current();
  void stop(const std::string& error);  // with mu_ held

  int fd_ = -1;
  int level_ = 3;
  std::size_t chunk_bytes_ = 0;
  std::size_t max_in_flight_ = 0;
  Chunk current_;
  std::uint64_t next_seq_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Chunk> queue_;                           // to compress, oldest first
  std::map<std::uint64_t, std::vector<char>> ready_;  // compressed, waiting for their turn
  std::uint64_t next_write_ = 0;
  std::size_t in_flight_ = 0;  // pushed and not yet written
  bool done_ = false;          // the producer finished (or abandoned)
  bool failed_ = false;
  std::string error_;
  std::vector<std::thread> threads_;
};

}  // namespace kiln::cache::detail
