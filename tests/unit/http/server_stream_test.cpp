// Streaming (chunked) responses, idle timeouts and shutdown.
#include "http/server.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "http/test_client.h"

namespace kiln::http::test {
namespace {

using namespace std::chrono_literals;

// --- Streaming responses ---

// Hands pieces to a producer running on the server's stream thread, one at a time.
class Feed {
 public:
  void push(std::string piece) {
    std::lock_guard lk(mu_);
    pieces_.push_back(std::move(piece));
    cv_.notify_all();
  }
  void end() {
    std::lock_guard lk(mu_);
    ended_ = true;
    cv_.notify_all();
  }
  // A producer: waits up to 100 ms for a piece, so it returns often as the server asks.
  BodyStream producer() {
    return [this](std::string& out) {
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, 100ms, [this] { return !pieces_.empty() || ended_; });
      ++calls_;
      if (!pieces_.empty()) {
        out += pieces_.front();
        pieces_.erase(pieces_.begin());
        return true;
      }
      return !ended_;
    };
  }
  int calls() {
    std::lock_guard lk(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> pieces_;
  bool ended_ = false;
  int calls_ = 0;
};

TEST_F(HttpServerTest, StreamIsDeliveredPieceByPieceWhileOthersAreServed) {
  Feed feed;
  start([&feed](const Request& req) {
    if (req.path != "/follow") return text(200, "other");
    Response r;
    r.headers = {{"Content-Type", "text/plain"}};
    r.stream = feed.producer();
    return r;
  });
  Client follower(port_);
  ASSERT_TRUE(follower.send("GET /follow HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto head = follower.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->get("transfer-encoding"), "chunked");
  EXPECT_EQ(head->get("content-length"), "<none>");

  for (const std::string piece : {"line 1\n", "line 2\n"}) {
    feed.push(piece);
    auto chunk = follower.read_chunk();
    ASSERT_TRUE(chunk);
    EXPECT_EQ(*chunk, piece);
    // The producer now blocks on the feed; every other connection is served meanwhile.
    for (int i = 0; i < 3; ++i) {
      Client other(port_);
      auto reply = other.call(post("/x", ""));
      ASSERT_TRUE(reply);
      EXPECT_EQ(reply->body, "other");
    }
  }
  // A request sent on the follower's connection mid-stream waits for the stream to end.
  ASSERT_TRUE(follower.send(post("/x", "")));
  std::this_thread::sleep_for(50ms);
  feed.end();
  auto last = follower.read_chunk();
  ASSERT_TRUE(last);
  EXPECT_EQ(*last, "");
  auto after = follower.read_reply();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->body, "other");
  auto again = follower.call(post("/x", ""));  // and the connection is still kept alive
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body, "other");
}

TEST_F(HttpServerTest, StreamToHttp10EndsWithClose) {
  Feed feed;
  start([&feed](const Request&) {
    Response r;
    r.stream = feed.producer();
    return r;
  });
  feed.push("a");
  feed.push("b");
  feed.end();
  Client c(port_);
  auto reply = c.call("GET /follow HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->head.get("transfer-encoding"), "<none>");
  EXPECT_EQ(reply->body, "ab");
}

TEST_F(HttpServerTest, ThrowingProducerTruncatesTheStream) {
  start([](const Request&) {
    Response r;
    r.stream = [n = 0](std::string& out) mutable -> bool {
      if (n++ == 1) throw std::runtime_error("boom");
      out = "first";
      return true;
    };
    return r;
  });
  Client c(port_);
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c.read_head());
  auto first = c.read_chunk();
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, "first");
  EXPECT_FALSE(c.read_chunk());  // closed without the last chunk
}

TEST_F(HttpServerTest, FollowerLeavingStopsTheProducer) {
  Feed feed;
  start([&feed](const Request&) {
    Response r;
    r.stream = feed.producer();
    return r;
  });
  {
    Client c(port_);
    ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(c.read_head());
  }
  // Heartbeats continue until the server sees the peer is gone, then stop.
  std::this_thread::sleep_for(500ms);
  const int calls = feed.calls();
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(feed.calls(), calls);
}

// --- Shutdown ---

TEST_F(HttpServerTest, StopWithIdleAndStreamingConnectionsReturnsPromptly) {
  Feed feed;
  start([&feed](const Request& req) {
    if (req.path == "/idle") return text(200, "x");
    Response r;
    r.stream = feed.producer();
    return r;
  });
  Client idle(port_);
  ASSERT_TRUE(idle.call(post("/idle", "")));
  Client follower(port_);
  ASSERT_TRUE(follower.send("GET /follow HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(follower.read_head());
  Client silent(port_);  // connected, never sends a byte

  const auto t0 = SteadyClock::now();
  server_->stop();
  EXPECT_LT(SteadyClock::now() - t0, 1500ms);
  EXPECT_TRUE(idle.closed_by_peer());
  EXPECT_FALSE(follower.read_chunk());
  EXPECT_TRUE(silent.closed_by_peer());
  server_->stop();  // idempotent
}

TEST_F(HttpServerTest, StopAcceptingKeepsOpenConnectionsServing) {
  start_echo();
  Client before(port_);
  ASSERT_TRUE(before.call(post("/", "1")));
  server_->stop_accepting();
  Client after(port_);
  EXPECT_FALSE(after.connected());
  auto reply = before.call(post("/", "2"));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body, "POST / ? 2");
}

TEST_F(HttpServerTest, IdleConnectionsTimeOut) {
  ServerOptions opts;
  opts.idle_timeout = 1s;
  start_echo(opts);
  Client c(port_);
  ASSERT_TRUE(c.call(post("/", "")));
  const auto t0 = SteadyClock::now();
  EXPECT_TRUE(c.closed_by_peer());
  const auto waited = SteadyClock::now() - t0;
  EXPECT_GE(waited, 900ms);
  EXPECT_LT(waited, 3s);
}

}  // namespace
}  // namespace kiln::http::test
