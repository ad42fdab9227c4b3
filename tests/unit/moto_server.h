// A real S3-compatible server for the tests that need one: moto's server, started on a free
// loopback port in its own process group and killed with it.
//
// moto is a pip package (the machine's Python 3.11 has it; Debian's python3 does not), so the
// first of $KILN_TEST_PYTHON, PATH's python3, /root/.pyenv/shims/python3 and /usr/bin/python3
// that can import moto.server runs it. Without one the tests skip, unless
// KILN_REQUIRE_MOTO is set (scripts/test.sh sets it), where they fail: CI never skips them.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace kiln::testing {

class MotoServer {
 public:
  // Starts the server (call from SetUpTestSuite). Returns false when no Python has moto.
  bool start() {
    const auto python = find_python();
    if (!python) return false;
    port_ = free_port();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);  // moto's own children go with it at stop()
      const std::string port = std::to_string(port_);
      const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);  // it logs every request
      ::dup2(null, STDOUT_FILENO);
      ::dup2(null, STDERR_FILENO);
      ::execlp(python->c_str(), "python3", "-m", "moto.server", "-H", "127.0.0.1", "-p",
               port.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    if (pid_ < 0) return false;
    ::setpgid(pid_, pid_);
    for (int i = 0; i < 600 && !port_open(port_); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return true;
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGTERM);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

  // True once the server answers; SetUp() uses KILN_REQUIRE_MOTO below.
  bool running() const { return pid_ > 0 && port_open(port_); }
  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  static bool required() { return std::getenv("KILN_REQUIRE_MOTO") != nullptr; }

  static std::optional<std::string> find_python() {
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("KILN_TEST_PYTHON")) candidates.emplace_back(env);
    for (const char* c : {"python3", "/root/.pyenv/shims/python3", "/usr/bin/python3"})
      candidates.emplace_back(c);
    for (const auto& c : candidates) {
      const std::string cmd = "'" + c + "' -c 'import moto.server' >/dev/null 2>&1";
      if (std::system(cmd.c_str()) == 0) return c;
    }
    return std::nullopt;
  }

  static int free_port() {
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      std::abort();
    ::close(s);
    return ntohs(addr.sin_port);
  }

  static bool port_open(int port) {
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(s);
    return ok;
  }

 private:
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace kiln::testing

// In SetUp(): skip without moto, or fail when KILN_REQUIRE_MOTO says it must be there.
#define KILN_REQUIRE_MOTO(server)                                                          \
  do {                                                                                     \
    if (!(server).running()) {                                                             \
      if (::kiln::testing::MotoServer::required()) FAIL() << "moto.server is not running"; \
      GTEST_SKIP() << "no python3 with moto (set KILN_TEST_PYTHON)";                       \
    }                                                                                      \
  } while (false)
