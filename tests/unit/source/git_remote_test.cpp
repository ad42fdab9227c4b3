// git_clone over the network transports, each from a real server the test starts on 127.0.0.1:
// git daemon (git://), a Basic-auth HTTP server in front of git http-backend (credentials), and
// a socket that never answers (cancellation and timeouts).
#include <chrono>
#include <thread>

#include "source/git_fixture.h"
#include "source/git_source.h"

namespace kiln::source::gittest {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class GitRemoteTest : public GitFixture {};

TEST_F(GitRemoteTest, CloneOverGitDaemon) {
  const int port = free_port();
  Child daemon = start_child({"/usr/lib/git-core/git-daemon", "--export-all",
                              "--base-path=" + root_.string(), "--port=" + std::to_string(port),
                              "--reuseaddr", "--listen=127.0.0.1", root_.string()});
  ASSERT_TRUE(wait_for_port(port));
  const std::string base = "git://127.0.0.1:" + std::to_string(port);
  auto req = request("feature");
  req.url = base + "/origin";
  req.depth = 1;
  auto r = clone(req);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->commit, commit_c_);
  EXPECT_EQ(git_in(root_ / "clone", "rev-list --count HEAD"), "1");

  auto missing = request("", "missing");
  missing.url = base + "/nope";
  auto m = clone(missing);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(m.error().message(), "repository not found");
}

class GitHttpTest : public GitFixture {
 protected:
  static constexpr const char* kUser = "builder";
  static constexpr const char* kToken = "ghp_kilnTestToken0123456789";

  void SetUp() override {
    GitFixture::SetUp();
    const fs::path script = fs::path(__FILE__).parent_path() / "git_http_server.py";
    server_ = start_child({"/usr/bin/python3", script.string(), root_.string(), kUser, kToken});
    const std::string port = server_.first_line();
    ASSERT_FALSE(port.empty()) << "the HTTP server did not start";
    base_ = "http://127.0.0.1:" + port;
  }

  GitCloneRequest http_request(const std::string& token, const std::string& dest = "clone") {
    auto req = request("", dest);
    req.url = base_ + "/origin";
    req.https_username = kUser;
    req.https_token = token;
    return req;
  }

  Child server_;
  std::string base_;
};

TEST_F(GitHttpTest, RightTokenClonesAndIsWrittenNowhere) {
  auto req = http_request(kToken);
  req.submodules = true;
  auto r = clone(req);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->commit, commit_d_);
  EXPECT_EQ(files_containing(root_ / "clone", kToken), std::vector<fs::path>{});
  EXPECT_EQ(log_.find(kToken), std::string::npos) << log_;
  EXPECT_EQ(log_.find("Cloning " + base_ + "/origin\n"), 0U) << log_;
  EXPECT_EQ(git_in(root_ / "clone", "config --get-regexp credential || true"), "");
}

TEST_F(GitHttpTest, TokenInTheUrlIsMovedOutOfIt) {
  auto req = http_request("");
  req.url = "http://" + std::string(kUser) + ":" + kToken + "@" + base_.substr(7) + "/origin";
  auto r = clone(req);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(files_containing(root_ / "clone", kToken), std::vector<fs::path>{});
  EXPECT_EQ(log_.find(kToken), std::string::npos) << log_;
  EXPECT_EQ(git_in(root_ / "clone", "config remote.origin.url"), base_ + "/origin");
}

TEST_F(GitHttpTest, WrongOrMissingTokenFailsAtOnce) {
  for (const std::string token : {"wrong-token", ""}) {
    const auto start = Clock::now();
    auto r = clone(http_request(token));
    ASSERT_FALSE(r) << "token '" << token << "'";
    EXPECT_EQ(r.error().message(), "authentication required");
    EXPECT_EQ(r.error().code(), ErrorCode::kPermission);
    EXPECT_LT(Clock::now() - start, 10s);
    EXPECT_FALSE(fs::exists(root_ / "clone"));
  }
  EXPECT_EQ(log_.find(kToken), std::string::npos);
}

TEST_F(GitHttpTest, MirrorOverHttp) {
  auto req = http_request(kToken);
  req.mirror_dir = root_ / "mirror";
  auto r = clone(req);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(files_containing(root_ / "mirror", kToken), std::vector<fs::path>{});
  EXPECT_EQ(files_containing(root_ / "clone", kToken), std::vector<fs::path>{});
  EXPECT_EQ(git_in(root_ / "clone", "config remote.origin.url"), base_ + "/origin");
}

TEST_F(GitRemoteTest, CancelKillsAHangingClone) {
  const SilentServer silent;
  auto req = request("");
  req.url = "git://127.0.0.1:" + std::to_string(silent.port()) + "/origin";
  const auto start = Clock::now();
  std::thread canceller([this] {
    std::this_thread::sleep_for(300ms);
    cancel_.cancel();
  });
  auto r = clone(req);
  canceller.join();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCancelled);
  EXPECT_LT(Clock::now() - start, 5s);
  EXPECT_FALSE(fs::exists(root_ / "clone"));
}

TEST_F(GitRemoteTest, TimeoutKillsAHangingClone) {
  const SilentServer silent;
  auto req = request("");
  req.url = "git://127.0.0.1:" + std::to_string(silent.port()) + "/origin";
  req.timeout_ms = 400;
  const auto start = Clock::now();
  auto r = clone(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kTimeout);
  EXPECT_EQ(r.error().message(), "timed out after 400 ms");
  EXPECT_GE(Clock::now() - start, 400ms);
  EXPECT_LT(Clock::now() - start, 5s);
}

TEST_F(GitRemoteTest, AlreadyCancelledStartsNothing) {
  cancel_.cancel();
  auto r = clone(request(""));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCancelled);
}

}  // namespace
}  // namespace kiln::source::gittest
