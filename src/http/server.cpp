// http::Server: listening, accepting (with the connection caps), the sweep of connections past
// their deadlines, and shutdown. One connection's work is in session.cpp.
#include "http/server.h"

#include <fcntl.h>
#include <malloc.h>

#include <algorithm>
#include <future>
#include <utility>

#include "http/session.h"

namespace kiln::http {
namespace detail {
namespace {

constexpr auto kSweepEvery = std::chrono::milliseconds(250);

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

}  // namespace

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Core::Core(ServerOptions opts, Handler handler)
    : opts_(std::move(opts)),
      limits_{opts_.max_header, opts_.max_body, opts_.max_chunk_meta},
      handler_(std::move(handler)),
      ioc_(static_cast<int>(thread_count())),
      acceptor_(net::make_strand(ioc_)),
      accept_retry_(acceptor_.get_executor()) {}

Result<void> Core::start() {
  MutexLock life(life_mu_);
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
    workers_.start(opts_.workers);
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
  std::string peer_ip = peer.address().to_string();
  bool admitted = false;
  {
    MutexLock lk(sessions_mu_);
    unsigned& mine = per_peer_[peer_ip];
    if (sessions_.size() < opts_.max_connections && mine < opts_.max_connections_per_peer) {
      ++mine;
      admitted = true;
    } else if (mine == 0) {
      per_peer_.erase(peer_ip);
    }
  }
  if (!admitted) {
    // Too many connections: a short answer (the socket's send buffer is empty, so this does not
    // block), then close. Asio's sockets are non-blocking underneath; a failure is ignored.
    static const std::string kBusy = [] {
      std::string out;
      const Response r = json_error(503, "ServiceUnavailable", "too many connections");
      append_head(out, r, Framing::kLength, r.body.size(), ConnectionHeader::kClose);
      return out + r.body;
    }();
    socket.non_blocking(true, ignored);
    socket.write_some(net::buffer(kBusy), ignored);
    socket.close(ignored);
    accept();
    return;
  }
  auto session = std::make_shared<Session>(*this, std::move(socket), format_endpoint(peer),
                                           std::move(peer_ip));
  {
    MutexLock lk(sessions_mu_);
    sessions_.emplace(session.get(), session);
  }
  session->start();
  accept();
}

void Core::forget(Session* s, const std::string& peer_ip) {
  MutexLock lk(sessions_mu_);
  sessions_.erase(s);
  if (const auto it = per_peer_.find(peer_ip); it != per_peer_.end() && --it->second == 0) {
    per_peer_.erase(it);
  }
  if (sessions_.empty()) sessions_cv_.notify_all();
}

std::vector<std::shared_ptr<Session>> Core::sessions_where(
    const std::function<bool(Session&)>& pred) {
  std::vector<std::shared_ptr<Session>> out;
  MutexLock lk(sessions_mu_);
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
  // glibc keeps freed memory of large bodies in its arenas (the mmap threshold rises after the
  // first large free), so 100 connections' 10 MiB bodies stayed resident after they were done.
  if (trim_wanted_.exchange(false, std::memory_order_relaxed)) ::malloc_trim(0);
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
  MutexLock life(life_mu_);
  stop_locked();
}

void Core::stop_locked() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  stop_accepting();
  stopping_ = true;
  sweeper_.stop();
  for (auto& s : sessions_where([](Session&) { return true; })) s->close_async();
  {
    // Closed sessions unwind as their aborted operations complete; a handler still running
    // finishes first. The bound only matters if a handler hangs.
    MutexLock lk(sessions_mu_);
    sessions_cv_.wait_for(sessions_mu_, std::chrono::seconds(5),
                          [this]() REQUIRES(sessions_mu_) { return sessions_.empty(); });
  }
  workers_.stop();  // handlers and producers still queued run (they see stopping())
  work_.reset();
  ioc_.stop();
  for (auto& t : io_threads_) t.join();
  io_threads_.clear();
}

}  // namespace detail

struct Server::Impl {
  Impl(ServerOptions options, Handler handler) : core(std::move(options), std::move(handler)) {}
  detail::Core core;
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
