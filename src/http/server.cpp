// The only translation unit that includes Boost.Beast and Asio (they cost seconds per file).
// Beast's basic_parser is used directly, writing into a Request the connection reuses, so a
// request costs no allocations once its strings have grown; responses are written by hand
// (wire.h) with the body as a second buffer, never copied.
#include "http/server.h"

#include <fcntl.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include "http/wire.h"
#include "http/workers.h"

namespace kiln::http {
namespace {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kReadChunk = std::size_t{16} * 1024;
// After a response that ends the connection we read (and drop) what the peer still sends for
// this long before closing: closing with unread input makes the kernel send RST, which can
// destroy the response before the peer reads it (a 413 to a client still uploading).
constexpr auto kLinger = std::chrono::seconds(2);
constexpr auto kSweepEvery = std::chrono::milliseconds(250);

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

std::string_view sv(boost::beast::string_view s) {
  return {s.data(), s.size()};
}

// Feeds Beast's request parser straight into a Request that lives as long as the connection.
class RequestParser final : public bhttp::basic_parser<true> {
 public:
  RequestParser(Request& req, const ServerOptions& opts) : req_(req), max_body_(opts.max_body) {
    header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(opts.max_header, std::numeric_limits<std::uint32_t>::max())));
    body_limit(opts.max_body);
    req_.body.clear();
  }
  int http_version() const { return version_; }
  bool expects_continue() const { return expect_continue_; }

 private:
  void on_request_impl(bhttp::verb, boost::beast::string_view method,
                       boost::beast::string_view target, int version, error_code&) override {
    req_.method.assign(method.data(), method.size());
    req_.target.assign(target.data(), target.size());
    split_target(sv(target), req_.path, req_.query);
    version_ = version;
  }
  void on_response_impl(int, boost::beast::string_view, int, error_code& ec) override {
    ec = bhttp::error::bad_status;  // unreachable: this parses requests
  }
  void on_field_impl(bhttp::field name, boost::beast::string_view name_string,
                     boost::beast::string_view value, error_code&) override {
    auto& headers = req_.headers;
    if (count_ == headers.size()) headers.emplace_back();
    auto& [lname, lvalue] = headers[count_++];
    lname.assign(name_string.data(), name_string.size());
    for (char& c : lname) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    lvalue.assign(value.data(), value.size());
    if (name == bhttp::field::expect && boost::beast::iequals(value, "100-continue")) {
      expect_continue_ = version_ >= 11;
    }
  }
  void on_header_impl(error_code&) override { req_.headers.resize(count_); }
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override {
    if (length) req_.body.reserve(std::min<std::uint64_t>(*length, max_body_));
  }
  std::size_t on_body_impl(boost::beast::string_view body, error_code&) override {
    req_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                                 error_code&) override {
    req_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  Request& req_;
  std::size_t max_body_;
  std::size_t count_ = 0;
  int version_ = 11;
  bool expect_continue_ = false;
};

// Asio opens sockets without close-on-exec; builds are started by this process.
bool set_cloexec(int fd) {
  return ::fcntl(fd, F_SETFD, FD_CLOEXEC) == 0;
}

std::string format_endpoint(const tcp::endpoint& ep) {
  const auto addr = ep.address();
  std::string out = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
  out += ':';
  out += std::to_string(ep.port());
  return out;
}

class Session;

// Everything a Server owns; Server::Impl is only its name in the public header.
class Core {
 public:
  Core(ServerOptions opts, Handler handler)
      : opts_(std::move(opts)),
        handler_(std::move(handler)),
        ioc_(static_cast<int>(thread_count())),
        acceptor_(net::make_strand(ioc_)),
        accept_retry_(acceptor_.get_executor()) {}
  ~Core() { stop(); }

  Result<void> start();
  std::uint16_t port() const { return port_.load(); }
  void stop_accepting();
  void stop();

  // Called by sessions.
  const ServerOptions& options() const { return opts_; }
  const Handler& handler() const { return handler_; }
  bool stopping() const { return stopping_.load(); }
  void forget(Session* s);
  // Runs `producer` for `session` on a new thread; false when the server is stopping.
  bool spawn_stream(std::shared_ptr<Session> session, BodyStream producer);

 private:
  unsigned thread_count() const {
    return opts_.threads != 0 ? opts_.threads : std::max(2U, std::thread::hardware_concurrency());
  }
  void stop_locked();
  void accept();
  void on_accept(error_code ec, tcp::socket socket);
  void sweep();
  std::vector<std::shared_ptr<Session>> sessions_where(const std::function<bool(Session&)>& pred);

  ServerOptions opts_;
  Handler handler_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> accepting_{false};
  std::atomic<std::uint16_t> port_{0};
  std::mutex life_mu_;  // start() and stop()
  bool started_ = false;
  bool stopped_ = false;

  // Declared before the io_context: sessions still queued in it when it is destroyed deregister
  // themselves from here.
  std::mutex sessions_mu_;
  std::condition_variable sessions_cv_;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;

  StreamThreads streams_;
  Ticker sweeper_;

  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  tcp::acceptor acceptor_;
  net::steady_timer accept_retry_;  // backs off after EMFILE and the like
  std::vector<std::thread> io_threads_;
  std::atomic<unsigned> io_threads_running_{0};
};

// One connection. Its members are used on its strand only, except where noted: the stream
// thread of a streaming response reads head_ and shares the write handshake (stream_mu_).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Core& core, tcp::socket socket, std::string remote)
      : core_(core), socket_(std::move(socket)) {
    req_.remote = std::move(remote);
  }
  ~Session() { core_.forget(this); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start() {
    post([](Session& s) {
      s.begin_request();
      s.parse();
    });
  }
  void close_async() {
    post([](Session& s) { s.close_now(); });
  }
  // Any thread: the sweeper asks whether this connection waited too long.
  bool expired(std::int64_t now) const {
    const std::int64_t d = deadline_.load(std::memory_order_relaxed);
    return d != 0 && now > d;
  }
  // On the stream thread: sends the head, then each piece `producer` makes, then the last chunk.
  void run_stream(BodyStream& producer);

 private:
  template <class F>
  void post(F f) {
    net::post(socket_.get_executor(), [self = shared_from_this(), f] { f(*self); });
  }
  void arm(std::chrono::nanoseconds d) {
    deadline_.store(now_ns() + d.count(), std::memory_order_relaxed);
  }
  void arm_idle() {
    if (core_.options().idle_timeout.count() > 0) {
      arm(core_.options().idle_timeout);
    } else {
      disarm();
    }
  }
  void disarm() { deadline_.store(0, std::memory_order_relaxed); }
  ConnectionHeader connection_header() const {
    if (!keep_alive_) return ConnectionHeader::kClose;
    return http10_ ? ConnectionHeader::kKeepAlive : ConnectionHeader::kOmit;
  }

  void begin_request() {
    // A large upload should not pin its buffer to an idle keep-alive connection.
    if (req_.body.capacity() > std::size_t{1024} * 1024) std::string().swap(req_.body);
    parser_.emplace(req_, core_.options());
    continue_sent_ = false;
  }

  // Parses what is buffered; pipelined requests are served one after the other.
  void parse() {
    for (;;) {
      if (buf_.size() == 0) return read_request();
      error_code ec;
      const std::size_t n = parser_->put(buf_.data(), ec);
      buf_.consume(n);
      if (ec == bhttp::error::need_more) return read_request();
      if (ec) return reject(ec);
      if (parser_->is_done()) return dispatch();
      if (parser_->is_header_done() && parser_->expects_continue() && !continue_sent_ &&
          buf_.size() == 0) {
        return send_continue();
      }
      if (n == 0) return read_request();
    }
  }

  void read_request() {
    awaiting_ = true;
    if (deferred_ec_) return on_read_failed(std::exchange(deferred_ec_, {}));
    arm_idle();
    if (!reading_) start_read(false);  // else a read started while streaming is still pending
  }
  // One read at a time. While a response streams, reads go to side_buf_ (`side`) so that buf_
  // stays free for parsing once the stream ends, even if that read is still pending then.
  void start_read(bool side) {
    reading_ = true;
    boost::beast::flat_buffer& into = side ? side_buf_ : buf_;
    socket_.async_read_some(into.prepare(kReadChunk),
                            [self = shared_from_this(), side](error_code ec, std::size_t n) {
                              self->on_read(ec, n, side);
                            });
  }

  void on_read(error_code ec, std::size_t n, bool side) {
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
    arm_idle();
    parse();
  }

  void on_read_failed(error_code ec) {
    if (ec == net::error::eof && parser_->got_some()) {
      error_code eof_ec;
      parser_->put_eof(eof_ec);
      return reject(eof_ec ? eof_ec : error_code(bhttp::error::partial_message));
    }
    close_now();
  }

  void send_continue() {
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

  void dispatch() {
    awaiting_ = false;
    disarm();
    keep_alive_ = parser_->keep_alive();
    http10_ = parser_->http_version() < 11;
    head_only_ = req_.method == "HEAD";
    Response response;
    try {
      response = core_.handler()(req_);
    } catch (...) {
      // The exception's text may quote the request (a key, a token): it is not sent.
      response = json_error(500, "InternalFailure", "the server failed to handle the request");
    }
    respond(std::move(response));
  }

  void respond(Response&& response) {
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

  void respond_invalid_head() {
    resp_ = json_error(500, "InternalFailure", "the server produced an invalid response header");
    head_.clear();
    append_head(head_, resp_, Framing::kLength, resp_.body.size(), connection_header());
    write_response(!head_only_);
  }

  void reject(error_code ec) {
    const ServerOptions& o = core_.options();
    int status = 400;
    std::string message;
    if (ec == bhttp::error::body_limit) {
      status = 413;
      message = "the request body is larger than " + std::to_string(o.max_body) + " bytes";
    } else if (ec == bhttp::error::header_limit) {
      status = 431;
      message = "the request header is larger than " + std::to_string(o.max_header) + " bytes";
    } else {
      message = "malformed HTTP request: " + ec.message();
    }
    awaiting_ = false;
    keep_alive_ = false;
    head_only_ = false;
    resp_ = json_error(status, "SerializationException", message);
    head_.clear();
    append_head(head_, resp_, Framing::kLength, resp_.body.size(), ConnectionHeader::kClose);
    write_response(true);
  }

  void write_response(bool with_body) {
    arm_idle();
    const std::array<net::const_buffer, 2> buffers{
        net::buffer(head_), with_body ? net::buffer(resp_.body) : net::const_buffer()};
    net::async_write(socket_, buffers, [self = shared_from_this()](error_code ec, std::size_t) {
      self->on_written(ec);
    });
  }

  void on_written(error_code ec) {
    resp_ = Response{};
    if (closed_) return;
    if (ec) return close_now();
    if (!keep_alive_) return linger();
    begin_request();
    parse();
  }

  void linger() {
    lingering_ = true;
    drained_ = 0;
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    arm(kLinger);
    buf_.clear();
    if (!reading_) start_read(false);
  }

  void close_now() {
    if (closed_) return;
    closed_ = true;
    peer_gone_ = true;
    disarm();
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  void start_stream() {
    const Framing framing = http10_ ? Framing::kUntilClose : Framing::kChunked;
    if (http10_) keep_alive_ = false;  // the body ends where the connection does
    head_.clear();
    if (!append_head(head_, resp_, framing, 0, connection_header())) return respond_invalid_head();
    chunked_ = framing == Framing::kChunked;
    streaming_ = true;
    disarm();
    if (!reading_) start_read(true);
    BodyStream producer = std::move(resp_.stream);
    resp_ = Response{};
    if (!core_.spawn_stream(shared_from_this(), std::move(producer))) close_now();
  }

  // On the stream thread: hands the buffers to the strand and waits until they are written.
  // Waiting is unbounded but safe: close_now() (stop(), the sweeper) aborts the write.
  bool write_and_wait(std::array<net::const_buffer, 3> buffers) {
    {
      std::lock_guard lk(stream_mu_);
      write_done_ = false;
    }
    post([buffers](Session& s) {
      if (s.closed_) return s.finish_write(net::error::operation_aborted);
      s.arm_idle();
      net::async_write(s.socket_, buffers,
                       [self = s.shared_from_this()](error_code ec, std::size_t) {
                         self->disarm();
                         self->finish_write(ec);
                       });
    });
    std::unique_lock lk(stream_mu_);
    stream_cv_.wait(lk, [this] { return write_done_; });
    return !write_ec_;
  }
  void finish_write(error_code ec) {
    std::lock_guard lk(stream_mu_);
    write_done_ = true;
    write_ec_ = ec;
    stream_cv_.notify_all();
  }

  void end_stream(bool clean) {
    streaming_ = false;
    if (closed_) return;
    if (!clean || peer_gone_) return close_now();
    if (!keep_alive_) return linger();
    begin_request();
    parse();  // what arrived during the stream, then more
  }

  Core& core_;
  tcp::socket socket_;
  boost::beast::flat_buffer buf_;
  boost::beast::flat_buffer side_buf_;
  Request req_;
  std::optional<RequestParser> parser_;  // refers to req_
  Response resp_;
  std::string head_;
  std::atomic<std::int64_t> deadline_{0};  // steady ns; 0 = not waiting on the peer
  std::atomic<bool> peer_gone_{false};
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

  std::mutex stream_mu_;
  std::condition_variable stream_cv_;
  bool write_done_ = false;
  error_code write_ec_;
};

void Session::run_stream(BodyStream& producer) {
  bool ok = write_and_wait({net::buffer(head_)});
  std::string piece;
  std::string size_line;
  bool finished = false;
  while (ok && !peer_gone_ && !core_.stopping()) {
    piece.clear();
    bool more = false;
    try {
      more = producer(piece);
    } catch (...) {
      break;  // the peer sees a response without its last chunk: truncated, not complete
    }
    if (!more) {
      finished = true;
      break;
    }
    if (piece.empty()) continue;  // a heartbeat
    if (chunked_) {
      size_line.clear();
      append_chunk_size(size_line, piece.size());
      ok = write_and_wait(
          {net::buffer(size_line), net::buffer(piece), net::buffer(kCrlf.data(), kCrlf.size())});
    } else {
      ok = write_and_wait({net::buffer(piece)});
    }
  }
  if (finished && ok && chunked_) {
    ok = write_and_wait({net::buffer(kLastChunk.data(), kLastChunk.size())});
  }
  const bool clean = finished && ok;
  post([clean](Session& s) { s.end_stream(clean); });
}

Result<void> Core::start() {
  std::lock_guard life(life_mu_);
  if (started_) return fail(ErrorCode::kInvalidArgument, "the server was already started");
  const bool v6_literal = opts_.host.find(':') != std::string::npos;
  const std::string where = "listen " + (v6_literal ? "[" + opts_.host + "]" : opts_.host) + ":" +
                            std::to_string(opts_.port);
  error_code ec;
  tcp::resolver resolver(ioc_);
  const auto found = resolver.resolve(opts_.host, std::to_string(opts_.port),
                                      tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec) return fail(ErrorCode::kIo, where + ": " + ec.message());
  if (found.empty()) return fail(ErrorCode::kIo, where + ": no address");
  const tcp::endpoint endpoint = found.begin()->endpoint();
  auto failed = [&](const error_code& e) {
    error_code ignored;
    acceptor_.close(ignored);
    return fail(ErrorCode::kIo, where + ": " + e.message());
  };
  if (acceptor_.open(endpoint.protocol(), ec); ec) return failed(ec);
  if (!set_cloexec(acceptor_.native_handle())) {
    return failed(error_code(errno, boost::system::system_category()));
  }
  // Lets a restarted server bind while old connections sit in TIME_WAIT; on Linux it does not
  // let two servers listen on one port.
  if (acceptor_.set_option(net::socket_base::reuse_address(true), ec); ec) return failed(ec);
  if (acceptor_.bind(endpoint, ec); ec) return failed(ec);
  if (acceptor_.listen(net::socket_base::max_listen_connections, ec); ec) return failed(ec);
  const auto local = acceptor_.local_endpoint(ec);
  if (ec) return failed(ec);
  port_ = local.port();

  started_ = true;
  accepting_ = true;
  work_.emplace(ioc_.get_executor());
  accept();
  try {
    sweeper_.start(kSweepEvery, [this] { sweep(); });
    for (unsigned i = 0; i < thread_count(); ++i) {
      io_threads_.emplace_back([this] {
        for (;;) {
          try {
            ioc_.run();
            return;
          } catch (...) {
            // Sessions catch what they can; this is a lost connection at worst: serve on.
          }
        }
      });
      io_threads_running_.fetch_add(1);
    }
  } catch (const std::system_error& e) {
    stop_locked();
    return fail(ErrorCode::kInternal, std::string("starting the server's threads: ") + e.what());
  }
  return {};
}

void Core::accept() {
  acceptor_.async_accept(net::make_strand(ioc_), [this](error_code ec, tcp::socket socket) {
    on_accept(ec, std::move(socket));
  });
}

void Core::on_accept(error_code ec, tcp::socket socket) {
  if (!acceptor_.is_open() || stopping_) return;
  if (ec) {
    if (ec == net::error::operation_aborted) return;
    accept_retry_.expires_after(std::chrono::milliseconds(100));
    accept_retry_.async_wait([this](error_code e) {
      if (!e && acceptor_.is_open()) accept();
    });
    return;
  }
  if (!set_cloexec(socket.native_handle())) {
    accept();  // cannot happen on a socket just accepted; drop it rather than leak it
    return;
  }
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  const auto peer = socket.remote_endpoint(ignored);
  auto session = std::make_shared<Session>(*this, std::move(socket), format_endpoint(peer));
  {
    std::lock_guard lk(sessions_mu_);
    sessions_.emplace(session.get(), session);
  }
  session->start();
  accept();
}

void Core::forget(Session* s) {
  std::lock_guard lk(sessions_mu_);
  sessions_.erase(s);
  if (sessions_.empty()) sessions_cv_.notify_all();
}

std::vector<std::shared_ptr<Session>> Core::sessions_where(
    const std::function<bool(Session&)>& pred) {
  std::vector<std::shared_ptr<Session>> out;
  std::lock_guard lk(sessions_mu_);
  for (auto& [raw, weak] : sessions_) {
    // `raw` is safe to read under the lock: a dying session blocks in forget() until we let go.
    // lock() happens only for the chosen ones, and `out` is released after the lock, so no
    // session's destructor (which takes the lock) runs here.
    if (!pred(*raw)) continue;
    if (auto s = weak.lock()) out.push_back(std::move(s));
  }
  return out;
}

void Core::sweep() {
  const std::int64_t now = now_ns();
  for (auto& s : sessions_where([now](Session& s) { return s.expired(now); })) s->close_async();
}

bool Core::spawn_stream(std::shared_ptr<Session> session, BodyStream producer) {
  return streams_.spawn([session = std::move(session), producer = std::move(producer)]() mutable {
    session->run_stream(producer);
  });
}

void Core::stop_accepting() {
  if (!accepting_.exchange(false)) return;
  auto close = [this] {
    error_code ignored;
    acceptor_.close(ignored);
    accept_retry_.cancel();
  };
  if (io_threads_running_.load() == 0) {  // start() failed to create them: nothing runs
    close();
    return;
  }
  if (ioc_.get_executor().running_in_this_thread()) {
    net::post(acceptor_.get_executor(), close);
    return;
  }
  std::promise<void> closed;
  net::post(acceptor_.get_executor(), [&] {
    close();
    closed.set_value();
  });
  closed.get_future().wait();
}

void Core::stop() {
  std::lock_guard life(life_mu_);
  stop_locked();
}

void Core::stop_locked() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  stop_accepting();
  stopping_ = true;
  sweeper_.stop();
  for (auto& s : sessions_where([](Session&) { return true; })) s->close_async();
  streams_.close_and_join();  // producers see stopping() or their closed connection
  {
    // Closed sessions unwind as their aborted operations complete; a handler still running
    // finishes first. The bound only matters if a handler hangs.
    std::unique_lock lk(sessions_mu_);
    sessions_cv_.wait_for(lk, std::chrono::seconds(5), [this] { return sessions_.empty(); });
  }
  work_.reset();
  ioc_.stop();
  for (auto& t : io_threads_) t.join();
  io_threads_.clear();
}

}  // namespace

struct Server::Impl {
  Impl(ServerOptions options, Handler handler) : core(std::move(options), std::move(handler)) {}
  Core core;
};

Server::Server(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}
Server::~Server() {
  impl_->core.stop();
}
Result<void> Server::start() {
  return impl_->core.start();
}
std::uint16_t Server::port() const {
  return impl_->core.port();
}
void Server::stop_accepting() {
  impl_->core.stop_accepting();
}
void Server::stop() {
  impl_->core.stop();
}

}  // namespace kiln::http
