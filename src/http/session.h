// The internals of http::Server (server.h), shared by server.cpp (Core: listening, accepting,
// the connection caps, the sweep, shutdown) and session.cpp (Session: one connection's request
// and response cycle). Only those two files include this header: it pulls in Asio.
//
// Threading: Core's members are guarded as annotated (GUARDED_BY, checked by Clang's
// -Wthread-safety: util/thread_annotations.h) or atomic. A Session's members are used on its
// strand only, which the analysis cannot express: they carry no annotation. The exceptions are
// `deadline_` and `peer_gone_` (atomics, read by the sweeper) and `piece_` and `stream_`, which a
// worker uses while the strand waits for it (one producer call at a time).
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "http/request_parser.h"
#include "http/server.h"
#include "http/wire.h"
#include "http/workers.h"
#include "util/thread_annotations.h"

namespace kiln::http::detail {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

std::int64_t now_ns();

class Session;

// Everything a Server owns; Server::Impl is only its name in the public header.
class Core {
 public:
  Core(ServerOptions opts, Handler handler);
  ~Core() { stop(); }
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  Result<void> start() EXCLUDES(life_mu_);
  std::uint16_t port() const { return port_.load(); }
  void stop_accepting();
  void stop() EXCLUDES(life_mu_);

  // Called by sessions.
  const ServerOptions& options() const { return opts_; }
  const ParserLimits& limits() const { return limits_; }
  const Handler& handler() const { return handler_; }
  bool stopping() const { return stopping_.load(); }
  // Called by a Session's destructor, never under sessions_mu_: sessions_where() lets go of the
  // sessions it returns only after unlocking.
  void forget(Session* s, const std::string& peer_ip) EXCLUDES(sessions_mu_);
  // Runs `fn` on a worker thread; false when the server is stopping.
  bool post_work(std::function<void()> fn) { return workers_.post(std::move(fn)); }
  // A large body was freed: the sweeper gives the heap back to the kernel soon.
  void want_trim() { trim_wanted_.store(true, std::memory_order_relaxed); }

 private:
  unsigned thread_count() const {
    return opts_.threads != 0 ? opts_.threads : std::max(2U, std::thread::hardware_concurrency());
  }
  void stop_locked() REQUIRES(life_mu_);
  void accept();
  void on_accept(error_code ec, tcp::socket socket);
  void sweep();
  // The sessions `pred` picks; `pred` runs under sessions_mu_, so it must not take it.
  std::vector<std::shared_ptr<Session>> sessions_where(const std::function<bool(Session&)>& pred)
      EXCLUDES(sessions_mu_);

  ServerOptions opts_;
  ParserLimits limits_;
  Handler handler_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> accepting_{false};
  std::atomic<bool> trim_wanted_{false};
  std::atomic<std::uint16_t> port_{0};
  Mutex life_mu_;  // start() and stop()
  bool started_ GUARDED_BY(life_mu_) = false;
  bool stopped_ GUARDED_BY(life_mu_) = false;

  // Declared before the io_context: sessions still queued in it when it is destroyed deregister
  // themselves from here.
  Mutex sessions_mu_;
  std::condition_variable_any sessions_cv_;  // signalled when sessions_ becomes empty
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_ GUARDED_BY(sessions_mu_);
  std::unordered_map<std::string, unsigned> per_peer_ GUARDED_BY(sessions_mu_);

  WorkerPool workers_;
  Ticker sweeper_;

  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  tcp::acceptor acceptor_;
  net::steady_timer accept_retry_;  // backs off after EMFILE and the like
  std::vector<std::thread> io_threads_;
  std::atomic<unsigned> io_threads_running_{0};
};

// One connection.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Core& core, tcp::socket socket, std::string remote, std::string peer_ip);
  ~Session() { core_.forget(this, peer_ip_); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start();
  void close_async();
  // Any thread: the sweeper asks whether this connection waited too long.
  bool expired(std::int64_t now) const {
    const std::int64_t d = deadline_.load(std::memory_order_relaxed);
    return d != 0 && now > d;
  }

 private:
  template <class F>
  void post(F f) {
    net::post(socket_.get_executor(),
              [self = shared_from_this(), f = std::move(f)]() mutable { f(*self); });
  }
  void arm(std::chrono::nanoseconds d) {
    deadline_.store(now_ns() + d.count(), std::memory_order_relaxed);
  }
  void arm_idle();
  void arm_request();
  void disarm() { deadline_.store(0, std::memory_order_relaxed); }
  ConnectionHeader connection_header() const;

  void begin_request();
  void parse();
  bool on_head();
  void read_request();
  void start_read(bool side);
  void on_read(error_code ec, std::size_t n, bool side);
  void on_read_failed(error_code ec);
  void send_continue();
  void dispatch();
  Response call_handler();
  void respond(Response&& response);
  void respond_invalid_head();
  void refuse(Response&& response);
  void reject(int status, const std::string& message);
  void write_response(bool with_body);
  void on_written(error_code ec);
  void linger();
  void close_now();

  // Streaming: head, then each piece the producer makes on a worker, then the last chunk.
  void start_stream();
  void write_stream(std::array<net::const_buffer, 3> buffers, bool last);
  void pump();
  void on_piece(bool more, bool threw);
  void end_stream(bool clean);

  Core& core_;
  tcp::socket socket_;
  std::string peer_ip_;
  boost::beast::flat_buffer buf_;
  boost::beast::flat_buffer side_buf_;
  Request req_;
  std::optional<RequestParser> parser_;  // refers to req_
  Response resp_;
  std::string head_;
  std::atomic<std::int64_t> deadline_{0};  // steady ns; 0 = not waiting on the peer
  std::atomic<bool> peer_gone_{false};
  std::int64_t request_start_ = 0;  // steady ns of the request's first byte; 0 = none yet
  std::int64_t head_done_ = 0;      // steady ns its head was complete; 0 = not yet
  std::size_t drained_ = 0;
  bool closed_ = false;
  bool reading_ = false;
  bool awaiting_ = false;  // parse() wants more bytes of a request
  error_code deferred_ec_;
  bool keep_alive_ = true;
  bool http10_ = false;
  bool head_only_ = false;
  bool continue_sent_ = false;
  bool streaming_ = false;
  bool lingering_ = false;
  bool chunked_ = false;

  net::steady_timer poll_timer_;
  BodyStream stream_;
  std::string piece_;
  std::string size_line_;
};

}  // namespace kiln::http::detail
