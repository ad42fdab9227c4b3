// libFuzzer target for extract_archive (source/archive_extract.h), which unpacks S3 source zips
// and tarballs that anyone with write access to the bucket may have crafted.
//
// Each input is written to a memfd and extracted, through its /proc/self/fd path, into a fresh
// temp folder that is removed afterwards. Errors are expected (most inputs are not archives);
// what must never happen is a crash, a sanitizer report, a hang, or anything created outside
// the folder: the folder's parent holds only the folder, checked after every run. The limits
// are small so that a bomb is stopped in milliseconds.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include "source/archive_extract.h"

namespace fs = std::filesystem;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

// One private parent per process, <tmp>/kiln-fuzz-extract-XXXXXX, removed at exit.
struct Parent {
  fs::path path;
  Parent() {
    std::string tmpl = (fs::temp_directory_path() / "kiln-fuzz-extract-XXXXXX").string();
    check(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~Parent() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  Parent(const Parent&) = delete;
  Parent& operator=(const Parent&) = delete;
};

const fs::path& parent() {
  static const Parent p;
  return p.path;
}

bool write_all(int fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = ::memfd_create("fuzz-archive", MFD_CLOEXEC);
  check(fd >= 0);
  check(write_all(fd, data, size));
  const fs::path archive = "/proc/self/fd/" + std::to_string(fd);
  const fs::path dest = parent() / "dest";
  std::error_code ec;
  fs::create_directory(dest, ec);
  check(!ec);

  const kiln::source::ExtractLimits limits{.max_total_bytes = 4u << 20,
                                           .max_entries = 2000,
                                           .max_ratio = 100,
                                           .ratio_floor_bytes = 1u << 20};
  (void)kiln::source::extract_archive(archive, dest, limits);

  // Nothing may appear beside `dest`: the archive stayed inside it.
  for (const auto& e : fs::directory_iterator(parent(), ec)) check(e.path() == dest);
  check(!ec);
  fs::remove_all(dest, ec);
  check(!ec);
  ::close(fd);
  return 0;
}
