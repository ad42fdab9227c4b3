// Beast stays inside this file and server.cpp: its headers cost seconds per translation unit.
#include "http/request_parser.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include "http/wire.h"

namespace kiln::http {
namespace {

namespace bhttp = boost::beast::http;
using boost::system::error_code;

std::string_view sv(boost::beast::string_view s) {
  return {s.data(), s.size()};
}

}  // namespace

class BeastRequestParser final : public bhttp::basic_parser<true> {
 public:
  BeastRequestParser(Request& req, const ParserLimits& limits)
      : req_(req), max_body_(limits.max_body) {
    header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(limits.max_header, std::numeric_limits<std::uint32_t>::max())));
    body_limit(limits.max_body);
    req_.body.clear();
  }
  int version = 11;
  bool expect_continue = false;

 private:
  void on_request_impl(bhttp::verb, boost::beast::string_view method,
                       boost::beast::string_view target, int v, error_code&) override {
    req_.method.assign(method.data(), method.size());
    req_.target.assign(target.data(), target.size());
    split_target(sv(target), req_.path, req_.query);
    version = v;
  }
  void on_response_impl(int, boost::beast::string_view, int, error_code& ec) override {
    ec = bhttp::error::bad_status;  // unreachable: this parses requests
  }
  void on_field_impl(bhttp::field name, boost::beast::string_view name_string,
                     boost::beast::string_view value, error_code&) override {
    if (in_body_) return;  // a trailer: nothing above reads them
    auto& headers = req_.headers;
    if (count_ == headers.size()) headers.emplace_back();
    auto& [lname, lvalue] = headers[count_++];
    lname.assign(name_string.data(), name_string.size());
    for (char& c : lname) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    lvalue.assign(value.data(), value.size());
    if (name == bhttp::field::expect && boost::beast::iequals(value, "100-continue")) {
      expect_continue = version >= 11;
    }
  }
  void on_header_impl(error_code&) override {
    req_.headers.resize(count_);
    in_body_ = true;
  }
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
  bool in_body_ = false;
};

struct RequestParser::Impl {
  Impl(Request& req, const ParserLimits& l) : beast(req, l), limits(l) {}
  BeastRequestParser beast;
  ParserLimits limits;
};

RequestParser::RequestParser(Request& req, const ParserLimits& limits)
    : impl_(std::make_unique<Impl>(req, limits)) {}
RequestParser::~RequestParser() = default;

ParseStatus RequestParser::feed(std::string_view data, std::size_t& consumed) {
  consumed = 0;
  auto& p = impl_->beast;
  const ParserLimits& lim = impl_->limits;
  for (;;) {
    if (p.is_header_done() && !header_reported_) {  // before kDone: a GET has a head too
      header_reported_ = true;
      return ParseStatus::kHeaderDone;
    }
    if (p.is_done()) return ParseStatus::kDone;
    if (consumed == data.size()) return ParseStatus::kNeedMore;
    error_code ec;
    const std::size_t n =
        p.put(boost::asio::const_buffer(data.data() + consumed, data.size() - consumed), ec);
    consumed += n;
    if (ec == bhttp::error::need_more) {
      // Beast keeps an incomplete chunk-size line or trailer section in the caller's buffer
      // until its end arrives; `2;xxxx...` would otherwise grow that buffer without end.
      if (p.is_header_done() && data.size() - consumed > lim.max_chunk_meta) {
        message_ = "a chunk extension or the trailer is longer than " +
                   std::to_string(lim.max_chunk_meta) + " bytes";
        status_ = 400;
        return ParseStatus::kError;
      }
      return ParseStatus::kNeedMore;
    }
    if (ec) {
      if (ec == bhttp::error::body_limit) {
        status_ = 413;
        message_ = "the request body is larger than " + std::to_string(lim.max_body) + " bytes";
      } else if (ec == bhttp::error::header_limit) {
        status_ = 431;
        message_ = "the request header is larger than " + std::to_string(lim.max_header) + " bytes";
      } else {
        status_ = 400;
        message_ = "malformed HTTP request: " + ec.message();
      }
      return ParseStatus::kError;
    }
    if (n == 0 && !p.is_done() && (header_reported_ || !p.is_header_done())) {
      return ParseStatus::kNeedMore;
    }
  }
}

ParseStatus RequestParser::finish() {
  auto& p = impl_->beast;
  error_code ec;
  p.put_eof(ec);
  if (!ec && p.is_done()) return ParseStatus::kDone;
  status_ = 400;
  message_ = "malformed HTTP request: " +
             (ec ? ec.message() : error_code(bhttp::error::partial_message).message());
  return ParseStatus::kError;
}

bool RequestParser::got_some() const {
  return impl_->beast.got_some();
}
bool RequestParser::header_done() const {
  return impl_->beast.is_header_done();
}
bool RequestParser::chunked() const {
  return impl_->beast.chunked();
}
bool RequestParser::keep_alive() const {
  return impl_->beast.keep_alive();
}
int RequestParser::http_version() const {
  return impl_->beast.version;
}
bool RequestParser::expects_continue() const {
  return impl_->beast.expect_continue;
}
std::size_t RequestParser::content_length() const {
  const auto n = impl_->beast.content_length();
  return n ? static_cast<std::size_t>(*n) : 0;
}

}  // namespace kiln::http
