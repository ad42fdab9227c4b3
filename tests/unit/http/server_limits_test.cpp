// The server's defences against an unauthenticated peer (docs/security.md, finding 7): the precheck
// that answers before a body is read, connection caps, deadlines for slow heads, and streams
// that hold no thread each (finding 10).
#include <dirent.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "http/server.h"
#include "http/test_client.h"

namespace kiln::http::test {
namespace {

using namespace std::chrono_literals;

int thread_count() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/task");
  if (d == nullptr) return -1;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n;
}

TEST_F(HttpServerTest, PrecheckRefusesBeforeTheBodyIsRead) {
  ServerOptions opts;
  std::atomic<int> handled{0};
  opts.precheck = [](const Request& head) -> std::optional<Response> {
    if (head.header("authorization") != nullptr) return std::nullopt;
    return text(400, "unsigned");
  };
  start(
      [&](const Request&) {
        handled.fetch_add(1);
        return text(200, "ok");
      },
      opts);
  Client c(port_);
  // Only the head and 64 KiB of a declared 10 MiB body are sent: the answer must come anyway.
  ASSERT_TRUE(c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n\r\n"));
  ASSERT_TRUE(c.send(std::string(64 * 1024, 'b')));
  const auto reply = c.read_reply();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->head.status, 400);
  EXPECT_EQ(reply->body, "unsigned");
  EXPECT_EQ(reply->head.get("connection"), "close");
  EXPECT_EQ(handled.load(), 0);

  // A request that passes is read whole and handled.
  Client ok(port_);
  const auto r2 =
      ok.call("POST / HTTP/1.1\r\nHost: x\r\nAuthorization: x\r\nContent-Length: 2\r\n\r\nhi");
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->head.status, 200);
  EXPECT_EQ(handled.load(), 1);
}

TEST_F(HttpServerTest, PrecheckRefusesBeforeContinue) {
  ServerOptions opts;
  opts.precheck = [](const Request&) -> std::optional<Response> { return text(400, "no"); };
  start([](const Request&) { return text(200, "ok"); }, opts);
  Client c(port_);
  ASSERT_TRUE(c.send(
      "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1000000\r\n\r\n"));
  const auto reply = c.read_reply();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->head.status, 400);  // not 100 Continue
}

TEST_F(HttpServerTest, ConnectionsOverThePerPeerCapAreRefused) {
  ServerOptions opts;
  opts.max_connections_per_peer = 2;
  start_echo(opts);
  auto a = std::make_unique<Client>(port_);
  Client b(port_);
  ASSERT_TRUE(a->call("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(b.call("GET /b HTTP/1.1\r\nHost: x\r\n\r\n"));
  {
    Client third(port_);
    const auto refused = third.read_reply();
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->head.status, 503);
    EXPECT_NE(refused->body.find("too many connections"), std::string::npos);
    EXPECT_TRUE(third.closed_by_peer());
  }
  // Once one leaves, a new connection is admitted.
  a.reset();
  bool admitted = false;
  for (int i = 0; i < 50 && !admitted; ++i) {
    Client again(port_);
    const auto r = again.call("GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
    admitted = r && r->head.status == 200;
    if (!admitted) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(admitted);
}

TEST_F(HttpServerTest, SlowHeadIsCutAtTheHeaderDeadline) {
  ServerOptions opts;
  opts.header_timeout = 1s;
  opts.idle_timeout = 60s;
  start_echo(opts);
  Client c(port_);
  const auto t0 = SteadyClock::now();
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\n"));
  bool closed = false;
  // One header byte every 100 ms would keep an idle timer alive forever (slowloris).
  for (int i = 0; i < 40 && !closed; ++i) {
    std::this_thread::sleep_for(100ms);
    closed = !c.send("X");
  }
  if (!closed) closed = c.closed_by_peer();
  EXPECT_TRUE(closed);
  EXPECT_LT(SteadyClock::now() - t0, 3500ms);
}

TEST_F(HttpServerTest, SlowBodyIsCutAtTheBodyDeadline) {
  ServerOptions opts;
  opts.body_timeout = 1s;
  start_echo(opts);
  Client c(port_);
  const auto t0 = SteadyClock::now();
  ASSERT_TRUE(c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"));
  bool closed = false;
  for (int i = 0; i < 40 && !closed; ++i) {
    std::this_thread::sleep_for(100ms);
    closed = !c.send("b");
  }
  if (!closed) closed = c.closed_by_peer();
  EXPECT_TRUE(closed);
  EXPECT_LT(SteadyClock::now() - t0, 3500ms);
}

TEST_F(HttpServerTest, FiftyStreamsDoNotMakeFiftyThreads) {
  ServerOptions opts;
  opts.stream_poll = 20ms;
  std::atomic<bool> finish{false};
  start(
      [&](const Request&) {
        Response r;
        r.stream = [&finish, sent = false](std::string& out) mutable {
          if (!sent) {
            out = "first\n";
            sent = true;
            return true;
          }
          return !finish.load();  // nothing yet: the server polls again
        };
        return r;
      },
      opts);
  const int before = thread_count();
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 50; ++i) {
    clients.push_back(std::make_unique<Client>(port_));
    ASSERT_TRUE(clients.back()->send("GET /follow HTTP/1.1\r\nHost: x\r\n\r\n"));
  }
  for (auto& c : clients) {
    const auto head = c->read_head();
    ASSERT_TRUE(head);
    EXPECT_EQ(c->read_chunk(), "first\n");
  }
  std::this_thread::sleep_for(200ms);
  EXPECT_LE(thread_count(), before + 2);  // 50 follows, no thread each
  finish = true;
  for (auto& c : clients) {
    EXPECT_EQ(c->read_chunk(), "");  // the last chunk
  }
}

TEST_F(HttpServerTest, OffloadedHandlersRunOffTheIoThreads) {
  ServerOptions opts;
  opts.offload = [](const Request& r) { return r.path == "/slow"; };
  start(
      [](const Request& r) {
        if (r.path == "/slow") std::this_thread::sleep_for(1500ms);
        return text(200, r.path);
      },
      opts);
  // Two slow requests would take both I/O threads; a quick one must still be answered at once.
  Client s1(port_);
  Client s2(port_);
  ASSERT_TRUE(s1.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(s2.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(100ms);
  const auto t0 = SteadyClock::now();
  Client quick(port_);
  const auto r = quick.call("GET /quick HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "/quick");
  EXPECT_LT(SteadyClock::now() - t0, 500ms);
  EXPECT_EQ(s1.read_reply()->body, "/slow");
  EXPECT_EQ(s2.read_reply()->body, "/slow");
}

}  // namespace
}  // namespace kiln::http::test
