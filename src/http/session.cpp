// One connection of http::Server: reads a request through RequestParser, calls the Handler (here
// or on a worker), writes the response, and streams a producer's pieces without a thread of its
// own. Responses are written by hand (wire.h) with the body as a second buffer, never copied.
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/write.hpp>

#include "http/session.h"

namespace kiln::http::detail {
namespace {

constexpr std::size_t kReadChunk = std::size_t{16} * 1024;
// After a response that ends the connection we read (and drop) what the peer still sends for
// this long before closing: closing with unread input makes the kernel send RST, which can
// destroy the response before the peer reads it (a 413 to a client still uploading).
constexpr auto kLinger = std::chrono::seconds(2);
// Buffers that grew past these are given back when a request is done, so an idle keep-alive
// connection does not pin what one large request needed.
constexpr std::size_t kKeepBody = std::size_t{1024} * 1024;
constexpr std::size_t kKeepBuffer = 4 * kReadChunk;

std::string_view view(const boost::beast::flat_buffer& b) {
  const auto d = b.data();
  return {static_cast<const char*>(d.data()), d.size()};
}

}  // namespace

Session::Session(Core& core, tcp::socket socket, std::string remote, std::string peer_ip)
    : core_(core),
      socket_(std::move(socket)),
      peer_ip_(std::move(peer_ip)),
      poll_timer_(socket_.get_executor()) {
  req_.remote = std::move(remote);
}

void Session::start() {
  post([](Session& s) {
    s.begin_request();
    s.parse();
  });
}

void Session::close_async() {
  post([](Session& s) { s.close_now(); });
}

void Session::arm_idle() {
  if (core_.options().idle_timeout.count() > 0) {
    arm(core_.options().idle_timeout);
  } else {
    disarm();
  }
}

// A request under way has a deadline from its first byte (the head) and from the end of its
// head (the body), however often the peer sends a byte: a trickle cannot hold the connection.
void Session::arm_request() {
  const ServerOptions& o = core_.options();
  if (!parser_->got_some()) return arm_idle();
  const std::int64_t now = now_ns();
  if (request_start_ == 0) request_start_ = now;
  std::chrono::nanoseconds limit{0};
  std::int64_t from = request_start_;
  if (!parser_->header_done()) {
    limit = o.header_timeout;
  } else {
    if (head_done_ == 0) head_done_ = now;
    from = head_done_;
    limit = o.body_timeout;
  }
  if (limit.count() == 0) return arm_idle();
  deadline_.store(from + limit.count(), std::memory_order_relaxed);
}

ConnectionHeader Session::connection_header() const {
  if (!keep_alive_) return ConnectionHeader::kClose;
  return http10_ ? ConnectionHeader::kKeepAlive : ConnectionHeader::kOmit;
}

void Session::begin_request() {
  if (req_.body.capacity() > kKeepBody) {
    std::string().swap(req_.body);
    core_.want_trim();
  }
  if (buf_.capacity() > kKeepBuffer) buf_.shrink_to_fit();
  parser_.emplace(req_, core_.limits());
  continue_sent_ = false;
  request_start_ = 0;
  head_done_ = 0;
}

// Parses what is buffered; pipelined requests are served one after the other.
void Session::parse() {
  for (;;) {
    std::size_t used = 0;
    const ParseStatus st = parser_->feed(view(buf_), used);
    buf_.consume(used);
    switch (st) {
      case ParseStatus::kError: return reject(parser_->status(), parser_->message());
      case ParseStatus::kDone: return dispatch();
      case ParseStatus::kHeaderDone:
        if (!on_head()) return;
        continue;
      case ParseStatus::kNeedMore:
        if (parser_->header_done() && parser_->expects_continue() && !continue_sent_ &&
            buf_.size() == 0) {
          return send_continue();
        }
        return read_request();
    }
  }
}

// The head is complete and the body not yet read: the one moment a request can be refused
// without taking its body (server.h, `precheck`).
bool Session::on_head() {
  if (head_done_ == 0) head_done_ = now_ns();
  const auto& precheck = core_.options().precheck;
  if (!precheck) return true;
  // A body that came whole with its head is already held: refusing it now saves nothing, and
  // the handler checks the request anyway. This keeps small API calls at one check.
  if (!parser_->chunked() && parser_->content_length() <= buf_.size()) return true;
  std::optional<Response> refusal;
  try {
    refusal = precheck(req_);
  } catch (...) {
    refusal = json_error(500, "InternalFailure", "the server failed to check the request");
  }
  if (!refusal) return true;
  refuse(std::move(*refusal));
  return false;
}

void Session::read_request() {
  awaiting_ = true;
  if (deferred_ec_) return on_read_failed(std::exchange(deferred_ec_, {}));
  arm_request();
  if (!reading_) start_read(false);  // else a read started while streaming is still pending
}

// One read at a time. While a response streams, reads go to side_buf_ (`side`) so that buf_
// stays free for parsing once the stream ends, even if that read is still pending then.
void Session::start_read(bool side) {
  reading_ = true;
  boost::beast::flat_buffer& into = side ? side_buf_ : buf_;
  socket_.async_read_some(into.prepare(kReadChunk),
                          [self = shared_from_this(), side](error_code ec, std::size_t n) {
                            self->on_read(ec, n, side);
                          });
}

void Session::on_read(error_code ec, std::size_t n, bool side) {
  reading_ = false;
  if (side) {
    side_buf_.commit(n);
    buf_.commit(net::buffer_copy(buf_.prepare(side_buf_.size()), side_buf_.data()));
    side_buf_.clear();
  } else {
    buf_.commit(n);
  }
  if (closed_) return;
  if (lingering_) {
    drained_ += n;
    buf_.clear();
    if (ec || drained_ > core_.options().max_body + kReadChunk) return close_now();
    return start_read(false);
  }
  if (streaming_) {
    // Only watching for the peer leaving; bytes it sends are the next request.
    if (ec) {
      peer_gone_ = true;
    } else if (buf_.size() < core_.options().max_header + kReadChunk) {
      start_read(true);
    }
    return;
  }
  if (!awaiting_) {
    // A read started during a stream that ended, completing while the next response is
    // being made: its bytes wait in buf_, its error until we want the next request.
    if (ec) deferred_ec_ = ec;
    return;
  }
  if (ec) return on_read_failed(ec);
  parse();
}

void Session::on_read_failed(error_code ec) {
  if (ec == net::error::eof && parser_->got_some()) {
    if (parser_->finish() == ParseStatus::kDone) return dispatch();
    return reject(parser_->status(), parser_->message());
  }
  close_now();
}

void Session::send_continue() {
  awaiting_ = false;  // until the interim response is out
  continue_sent_ = true;
  arm_idle();
  net::async_write(socket_, net::buffer(kContinue.data(), kContinue.size()),
                   [self = shared_from_this()](error_code ec, std::size_t) {
                     if (self->closed_) return;
                     if (ec) return self->close_now();
                     self->parse();
                   });
}

Response Session::call_handler() {
  try {
    return core_.handler()(req_);
  } catch (...) {
    // The exception's text may quote the request (a key, a token): it is not sent.
    return json_error(500, "InternalFailure", "the server failed to handle the request");
  }
}

void Session::dispatch() {
  awaiting_ = false;
  disarm();
  keep_alive_ = parser_->keep_alive();
  http10_ = parser_->http_version() < 11;
  head_only_ = req_.method == "HEAD";
  const auto& offload = core_.options().offload;
  if (offload && offload(req_)) {
    // The strand waits: nothing touches req_ until the response comes back.
    const bool queued = core_.post_work([self = shared_from_this()] {
      auto response = std::make_shared<Response>(self->call_handler());
      self->post([response](Session& s) { s.respond(std::move(*response)); });
    });
    if (!queued) {
      keep_alive_ = false;
      respond(json_error(503, "ServiceUnavailable", "the server is shutting down"));
    }
    return;
  }
  respond(call_handler());
}

void Session::respond(Response&& response) {
  if (closed_) return;
  resp_ = std::move(response);
  if (asks_to_close(resp_)) keep_alive_ = false;
  if (resp_.stream && !head_only_) return start_stream();
  const Framing framing =
      resp_.stream ? Framing::kChunked : length_framing(sanitize_status(resp_.status));
  head_.clear();
  if (!append_head(head_, resp_, framing, resp_.body.size(), connection_header())) {
    return respond_invalid_head();
  }
  write_response(framing == Framing::kLength && !head_only_);
}

void Session::respond_invalid_head() {
  resp_ = json_error(500, "InternalFailure", "the server produced an invalid response header");
  head_.clear();
  append_head(head_, resp_, Framing::kLength, resp_.body.size(), connection_header());
  write_response(!head_only_);
}

// A precheck's refusal: sent at once, and the body, if any, is drained (never stored).
void Session::refuse(Response&& response) {
  awaiting_ = false;
  keep_alive_ = false;
  http10_ = parser_->http_version() < 11;
  head_only_ = req_.method == "HEAD";
  response.stream = nullptr;
  respond(std::move(response));
}

void Session::reject(int status, const std::string& message) {
  awaiting_ = false;
  keep_alive_ = false;
  head_only_ = false;
  resp_ = json_error(status, "SerializationException", message);
  head_.clear();
  append_head(head_, resp_, Framing::kLength, resp_.body.size(), ConnectionHeader::kClose);
  write_response(true);
}

void Session::write_response(bool with_body) {
  arm_idle();
  const std::array<net::const_buffer, 2> buffers{
      net::buffer(head_), with_body ? net::buffer(resp_.body) : net::const_buffer()};
  net::async_write(socket_, buffers, [self = shared_from_this()](error_code ec, std::size_t) {
    self->on_written(ec);
  });
}

void Session::on_written(error_code ec) {
  resp_ = Response{};
  if (closed_) return;
  if (ec) return close_now();
  if (!keep_alive_) return linger();
  begin_request();
  parse();
}

void Session::linger() {
  lingering_ = true;
  drained_ = 0;
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  arm(kLinger);
  buf_.clear();
  if (req_.body.capacity() > kKeepBody) {
    std::string().swap(req_.body);
    core_.want_trim();
  }
  if (!reading_) start_read(false);
}

void Session::close_now() {
  if (closed_) return;
  closed_ = true;
  peer_gone_ = true;
  disarm();
  error_code ignored;
  poll_timer_.cancel();
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

void Session::start_stream() {
  const Framing framing = http10_ ? Framing::kUntilClose : Framing::kChunked;
  if (http10_) keep_alive_ = false;  // the body ends where the connection does
  head_.clear();
  if (!append_head(head_, resp_, framing, 0, connection_header())) return respond_invalid_head();
  chunked_ = framing == Framing::kChunked;
  streaming_ = true;
  disarm();
  if (!reading_) start_read(true);
  stream_ = std::move(resp_.stream);
  resp_ = Response{};
  write_stream({net::buffer(head_)}, false);
}

// The write of a piece (or the head, or the last chunk). A peer that does not read is caught
// by the idle deadline, and close_now() aborts the write.
void Session::write_stream(std::array<net::const_buffer, 3> buffers, bool last) {
  arm_idle();
  net::async_write(socket_, buffers, [self = shared_from_this(), last](error_code ec, std::size_t) {
    self->disarm();
    if (ec || self->closed_) return self->end_stream(false);
    if (last) return self->end_stream(true);
    self->pump();
  });
}

// Asks the producer for its next piece on a worker; the answer comes back to the strand.
void Session::pump() {
  if (closed_ || peer_gone_ || core_.stopping()) return end_stream(false);
  piece_.clear();
  const bool queued = core_.post_work([self = shared_from_this()] {
    bool more = false;
    bool threw = self->core_.stopping();
    if (!threw) {
      try {
        more = self->stream_(self->piece_);
      } catch (...) {
        threw = true;  // the peer sees a response without its last chunk: truncated
      }
    }
    self->post([more, threw](Session& s) { s.on_piece(more, threw); });
  });
  if (!queued) end_stream(false);
}

void Session::on_piece(bool more, bool threw) {
  if (closed_ || threw || peer_gone_) return end_stream(false);
  if (!more) {
    if (!chunked_) return end_stream(true);
    return write_stream({net::buffer(kLastChunk.data(), kLastChunk.size())}, true);
  }
  if (piece_.empty()) {  // nothing yet: ask again later, holding no thread
    poll_timer_.expires_after(core_.options().stream_poll);
    poll_timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec) return self->end_stream(false);
      self->pump();
    });
    return;
  }
  if (!chunked_) return write_stream({net::buffer(piece_)}, false);
  size_line_.clear();
  append_chunk_size(size_line_, piece_.size());
  write_stream(
      {net::buffer(size_line_), net::buffer(piece_), net::buffer(kCrlf.data(), kCrlf.size())},
      false);
}

void Session::end_stream(bool clean) {
  streaming_ = false;
  stream_ = nullptr;  // the producer and what it captured die here, on the strand
  piece_.clear();
  if (closed_) return;
  if (!clean || peer_gone_) return close_now();
  if (!keep_alive_) return linger();
  begin_request();
  parse();  // what arrived during the stream, then more
}

}  // namespace kiln::http::detail
