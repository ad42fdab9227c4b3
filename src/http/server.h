// A small embedded HTTP/1.1 server: the transport under Kiln's AWS JSON 1.1 API and its
// log-follow endpoint. It parses requests, calls one Handler per request and writes its Response;
// routing, authentication and JSON live in the layers above. Boost.Beast and Asio stay inside the
// .cpp files (request_parser.cpp, server.cpp, session.cpp) so that only they pay for them.
//
// Threading model:
// - `threads` I/O threads run one io_context. Every connection has its own strand; reads and
//   writes are asynchronous, so one slow peer never holds a thread.
// - The Handler is called synchronously on an I/O thread, possibly on several threads at once
//   for different connections, and must therefore be thread-safe and quick; a request for which
//   `offload` says true is handled on one of `workers` worker threads instead (file work, which
//   would otherwise stall every connection sharing the I/O thread). The Request it gets is valid
//   only during the call (the connection reuses it for its next request).
// - A Response with a `stream` is sent with chunked transfer encoding (or until close, to an
//   HTTP/1.0 client). Its producer is called on a worker thread, one call at a time, and must
//   not block: returning true with `out` left empty means "nothing yet", and the server calls
//   again `stream_poll` later (a timer on the connection, no thread waits). So a thousand
//   follows cost no thread each. The producer and everything it captures are destroyed before
//   stop() returns.
// - An internal sweeper thread closes connections that stay idle (waiting for a request, or for
//   a peer that does not read our response) longer than `idle_timeout`, and requests whose head
//   or body is not complete within `header_timeout` / `body_timeout` (slow peers, slowloris).
//
// Limits against an unauthenticated peer (docs/security.md): header and body size, chunk-size
// lines with extensions and trailers (`max_chunk_meta`), connections in all and per peer address
// (`max_connections`, `max_connections_per_peer`: the connection over the cap is closed at
// once), the deadlines above, and `precheck`, which sees each request's head before its body is
// read and can refuse it (an unsigned 10 MiB upload is answered after its head). A body buffer
// larger than 1 MiB is freed when its request is done, and the heap is trimmed after bodies of
// 1 MiB or more, so a burst of uploads does not leave the process large.
//
// Stopping cleanly: stop_accepting() closes the listener while requests in flight complete;
// then stop() closes every connection, waits for handlers and producers on the workers and
// joins all threads. stop() is idempotent, called by the destructor, and must not be called
// from a Handler or producer (it joins the threads they run on). stop_accepting() may be called
// from anywhere; from an I/O thread it returns before the listener is closed.
//
// Errors: start() returns them; a malformed or refused request gets a 400/413/431 with a small
// AWS-style JSON body and the connection is closed; a Handler that throws gets a 500 and the
// server goes on. Nothing is logged: the server has no log of its own and never echoes request
// data. Beast's parser is in request_parser.cpp, Asio in server.cpp and session.cpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/error.h"

namespace kiln::http {

struct Request {
  std::string method;  // "POST"
  std::string target;  // raw request-target, e.g. "/" or "/logs/x?follow=1"
  std::string path;    // target without the query
  std::string query;   // raw query string without '?'
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;
  std::string remote;  // peer address "ip:port" ("[v6]:port" for IPv6)

  // The first header with this (lower-case) name, or nullptr.
  const std::string* header(std::string_view lower_name) const;
};

// A response body produced piece by piece: called again and again; append the next piece to
// `out` and return true (an empty piece sends nothing), or return false at the end. Throwing
// aborts the response (the connection is closed without the final chunk).
using BodyStream = std::function<bool(std::string& out)>;

struct Response {
  int status = 200;
  // Sent as given, except Content-Length, Transfer-Encoding and Connection, which the server
  // writes itself ("Connection: close" here makes the server close after this response). A
  // name or value that cannot be sent (CR, LF, ...) turns the response into a 500.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  BodyStream stream;  // when set, body is ignored and the response is chunked
};

using Handler = std::function<Response(const Request&)>;

struct ServerOptions {
  std::string host = "127.0.0.1";                        // an address or a name to resolve
  std::uint16_t port = 7447;                             // 0 = pick a free port
  unsigned threads = 0;                                  // 0 = hardware_concurrency, at least 2
  unsigned workers = 4;                                  // offloaded handlers and stream producers
  std::size_t max_body = std::size_t{10} * 1024 * 1024;  // larger -> 413, connection closed
  std::size_t max_header = std::size_t{64} * 1024;       // larger -> 431, connection closed
  std::size_t max_chunk_meta = std::size_t{4} * 1024;    // chunk line / trailer -> 400, closed
  unsigned max_connections = 512;                        // over it: closed on accept
  unsigned max_connections_per_peer = 128;               // per peer IP address
  std::chrono::seconds idle_timeout{60};                 // 0 = never time out
  std::chrono::seconds header_timeout{20};     // first byte to end of head; 0 = only idle_timeout
  std::chrono::seconds body_timeout{60};       // end of head to end of body; 0 = only idle_timeout
  std::chrono::milliseconds stream_poll{100};  // a producer that had nothing is called again
  // Called on an I/O thread with a request's head (body still empty), before the body is read
  // or 100 Continue is sent; must be thread-safe and quick. A response refuses the request: it
  // is sent and the connection closed. Not called when the whole body arrived with the head
  // (nothing is left to save; the handler checks the request). Unset: requests are read whole.
  std::function<std::optional<Response>(const Request&)> precheck;
  // True for a request whose handler may block (file work): it runs on a worker thread.
  std::function<bool(const Request&)> offload;
};

class Server {
 public:
  Server(ServerOptions options, Handler handler);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts the threads. Fails (kIo) naming the address:
  // "listen 127.0.0.1:7447: Address already in use". Only once per Server.
  Result<void> start();
  // The bound port (the chosen one when options.port was 0); 0 before start().
  std::uint16_t port() const;
  // Clean shutdown step 1: close the listener, keep serving connections already open.
  void stop_accepting();
  // Closes every connection, waits for streaming producers, joins all threads. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::http
