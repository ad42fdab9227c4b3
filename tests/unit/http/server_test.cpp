// A real Server on port 0 driven over real sockets: requests, keep-alive, concurrency, start.
#include "http/server.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

#include "http/test_client.h"

namespace kiln::http::test {
namespace {

using namespace std::chrono_literals;

TEST_F(HttpServerTest, PostRoundTripCarriesHeadersAndBody) {
  Request seen;
  start([&seen](const Request& req) {
    seen = req;
    Response r = text(201, "made it");
    r.headers.emplace_back("X-Amzn-RequestId", "r-1");
    return r;
  });
  Client c(port_);
  auto reply = c.call(post("/p/a?x=1&y", "{\"a\":1}",
                           "X-Amz-Target: CodeBuild_20161006.ListProjects\r\nX-Test: one\r\n"
                           "x-test: two\r\n"));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->head.status, 201);
  EXPECT_EQ(reply->body, "made it");
  // Exactly what the handler set, plus the length: nothing else (no Date, no Server).
  const std::vector<std::pair<std::string, std::string>> want = {
      {"content-type", "text/plain"}, {"x-amzn-requestid", "r-1"}, {"content-length", "7"}};
  EXPECT_EQ(reply->head.headers, want);

  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/p/a?x=1&y");
  EXPECT_EQ(seen.path, "/p/a");
  EXPECT_EQ(seen.query, "x=1&y");
  EXPECT_EQ(seen.body, "{\"a\":1}");
  ASSERT_NE(seen.header("x-amz-target"), nullptr);
  EXPECT_EQ(*seen.header("x-amz-target"), "CodeBuild_20161006.ListProjects");
  EXPECT_EQ(*seen.header("x-test"), "one");
  ASSERT_GE(seen.headers.size(), 5U);
  EXPECT_EQ(seen.headers[0].first, "host");
  EXPECT_EQ(seen.remote.rfind("127.0.0.1:", 0), 0U) << seen.remote;
}

TEST_F(HttpServerTest, KeepAliveServesHundredRequestsOnOneConnection) {
  start_echo();
  Client c(port_);
  std::set<std::string> remotes;
  for (int i = 0; i < 100; ++i) {
    const std::string body = "n=" + std::to_string(i);
    auto reply = c.call(post("/k", body));
    ASSERT_TRUE(reply) << "request " << i;
    EXPECT_EQ(reply->body, "POST /k ? " + body);
    EXPECT_EQ(reply->head.get("connection"), "<none>");
    remotes.insert(reply->head.get("x-remote"));
  }
  EXPECT_EQ(remotes.size(), 1U);
}

TEST_F(HttpServerTest, ThirtyTwoConcurrentKeepAliveClients) {
  std::atomic<int> handled{0};
  start([&handled](const Request& req) {
    handled.fetch_add(1);
    return text(200, req.body);
  });
  constexpr int kClients = 32;
  constexpr int kRequests = 50;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      Client c(port_);
      for (int i = 0; i < kRequests; ++i) {
        const std::string body = std::to_string(t) + "/" + std::to_string(i);
        auto reply = c.call(post("/", body));
        if (!reply || reply->body != body) return;
        ok.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kClients * kRequests);
  EXPECT_EQ(handled.load(), kClients * kRequests);
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  start_echo();
  Client c(port_);
  ASSERT_TRUE(c.send(post("/1", "a") + post("/2", "b") + "GET /3?q HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r1 = c.read_reply();
  auto r2 = c.read_reply();
  auto r3 = c.read_reply();
  ASSERT_TRUE(r1 && r2 && r3);
  EXPECT_EQ(r1->body, "POST /1 ? a");
  EXPECT_EQ(r2->body, "POST /2 ? b");
  EXPECT_EQ(r3->body, "GET /3 ?q ");
}

TEST_F(HttpServerTest, ChunkedRequestBodyIsDecoded) {
  start_echo();
  Client c(port_);
  auto reply = c.call(
      "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body, "POST /c ? abcde");
}

TEST_F(HttpServerTest, ConnectionCloseIsHonoured) {
  start_echo();
  Client c(port_);
  auto reply = c.call(post("/", "x", "Connection: close\r\n"));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->head.status, 200);
  EXPECT_EQ(reply->head.get("connection"), "close");
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(HttpServerTest, HandlerConnectionCloseEndsTheConnection) {
  start([](const Request&) {
    Response r = text(200, "bye");
    r.headers.emplace_back("Connection", "close");
    return r;
  });
  Client c(port_);
  auto reply = c.call(post("/", ""));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body, "bye");
  EXPECT_EQ(reply->head.get("connection"), "close");
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(HttpServerTest, Http10ClosesUnlessKeepAliveIsAsked) {
  start_echo();
  {
    Client c(port_);
    auto reply = c.call("GET /old HTTP/1.0\r\n\r\n");
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->body, "GET /old ? ");
    EXPECT_EQ(reply->head.get("content-length"), "11");
    EXPECT_TRUE(c.closed_by_peer());
  }
  Client c(port_);
  for (int i = 0; i < 3; ++i) {
    auto reply = c.call("GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->head.get("connection"), "keep-alive");
  }
}

TEST_F(HttpServerTest, HeadGetsLengthButNoBody) {
  start([](const Request&) { return text(200, "twelve bytes"); });
  Client c(port_);
  ASSERT_TRUE(c.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto reply = c.read_reply(/*head_request=*/true);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->head.get("content-length"), "12");
  auto next = c.call(post("/", ""));  // no stray body bytes in between
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body, "twelve bytes");
}

TEST_F(HttpServerTest, ExpectContinueGetsInterimResponse) {
  start_echo();
  Client c(port_);
  ASSERT_TRUE(
      c.send("POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
             "Content-Length: 4\r\n\r\n"));
  auto interim = c.read_head();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.send("body"));
  auto reply = c.read_reply();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body, "POST /e ? body");
}

TEST_F(HttpServerTest, SocketsAreCloseOnExec) {
  start_echo();
  Client c(port_);
  ASSERT_TRUE(c.call(post("/", "")));  // the server's end is accepted by now
  int sockets = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(entry.path(), ec);
    if (ec || target.string().rfind("socket:", 0) != 0) continue;
    const int fd = std::stoi(entry.path().filename().string());
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0) continue;  // closed meanwhile
    ++sockets;
    EXPECT_NE(flags & FD_CLOEXEC, 0) << "fd " << fd << " " << target;
  }
  EXPECT_GE(sockets, 3);  // listener, accepted, client
}

TEST_F(HttpServerTest, StartOnPortInUseFailsNamingTheAddress) {
  start_echo();
  ServerOptions opts;
  opts.port = port_;
  Server second(opts, [](const Request&) { return Response{}; });
  auto started = second.start();
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code(), ErrorCode::kIo);
  EXPECT_EQ(started.error().describe(),
            "listen 127.0.0.1:" + std::to_string(port_) + ": Address already in use");
}

TEST(HttpServerStartTest, UnassignableAddressFails) {
  ServerOptions opts;
  opts.host = "192.0.2.1";  // TEST-NET-1: never a local address, and no DNS involved
  opts.port = 0;
  Server s(opts, [](const Request&) { return Response{}; });
  auto started = s.start();
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().describe(), "listen 192.0.2.1:0: Cannot assign requested address");
}

TEST(HttpServerStartTest, DestroyWithoutStartAndStartTwice) {
  {
    Server never({}, [](const Request&) { return Response{}; });
  }
  ServerOptions opts;
  opts.port = 0;
  Server s(opts, [](const Request&) { return Response{}; });
  ASSERT_TRUE(s.start());
  EXPECT_FALSE(s.start());
}

}  // namespace
}  // namespace kiln::http::test
