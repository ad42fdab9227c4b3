// Shared by the sandbox tests: when to skip, a temp directory kept on failure, and an image
// rootfs to run bwrap against.
//
// The tests need root, cgroups, bwrap and a rootfs. Where one is missing they skip with the
// reason, so a developer's laptop stays green; CI sets KILN_REQUIRE_SANDBOX=1 and then a missing
// piece is a failure, so the sandbox is never silently untested there.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <system_error>

#include "sandbox/cgroup.h"

namespace kiln::sandbox::testing {

namespace fs = std::filesystem;

inline bool sandbox_required() {
  const char* v = std::getenv("KILN_REQUIRE_SANDBOX");
  return v != nullptr && std::string(v) == "1";
}

// Skips the test, or fails it under KILN_REQUIRE_SANDBOX=1. Returns from the test body.
#define KILN_SANDBOX_UNAVAILABLE(reason)                                             \
  do {                                                                               \
    if (::kiln::sandbox::testing::sandbox_required()) {                              \
      FAIL() << (reason) << " (KILN_REQUIRE_SANDBOX=1)";                             \
    } else {                                                                         \
      GTEST_SKIP() << (reason) << " (set KILN_REQUIRE_SANDBOX=1 to make this fail)"; \
    }                                                                                \
  } while (0)

// Why cgroups cannot be tested here, or nullopt.
inline std::optional<std::string> cgroups_unavailable() {
  if (::geteuid() != 0) return "needs root to create cgroups";
  if (Cgroup::cgroup_mode() == "none") return "no cgroup hierarchy is mounted";
  return std::nullopt;
}

class TempDir {
 public:
  TempDir() {
    // Under /tmp, not the build tree: an overlay's upper and work dirs must be on one
    // filesystem, and some filesystems (overlay itself) cannot be an upper layer.
    std::string tmpl = "/tmp/kiln-sandbox-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    root_ = tmpl;
  }
  ~TempDir() {
    if (::testing::Test::HasFailure()) {
      std::cerr << "test data left in " << root_ << "\n";
      return;
    }
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& root() const { return root_; }
  fs::path dir(const std::string& rel) const {
    fs::create_directories(root_ / rel);
    return root_ / rel;
  }

 private:
  fs::path root_;
};

// A Debian minbase root directory: $KILN_TEST_ROOTFS, /tmp/img-min, or one made once with
// mmdebstrap in /tmp/kiln-test-rootfs (about 10 s, needs the network). nullopt with `why` set
// when there is none.
inline std::optional<fs::path> test_rootfs(std::string* why) {
  auto usable = [](const fs::path& p) {
    std::error_code ec;
    return fs::exists(p / "bin/sh", ec) && fs::exists(p / "etc/os-release", ec);
  };
  if (const char* env = std::getenv("KILN_TEST_ROOTFS"); env != nullptr && *env != '\0') {
    if (usable(env)) return fs::path(env);
    *why = std::string("KILN_TEST_ROOTFS=") + env + " is not a root filesystem";
    return std::nullopt;
  }
  if (usable("/tmp/img-min")) return fs::path("/tmp/img-min");
  const fs::path made = "/tmp/kiln-test-rootfs";
  // Test processes may run in parallel (ctest -j): one builds, the others wait for it.
  const int lock = ::open("/tmp/kiln-test-rootfs.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock >= 0) ::flock(lock, LOCK_EX);
  if (!usable(made) && ::access("/usr/bin/mmdebstrap", X_OK) == 0 && ::geteuid() == 0) {
    const fs::path tmp = made.string() + ".tmp";
    std::error_code ec;
    fs::remove_all(tmp, ec);
    const std::string cmd =
        "mmdebstrap --quiet --variant=minbase --mode=root --format=directory "
        "bookworm " +
        tmp.string() + " http://deb.debian.org/debian >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) fs::rename(tmp, made, ec);
  }
  if (lock >= 0) ::close(lock);
  if (usable(made)) return made;
  *why = "no rootfs: /tmp/img-min is missing and mmdebstrap could not make one";
  return std::nullopt;
}

}  // namespace kiln::sandbox::testing
