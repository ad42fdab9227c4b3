// A file written atomically: bytes go to a temp file next to the destination, are hashed
// (sha256 and md5, as Build.artifacts reports them) while they are written, and appear under the
// destination name only on commit(): fsync, rename, fsync of the directory. Destroying an
// uncommitted OutputFile removes the temp file, so a failed write leaves nothing behind and an
// existing artifact of the same name stays intact until the new one is complete.
// Not thread safe; one writer.
#pragma once

#include <nettle/md5.h>
#include <nettle/sha2.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "util/error.h"
#include "util/unique_fd.h"

namespace kiln::artifacts {

struct Digests {
  std::string sha256;  // lowercase hex
  std::string md5;     // lowercase hex
  std::uint64_t size = 0;
};

class OutputFile {
 public:
  // `dest`'s directory must exist. The temp file is `.<name>.tmp-XXXXXX` in that directory.
  [[nodiscard]] static Result<OutputFile> create(const std::filesystem::path& dest);

  OutputFile(OutputFile&&) noexcept;
  OutputFile& operator=(OutputFile&&) = delete;
  ~OutputFile();

  [[nodiscard]] Result<void> write(const void* data, std::size_t size);
  // Makes the file durable and visible as `dest`. The OutputFile is spent afterwards.
  [[nodiscard]] Result<Digests> commit();

 private:
  OutputFile() = default;

  std::filesystem::path dest_;
  std::filesystem::path temp_;
  UniqueFd fd_;
  // nettle rather than OpenSSL: libcrypto's static tables alone took 340 KiB of relocated data,
  // about 1.3 ms on every start of the binary (bench/RESULTS.md).
  sha256_ctx sha256_{};
  md5_ctx md5_{};
  std::uint64_t size_ = 0;
  bool committed_ = false;
};

}  // namespace kiln::artifacts
