// Malformed input gets an answer where one makes sense (400/413/431/500), never a crash or a
// hang, and the server goes on serving.
#include "http/server.h"

#include <gtest/gtest.h>

#include <chrono>

#include "http/test_client.h"

namespace kiln::http::test {
namespace {

using namespace std::chrono_literals;

TEST_F(HttpServerTest, MalformedRequestLineGets400AndClose) {
  start_echo();
  for (const std::string raw :
       {"GARBAGE\r\n\r\n", "GET\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "GET /\tx HTTP/1.1\r\n\r\n",
        "POST / HTTP/1.1\r\nBad Header\r\n\r\n", "POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n"}) {
    Client c(port_);
    auto reply = c.call(raw);
    ASSERT_TRUE(reply) << raw;
    EXPECT_EQ(reply->head.status, 400) << raw;
    EXPECT_TRUE(is_serialization_error(*reply)) << reply->body;
    EXPECT_EQ(reply->head.get("connection"), "close");
    EXPECT_TRUE(c.closed_by_peer());
  }
  Client c(port_);  // and the server is still fine
  ASSERT_TRUE(c.call(post("/", "ok")));
}

TEST_F(HttpServerTest, GarbageBytesGet400) {
  start_echo();
  std::string garbage;
  for (int i = 0; i < 3000; ++i) garbage += static_cast<char>((i * 7919) % 256);
  Client c(port_);
  ASSERT_TRUE(c.send(garbage));
  auto reply = c.read_reply();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->head.status, 400);
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(HttpServerTest, BodyOverMaxBodyGets413) {
  ServerOptions opts;
  opts.max_body = 1024;
  start_echo(opts);
  {
    Client c(port_);  // declared length: refused before any body is read
    auto reply = c.call("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n");
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->head.status, 413);
    EXPECT_EQ(reply->body,
              R"({"__type":"SerializationException","message":"the request body is larger than )"
              R"(1024 bytes"})");
    EXPECT_TRUE(c.closed_by_peer());
  }
  {
    Client c(port_);  // the whole body sent at once: still a clean 413, not a reset
    auto reply = c.call(post("/", std::string(200000, 'x')));
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->head.status, 413);
  }
  {
    Client c(port_);  // chunked, growing past the limit
    auto reply = c.call("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                        std::string("200\r\n") + std::string(512, 'a') + "\r\n" + "201\r\n" +
                        std::string(513, 'b') + "\r\n0\r\n\r\n");
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->head.status, 413);
  }
  Client c(port_);
  auto reply = c.call(post("/", std::string(1024, 'x')));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->head.status, 200);
}

TEST_F(HttpServerTest, HeaderFloodGets431) {
  start_echo();
  std::string raw = "POST / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 3000; ++i)
    raw += "X-Flood-" + std::to_string(i) + ": " + std::string(40, 'v') + "\r\n";
  raw += "\r\n";
  Client c(port_);
  auto reply = c.call(raw);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->head.status, 431);
  EXPECT_TRUE(is_serialization_error(*reply));

  Client endless(port_);  // one header line that never ends
  ASSERT_TRUE(endless.send("POST / HTTP/1.1\r\nX-Long: " + std::string(100000, 'z')));
  auto endless_reply = endless.read_reply();
  ASSERT_TRUE(endless_reply);
  EXPECT_EQ(endless_reply->head.status, 431);
}

TEST_F(HttpServerTest, BadChunkedBodyGets400) {
  start_echo();
  Client c(port_);
  auto reply = c.call("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->head.status, 400);
  EXPECT_TRUE(is_serialization_error(*reply));
}

TEST_F(HttpServerTest, TruncatedBodyGets400) {
  start_echo();
  Client c(port_);
  ASSERT_TRUE(c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten.."));
  c.shutdown_write();
  auto reply = c.read_reply();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->head.status, 400);
  EXPECT_NE(reply->body.find("partial message"), std::string::npos) << reply->body;
}

TEST_F(HttpServerTest, PeerVanishingMidRequestIsHarmless) {
  start_echo();
  for (int i = 0; i < 20; ++i) {
    Client c(port_);
    ASSERT_TRUE(c.send("POST / HTTP/1.1\r\nContent-Length: 50\r\n\r\nabc"));
  }
  Client c(port_);
  ASSERT_TRUE(c.call(post("/", "still here")));
}

TEST_F(HttpServerTest, MangledRequestsNeverBreakTheServer) {
  start_echo();
  const std::string good =
      "POST /m?a=b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n" +
      post("/n", "abc");
  std::uint32_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 1664525U + 1013904223U;
    return seed >> 8;
  };
  const auto t0 = SteadyClock::now();
  for (int i = 0; i < 300; ++i) {
    std::string mangled = good;
    for (int flips = 1 + static_cast<int>(next() % 4); flips > 0; --flips) {
      mangled[next() % mangled.size()] = static_cast<char>(next() % 256);
    }
    if (next() % 3 == 0) mangled.resize(next() % mangled.size());
    Client c(port_);
    ASSERT_TRUE(c.connected());
    c.send(mangled);
    c.shutdown_write();  // then the server must answer or close: no waiting for more
    while (auto reply = c.read_reply()) {
      EXPECT_TRUE(reply->head.status == 200 || reply->head.status == 400 ||
                  reply->head.status == 413 || reply->head.status == 431)
          << reply->head.status;
    }
  }
  EXPECT_LT(SteadyClock::now() - t0, 5s);  // every case answered or closed, none timed out
  Client c(port_);
  auto reply = c.call(post("/", "alive"));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body, "POST / ? alive");
}

TEST_F(HttpServerTest, ThrowingHandlerGets500AndServerGoesOn) {
  start([](const Request& req) -> Response {
    if (req.path == "/throw") throw std::runtime_error("secret-token-123");
    if (req.path == "/int") throw 42;
    return text(200, "fine");
  });
  Client c(port_);
  for (const char* path : {"/throw", "/int"}) {
    auto reply = c.call(post(path, ""));
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->head.status, 500);
    EXPECT_EQ(reply->head.get("content-type"), "application/x-amz-json-1.1");
    EXPECT_EQ(reply->body.rfind(R"({"__type":"InternalFailure",)", 0), 0U) << reply->body;
    EXPECT_EQ(reply->body.find("secret"), std::string::npos);
  }
  auto reply = c.call(post("/ok", ""));  // same connection
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body, "fine");
}

TEST_F(HttpServerTest, InvalidHandlerHeaderBecomes500) {
  start([](const Request&) {
    Response r = text(200, "x");
    r.headers.emplace_back("X-Bad", "a\r\nInjected: yes");
    return r;
  });
  Client c(port_);
  auto reply = c.call(post("/", ""));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->head.status, 500);
  EXPECT_EQ(reply->head.get("injected"), "<none>");
}

}  // namespace
}  // namespace kiln::http::test
