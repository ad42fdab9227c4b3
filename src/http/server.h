// A small embedded HTTP/1.1 server: the transport under Kiln's AWS JSON 1.1 API and its
// log-follow endpoint. It parses requests, calls one Handler per request and writes its Response;
// routing, authentication and JSON live in the layers above. Boost.Beast/Asio stay inside
// server.cpp so that only one translation unit pays for them.
//
// Threading model:
// - `threads` I/O threads run one io_context. Every connection has its own strand; reads and
//   writes are asynchronous, so one slow peer never holds a thread.
// - The Handler is called synchronously on an I/O thread, possibly on several threads at once
//   for different connections, and must therefore be thread-safe and quick. The Request it gets
//   is valid only during the call (the connection reuses it for its next request).
// - A Response with a `stream` is sent with chunked transfer encoding (or until close, to an
//   HTTP/1.0 client). Its producer runs on a thread of its own, started for that response, so it
//   may block (waiting for log lines) without stalling anyone. It must return within about a
//   second even when it has nothing to say: returning true with `out` left empty is a heartbeat
//   that sends nothing and lets the server notice that the peer left or that stop() was called.
//   The producer and everything it captures are destroyed on that thread before stop() returns.
// - An internal sweeper thread closes connections that stay idle (waiting for a request, or for
//   a peer that does not read our response) longer than `idle_timeout`.
//
// Stopping cleanly: stop_accepting() closes the listener while requests in flight complete;
// then stop() closes every connection, waits for streaming producers to return and joins all
// threads. stop() is idempotent, called by the destructor, and must not be called from a
// Handler or producer (it joins the threads they run on). stop_accepting() may be called from
// anywhere; from an I/O thread it returns before the listener is closed.
//
// Errors: start() returns them; a malformed request gets a 400/413/431 with a small AWS-style
// JSON body and the connection is closed; a Handler that throws gets a 500 and the server goes
// on. Nothing is logged: the server has no log of its own and never echoes request data.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
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
  std::size_t max_body = std::size_t{10} * 1024 * 1024;  // larger -> 413, connection closed
  std::size_t max_header = std::size_t{64} * 1024;       // larger -> 431, connection closed
  std::chrono::seconds idle_timeout{60};                 // 0 = never time out
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
