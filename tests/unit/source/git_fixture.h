// Test helpers for git_source: real repositories made with /usr/bin/git in a temp folder, and
// the servers the tests clone from (git daemon, an HTTP server with Basic auth, a socket that
// never answers). Header-only: kiln_tests takes only *_test.cpp from this folder.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "exec/executor.h"
#include "source/git_source.h"

namespace kiln::source::gittest {

namespace fs = std::filesystem;

// Runs a shell script with a fixed git identity and dates; returns its stdout, trimmed. The
// test fails if the script does.
inline std::string sh(const std::string& script, const fs::path& home) {
  const std::string full =
      "set -e; export HOME='" + home.string() +
      "' GIT_CONFIG_NOSYSTEM=1 LANG=C GIT_AUTHOR_NAME=Kiln GIT_AUTHOR_EMAIL=kiln@example.com "
      "GIT_COMMITTER_NAME=Kiln GIT_COMMITTER_EMAIL=kiln@example.com "
      "GIT_AUTHOR_DATE='2024-01-01T00:00:00Z' GIT_COMMITTER_DATE='2024-01-01T00:00:00Z'; "
      "git() { /usr/bin/git -c init.defaultBranch=main -c protocol.file.allow=always \"$@\"; }; " +
      script;
  FILE* p = ::popen(("/bin/sh -c '" +
                     [&] {
                       std::string q;
                       for (char c : full)
                         q += c == '\'' ? std::string("'\\''") : std::string(1, c);
                       return q;
                     }() +
                     "'")
                        .c_str(),
                    "r");
  if (p == nullptr) {
    ADD_FAILURE() << "popen failed";
    return "";
  }
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = ::pclose(p);
  EXPECT_EQ(status, 0) << "script failed: " << script << "\n" << out;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// A child process the test started, killed (by its pid) and reaped when the test ends.
class Child {
 public:
  Child() = default;
  Child(pid_t pid, int out_fd) : pid_(pid), out_fd_(out_fd) {}
  Child(Child&& o) noexcept
      : pid_(std::exchange(o.pid_, 0)), out_fd_(std::exchange(o.out_fd_, -1)) {}
  Child& operator=(Child&& o) noexcept {
    stop();
    pid_ = std::exchange(o.pid_, 0);
    out_fd_ = std::exchange(o.out_fd_, -1);
    return *this;
  }
  ~Child() { stop(); }
  void stop() {
    if (out_fd_ >= 0) ::close(out_fd_);
    out_fd_ = -1;
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status;
      ::waitpid(pid_, &status, 0);
    }
    pid_ = 0;
  }
  // The first line the child printed (blocking).
  std::string first_line() const {
    std::string line;
    char c;
    while (::read(out_fd_, &c, 1) == 1 && c != '\n') line += c;
    return line;
  }

 private:
  pid_t pid_ = 0;
  int out_fd_ = -1;
};

// Starts argv[0] with stdout into a pipe the Child reads; stderr stays the test's.
inline Child start_child(const std::vector<std::string>& argv) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return {};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    ADD_FAILURE() << "cannot start " << argv[0];
    return {};
  }
  return Child(pid, fds[0]);
}

// A TCP socket listening on 127.0.0.1 that never accepts: the kernel completes the handshake,
// so a git:// client sends its request and then waits forever for an answer.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
    }
    port_ = ntohs(addr.sin_port);
  }
  ~SilentServer() { ::close(fd_); }
  SilentServer(const SilentServer&) = delete;
  SilentServer& operator=(const SilentServer&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

inline int free_port() {
  const SilentServer probe;
  return probe.port();
}

// True once something accepts connections on 127.0.0.1:port (within about 10 s).
inline bool wait_for_port(int port) {
  for (int i = 0; i < 1000; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// Every file under `dir` whose bytes contain `needle`.
inline std::vector<fs::path> files_containing(const fs::path& dir, const std::string& needle) {
  std::vector<fs::path> hits;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file() || e.is_symlink()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    if (ss.str().find(needle) != std::string::npos) hits.push_back(e.path());
  }
  return hits;
}

// A temp folder with an origin repository:
//   main:    A - B - D        tag v1 (annotated) at A
//   feature: A - B - C        refs/pull/7/head: E (on B, on no branch)
class GitFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kiln-git-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    fs::create_directory(root_ / "home");
    sh("git init -q origin && cd origin && "
       "echo one > f && git add f && git commit -qm A && git tag -a v1 -m v1 && "
       "echo two > f && git commit -qam B && git checkout -qb feature && "
       "echo three > f && git commit -qam C && git checkout -q main && "
       "git checkout -q --detach && echo pr > f && git commit -qam E && "
       "git update-ref refs/pull/7/head HEAD && git checkout -q main && "
       "echo four > f && git commit -qam D");
    commit_b_ = git_in(root_ / "origin", "rev-parse main~1");
    commit_c_ = git_in(root_ / "origin", "rev-parse feature");
    commit_d_ = git_in(root_ / "origin", "rev-parse main");
    commit_e_ = git_in(root_ / "origin", "rev-parse refs/pull/7/head");
    tag_commit_ = git_in(root_ / "origin", "rev-parse 'v1^{commit}'");
  }

  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "kept test folder " << root_ << "\n";
    } else {
      fs::remove_all(root_);
    }
  }

  std::string sh(const std::string& script) {
    return gittest::sh("cd '" + root_.string() + "'; " + script, root_ / "home");
  }
  std::string git_in(const fs::path& dir, const std::string& args) {
    return sh("cd '" + dir.string() + "' && git " + args);
  }
  std::string url() const { return "file://" + (root_ / "origin").string(); }

  GitCloneRequest request(const std::string& version, const std::string& dest = "clone") {
    GitCloneRequest req;
    req.url = url();
    req.version = version;
    req.dest = root_ / dest;
    req.log = [this](std::string_view line) { log_ += std::string(line) + "\n"; };
    return req;
  }

  Result<GitCloneResult> clone(const GitCloneRequest& req) { return git_clone(req, cancel_); }

  fs::path root_;
  std::string log_;
  exec::CancelToken cancel_ = exec::CancelToken::create().value();
  std::string commit_b_, commit_c_, commit_d_, commit_e_, tag_commit_;
};

}  // namespace kiln::source::gittest
