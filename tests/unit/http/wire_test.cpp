#include "http/wire.h"

#include <gtest/gtest.h>

namespace kiln::http {
namespace {

TEST(HttpWireTest, HeadWithLengthKeepsHandlerHeadersInOrder) {
  Response r;
  r.status = 200;
  r.headers = {{"Content-Type", "application/x-amz-json-1.1"}, {"x-amzn-RequestId", "abc"}};
  std::string out;
  ASSERT_TRUE(append_head(out, r, Framing::kLength, 42, ConnectionHeader::kOmit));
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: application/x-amz-json-1.1\r\n"
            "x-amzn-RequestId: abc\r\n"
            "Content-Length: 42\r\n"
            "\r\n");
}

TEST(HttpWireTest, HeadDropsFramingHeadersTheServerOwns) {
  Response r;
  r.status = 404;
  r.headers = {{"content-length", "7"}, {"Transfer-Encoding", "gzip"}, {"CONNECTION", "close"}};
  std::string out;
  ASSERT_TRUE(append_head(out, r, Framing::kChunked, 0, ConnectionHeader::kClose));
  EXPECT_EQ(out,
            "HTTP/1.1 404 Not Found\r\n"
            "Transfer-Encoding: chunked\r\n"
            "Connection: close\r\n"
            "\r\n");
  EXPECT_TRUE(asks_to_close(r));
}

TEST(HttpWireTest, HeadForHttp10KeepAliveAndNoBodyStatuses) {
  Response r;
  r.status = 204;
  std::string out;
  ASSERT_TRUE(append_head(out, r, length_framing(204), 0, ConnectionHeader::kKeepAlive));
  EXPECT_EQ(out, "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(length_framing(304), Framing::kNone);
  EXPECT_EQ(length_framing(101), Framing::kNone);
  EXPECT_EQ(length_framing(200), Framing::kLength);
}

TEST(HttpWireTest, HeadRejectsHeaderInjection) {
  Response r;
  r.headers = {{"X-Evil", "a\r\nSet-Cookie: x=1"}};
  std::string out;
  EXPECT_FALSE(append_head(out, r, Framing::kLength, 0, ConnectionHeader::kOmit));
  r.headers = {{"Bad Name", "v"}};
  out.clear();
  EXPECT_FALSE(append_head(out, r, Framing::kLength, 0, ConnectionHeader::kOmit));
  r.headers = {{"", "v"}};
  out.clear();
  EXPECT_FALSE(append_head(out, r, Framing::kLength, 0, ConnectionHeader::kOmit));
}

TEST(HttpWireTest, StatusOutsideThreeDigitsBecomes500) {
  EXPECT_EQ(sanitize_status(0), 500);
  EXPECT_EQ(sanitize_status(1000), 500);
  EXPECT_EQ(sanitize_status(418), 418);
  EXPECT_EQ(reason_phrase(418), "Unknown");
  EXPECT_EQ(reason_phrase(431), "Request Header Fields Too Large");
  Response r;
  r.status = -3;
  std::string out;
  ASSERT_TRUE(append_head(out, r, Framing::kLength, 0, ConnectionHeader::kOmit));
  EXPECT_EQ(out.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0U);
}

TEST(HttpWireTest, ChunkSizeIsHex) {
  std::string out;
  append_chunk_size(out, 255);
  EXPECT_EQ(out, "ff\r\n");
  out.clear();
  append_chunk_size(out, 4096);
  EXPECT_EQ(out, "1000\r\n");
}

TEST(HttpWireTest, JsonErrorBodyEscapes) {
  EXPECT_EQ(json_error_body("SerializationException", "bad \"x\"\\\n\x01"),
            R"({"__type":"SerializationException","message":"bad \"x\"\\\n\u0001"})");
  const Response r = json_error(413, "SerializationException", "too big");
  EXPECT_EQ(r.status, 413);
  ASSERT_EQ(r.headers.size(), 1U);
  EXPECT_EQ(r.headers[0].second, "application/x-amz-json-1.1");
  EXPECT_EQ(r.body, R"({"__type":"SerializationException","message":"too big"})");
}

TEST(HttpWireTest, SplitTargetAtFirstQuestionMark) {
  std::string path;
  std::string query;
  split_target("/logs/x?follow=1&a=?", path, query);
  EXPECT_EQ(path, "/logs/x");
  EXPECT_EQ(query, "follow=1&a=?");
  split_target("/", path, query);
  EXPECT_EQ(path, "/");
  EXPECT_EQ(query, "");
  split_target("/a?", path, query);
  EXPECT_EQ(path, "/a");
  EXPECT_EQ(query, "");
}

TEST(HttpWireTest, RequestHeaderFindsFirstMatch) {
  Request req;
  req.headers = {{"x-a", "1"}, {"x-b", "2"}, {"x-a", "3"}};
  ASSERT_NE(req.header("x-a"), nullptr);
  EXPECT_EQ(*req.header("x-a"), "1");
  EXPECT_EQ(req.header("x-c"), nullptr);
}

TEST(HttpWireTest, TokensAndFieldValues) {
  EXPECT_TRUE(is_token("X-Amz-Target"));
  EXPECT_TRUE(is_token("a!#$%&'*+-.^_`|~9"));
  EXPECT_FALSE(is_token("a:b"));
  EXPECT_FALSE(is_token("a b"));
  EXPECT_TRUE(is_field_value("text/plain; charset=utf-8"));
  EXPECT_TRUE(is_field_value(""));
  EXPECT_FALSE(is_field_value(std::string("a\0b", 3)));
}

}  // namespace
}  // namespace kiln::http
