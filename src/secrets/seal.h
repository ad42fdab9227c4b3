// Sealing values at rest: libsodium's XChaCha20-Poly1305 (IETF) under a 32-byte master key, and
// the master key file that holds that key.
//
// A sealed value is nonce (24 random bytes) || ciphertext (plaintext + 16-byte tag). The caller
// passes associated data naming where the value lives ("param:/a/b:3"), so a sealed value that is
// copied or moved elsewhere fails to open instead of decrypting into the wrong place. The random
// nonce is large enough that reusing one under the same key is not a concern.
//
// The master key file is exactly 32 bytes, mode 0600. It is made on first use and then only
// read; a file of the wrong size or readable by group or others is refused, naming the file.
//
// Thread safety: every function may be called from any thread; a MasterKey is immutable after
// it is made. Failure: errors are returned, never thrown; no error text contains key bytes or
// plaintext.
#pragma once

#include <array>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "util/error.h"

namespace kiln::secrets {

// Initialises libsodium once per process (sodium_init is idempotent and thread-safe). Every
// function below calls it; it is public so an entry point can fail early with a clear error.
Result<void> init_sodium();

// The key every value of one store is sealed with. Its bytes are wiped when it is destroyed.
class MasterKey {
 public:
  static constexpr std::size_t kBytes = 32;

  // A fresh random key, kept in memory only (memory_secret_store, tests).
  static MasterKey random();
  // Reads `file`, or creates it with a new random key if it does not exist. Creation writes a
  // temporary file (O_EXCL, 0600), fsyncs it and links it into place, so a process that starts
  // at the same moment reads either no file or the whole key, and exactly one key wins.
  // kInvalidArgument if the file is not a regular file, has group/other permission bits, or is
  // not 32 bytes; kIo for a failed syscall.
  static Result<MasterKey> load_or_create(const std::filesystem::path& file);

  MasterKey(const MasterKey&) = delete;
  MasterKey& operator=(const MasterKey&) = delete;
  MasterKey(MasterKey&& other) noexcept;
  MasterKey& operator=(MasterKey&& other) noexcept;
  ~MasterKey();

  const unsigned char* data() const { return bytes_.data(); }

 private:
  MasterKey() = default;
  std::array<unsigned char, kBytes> bytes_{};
};

// nonce || ciphertext of `plaintext`, bound to `ad`.
std::string seal(const MasterKey& key, std::string_view plaintext, std::string_view ad);

// The plaintext of `sealed`, if it was sealed under `key` with the same `ad`. kInternal
// otherwise (too short, tampered with, moved from another row, or another key): the message
// says the store is corrupt or the key is wrong, and names `ad` but nothing of the value.
Result<std::string> unseal(const MasterKey& key, std::string_view sealed, std::string_view ad);

// `n` random characters from [A-Za-z0-9] (the suffix of a secret's ARN).
std::string random_alnum(std::size_t n);

}  // namespace kiln::secrets
