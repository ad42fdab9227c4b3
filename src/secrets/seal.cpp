#include "secrets/seal.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "util/unique_fd.h"

namespace kiln::secrets {

namespace {

static_assert(MasterKey::kBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
constexpr std::size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;

// Every public entry point needs libsodium ready; a failure here (no entropy source at all)
// leaves no safe way to make keys or nonces, so it ends the process rather than go on.
void require_sodium() {
  if (auto r = init_sodium(); !r) {
    std::fprintf(stderr, "kiln: %s\n", r.error().describe().c_str());
    std::abort();
  }
}

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

using Fd = kiln::UniqueFd;

Result<void> read_exact(int fd, unsigned char* out, std::size_t n, const std::string& file) {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t got = ::read(fd, out + done, n - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return fail(errno_error(ErrorCode::kIo, "read " + file));
    if (got == 0) return fail(ErrorCode::kIo, "read " + file + ": the file shrank while read");
    done += static_cast<std::size_t>(got);
  }
  return {};
}

// kNotFound when the file does not exist, so the caller knows to create it.
Result<void> read_key_file(const std::filesystem::path& file, unsigned char* out) {
  const std::string name = file.string();
  // O_NOFOLLOW: a symlink planted in the key's folder must not redirect us to another file.
  const Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) {
    return fail(errno_error(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                            "open master key " + name));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail(errno_error(ErrorCode::kIo, "fstat " + name));
  if (!S_ISREG(st.st_mode)) {
    return fail(ErrorCode::kInvalidArgument,
                "cannot use master key " + name + ": it is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return fail(ErrorCode::kInvalidArgument,
                "cannot use master key " + name + ": its mode is " + mode +
                    " but it must be readable by its owner only (chmod 600 " + name + ")");
  }
  if (st.st_size != static_cast<off_t>(MasterKey::kBytes)) {
    return fail(ErrorCode::kInvalidArgument,
                "cannot use master key " + name + ": it is " + std::to_string(st.st_size) +
                    " bytes but a master key is exactly " + std::to_string(MasterKey::kBytes));
  }
  return read_exact(fd.get(), out, MasterKey::kBytes, name);
}

Result<void> write_all(int fd, const unsigned char* data, std::size_t n, const std::string& file) {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t put = ::write(fd, data + done, n - done);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) return fail(errno_error(ErrorCode::kIo, "write " + file));
    done += static_cast<std::size_t>(put);
  }
  return {};
}

// Writes a new random key to a private temporary file and links it to `file`. link(2) fails
// with EEXIST if another process got there first; that is success too, as the caller then
// reads the winner's key.
Result<void> create_key_file(const std::filesystem::path& file) {
  static std::atomic<unsigned> counter{0};
  const std::string tmp = file.string() + ".tmp." + std::to_string(::getpid()) + "." +
                          std::to_string(counter.fetch_add(1));
  std::array<unsigned char, MasterKey::kBytes> key{};
  randombytes_buf(key.data(), key.size());
  auto write = [&]() -> Result<void> {
    const Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.get() < 0) return fail(errno_error(ErrorCode::kIo, "create " + tmp));
    if (auto r = write_all(fd.get(), key.data(), key.size(), tmp); !r) return r;
    if (::fsync(fd.get()) != 0) return fail(errno_error(ErrorCode::kIo, "fsync " + tmp));
    if (::link(tmp.c_str(), file.c_str()) != 0 && errno != EEXIST) {
      return fail(errno_error(ErrorCode::kIo, "link " + tmp + " to " + file.string()));
    }
    return {};
  }();
  sodium_memzero(key.data(), key.size());
  ::unlink(tmp.c_str());  // after a failed create there is nothing to remove
  if (!write) return write;
  // The new name must survive a crash as well as the bytes, or a restart makes another key and
  // every value sealed meanwhile is lost.
  const std::filesystem::path dir = file.has_parent_path() ? file.parent_path() : ".";
  const Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0 || ::fsync(dfd.get()) != 0) {
    return fail(errno_error(ErrorCode::kIo, "fsync " + dir.string()));
  }
  return {};
}

}  // namespace

Result<void> init_sodium() {
  if (sodium_init() < 0) {
    return fail(ErrorCode::kInternal, "libsodium cannot be initialised (sodium_init failed)");
  }
  return {};
}

MasterKey MasterKey::random() {
  require_sodium();
  MasterKey key;
  crypto_aead_xchacha20poly1305_ietf_keygen(key.bytes_.data());
  return key;
}

Result<MasterKey> MasterKey::load_or_create(const std::filesystem::path& file) {
  require_sodium();
  MasterKey key;
  auto read = read_key_file(file, key.bytes_.data());
  if (!read && read.error().code() == ErrorCode::kNotFound) {
    if (auto made = create_key_file(file); !made) return fail(std::move(made.error()));
    read = read_key_file(file, key.bytes_.data());
  }
  if (!read) return fail(std::move(read.error()));
  return key;
}

MasterKey::MasterKey(MasterKey&& other) noexcept : bytes_(other.bytes_) {
  sodium_memzero(other.bytes_.data(), other.bytes_.size());
}

MasterKey& MasterKey::operator=(MasterKey&& other) noexcept {
  if (this != &other) {
    bytes_ = other.bytes_;
    sodium_memzero(other.bytes_.data(), other.bytes_.size());
  }
  return *this;
}

MasterKey::~MasterKey() {
  sodium_memzero(bytes_.data(), bytes_.size());
}

std::string seal(const MasterKey& key, std::string_view plaintext, std::string_view ad) {
  require_sodium();
  std::string out(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(nonce, kNonceBytes);
  unsigned long long written = 0;
  // Cannot fail: the only error is a message longer than the cipher allows (256 GiB).
  crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + kNonceBytes, &written, bytes(plaintext),
                                             plaintext.size(), bytes(ad), ad.size(), nullptr, nonce,
                                             key.data());
  out.resize(kNonceBytes + written);
  return out;
}

Result<std::string> unseal(const MasterKey& key, std::string_view sealed, std::string_view ad) {
  require_sodium();
  const auto corrupt = [&] {
    return fail(ErrorCode::kInternal, "cannot decrypt the value of " + std::string(ad) +
                                          ": the secret store is corrupt or its key is wrong");
  };
  if (sealed.size() < kNonceBytes + kTagBytes) return corrupt();
  const std::string_view nonce = sealed.substr(0, kNonceBytes);
  const std::string_view cipher = sealed.substr(kNonceBytes);
  std::string out(cipher.size() - kTagBytes, '\0');
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(out.data()), &written, nullptr, bytes(cipher),
          cipher.size(), bytes(ad), ad.size(), bytes(nonce), key.data()) != 0) {
    return corrupt();
  }
  out.resize(written);
  return out;
}

std::string random_alnum(std::size_t n) {
  require_sodium();
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    // randombytes_uniform has no modulo bias.
    out += kAlphabet[randombytes_uniform(static_cast<std::uint32_t>(kAlphabet.size()))];
  }
  return out;
}

}  // namespace kiln::secrets
