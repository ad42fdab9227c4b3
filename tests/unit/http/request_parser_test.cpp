// RequestParser on its own: the limits an unauthenticated peer meets before anything else
// (docs/security.md, finding 7), asserted on the bytes the caller must keep buffered.
#include "http/request_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace kiln::http {
namespace {

// Feeds `data` in pieces of `step` bytes the way the server does (keeping the unconsumed tail)
// and returns the final status; `held` is the largest tail the caller had to keep.
ParseStatus feed_all(RequestParser& p, const std::string& data, std::size_t step,
                     std::size_t& held) {
  std::string buf;
  held = 0;
  ParseStatus st = ParseStatus::kNeedMore;
  for (std::size_t at = 0; at < data.size(); at += step) {
    buf += data.substr(at, step);
    for (;;) {
      std::size_t used = 0;
      st = p.feed(buf, used);
      buf.erase(0, used);
      held = std::max(held, buf.size());
      if (st == ParseStatus::kHeaderDone) continue;
      break;
    }
    if (st == ParseStatus::kError || st == ParseStatus::kDone) return st;
  }
  return st;
}

constexpr std::string_view kChunkedHead =
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";

TEST(HttpRequestParserTest, ParsesAChunkedBodyWithExtensionsAndTrailer) {
  Request req;
  RequestParser p(req, {});
  std::size_t held = 0;
  const std::string data = std::string(kChunkedHead) +
                           "5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
  EXPECT_EQ(feed_all(p, data, 1, held), ParseStatus::kDone);
  EXPECT_EQ(req.body, "hello world");
  ASSERT_EQ(req.headers.size(), 2U);  // the trailer is not a header
  EXPECT_EQ(req.headers[1].first, "transfer-encoding");
}

TEST(HttpRequestParserTest, EndlessChunkExtensionIsRefusedWithinTheCap) {
  Request req;
  ParserLimits limits;
  limits.max_chunk_meta = 4096;
  RequestParser p(req, limits);
  std::size_t held = 0;
  // 100 MB of "2;xxxx..." grew the server by 100 MB before; now it stops at the cap.
  const std::string data = std::string(kChunkedHead) + "2;" + std::string(1 << 20, 'x');
  EXPECT_EQ(feed_all(p, data, 16 * 1024, held), ParseStatus::kError);
  EXPECT_EQ(p.status(), 400);
  EXPECT_EQ(p.message(), "a chunk extension or the trailer is longer than 4096 bytes");
  EXPECT_LE(held, 4096U + 16 * 1024);
}

TEST(HttpRequestParserTest, EndlessTrailerIsRefusedWithinTheCap) {
  Request req;
  RequestParser p(req, {});
  std::size_t held = 0;
  std::string trailer;
  while (trailer.size() < (1U << 20)) trailer += "X-T: " + std::string(50, 'y') + "\r\n";
  const std::string data = std::string(kChunkedHead) + "2\r\nab\r\n0\r\n" + trailer;
  EXPECT_EQ(feed_all(p, data, 16 * 1024, held), ParseStatus::kError);
  EXPECT_EQ(p.status(), 400);
  EXPECT_LE(held, ParserLimits{}.max_chunk_meta + 16 * 1024);
  EXPECT_EQ(req.headers.size(), 2U);
}

TEST(HttpRequestParserTest, HeadIsReportedBeforeTheBody) {
  Request req;
  RequestParser p(req, {});
  const std::string head =
      "POST /x?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\nAuthorization: a\r\n\r\n";
  std::size_t used = 0;
  EXPECT_EQ(p.feed(head, used), ParseStatus::kHeaderDone);
  EXPECT_EQ(used, head.size());
  EXPECT_EQ(req.path, "/x");
  EXPECT_EQ(req.query, "q=1");
  ASSERT_NE(req.header("authorization"), nullptr);
  EXPECT_EQ(p.content_length(), 10485760U);
  EXPECT_TRUE(req.body.empty());
  EXPECT_EQ(p.feed("", used), ParseStatus::kNeedMore);
}

TEST(HttpRequestParserTest, ABodylessRequestReportsItsHeadToo) {
  Request req;
  RequestParser p(req, {});
  const std::string get = "GET /logs/p/u HTTP/1.1\r\nHost: x\r\n\r\n";
  std::size_t used = 0;
  EXPECT_EQ(p.feed(get, used), ParseStatus::kHeaderDone);
  EXPECT_EQ(p.feed(std::string_view(get).substr(used), used), ParseStatus::kDone);
  EXPECT_EQ(req.path, "/logs/p/u");
}

TEST(HttpRequestParserTest, BodyAndHeaderLimits) {
  {
    Request req;
    ParserLimits limits;
    limits.max_body = 100;
    RequestParser p(req, limits);
    std::size_t held = 0;
    EXPECT_EQ(feed_all(p, "POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 64, held),
              ParseStatus::kError);
    EXPECT_EQ(p.status(), 413);
    EXPECT_EQ(p.message(), "the request body is larger than 100 bytes");
  }
  {
    Request req;
    ParserLimits limits;
    limits.max_header = 1024;
    RequestParser p(req, limits);
    std::size_t held = 0;
    const std::string flood = "GET / HTTP/1.1\r\nX: " + std::string(4096, 'a');
    EXPECT_EQ(feed_all(p, flood, 256, held), ParseStatus::kError);
    EXPECT_EQ(p.status(), 431);
    EXPECT_LE(held, 1024U + 256);
  }
}

TEST(HttpRequestParserTest, FinishEndsABodyDelimitedByNothingElse) {
  Request req;
  RequestParser p(req, {});
  std::size_t used = 0;
  const std::string partial = "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc";
  EXPECT_EQ(p.feed(partial, used), ParseStatus::kHeaderDone);
  EXPECT_EQ(p.feed(partial.substr(used), used), ParseStatus::kNeedMore);
  EXPECT_EQ(p.finish(), ParseStatus::kError);
  EXPECT_EQ(p.status(), 400);
}

}  // namespace
}  // namespace kiln::http
