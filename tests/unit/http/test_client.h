// A blocking HTTP/1.1 test client over POSIX sockets, and a fixture that starts a real Server on
// port 0, shared by the server_*_test.cpp files.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/server.h"

namespace kiln::http::test {

using SteadyClock = std::chrono::steady_clock;

struct Head {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string get(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return "<none>";
  }
};

struct Reply {
  Head head;
  std::string body;
};

// Blocking HTTP/1.1 client over one TCP connection; every read times out after 10 s so a
// broken server fails the test instead of hanging it.
class Client {
 public:
  explicit Client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      connected_ = false;
      return;
    }
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }

  // False when the peer has closed or reset the connection.
  bool send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  std::optional<Head> read_head() {
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return std::nullopt;
    }
    Head head;
    const std::string text = buf_.substr(0, end + 2);
    buf_.erase(0, end + 4);
    std::size_t line_end = text.find("\r\n");
    const std::string status_line = text.substr(0, line_end);
    if (status_line.rfind("HTTP/1.1 ", 0) != 0) return std::nullopt;
    head.status = std::stoi(status_line.substr(9, 3));
    for (std::size_t pos = line_end + 2; pos < text.size(); pos = line_end + 2) {
      line_end = text.find("\r\n", pos);
      const std::string line = text.substr(pos, line_end - pos);
      const auto colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.erase(0, 1);
      head.headers.emplace_back(std::move(name), std::move(value));
    }
    return head;
  }

  std::optional<std::string> read_exact(std::size_t n) {
    while (buf_.size() < n) {
      if (!fill()) return std::nullopt;
    }
    std::string out = buf_.substr(0, n);
    buf_.erase(0, n);
    return out;
  }

  // The next chunk of a chunked body; "" for the last one, nullopt on a broken stream.
  std::optional<std::string> read_chunk() {
    std::size_t eol;
    while ((eol = buf_.find("\r\n")) == std::string::npos) {
      if (!fill()) return std::nullopt;
    }
    const std::size_t size = std::stoul(buf_.substr(0, eol), nullptr, 16);
    buf_.erase(0, eol + 2);
    auto data = read_exact(size + 2);
    if (!data || data->substr(size) != "\r\n") return std::nullopt;
    data->resize(size);
    return data;
  }

  std::optional<Reply> read_reply(bool head_request = false) {
    auto head = read_head();
    if (!head) return std::nullopt;
    Reply reply{*head, ""};
    if (head_request || head->status == 204 || head->status == 304) return reply;
    if (head->get("transfer-encoding") == "chunked") {
      for (;;) {
        auto chunk = read_chunk();
        if (!chunk) return std::nullopt;
        if (chunk->empty()) break;
        reply.body += *chunk;
      }
      return reply;
    }
    const std::string length = head->get("content-length");
    if (length == "<none>") {
      while (fill()) {
      }
      reply.body = std::move(buf_);
      buf_.clear();
      return reply;
    }
    auto body = read_exact(std::stoul(length));
    if (!body) return std::nullopt;
    reply.body = std::move(*body);
    return reply;
  }

  std::optional<Reply> call(std::string_view raw) {
    if (!send(raw)) return std::nullopt;
    return read_reply();
  }

  // True when the server closed the connection (EOF or reset) with nothing left unread.
  bool closed_by_peer() {
    if (!buf_.empty()) return false;
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  bool fill() {
    char tmp[16384];
    for (;;) {
      const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buf_.append(tmp, static_cast<std::size_t>(n));
      return true;
    }
  }

  int fd_ = -1;
  bool connected_ = true;
  std::string buf_;
};

inline std::string post(std::string_view target, std::string_view body,
                        std::string_view extra = "") {
  return "POST " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n" + std::string(extra) +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

inline Response text(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers = {{"Content-Type", "text/plain"}};
  r.body = std::move(body);
  return r;
}

inline bool is_serialization_error(const Reply& r) {
  return r.head.get("content-type") == "application/x-amz-json-1.1" &&
         r.body.rfind(R"({"__type":"SerializationException","message":")", 0) == 0;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void start(Handler handler, ServerOptions opts = {}) {
    opts.port = 0;
    opts.threads = 2;
    server_ = std::make_unique<Server>(opts, std::move(handler));
    auto started = server_->start();
    ASSERT_TRUE(started) << started.error().describe();
    port_ = server_->port();
    ASSERT_NE(port_, 0);
  }
  // Echoes the request as "METHOD path ?query body", with its headers as X-Got-<name>.
  void start_echo(ServerOptions opts = {}) {
    start(
        [](const Request& req) {
          Response r = text(200, req.method + " " + req.path + " ?" + req.query + " " + req.body);
          if (const auto* v = req.header("x-test")) r.headers.emplace_back("X-Got-Test", *v);
          r.headers.emplace_back("X-Remote", req.remote);
          return r;
        },
        opts);
  }

  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
};

}  // namespace kiln::http::test
