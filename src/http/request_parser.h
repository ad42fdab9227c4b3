// The request side of HTTP/1.1: Beast's basic_parser writing straight into a Request that lives as
// long as the connection, with the limits an unauthenticated peer must not get past
// (docs/security.md): header size, body size, and the bytes Beast holds back while it waits for a
// whole chunk-size line (with its extensions) or a whole trailer. Beast buffers those without a
// bound of its own, so `feed` refuses them past `max_chunk_meta`. Kept apart from the socket code
// so the unit tests and fuzz/fuzz_http_request.cpp drive it directly.
//
// Ownership: borrows the Request, which must outlive the parser. Thread safety: one thread at a
// time. Nothing throws.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "http/server.h"

namespace kiln::http {

struct ParserLimits {
  std::size_t max_header = std::size_t{64} * 1024;
  std::size_t max_body = std::size_t{10} * 1024 * 1024;
  // One chunk-size line with its extensions, or the whole trailer section.
  std::size_t max_chunk_meta = std::size_t{4} * 1024;
};

enum class ParseStatus {
  kNeedMore,    // everything given was consumed or is held for a line still incomplete
  kHeaderDone,  // the head is complete (reported once per request); call feed again for the body
  kDone,        // the request is complete; `consumed` says where the next one starts
  kError,       // the request is refused: status() and message() say why
};

class RequestParser {
 public:
  RequestParser(Request& req, const ParserLimits& limits);
  ~RequestParser();
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Parses as much of `data` as it can and sets `consumed` to the bytes it used; the caller keeps
  // the rest and offers it again with more appended. Only the unconsumed tail is held by the
  // caller, and kError is returned before that tail passes the limits.
  ParseStatus feed(std::string_view data, std::size_t& consumed);
  // The peer closed its side: kDone when the message ends there, else kError.
  ParseStatus finish();

  bool got_some() const;
  bool header_done() const;
  bool keep_alive() const;
  int http_version() const;
  bool expects_continue() const;
  // Declared Content-Length, or 0 (chunked or none).
  std::size_t content_length() const;
  bool chunked() const;

  // After kError: 400, 413 or 431, and a message for the client (it never quotes the request).
  int status() const { return status_; }
  const std::string& message() const { return message_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  bool header_reported_ = false;
  int status_ = 400;
  std::string message_;
};

}  // namespace kiln::http
