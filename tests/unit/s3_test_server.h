// Real S3-compatible servers for the tests that need one, each started on a loopback port in its
// own process group, with its own temporary folder, and killed with its group at stop().
//
// - s3rver (npm; scripts/install-deps.sh installs it in tests/node) is the one every S3 test
//   uses. tests/node/s3-server.js runs it with a SigV4 check added, so a request Kiln signs
//   wrongly fails with SignatureDoesNotMatch. It runs under Debian's `node` from PATH. Without
//   it the tests skip, unless KILN_REQUIRE_S3 is set (scripts/test.sh sets it): then they fail.
// - moto's server (a pip package, on no machine by default) runs in addition, for what s3rver
//   lacks: versioned buckets, AWS's multipart ETags. $KILN_TEST_PYTHON or PATH's python3 starts
//   it when that can import moto.server; without one, the tests that need it skip with a
//   one-line reason, even under KILN_REQUIRE_S3. moto checks no signature.
// Each suite prints one line saying which servers it ran (announce()).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace kiln::testing {

class S3TestServer {
 public:
  enum class Kind { kS3rver, kMoto };

  explicit S3TestServer(Kind kind) : kind_(kind) {}
  ~S3TestServer() { stop(); }
  S3TestServer(const S3TestServer&) = delete;
  S3TestServer& operator=(const S3TestServer&) = delete;

  // Starts the server (call from SetUpTestSuite). False, with why_not() saying why, when its
  // runtime is missing or it did not come up in 30 s.
  bool start() { return kind_ == Kind::kS3rver ? start_s3rver() : start_moto(); }

  void stop() {
    if (pid_ > 0) {
      ::kill(-pid_, SIGTERM);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
    pid_ = -1;
    port_ = 0;
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
      dir_.clear();
    }
  }

  bool running() const { return pid_ > 0 && port_ > 0; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const char* name() const { return kind_ == Kind::kS3rver ? "s3rver" : "moto"; }
  const std::string& why_not() const { return why_not_; }
  // s3rver knows one account, S3RVER / S3RVER, and refuses other keys; moto takes any.
  const char* access_key() const { return kind_ == Kind::kS3rver ? "S3RVER" : "testing"; }
  const char* secret_key() const { return access_key(); }

  // What ran, for announce(): "s3rver at http://... (SigV4 checked)" or "moto: not run (...)".
  std::string describe() const {
    if (!running()) return std::string(name()) + ": not run (" + why_not_ + ")";
    return std::string(name()) + " at " + endpoint() +
           (kind_ == Kind::kS3rver ? " (SigV4 checked)" : " (signatures not checked)");
  }

  static bool required() { return std::getenv("KILN_REQUIRE_S3") != nullptr; }

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
    if (s < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(s);
    return ok;
  }

 private:
  static std::filesystem::path node_folder() {
    return std::filesystem::path(__FILE__).parent_path().parent_path() / "node";
  }

  bool make_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kiln-s3srv-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return fail("mkdtemp failed");
    dir_ = tmpl;
    return true;
  }

  bool fail(std::string why) {
    why_not_ = std::move(why);
    stop();
    return false;
  }

  // Forks a child in its own process group with stdin from /dev/null, stdout to `out` and
  // stderr to <dir>/stderr.log, and runs argv (searched on PATH).
  bool spawn(const std::vector<std::string>& argv, int out) {
    const std::string log = (dir_ / "stderr.log").string();
    std::vector<char*> args;  // built before fork(): the child only calls async-signal-safe code
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) return fail("fork failed");
    if (pid_ == 0) {
      ::setpgid(0, 0);
      const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      const int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (in < 0 || err < 0 || ::dup2(in, STDIN_FILENO) < 0 || ::dup2(out, STDOUT_FILENO) < 0 ||
          ::dup2(err, STDERR_FILENO) < 0)
        ::_exit(126);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::setpgid(pid_, pid_);  // also here, so stop() finds the group whichever runs first
    return true;
  }

  // s3-server.js prints "s3rver listening on http://127.0.0.1:<port>" once it accepts.
  bool start_s3rver() {
    const auto script = node_folder() / "s3-server.js";
    if (!std::filesystem::exists(node_folder() / "node_modules" / "s3rver" / "package.json"))
      return fail(node_folder().string() + " has no s3rver: run scripts/install-deps.sh");
    if (!make_dir()) return false;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return fail("pipe2 failed");
    const bool spawned = spawn({"node", script.string(), (dir_ / "data").string()}, fds[1]);
    ::close(fds[1]);
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (spawned && line.find('\n') == std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
      pollfd p{fds[0], POLLIN, 0};
      if (::poll(&p, 1, 500) < 0 && errno != EINTR) break;
      if (p.revents == 0) continue;
      char buf[256];
      const ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) break;  // it exited (node missing: 127) or closed its stdout
      line.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    const auto at = line.find("http://127.0.0.1:");
    if (!spawned || at == std::string::npos) {
      return fail("node tests/node/s3-server.js did not start (is `node` on PATH?) " +
                  read_first_line((dir_ / "stderr.log").string()));
    }
    port_ = std::atoi(line.c_str() + at + 17);
    return port_ > 0 || fail("s3-server.js printed no port: " + line);
  }

  bool start_moto() {
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("KILN_TEST_PYTHON")) candidates.emplace_back(env);
    candidates.emplace_back("python3");
    std::string python;
    for (const auto& c : candidates) {
      const std::string cmd = "'" + c + "' -c 'import moto.server' >/dev/null 2>&1";
      if (std::system(cmd.c_str()) == 0) {
        python = c;
        break;
      }
    }
    if (python.empty()) return fail("no python3 on PATH or $KILN_TEST_PYTHON has moto");
    if (!make_dir()) return false;
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);  // it logs every request
    if (null < 0) return fail("cannot open /dev/null");
    const int port = free_port();
    const bool spawned =
        spawn({python, "-m", "moto.server", "-H", "127.0.0.1", "-p", std::to_string(port)}, null);
    ::close(null);
    if (!spawned) return false;
    for (int i = 0; i < 600 && !port_open(port); ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return fail("moto.server exited");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!port_open(port)) return fail("moto.server did not listen in 30 s");
    port_ = port;
    return true;
  }

  static std::string read_first_line(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "re");
    if (f == nullptr) return "";
    char buf[512] = {};
    const bool got = std::fgets(buf, sizeof buf, f) != nullptr;
    std::fclose(f);
    return got ? std::string(buf) : "";
  }

  Kind kind_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::filesystem::path dir_;
  std::string why_not_;
};

// One line per suite, in SetUpTestSuite: which servers its tests run against.
inline void announce(const char* suite, const std::vector<const S3TestServer*>& servers) {
  std::string line = std::string("[ S3 servers ] ") + suite + ":";
  for (const auto* s : servers) line += " " + s->describe() + ";";
  line.back() = '\n';
  std::fputs(line.c_str(), stdout);
  std::fflush(stdout);
}

}  // namespace kiln::testing

// In SetUp(): s3rver must run under KILN_REQUIRE_S3 (scripts/test.sh), else the test skips;
// moto is optional everywhere, so a test that needs it skips with the reason.
#define KILN_REQUIRE_S3_SERVER(server)                                                           \
  do {                                                                                           \
    if (!(server).running()) {                                                                   \
      if (std::string((server).name()) == "s3rver" && ::kiln::testing::S3TestServer::required()) \
        FAIL() << "s3rver is not running (KILN_REQUIRE_S3): " << (server).why_not();             \
      GTEST_SKIP() << (server).name() << " is not running: " << (server).why_not();              \
    }                                                                                            \
  } while (false)
